"""KB0xx: files that cannot be read as notes, and KB3xx: frontmatter."""

from __future__ import annotations

from collections.abc import Iterator

from kbgen.rules.base import Hit, Severity, rule
from kbgen.rules.context import Context
from kbgen.vault.files import FileProblemKind
from kbgen.vault.records import NoteProblemKind


def _note_problems(ctx: Context, *kinds: NoteProblemKind) -> Iterator[Hit]:
    for path, note in ctx.vault.notes.items():
        for problem in note.problems:
            if problem.kind in kinds:
                yield Hit(path, problem.line, problem.column, problem.message)


def _file_problems(ctx: Context, *kinds: FileProblemKind) -> Iterator[Hit]:
    for problem in ctx.vault.file_problems:
        if problem.kind in kinds:
            yield Hit(problem.path, 1, 1, problem.message)


@rule(
    "KB001",
    "unreadable-file",
    family="files",
    severity=Severity.ERROR,
    reports=(FileProblemKind.UNREADABLE, FileProblemKind.TOO_LARGE),
)
def unreadable_file(ctx: Context) -> Iterator[Hit]:
    """A note or folder kbgen could not read.

    ## What it does
    Reports notes that cannot be opened (permissions, I/O errors), folders that cannot
    be listed, notes over the size limit (64 MiB), and vault entries that are not
    regular files (FIFOs, sockets, devices, dangling symlinks), which are never opened.

    ## Why is this bad?
    Everything the file says is missing from the checks and the site, silently.

    ## Example
    `vault/wiki/x.md` is owned by another user with mode `0600`.

    ## Fix safety
    No fix.
    """
    yield from _file_problems(ctx, FileProblemKind.UNREADABLE, FileProblemKind.TOO_LARGE)


@rule(
    "KB002",
    "invalid-encoding",
    family="files",
    severity=Severity.ERROR,
    reports=(NoteProblemKind.ENCODING,),
)
def invalid_encoding(ctx: Context) -> Iterator[Hit]:
    """A note that is not valid UTF-8.

    ## What it does
    Reports the first byte that is not valid UTF-8, with its line and column. The note
    is still checked, with the bad bytes replaced.

    ## Why is this bad?
    Obsidian and the site both expect UTF-8; the bytes show up as garbage, and links
    around them may break.

    ## Example
    A note saved as Latin-1 containing `caf\xe9`.

    ## Fix safety
    No fix: the right encoding cannot be known for sure.
    """
    yield from _note_problems(ctx, NoteProblemKind.ENCODING)


@rule(
    "KB003",
    "binary-note",
    family="files",
    severity=Severity.ERROR,
    reports=(NoteProblemKind.BINARY,),
)
def binary_note(ctx: Context) -> Iterator[Hit]:
    """A binary file with a `.md` name.

    ## What it does
    Reports `.md` files that contain NUL bytes; they are not parsed.

    ## Why is this bad?
    It is not a note: usually an export or an attachment renamed by mistake.

    ## Example
    `vault/raw/scan.md` that is really a PDF.

    ## Fix safety
    No fix.
    """
    yield from _note_problems(ctx, NoteProblemKind.BINARY)


@rule(
    "KB004",
    "symlink-outside-vault",
    family="files",
    severity=Severity.WARNING,
    reports=(FileProblemKind.SYMLINK_OUTSIDE,),
)
def symlink_outside(ctx: Context) -> Iterator[Hit]:
    """A symlink in the vault that points outside it.

    ## What it does
    Reports symbolic links whose target resolves outside the vault root. kbgen does
    not follow them.

    ## Why is this bad?
    The published site and the checks cover only the vault; a link outside makes the
    vault depend on one machine's file layout, and may expose files never meant to
    be published.

    ## Example
    `vault/raw/notes -> /home/alice/notes`.

    ## Fix safety
    No fix.
    """
    yield from _file_problems(ctx, FileProblemKind.SYMLINK_OUTSIDE)


@rule(
    "KB005",
    "too-deeply-nested",
    family="files",
    severity=Severity.ERROR,
    reports=(NoteProblemKind.TOO_DEEP,),
)
def too_deeply_nested(ctx: Context) -> Iterator[Hit]:
    """Lists or block quotes nested deeper than the parser follows.

    ## What it does
    Reports lines whose lists or quotes nest more than 40 levels deep. The rest of
    such a line is not parsed (links on it are not checked); the rest of the note is.

    ## Why is this bad?
    No reader needs 40 levels of nesting; it is usually a paste gone wrong, and
    parsing it fully would let one note exhaust the parser's stack. It is an error
    because the site's renderer (Python-Markdown) recurses per level too and fails on
    lists nested about 250 levels deep: `check` stops such a note before `build` does.

    ## Example
    `- - - - - - …` repeated hundreds of times on one line.

    ## Fix safety
    No fix.
    """
    yield from _note_problems(ctx, NoteProblemKind.TOO_DEEP)


@rule(
    "KB301",
    "invalid-frontmatter",
    family="frontmatter",
    severity=Severity.ERROR,
    reports=(NoteProblemKind.FRONTMATTER_YAML,),
)
def invalid_frontmatter(ctx: Context) -> Iterator[Hit]:
    """Frontmatter that is not valid, safe YAML.

    ## What it does
    Reports YAML syntax errors at their line, frontmatter that is not a mapping, and
    alias bombs (anchors that would expand past 10,000 nodes). The note's metadata is
    treated as empty.

    ## Why is this bad?
    Title, tags, aliases and sources are all lost; Obsidian shows the block as text.

    ## Example
    ```yaml
    ---
    title: SSH: hardening
    ---
    ```
    (an unquoted colon). Use `title: "SSH: hardening"`.

    ## Fix safety
    No fix.
    """
    yield from _note_problems(ctx, NoteProblemKind.FRONTMATTER_YAML)


@rule(
    "KB302",
    "frontmatter-wrong-type",
    family="frontmatter",
    severity=Severity.ERROR,
    reports=(NoteProblemKind.FRONTMATTER_TYPE,),
)
def frontmatter_wrong_type(ctx: Context) -> Iterator[Hit]:
    """A known frontmatter key with a value of the wrong type.

    ## What it does
    Checks `title`, `description` and `status` (strings), `tags` and `aliases`
    (a list or a string) and `sources` (a list), and that the frontmatter is a mapping.

    ## Why is this bad?
    Tools that read the key (search, the site's navigation, `raw-note-not-compiled`)
    misread or ignore it.

    ## Example
    ```yaml
    sources: "[[raw/ssh-research]]"
    ```
    Use a list: `sources: ["[[raw/ssh-research]]"]`.

    ## Fix safety
    No fix.
    """
    yield from _note_problems(ctx, NoteProblemKind.FRONTMATTER_TYPE)
