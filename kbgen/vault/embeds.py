"""Transclusion: which lines of a note an embed shows, and how large a page grows.

A line that holds nothing but ``![[note]]`` (or ``![[note#Heading]]``, or a folder) is
replaced on the site by the embedded lines, which may embed further notes. Depth is
capped (:data:`MAX_EMBED_DEPTH`), but fan-out multiplies: six notes under 1 KB that
each embed the next twelve times expand to 29 MB. :func:`expanded_size` measures what a
page becomes, once per span (memoised, so linear in the vault); the audit reports a page
over :data:`MAX_EXPANDED_CHARS`, and the site compiler stops transcluding there.
"""

from __future__ import annotations

from kbgen.vault.model import ResolvedLink, Vault
from kbgen.vault.records import Heading, Note

MAX_EMBED_DEPTH = 4
#: The most characters transclusion may make one page (2 MB of prose is a book).
MAX_EXPANDED_CHARS = 2_000_000


def has_note_embeds(vault: Vault) -> bool:
    """Whether any note embeds another note or a folder (most vaults: none)."""
    return any(
        r.link.is_embed
        and r.resolution.ok
        and r.resolution.target is not None
        and r.resolution.target.kind in ("note", "folder")
        for r in vault.links
    )


def whole_line_embeds(vault: Vault, note: Note) -> dict[int, ResolvedLink]:
    """Line -> the embed of a note or folder that is all the line holds."""
    found: dict[int, ResolvedLink] = {}
    for resolved in vault.links_by_source.get(note.path, ()):
        link, target = resolved.link, resolved.resolution.target
        if (
            link.kind == "embed"
            and link.origin == "body"
            and resolved.resolution.ok
            and target is not None
            and target.kind in ("note", "folder")
            and note.line_text(link.line).strip() == link.raw
        ):
            found[link.line] = resolved
    return found


def embedded_note(vault: Vault, resolved: ResolvedLink) -> Note:
    target = resolved.resolution.target
    assert target is not None
    return vault.notes[target.note or target.key]


def embedded_lines(note: Note, anchor: str | None) -> tuple[int, int]:
    """First and last line (1-based, inclusive) an embed of ``note#anchor`` shows: the
    heading's section, or the whole body."""
    heading = _heading_for(note, anchor)
    if heading is None:
        return note.body_line, len(note.lines)
    return heading.line, _section_end(note, heading)


def expanded_size(vault: Vault, note: Note) -> int:
    """Characters of ``note``'s page body once every embed is transcluded (to the depth
    cap; an embed cycle counts until the cap, like the renderer's marker)."""
    memo: dict[tuple[str, int, int, int], int] = {}
    embeds: dict[str, dict[int, ResolvedLink]] = {}

    def size(current: Note, first: int, last: int, depth: int) -> int:
        key = (current.path, first, last, depth)
        if key in memo:
            return memo[key]
        memo[key] = 0  # a cycle through this span adds nothing more
        lines = embeds.setdefault(current.path, whole_line_embeds(vault, current))
        total = 0
        for number in range(first, last + 1):
            resolved = lines.get(number)
            if resolved is None or depth >= MAX_EMBED_DEPTH:
                total += len(current.line_text(number)) + 1
                continue
            inner = embedded_note(vault, resolved)
            start, end = embedded_lines(inner, resolved.resolution.anchor)
            total += size(inner, start, end, depth + 1)
            if total > MAX_EXPANDED_CHARS:
                break  # enough to know it is too large
        memo[key] = total
        return total

    return size(note, note.body_line, len(note.lines), 0)


def _heading_for(note: Note, anchor: str | None) -> Heading | None:
    if not anchor or anchor.startswith("^"):
        return None
    return next((h for h in note.headings if h.slug == anchor), None)


def _section_end(note: Note, heading: Heading) -> int:
    for other in note.headings:
        if other.line > heading.line and other.level <= heading.level:
            return other.line - 1
    return len(note.lines)
