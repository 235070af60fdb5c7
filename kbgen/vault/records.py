"""Records produced by parsing one note: immutable, positions included.

Parsing happens once per note (``kbgen.vault.parse``); everything downstream
(resolution, rules, the site) reads these records and never the raw text again.

The small records are named tuples rather than dataclasses: a vault of 10,000
notes holds half a million of them, and tuples are several times cheaper to
create and to move between processes (see :mod:`kbgen.vault.packing`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

LinkKind = Literal["wikilink", "embed", "markdown", "image"]


class Heading(NamedTuple):
    level: int
    text: str
    #: The anchor the site's table of contents gives this heading (unique within the note).
    slug: str
    line: int
    column: int = 1


class BlockId(NamedTuple):
    id: str
    line: int
    column: int


class Link(NamedTuple):
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


class CodeSpan(NamedTuple):
    """A backticked span of inline code (candidates for repository file references)."""

    text: str
    line: int
    column: int
    #: Characters the span takes in the source line, backticks included.
    length: int = 0


class CodeBlock(NamedTuple):
    """A fenced or indented code block (its first content line is ``line + 1`` when fenced)."""

    info: str
    text: str
    line: int
    #: The last line of the block (its closing fence, if it has one).
    last_line: int = 0


class Macro(NamedTuple):
    """Template syntax written on one line of the body, outside code: ``{{ expression }}``
    (a candidate macro call, see :mod:`kbgen.trace.macros`), a ``{% statement %}``, a
    ``{# comment #}`` or an opener without its closer. Only ``{{ … }}`` can be a macro;
    the site shows every other one as written."""

    expression: str
    #: The whole span as written, braces included.
    raw: str
    line: int
    column: int

    @property
    def is_call(self) -> bool:
        """Whether this is ``{{ … }}``, the only form a macro call takes."""
        return self.raw.startswith("{{") and self.raw.endswith("}}") and len(self.raw) >= 4


class RawHtml(NamedTuple):
    """Raw HTML written in the body: an inline tag, or an HTML block spanning lines
    ``line`` to ``last_line``."""

    raw: str
    line: int
    column: int
    last_line: int
    block: bool


class Tag(NamedTuple):
    name: str
    line: int
    column: int


class Suppression(NamedTuple):
    """``<!-- kbgen-ignore CODE[, CODE]: reason -->``. On a line of its own it covers the
    block that follows (the paragraph, list, table or code block); inside a line, that
    line; ``kbgen-ignore-file`` covers the whole note."""

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


class TableCell(NamedTuple):
    text: str
    line: int
    column: int
    #: Indexes into the note's ``links`` / ``code_spans`` of what this cell contains.
    links: tuple[int, ...] = ()
    code_spans: tuple[int, ...] = ()


class Table(NamedTuple):
    header: tuple[TableCell, ...]
    rows: tuple[tuple[TableCell, ...], ...]
    line: int
    #: Lines of the body rows as written (raw cell counts can differ from the header: ragged rows).
    raw_cell_counts: tuple[int, ...] = ()
    #: The heading this table sits under, if any.
    section: str | None = None


class NoteProblemKind(StrEnum):
    """What a :class:`Problem` is about. Each kind is reported by exactly one rule (the
    rule declares it with ``reports=``); the values are what the cache stores."""

    #: NUL bytes in a ``.md`` file: it is not parsed.
    BINARY = "binary"
    #: Bytes that are not UTF-8.
    ENCODING = "encoding"
    #: Lists or quotes nested deeper than the parser follows.
    TOO_DEEP = "too-deep"
    #: Frontmatter that is not valid, safe YAML.
    FRONTMATTER_YAML = "frontmatter-yaml"
    #: Frontmatter that is not a mapping, or a known key with a value of the wrong type.
    FRONTMATTER_TYPE = "frontmatter-type"


class _ProblemFields(NamedTuple):
    kind: NoteProblemKind
    message: str
    line: int = 1
    column: int = 1


class Problem(_ProblemFields):
    """Something wrong with a file found while loading or parsing it (becomes a finding).

    ``kind`` may be given as its plain string (as :func:`kbgen.vault.packing.unpack`
    does); it is always stored as a :class:`NoteProblemKind`, and a string that names
    no kind is an error.
    """

    __slots__ = ()

    def __new__(
        cls, kind: NoteProblemKind | str, message: str, line: int = 1, column: int = 1
    ) -> Problem:
        return super().__new__(cls, NoteProblemKind(kind), message, line, column)

    @classmethod
    def _make(cls, iterable: Iterable[Any]) -> Problem:
        return cls(*iterable)


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
    code_blocks: tuple[CodeBlock, ...] = ()
    tables: tuple[Table, ...] = ()
    suppressions: tuple[Suppression, ...] = ()
    macros: tuple[Macro, ...] = ()
    html: tuple[RawHtml, ...] = ()
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
