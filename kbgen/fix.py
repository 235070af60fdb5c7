"""Apply fixes: atomically, byte-preserving, idempotently, and only inside the vault.

Edits address lines and columns of the text without newline characters, so they
are applied to the file's own lines with their own endings kept. A file that
changed since the model read it (its digest differs) is left alone.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from kbgen.errors import KbgenError
from kbgen.fileio import atomic_write, inside
from kbgen.rules.base import Edit, Finding, FixSafety
from kbgen.vault.sources import Sources


@dataclass
class FixResult:
    #: Vault-relative path -> (old text, new text).
    changed: dict[str, tuple[str, str]] = field(default_factory=dict)
    applied: list[Finding] = field(default_factory=list)
    #: Findings whose fix was not applied, with the reason.
    skipped: list[tuple[Finding, str]] = field(default_factory=list)

    def diff(self, display: dict[str, str]) -> str:
        chunks = []
        for path in sorted(self.changed):
            old, new = self.changed[path]
            shown = display.get(path, path)
            chunks.extend(
                difflib.unified_diff(
                    old.splitlines(keepends=True),
                    new.splitlines(keepends=True),
                    f"a/{shown}",
                    f"b/{shown}",
                )
            )
        return "".join(chunks)


def plan_fixes(
    findings: list[Finding], sources: Sources, digests: dict[str, str], *, unsafe: bool
) -> FixResult:
    """Compute the new content of every file the fixes touch (nothing is written)."""
    result = FixResult()
    by_file: dict[str, list[tuple[Finding, Edit]]] = defaultdict(list)
    for finding in findings:
        fix = finding.fix
        if fix is None:
            continue
        if fix.safety is FixSafety.UNSAFE and not unsafe:
            result.skipped.append((finding, "unsafe fix; pass --unsafe-fixes to apply"))
            continue
        for edit in fix.edits:
            by_file[edit.path].append((finding, edit))
    #: Real file -> the vault path that edits it (two symlinks to one file: one writer).
    writers: dict[Path, str] = {}
    for path, items in sorted(by_file.items()):
        try:
            resolved = _writable(sources, path)
            data = resolved.read_bytes()
        except (OSError, RuntimeError) as exc:
            for finding, _ in items:
                result.skipped.append((finding, f"cannot read {path}: {exc}"))
            continue
        if resolved in writers:
            for finding, _ in items:
                result.skipped.append(
                    (
                        finding,
                        f"{path} is the same file as {writers[resolved]}; the next run fixes it",
                    )
                )
            continue
        writers[resolved] = path
        if digests.get(path) and hashlib.sha256(data).hexdigest() != digests[path]:
            for finding, _ in items:
                result.skipped.append((finding, f"{path} changed since it was read"))
            continue
        old = data.decode("utf-8")
        new, applied = _apply(old, items)
        if new != old:
            result.changed[path] = (old, new)
        result.applied.extend(f for f in dict.fromkeys(applied))
    return result


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def _writable(sources: Sources, path: str) -> Path:
    """The regular file a fix of ``path`` reads and writes: a symlink is followed
    (and written through) only when its real target is a file inside its root (the vault,
    or the project for a PRD or register kept outside the vault)."""
    resolved = sources.file(path).resolve(strict=True)
    if not inside(resolved, sources.root_of(path).resolve()):
        raise PermissionError(f"it is a symlink to {resolved}, outside the vault; not followed")
    if not resolved.is_file():
        raise PermissionError("not a regular file")
    return resolved


def apply_edits(text: str, edits: list[Edit] | tuple[Edit, ...]) -> str:
    """``text`` with ``edits`` applied, as :func:`plan_fixes` would (for a rule that
    checks what its fix would produce)."""
    return _apply(text, [(None, edit) for edit in edits])[0]  # type: ignore[misc]


def _apply(text: str, items: list[tuple[Finding, Edit]]) -> tuple[str, list[Finding]]:
    # Split exactly where the parser counts lines (LF, CRLF, lone CR), keeping the endings.
    lines = _LINE.findall(text)
    newline = "\r\n" if "\r\n" in text else "\n"
    applied: list[Finding] = []
    seen_inserts: set[tuple[int, str]] = set()
    taken: list[tuple[int, int, int]] = []
    # Bottom-up, right-to-left, so earlier positions stay valid.
    # Insertions at one place are applied last first, so they read in the order given.
    ordered = sorted(
        enumerate(items),
        key=lambda ife: (ife[1][1].line, ife[1][1].start_column, ife[0]),
        reverse=True,
    )
    for finding, edit in (item for _, item in ordered):
        insert = edit.start_column == edit.end_column
        if insert and (edit.line, edit.text) in seen_inserts:
            applied.append(finding)  # the same line is being added twice: once is enough
            continue
        if any(
            line == edit.line and not (edit.end_column <= start or edit.start_column >= end)
            for line, start, end in taken
            if not insert
        ):
            continue  # overlaps an edit already applied; the next run will pick it up
        index = edit.line - 1
        replacement = edit.text.replace("\n", newline)
        if index >= len(lines):
            if lines and not lines[-1].endswith(("\n", "\r")):
                lines[-1] += newline
            lines.append(replacement)
        else:
            body = lines[index].rstrip("\r\n")
            ending = lines[index][len(body) :]
            lines[index] = (
                body[: edit.start_column - 1] + replacement + body[edit.end_column - 1 :] + ending
            )
        if insert:
            seen_inserts.add((edit.line, edit.text))
        else:
            taken.append((edit.line, edit.start_column, edit.end_column))
        applied.append(finding)
    return "".join(lines), applied


def write_fixes(result: FixResult, sources: Sources) -> None:
    """Write every changed file; a symlinked note is written through its link (the link
    stays a link), and only when the file it reaches is still inside the vault."""
    for path, (_old, new) in sorted(result.changed.items()):
        try:
            target = _writable(sources, path)
        except (OSError, RuntimeError) as exc:
            raise KbgenError(f"fix not written: {exc}", path) from exc
        atomic_write(target, new.encode("utf-8"), durable=True)
