"""TR5xx: what must never reach the flake (FHS paths, secrets); TR6xx: Nix syntax."""

from __future__ import annotations

import re
from collections.abc import Iterator

from kbgen.nix.model import NixFile, StringLiteral, StringSegment
from kbgen.rules.base import Hit, Severity, rule
from kbgen.rules.context import Context
from kbgen.vault.records import CodeBlock, Note

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

# -- where a Nix string is documentation (see StringLiteral.scope) -------------------
#: Attributes whose value is prose wherever they are: option and package descriptions,
#: a unit's or a user's description.
DOC_ATTRIBUTES = frozenset({"description", "longDescription"})
#: Attributes that are documentation inside an option declaration's attribute set.
OPTION_DOC_ATTRIBUTES = frozenset({"defaultText", "example", "extraDescription"})
#: The argument of an option declaration that holds its attribute set.
OPTION_DECLARATIONS = frozenset({"mkOption(1)", "mkPackageOption(3)", "mkPackageOptionMD(3)"})
#: Call arguments that are messages or documentation (``name(N)``: argument N).
DOC_ARGUMENTS = frozenset(
    {
        "mkEnableOption(1)", "literalExpression(1)", "literalDocBook(1)", "literalExample(1)",
        "throw(1)", "abort(1)", "warn(1)", "warnIf(2)", "warnIfNot(2)", "throwIf(2)",
        "throwIfNot(2)", "assertMsg(2)", "mkRemovedOptionModule(2)",
    }
)  # fmt: skip
#: Functions that build a message out of pieces: between a documentation attribute or
#: argument and the literal, they keep it documentation (``warnings = map (x: "…") xs``).
MESSAGE_BUILDERS = frozenset(
    {
        "map", "mapAttrsToList", "mapAttrs", "concatMap", "concatMapStrings",
        "concatMapStringsSep", "imap0", "imap1", "forEach", "filter", "flatten",
        "attrValues", "genList",
    }
)  # fmt: skip

# -- when a bare FHS directory is named, not used -------------------------------------
#: The FHS directories themselves (no file after them), with an optional final slash.
FHS_DIRECTORY = re.compile(r"/usr/(?:s?bin|lib(?:exec|64)?|share|local(?:/s?bin|/lib)?)/?")
#: Shell and configuration syntax: a line with any of it is code, not a sentence.
CODE_SYNTAX = re.compile(r"[$=|&;<>`\[\]{}\\]|#!|(?:^|\s)--?[A-Za-z]")
#: Words that, among the three before a bare directory, make its line descriptive.
DESCRIPTIVE_BEFORE = frozenset(
    {
        "of", "instead", "never", "not", "no", "nor", "like", "unlike", "than",
        "equivalent", "replaces", "replace", "replaced", "replacing", "without", "avoid",
        "avoids",
    }
)  # fmt: skip
#: Negations that, among the three words after it, do the same ("/usr/bin does not exist").
DESCRIPTIVE_AFTER = frozenset({"not", "never", "no", "nothing"})
#: A word, for the cue-word windows: letters and apostrophes, punctuation stripped.
_WORD = re.compile(r"[A-Za-z']+")
#: An interpolation in a line of a literal reads as a word (``${pkgs.x}``).
_PLACEHOLDER = "value"

#: The class that marks a fenced code block in a note as an example of what not to do:
#: ```` ```bash {.example} ```` (an attribute block after the language).
EXAMPLE_CLASS = ".example"
_ATTRIBUTE_BLOCK = re.compile(r"\{([^{}]*)\}")

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


def is_documentation(literal: StringLiteral) -> bool:
    """Whether a literal's value is documentation or a message, from its scope.

    The innermost entry of the scope that is not a :data:`MESSAGE_BUILDERS` call must be
    a documentation attribute (:data:`DOC_ATTRIBUTES`; :data:`OPTION_DOC_ATTRIBUTES`
    right inside an option declaration; ``message`` below ``assertions``; ``warnings``)
    or a documentation argument (:data:`DOC_ARGUMENTS`).
    """
    scope = literal.scope
    for index in range(len(scope) - 1, -1, -1):
        entry = scope[index]
        if entry.partition("(")[0] in MESSAGE_BUILDERS and entry.endswith(")"):
            continue
        if entry in DOC_ATTRIBUTES or entry in DOC_ARGUMENTS or entry == "warnings":
            return True
        if entry in OPTION_DOC_ATTRIBUTES:
            return index > 0 and scope[index - 1] in OPTION_DECLARATIONS
        return entry == "message" and "assertions" in scope[:index]
    return False


def is_descriptive(line: str, start: int, end: int) -> bool:
    """Whether the FHS path at ``line[start:end]`` is named in a sentence, not used.

    It must be a bare FHS directory (:data:`FHS_DIRECTORY`: ``/usr/bin``, not
    ``/usr/bin/python3``), standing as a word of its own (optionally in quotes or
    backticks, then optionally ``.``/``,``/``:``/``)``... before a space), on a line with no
    shell or configuration syntax (:data:`CODE_SYNTAX`: ``$ = | & ; < > [ ] { }``, a
    backslash, a backtick other than around the path, ``#!``, an option flag such as
    ``-w``; an interpolation reads as a word), with a cue word among the three
    words before it (:data:`DESCRIPTIVE_BEFORE`) or a negation among the three after it
    (:data:`DESCRIPTIVE_AFTER`, or a word ending in ``n't``).
    """
    path = line[start:end]
    if path.endswith((".", ",")):
        path, end = path[:-1], end - 1
    if not FHS_DIRECTORY.fullmatch(path):
        return False
    quote = line[start - 1] if start and line[start - 1] in "`'\"" else ""
    if quote and line[end : end + 1] == quote:
        start, end = start - 1, end + 1
    if start and not line[start - 1].isspace() and line[start - 1] != "(":
        return False
    after = line[end:].lstrip(".,:;!?)'\"")
    if after and not after[0].isspace():
        return False
    if CODE_SYNTAX.search(line[:start] + " " + line[end:]):
        return False
    before = [w.lower() for w in _WORD.findall(line[:start])[-3:]]
    following = [w.lower() for w in _WORD.findall(line[end:])[:3]]
    return any(w in DESCRIPTIVE_BEFORE or w.endswith("n't") for w in before) or any(
        w in DESCRIPTIVE_AFTER or w.endswith("n't") for w in following
    )


def _lines(literal: StringLiteral) -> dict[int, list[tuple[int, StringSegment]]]:
    """The literal's segments by source line, each with its offset in the line's text."""
    lines: dict[int, list[tuple[int, StringSegment]]] = {}
    offsets: dict[int, int] = {}
    for segment in literal.segments:
        line = segment.pos.line
        offset = offsets.get(line, 0)
        lines.setdefault(line, []).append((offset, segment))
        offsets[line] = offset + len(_PLACEHOLDER if segment.interpolation else segment.text)
    return lines


def _fhs_hits(literal: StringLiteral) -> Iterator[tuple[int, int, str]]:
    """FHS paths in a literal that are used, not talked about: ``(line, column, path)``."""
    prose = literal.kind in ("string", "indented")
    for pieces in _lines(literal).values():
        text = "".join(_PLACEHOLDER if s.interpolation else s.text for _, s in pieces)
        previous_interpolation = False
        for offset, segment in pieces:
            if segment.interpolation:
                previous_interpolation = True
                continue
            for match in FHS_PATH.finditer(segment.text):
                # "${pkgs.bash}/bin/bash": the path continues a store path, not the root.
                if match.start() == 0 and previous_interpolation:
                    continue
                start, end = offset + match.start(), offset + match.end()
                # Judge the path within its own line of the string (an escaped \n ends it).
                line_start = text.rfind("\n", 0, start) + 1
                line_end = len(text) if (n := text.find("\n", end)) < 0 else n
                sentence = text[line_start:line_end]
                if prose and is_descriptive(sentence, start - line_start, end - line_start):
                    continue
                yield segment.pos.line, segment.pos.column + match.start(), match.group(1)
            previous_interpolation = False


def nix_fhs_leaks(nix_file: NixFile) -> Iterator[tuple[int, int, str]]:
    """Every FHS path TR501 reports in a Nix file: ``(line, column, path)``."""
    allowed = _allowed_lines(nix_file)
    for literal in nix_file.strings:
        if literal.kind == "attr_name" or is_documentation(literal):
            continue
        for line, column, path in _fhs_hits(literal):
            if line not in allowed:
                yield line, column, path


def is_example_block(block: CodeBlock) -> bool:
    """Whether a fenced block is marked as an example: ``.example`` in an attribute block
    of its info string (```` ```bash {.example} ````)."""
    return any(EXAMPLE_CLASS in group.split() for group in _ATTRIBUTE_BLOCK.findall(block.info))


def note_fhs_leaks(note: Note) -> Iterator[tuple[int, int, str]]:
    """Every FHS audit rule TR501 reports in a note: ``(line, column, watched path)``."""
    texts = [(span.line, span.column, span.text) for span in note.code_spans]
    texts += [
        (block.line + 1 + i, 1, text)
        for block in note.code_blocks
        if not is_example_block(block)
        for i, text in enumerate(block.text.split("\n"))
    ]
    for line, column, text in texts:
        for match in AUDITD_FHS.finditer(text):
            yield line, column + match.start(), match.group(0).split()[-1]


@rule("TR501", "fhs-path-leak", family="flake", severity=Severity.ERROR, command="trace")
def fhs_path_leak(ctx: Context) -> Iterator[Hit]:
    """An FHS path (`/usr/bin`, `/bin/bash`, `/sbin`, ...) in the flake or a quoted audit rule.

    ## What it does
    Scans the Nix string literals, indented strings and path literals under `flake/` for
    FHS paths: `/usr/bin`, `/usr/sbin`, `/usr/lib`, `/usr/lib64`, `/usr/libexec`,
    `/usr/share`, `/usr/local` and anything below them, and a file or folder below
    `/bin`, `/sbin`, `/lib`, `/lib64` or `/opt` (`/bin/bash`, `/opt/agent`). A path
    directly after an interpolation (`${pkgs.bash}/bin/bash`) is fine. In notes it scans
    code spans and code blocks for quoted auditd rules (`-w /usr/bin/sudo`,
    `-F path=/bin/su`).

    Not scanned, because it is prose, not something that runs:

    - Nix comments, and quoted attribute names;
    - documentation: the value of `description` and `longDescription` anywhere
      (options, `meta`, units, users); `defaultText`, `example` and `extraDescription`
      of an `mkOption` or `mkPackageOption` (also through `literalExpression`,
      `literalMD` or `mdDoc`); the text of `mkEnableOption`, and of `literalExpression`
      anywhere; `assertions.*.message`; the entries of `warnings`; the message (not the
      value passed on) of `throw`, `abort`, `lib.warn`, `warnIf`, `warnIfNot`,
      `throwIf`, `throwIfNot`, `assertMsg` and `mkRemovedOptionModule`. A string built
      for one of these by `map`, `mapAttrsToList`, `concatMapStrings`, ... counts too;
      one made by any other function (`writeShellScript`) does not;
    - a bare FHS directory named in a sentence, in any string: one of the `/usr/...`
      directories above with no file after it (`/usr/bin`, not `/usr/bin/python3`),
      standing as a word (quotes or backticks around it allowed), on a line of the
      string without shell or configuration syntax (`$ = | & ; < > [ ] { }`, a
      backslash or another backtick, `#!`, an option flag such as `-w`; an
      interpolation counts as a word), with one of *of, instead, never, not, no, nor,
      like, unlike, than, equivalent, replaces, without, avoid* (or a word ending in
      *n't*) among the three words before it, or *not, never, no, nothing* (or *n't*)
      among the three after it: "the NixOS equivalent of /usr/bin", "must never
      reference /usr/bin", "no /usr/bin on NixOS", "/usr/bin does not exist here";
    - in notes, a fenced block marked as an example of what not to do: the class
      `.example` in an attribute block after its language (```` ```bash {.example} ````;
      Obsidian ignores the braces, MkDocs adds the class; a bare word such as
      ```` ```bash example ```` is no marker: superfences would not render it as code).

    A path that is used is still reported however it is written: `"/usr/bin/python3"`,
    `"/bin/sh -c ..."`, `"PATH=/usr/bin:/bin"`, `source = "/usr/lib/x"`, a bare
    `"/usr/bin"`. A deliberate one carries `# kbgen: allow-fhs <reason>` on the same
    line (Nix); in a note, `<!-- kbgen-ignore TR501: reason -->` on its own line covers
    the whole block after it, a multi-line fenced block included.

    ## Why is this bad?
    These paths do not exist on NixOS: a script fails at run time, and an audit rule
    watching `/usr/bin/sudo` silently watches nothing.

    ## Example
    ```nix
    ExecStart = "/usr/bin/python3 /opt/agent/run.py";
    ```
    Use `"${pkgs.python3}/bin/python3 ${agent}/run.py"`. A note quoting a wrong rule:

    ````markdown
    ```text {.example}
    -w /usr/bin/sudo -p x -k privileged
    ```
    ````

    ## Fix safety
    No fix.
    """
    model = ctx.trace_model
    for nix_file in model.flake.files:
        for line, column, path in nix_fhs_leaks(nix_file):
            message = f"FHS path {path} does not exist on NixOS; use a store path "
            message += "(${pkgs.x}/bin/...) or /run/current-system/sw"
            yield Hit(nix_file.path, line, column, message, project=True)
    for note_path, note in model.vault.notes.items():
        for line, column, path in note_fhs_leaks(note):
            message = f"audit rule watches {path}, an FHS path that does not exist on NixOS"
            yield Hit(note_path, line, column, message)


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
