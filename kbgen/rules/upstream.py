"""TR209–TR211: upstream NixOS options, checked against NixOS's own ``options.json``."""

from __future__ import annotations

import re
from collections.abc import Iterator

from kbgen.nix.model import OptionDef, split_path
from kbgen.nix.upstream import Match, UpstreamOptions, is_placeholder, type_mismatch
from kbgen.rules.base import Hit, Severity, rule
from kbgen.rules.context import Context
from kbgen.trace.model import TraceModel


class _Own:
    """The flake's own option sets as a segment trie: a path at, below or above the set a
    flake declaration is in (``compliance.ssh`` for ``compliance.ssh.enable``), or in a
    top-level namespace only the flake declares (``compliance``), is the flake's, not
    NixOS's: TR202 and TR208 check it."""

    def __init__(self, model: TraceModel, upstream: UpstreamOptions) -> None:
        self.root: dict = {}
        tops = set()
        for declaration in model.flake.declarations:
            segs = split_path(declaration.path)
            tops.add(segs[0])
            node = self.root
            for seg in segs[:-1] if len(segs) > 1 else segs:
                node = node.setdefault("<>" if is_placeholder(seg) else seg, {})
            node[None] = True
        self.namespaces = tops - upstream.namespaces

    def __contains__(self, path: str) -> bool:
        segments = split_path(path)
        if not segments or segments[0] in self.namespaces:
            return True
        frontier = [self.root]
        for seg in segments:
            if any(None in node for node in frontier):
                return True  # a declared option set is a prefix of the path
            frontier = [
                child
                for node in frontier
                for key, child in node.items()
                if key is not None and (key == seg or key == "<>" or is_placeholder(seg))
            ]
            if not frontier:
                return False
        return True  # the path is a declared option set or a prefix of one


#: A code span that reads as an option path: dotted names, quoted names, ``<name>``, ``*``.
_OPTION_LIKE = re.compile(r'[a-z][A-Za-z0-9]*(\.(?:[A-Za-z0-9_-]+|"[^"]*"|<name>|\*))+')


def _upstream_paths(ctx: Context) -> tuple[UpstreamOptions, _Own] | None:
    model = ctx.trace_model
    if model.upstream is None:
        return None
    return model.upstream, _Own(model, model.upstream)


def _checked(path: str, own: _Own) -> bool:
    return not path.startswith("_module.") and path not in own


def _problem(upstream: UpstreamOptions, path: str, match: Match) -> str | None:
    """What is wrong with a path, completing "..., which ..."; None when it is fine."""
    if match.kind == "missing":
        close = upstream.suggestions(path)
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        return f"is not a NixOS option{hint}"
    if match.option is not None and match.option.replacement:
        below = "" if match.kind == "option" else f" (below {match.option.path})"
        return f"{match.option.replacement}{below}"
    return None


def _definition_hit(d: OptionDef, message: str) -> Hit:
    who = f"test {d.test} sets" if d.test else "the flake sets"
    return Hit(
        d.pos.file, d.pos.line, d.pos.column, f"{who} {d.path}, which {message}", project=True
    )


@rule(
    "TR209",
    "unknown-upstream-option",
    family="traceability",
    severity=Severity.ERROR,
    command="trace",
)
def unknown_upstream_option(ctx: Context) -> Iterator[Hit]:
    """A NixOS option set by the flake or cited by a PRD or note that NixOS does not have.

    ## What it does
    With `[tool.kbgen] nixos-options` (or `--nixos-options FILE`) naming NixOS's
    `options.json` (the flake's `nixos-options` output), looks up every upstream option
    path that a module defines, a compliance test's node sets, a PRD's control cites, or a
    note names in backticks (a code span that reads as an option path in a namespace
    NixOS has, such as `services.…` or `security.…`).
    Paths of the flake's own options (`compliance.*`) are left to TR202 and TR208.
    `<name>` and `*` in the file match any attribute name or list element
    (`environment.etc."ssh/ssh_config".text` is `environment.etc.<name>.text`); a key
    below a freeform option (`services.openssh.settings.X`,
    `systemd.services.<name>.serviceConfig.X`, `boot.kernel.sysctl."k"`) is accepted. A
    path NixOS does not know gets the closest existing paths as suggestions; one that
    NixOS renamed or removed (the file lists those when built with invisible options, as
    the flake's output is) says what became of it.

    ## Why is this bad?
    A module setting a removed option fails to evaluate on the next nixpkgs update, and a
    PRD citing one is a phantom control: the implementation it claims is gone, or never
    existed upstream.

    ## Example
    `services.openssh.permitRootLogin = "no";` on a nixpkgs where the option is an alias
    of `services.openssh.settings.PermitRootLogin`, or
    `` `services.journald.extraConfig` `` cited after its removal.

    ## Fix safety
    No fix: the suggestion is a guess, and a removal needs a new design.
    """
    found = _upstream_paths(ctx)
    if found is None:
        return
    upstream, own = found
    model = ctx.trace_model
    problems: dict[str, str | None] = {}

    def problem(path: str) -> str | None:
        if path not in problems:
            problems[path] = _problem(upstream, path, upstream.lookup(path))
        return problems[path]

    for d in model.flake.definitions:
        if _checked(d.path, own) and (message := problem(d.path)):
            yield _definition_hit(d, message)
    cited = set()
    for control in model.controls.controls:
        for option in control.options:
            cited.add((control.note, option.line, option.column))
            if _checked(option.path, own) and (message := problem(option.path)):
                yield Hit(
                    control.note,
                    option.line,
                    option.column,
                    f"{control.key} cites {option.path}, which {message}",
                )
    for path, note in model.vault.notes.items():
        for span in note.code_spans:
            text = span.text.strip()
            if (path, span.line, span.column) in cited or not _OPTION_LIKE.fullmatch(text):
                continue
            namespace = text.split(".", 1)[0]
            if (
                namespace in upstream.namespaces
                and _checked(text, own)
                and (message := problem(text))
            ):
                yield Hit(path, span.line, span.column, f"the note names {text}, which {message}")


@rule(
    "TR210",
    "upstream-option-type-mismatch",
    family="traceability",
    severity=Severity.ERROR,
    command="trace",
)
def upstream_option_type_mismatch(ctx: Context) -> Iterator[Hit]:
    """A literal value that the NixOS option's type rejects.

    ## What it does
    For every definition of an upstream option whose value kbgen's index knows as a
    literal, and whose type in NixOS's `options.json` is simple — `boolean`, an integer
    type (`signed integer`, `16 bit unsigned integer; ...`, `integer between ...`), a
    string type (`string`, `strings concatenated with ...`, `string matching the pattern
    ...`) or an enum of strings (`one of "yes", "no"`), each possibly `null or` — checks
    that the value has that type. Keys below freeform options are checked only where the
    file declares the key itself.

    ## Why is this bad?
    The flake does not evaluate: NixOS rejects the value at build time, so the control
    the setting implements is not deployed (and the VM test that would show it never
    runs).

    ## Example
    `services.openssh.settings.PermitRootLogin = "never";` where the type is
    `null or one of "yes", "without-password", "prohibit-password",
    "forced-commands-only", "no"`, or `services.openssh.enable = "yes";`.

    ## Fix safety
    No fix.
    """
    found = _upstream_paths(ctx)
    if found is None:
        return
    upstream, own = found
    for d in ctx.trace_model.flake.definitions:
        if not d.value_is_literal or not _checked(d.path, own):
            continue
        match = upstream.lookup(d.path)
        if match.kind != "option" or match.option is None or match.option.replacement:
            continue
        expected = type_mismatch(match.option.type, d.value)
        if expected:
            who = f"test {d.test} sets" if d.test else "the flake sets"
            yield Hit(
                d.pos.file,
                d.pos.line,
                d.pos.column,
                f"{who} {d.path} to {d.value_text}, but NixOS's type wants {expected}",
                project=True,
            )


@rule(
    "TR211",
    "upstream-options-not-checked",
    family="traceability",
    severity=Severity.INFO,
    command="trace",
)
def upstream_options_not_checked(ctx: Context) -> Iterator[Hit]:
    """Upstream NixOS option paths were not checked: no `options.json` was given.

    ## What it does
    Reports once, at the `[tool.kbgen]` table (or the flake folder without a
    configuration file), when neither `[tool.kbgen] nixos-options` nor
    `--nixos-options` names NixOS's `options.json`, so TR209 and TR210 did not run.

    ## Why is this bad?
    Only the flake's own `compliance.*` options are then proven to exist; the NixOS
    options the modules set and the PRDs cite are where renames and removals happen.
    Informational.

    ## Example
    `kbgen check` without `nixos-options`; produce the file with
    `nix build ./flake#nixos-options` (flake/README.md) and pass
    `--nixos-options result/share/doc/nixos/options.json`.

    ## Fix safety
    No fix.
    """
    config = ctx.config
    if ctx.trace_model.upstream is not None or not ctx.trace_model.flake.files:
        return
    if config.source is not None and config.source.is_file():
        lines = config.source.read_text(encoding="utf-8", errors="replace").splitlines()
        line = next((i for i, text in enumerate(lines, 1) if text.strip() == "[tool.kbgen]"), 1)
        path = (
            config.source.relative_to(config.project_root).as_posix()
            if config.source.is_relative_to(config.project_root)
            else config.source.name
        )
    else:
        path, line = config.flake, 1
    yield Hit(
        path,
        line,
        1,
        "upstream NixOS options were not checked: set [tool.kbgen] "
        "nixos-options (or pass --nixos-options) to NixOS's options.json, "
        "built by `nix build ./flake#nixos-options`",
        project=True,
    )
