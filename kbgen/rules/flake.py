"""TR5xx: what must never reach the flake (FHS paths, secrets); TR6xx: Nix syntax."""

from __future__ import annotations

import re
from collections.abc import Iterator

from kbgen.nix.model import NixFile, StringLiteral
from kbgen.rules.base import Hit, Severity, rule
from kbgen.rules.context import Context

#: Paths that exist on an FHS distribution but not on NixOS. The look-behind keeps
#: ``/run/current-system/sw/bin``, ``/var/lib`` and ``''${pkgs.x}/bin`` (an escaped
#: interpolation in an indented string, e.g. inside ``literalExpression``) out.
FHS_PATH = re.compile(
    r"(?<![\w.~/}$-])(/usr/(?:s?bin|lib(?:exec|64)?|local|share)\b[\w./-]*|"
    r"/s?bin/[\w.-]+|/lib(?:64)?/[\w.-]+|/opt/[\w.-]+)"
)
ALLOW_FHS = re.compile(r"kbgen:\s*allow-fhs\b")
#: auditd watch rules quoted in notes: ``-w /usr/bin/sudo`` or ``-F path=/bin/su``.
AUDITD_FHS = re.compile(r"(?:-w\s+|-F\s+(?:path|dir)=)(/usr/s?bin/|/s?bin/|/usr/lib/)\S*")

PEM_BLOCK = re.compile(
    r"-----BEGIN [A-Z0-9 ]*(PRIVATE KEY|CERTIFICATE REQUEST|OPENSSH PRIVATE "
    r"KEY)-----"
)
LONG_HEX = re.compile(r"\b[0-9a-fA-F]{40,}\b")
LONG_BASE64 = re.compile(
    r"(?<![\w+/])(?=[A-Za-z0-9+/]*[0-9])(?=[A-Za-z0-9+/]*[a-z])"
    r"(?=[A-Za-z0-9+/]*[A-Z])[A-Za-z0-9+/]{40,}={0,2}"
)
STORE_WRITERS = {
    "writeText",
    "writeTextFile",
    "toFile",
    "writeScript",
    "writeShellScript",
    "writeShellScriptBin",
    "writeScriptBin",
    "writeTextDir",
    "toJSON",
}
SECRET_NAME = re.compile(
    r"(?i)(token|secret|password|passwd|api_?key|private_?key|"
    r"credentials?)$"
)
#: Names that hold a reference to a secret, not the secret: ``passwordFile``, ``tokenPath``,
#: ``passwordSecret`` (the name of a sops secret).
REFERENCE_NAME = re.compile(r"(?i)(file|path|dir|name|command|cmd|(password|token|key)secret)$")


def _allowed_lines(nix_file: NixFile) -> set[int]:
    return {c.pos.line for c in nix_file.comments if ALLOW_FHS.search(c.text)}


def _fhs_hits(literal: StringLiteral) -> Iterator[tuple[int, int, str]]:
    previous_interpolation = False
    for segment in literal.segments or ():
        if segment.interpolation:
            previous_interpolation = True
            continue
        for match in FHS_PATH.finditer(segment.text):
            # "${pkgs.bash}/bin/bash": the path continues a store path, not the root.
            if match.start() == 0 and previous_interpolation:
                continue
            yield segment.pos.line, segment.pos.column + match.start(), match.group(1)
        previous_interpolation = False


@rule("TR501", "fhs-path-leak", family="flake", severity=Severity.ERROR, command="trace")
def fhs_path_leak(ctx: Context) -> Iterator[Hit]:
    """An FHS path (`/usr/bin`, `/bin/bash`, `/sbin`, ...) in the flake or a quoted audit rule.

    ## What it does
    Scans every Nix string literal under `flake/` (not comments) for paths such as
    `/usr/bin/...`, `/usr/sbin`, `/bin/...`, `/sbin/...`, `/lib/...`, `/opt/...`; a path
    directly after an interpolation (`${pkgs.bash}/bin/bash`) is fine. In notes, quoted
    auditd rules (`-w /usr/bin/sudo`, `-F path=/bin/su`) are reported too. A deliberate
    mention carries `# kbgen: allow-fhs <reason>` on the same line (Nix) or a
    `kbgen-ignore TR501` comment (notes).

    ## Why is this bad?
    These paths do not exist on NixOS: a script fails at run time, and an audit rule
    watching `/usr/bin/sudo` silently watches nothing.

    ## Example
    ```nix
    ExecStart = "/usr/bin/python3 /opt/agent/run.py";
    ```
    Use `"${pkgs.python3}/bin/python3 ${agent}/run.py"`.

    ## Fix safety
    No fix.
    """
    model = ctx.trace_model
    for nix_file in model.flake.files:
        allowed = _allowed_lines(nix_file)
        for literal in nix_file.strings:
            if literal.kind == "attr_name":
                continue
            for line, column, path in _fhs_hits(literal):
                if line not in allowed:
                    yield Hit(
                        nix_file.path,
                        line,
                        column,
                        f"FHS path {path} does not exist on NixOS; use a store path "
                        "(${pkgs.x}/bin/...) or /run/current-system/sw",
                        project=True,
                    )
    for path, note in model.vault.notes.items():
        texts = [(span.line, span.column, span.text) for span in note.code_spans]
        texts += [
            (block.line + 1 + i, 1, text)
            for block in note.code_blocks
            for i, text in enumerate(block.text.split("\n"))
        ]
        for line, column, text in texts:
            for match in AUDITD_FHS.finditer(text):
                yield Hit(
                    path,
                    line,
                    column + match.start(),
                    f"audit rule watches {match.group(0).split()[-1]}, an FHS path that "
                    "does not exist on NixOS",
                )


def _secret_reason(literal: StringLiteral) -> str | None:
    text = literal.text
    if PEM_BLOCK.search(text):
        return "a PEM private-key block"
    if literal.context in STORE_WRITERS:
        literal_parts = (
            " ".join(s.text for s in literal.segments if not s.interpolation)
            if literal.segments
            else text
        )
        if LONG_HEX.search(literal_parts) or LONG_BASE64.search(literal_parts):
            return f"a long token inside {literal.context}"
    name = literal.context or ""
    # "!" and "*" lock an account; four characters are not a credential worth the name.
    if (
        SECRET_NAME.search(name)
        and not REFERENCE_NAME.search(name)
        and len(text.strip()) >= 4
        and not literal.has_interpolation
        and not text.startswith("/")
        and literal.kind in ("string", "indented")
    ):
        return f"a literal value for {name}"
    return None


@rule("TR502", "secret-in-nix-store", family="flake", severity=Severity.ERROR, command="trace")
def secret_in_nix_store(ctx: Context) -> Iterator[Hit]:
    """A secret written into the flake, and so into the world-readable Nix store.

    ## What it does
    Reports PEM private-key blocks in any string; long hex or base64 tokens inside
    `writeText`, `toFile`, `writeShellScript` and friends; and literal values assigned to
    secret-named attributes (`apiToken`, `dbPassword`, `API_KEY`, `privateKey`) unless
    the value is a path or an interpolation (a secrets path such as
    `${config.sops.secrets.api.path}`). Names that hold a reference (`passwordFile`,
    `tokenPath`) are not secrets.

    ## Why is this bad?
    Everything in the store is readable by every local user and ends up in binary
    caches and backups; a secret there cannot be revoked by deleting the file.

    ## Example
    ```nix
    environment.etc."agent.env".text = "API_KEY=sk-live-...";
    ```
    Use sops-nix: `EnvironmentFile = config.sops.secrets.agent-env.path;`.

    ## Fix safety
    No fix.
    """
    model = ctx.trace_model
    for nix_file in model.flake.files:
        for literal in nix_file.strings:
            reason = _secret_reason(literal)
            if reason:
                yield Hit(
                    nix_file.path,
                    literal.pos.line,
                    literal.pos.column,
                    f"{reason} would be stored in the world-readable Nix store; read it "
                    "from a secrets path (sops-nix) instead",
                    project=True,
                )


@rule("TR601", "nix-syntax-error", family="flake", severity=Severity.ERROR, command="trace")
def nix_syntax_error(ctx: Context) -> Iterator[Hit]:
    """A Nix file that does not parse.

    ## What it does
    Reports syntax errors found by tree-sitter-nix while indexing `flake/` (the rest of
    the file is still indexed), and, where `nix-instantiate` is on PATH and
    `kbgen trace --nix-parse` (or `kbgen check`) runs it, the errors Nix's own parser
    reports, such as undefined variables.

    ## Why is this bad?
    The flake does not evaluate; nothing it promises is deployed.

    ## Example
    `{ services.openssh.enable = true }` (missing `;`).

    ## Fix safety
    No fix.
    """
    model = ctx.trace_model
    seen = set()
    for error in (*model.flake.errors, *model.cross_check):
        key = (error.pos.file, error.pos.line, error.source)
        if key in seen:
            continue
        seen.add(key)
        yield Hit(
            error.pos.file,
            error.pos.line,
            error.pos.column,
            f"{error.message} ({error.source})",
            project=True,
        )
