"""KB4xx: references from notes to files of the repository."""

from __future__ import annotations

import re
from collections.abc import Iterator

from kbgen.rules.base import Hit, Severity, rule
from kbgen.rules.context import Context

#: ``dir/sub/file.ext`` with an optional ``:line``; no spaces, no scheme, no leading slash.
_FILE_REF = re.compile(r"^(?P<path>[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.@+-]+)+)(?::(?P<line>\d+))?$")


@rule("KB401", "stale-file-reference", family="references", severity=Severity.ERROR)
def stale_file_reference(ctx: Context) -> Iterator[Hit]:
    """A backticked repository path that does not exist, or a line past its end.

    ## What it does
    Code spans such as `` `flake/modules/accounts/default.nix:120` `` whose first folder
    is one of `file-reference-roots` (default: `flake`, `kbgen`, `vault`, `tests`,
    `benchmarks`, `site-overrides`, `docs`) are checked against the repository: the
    file (or, without a line, folder) must exist inside the project and the line,
    when given, must be within it.

    ## Why is this bad?
    Notes that point at code are how auditors find the implementation; a stale path
    or line sends them to the wrong place, and values cited there may have drifted.

    ## Example
    `` `flake/modules/ssh.nix:40` `` after the module moved to
    `flake/modules/stig-baseline/default.nix`.

    ## Fix safety
    No fix.
    """
    roots = set(ctx.config.file_reference_roots)
    for path, note in ctx.vault.notes.items():
        for span in note.code_spans:
            match = _FILE_REF.match(span.text.strip())
            if not match or match["path"].split("/", 1)[0] not in roots:
                continue
            if ".." in match["path"].split("/"):
                continue
            count = ctx.files.line_count(match["path"])
            if count is None and not match["line"] and ctx.files.is_dir(match["path"]):
                continue  # a folder, cited without a line
            if count is None:
                yield Hit(
                    path, span.line, span.column, f"`{span.text}` names a file that does not exist"
                )
            elif match["line"] and int(match["line"]) > count:
                yield Hit(
                    path,
                    span.line,
                    span.column,
                    f"`{span.text}`: line {match['line']} is past the end of "
                    f"{match['path']} ({count} lines)",
                )
