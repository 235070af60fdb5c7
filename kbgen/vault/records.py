"""Records produced by parsing one note: plain frozen data, picklable, positions included.

Parsing happens once per note (``kbgen.vault.parse``); everything downstream
(resolution, rules, the site) reads these records and never the raw text again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

LinkKind = Literal["wikilink", "embed", "markdown", "image"]


@dataclass(frozen=True, slots=True)
class Heading:
    level: int
    text: str
    #: The anchor the site's table of contents gives this heading (unique within the note).
    slug: str
    line: int
    column: int = 1


@dataclass(frozen=True, slots=True)
class BlockId:
    id: str
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Link:
    """A link as written, before resolution."""

    kind: LinkKind
    #: Exactly what the source says, e.g. ``![[note#Part|alias]]`` or ``[t](../x.md#a)``.
    raw: str
    #: Path part of the target, without fragment; ``""`` for a same-note link.
    target: str
    #: Heading path (``#A#B``) as a tuple, empty when there is none.
    headings: tuple[str, ...] = ()
    #: ``^block`` fragment without the caret.
    block: str | None = None
    #: For Markdown links, the raw ``#anchor`` (a slug, not heading text).
    anchor: str | None = None
    #: Display text: the wikilink alias or the Markdown link text.
    alias: str | None = None
    line: int = 1
    column: int = 1
    #: Where the link came from: ``body`` or a frontmatter key such as ``sources``.
    origin: str = "body"

    @property
    def is_embed(self) -> bool:
        return self.kind in ("embed", "image")


@dataclass(frozen=True, slots=True)
class CodeSpan:
    """A backticked span of inline code (candidates for repository file references)."""

    text: str
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Tag:
    name: str
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Suppression:
    """``<!-- kbgen-ignore CODE[, CODE]: reason -->``; covers its own line and the next one,
    or the whole file for ``kbgen-ignore-file``."""

    codes: tuple[str, ...]
    reason: str
    line: int
    column: int
    whole_file: bool
    #: Lines covered (inclusive); ignored when ``whole_file``.
    first_line: int
    last_line: int

    def covers(self, line: int) -> bool:
        return self.whole_file or self.first_line <= line <= self.last_line


@dataclass(frozen=True, slots=True)
class TableCell:
    text: str
    line: int
    column: int
    #: Indexes into the note's ``links`` / ``code_spans`` of what this cell contains.
    links: tuple[int, ...] = ()
    code_spans: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Table:
    header: tuple[TableCell, ...]
    rows: tuple[tuple[TableCell, ...], ...]
    line: int
    #: Lines of the body rows as written (raw cell counts can differ from the header: ragged rows).
    raw_cell_counts: tuple[int, ...] = ()
    #: The heading this table sits under, if any.
    section: str | None = None


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong with a file found while loading or parsing it (becomes a finding)."""

    kind: str
    message: str
    line: int = 1
    column: int = 1


@dataclass(frozen=True, slots=True)
class Note:
    """One Markdown note, parsed."""

    #: Vault-relative POSIX path, e.g. ``wiki/ai-security/prompt-injection.md``.
    path: str
    title: str
    frontmatter: MappingProxyType[str, Any]
    #: 1-based line where the body starts (after the frontmatter block).
    body_line: int
    line_count: int
    headings: tuple[Heading, ...] = ()
    block_ids: tuple[BlockId, ...] = ()
    links: tuple[Link, ...] = ()
    tags: tuple[Tag, ...] = ()
    code_spans: tuple[CodeSpan, ...] = ()
    tables: tuple[Table, ...] = ()
    suppressions: tuple[Suppression, ...] = ()
    problems: tuple[Problem, ...] = ()
    #: Lines of the file exactly as read, kept for messages and fixes (never re-read).
    lines: tuple[str, ...] = field(default=(), repr=False)
    #: The newline the file uses, so fixes write the same one back.
    newline: str = "\n"
    #: SHA-256 of the bytes read, so a fix can refuse to write over a file edited meanwhile.
    digest: str = ""

    @property
    def stem(self) -> str:
        name = self.path.rsplit("/", 1)[-1]
        return name[:-3] if name.lower().endswith(".md") else name

    @property
    def folder(self) -> str:
        return self.path.rsplit("/", 1)[0] if "/" in self.path else ""

    @property
    def description(self) -> str | None:
        value = self.frontmatter.get("description")
        return value if isinstance(value, str) else None

    def line_text(self, line: int) -> str:
        return self.lines[line - 1] if 1 <= line <= len(self.lines) else ""
