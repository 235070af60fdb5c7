"""Parse one note's bytes into a :class:`~kbgen.vault.records.Note`, in a single pass.

This is the only place a note's text is decoded and tokenised. The function is
pure (bytes in, record out) so the loader may run it in worker processes.
"""

from __future__ import annotations

import hashlib
import re
from types import MappingProxyType
from urllib.parse import unquote, urlsplit

from markdown.extensions.toc import slugify as _toc_slugify
from markdown.extensions.toc import unique as _toc_unique

from kbgen.vault import metadata
from kbgen.vault.markdown import MAX_NESTING, make_parser, split_wikilink
from kbgen.vault.records import (
    BlockId,
    CodeBlock,
    CodeSpan,
    Heading,
    Link,
    Macro,
    Note,
    NoteProblemKind,
    Problem,
    RawHtml,
    Suppression,
    Table,
    TableCell,
    Tag,
)

_MD = make_parser()
#: URL schemes whose links run code when followed.
_ACTIVE_SCHEMES = frozenset({"javascript", "vbscript", "data"})
_SUPPRESSION = re.compile(
    r"<!--\s*kbgen-ignore(?P<file>-file)?\s+(?P<codes>[A-Za-z0-9_,\s-]+?)\s*(?::\s*(?P<reason>.*?))?\s*-->",
    re.DOTALL,
)


def slugify(text: str) -> str:
    """The heading anchor the site produces (Python-Markdown's toc, used by MkDocs)."""
    return _toc_slugify(text, "-")


def parse_note(path: str, data: bytes) -> Note:
    """Parse a note. Never raises on content: problems become :class:`Problem` records."""
    digest = hashlib.sha256(data).hexdigest()
    if b"\x00" in data[:8192]:
        binary = Problem(NoteProblemKind.BINARY, "binary file with a .md name")
        return Note(
            path=path,
            title=_stem(path),
            frontmatter=metadata.EMPTY,
            body_line=1,
            line_count=0,
            problems=(binary,),
            digest=digest,
        )
    problems: list[Problem] = []
    text = _decode(data, problems).removeprefix("\ufeff")
    newline = "\r\n" if "\r\n" in text else "\n"
    if "\r" in text:
        # markdown-it treats a lone CR as a line break too; count lines the same way.
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")

    fm_text, fm_lines = metadata.split(text)
    front = metadata.EMPTY
    if fm_text is not None:
        front, fm_problems = metadata.load(fm_text, first_line=1)
        problems.extend(fm_problems)
    # Blank out the frontmatter instead of cutting it off, so token lines are file lines.
    body = "\n" * fm_lines + text[_offset_of_line(text, fm_lines) :] if fm_lines else text

    collector = _Collector(path, lines)
    env: dict = {"_lines": body.split("\n")}
    collector.collect(_MD.parse(body, env))
    for line in sorted(set(env.get("too_deep", ()))):
        problems.append(
            Problem(
                NoteProblemKind.TOO_DEEP,
                f"lists or quotes nested deeper than {MAX_NESTING} levels; "
                "the rest of this line is not parsed",
                line + 1,
                1,
            )
        )
    problems.extend(_renderer_depth_problems(lines, fm_lines, collector.html))
    collector.frontmatter_links(front, lines[:fm_lines])
    problems.extend(collector.problems)

    title = front.get("title") if isinstance(front.get("title"), str) else None
    if not title:
        first_h1 = next((h.text for h in collector.headings if h.level == 1), None)
        title = first_h1 or _stem(path)
    return Note(
        path=path,
        title=title,
        frontmatter=MappingProxyType(dict(front)),
        body_line=fm_lines + 1,
        line_count=len(lines) - (1 if text.endswith("\n") else 0),
        headings=tuple(collector.headings),
        block_ids=tuple(collector.block_ids),
        links=tuple(collector.links),
        tags=tuple(collector.tags),
        code_spans=tuple(collector.code_spans),
        code_blocks=tuple(collector.code_blocks),
        tables=tuple(collector.tables),
        suppressions=tuple(collector.suppressions),
        macros=tuple(collector.macros),
        html=tuple(collector.html),
        problems=tuple(problems),
        lines=tuple(lines),
        newline=newline,
        digest=digest,
    )


#: What the site's renderer (Python-Markdown) recurses on besides lists and quotes, and
#: how much of each kbgen lets through: far below where it runs out of stack (about 1,000
#: nested emphasis markers, 330 nested admonitions or ``<div markdown>`` blocks).
MAX_EMPHASIS_MARKS = 256
MAX_INDENT = 4 * MAX_NESTING
MAX_HTML_DEPTH = 64
_DIV = re.compile(r"<(/?)div\b", re.IGNORECASE)


def _renderer_depth_problems(lines: list[str], first: int, html: list[RawHtml]) -> list[Problem]:
    """Structures nested deeper than the renderer follows: an error each, since a page
    that crashes the renderer would fail the whole site build."""
    problems = []
    for number, line in enumerate(lines[first:], start=first + 1):
        marks = line.count("*") + line.count("_")
        if marks > MAX_EMPHASIS_MARKS:
            problems.append(
                Problem(
                    NoteProblemKind.TOO_DEEP,
                    f"{marks} emphasis markers on "
                    f"one line (at most {MAX_EMPHASIS_MARKS}): the renderer "
                    "nests them and fails",
                    number,
                    1,
                )
            )
        indent = len(line) - len(line.lstrip(" \t"))
        if indent > MAX_INDENT and line.strip():
            problems.append(
                Problem(
                    NoteProblemKind.TOO_DEEP,
                    f"indented {indent} columns (at "
                    f"most {MAX_INDENT}): blocks nested this deep make the "
                    "renderer fail",
                    number,
                    1,
                )
            )
    depth = 0
    for raw in html:
        for match in _DIV.finditer(raw.raw):
            depth += -1 if match.group(1) else 1
            if depth > MAX_HTML_DEPTH:
                problems.append(
                    Problem(
                        NoteProblemKind.TOO_DEEP,
                        f"<div> blocks nested more than {MAX_HTML_DEPTH} deep: the renderer fails",
                        raw.line,
                        raw.column,
                    )
                )
                return problems
    return problems


def _decode(data: bytes, problems: list[Problem]) -> str:
    """The note's text; bytes that are not UTF-8 are replaced and reported once."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        problems.append(
            Problem(
                NoteProblemKind.ENCODING,
                f"invalid UTF-8 (byte 0x{data[exc.start]:02x})",
                line,
                column,
            )
        )
        return data.decode("utf-8", errors="replace")


def _stem(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name[:-3] if name.lower().endswith(".md") else name


def _offset_of_line(text: str, line_index: int) -> int:
    offset = 0
    for _ in range(line_index):
        offset = text.index("\n", offset) + 1
    return offset


class _Collector:
    """Walks the token stream once and turns it into records."""

    def __init__(self, path: str, lines: list[str]) -> None:
        self.path = path
        self.lines = lines
        self.headings: list[Heading] = []
        self.block_ids: list[BlockId] = []
        self.links: list[Link] = []
        self.tags: list[Tag] = []
        self.code_spans: list[CodeSpan] = []
        self.code_blocks: list[CodeBlock] = []
        self.tables: list[Table] = []
        self.suppressions: list[Suppression] = []
        self.macros: list[Macro] = []
        self.html: list[RawHtml] = []
        self.problems: list[Problem] = []
        self._slugs: set[str] = set()

    def collect(self, tokens: list) -> None:
        index, count = 0, len(tokens)
        section: str | None = None
        # Start lines of the current and the previous top-level block.
        block_line, previous_block_line = 0, 0
        # Suppression comments on their own lines waiting for the block they cover.
        pending = 0
        while index < count:
            token = tokens[index]
            kind = token.type
            if (
                token.map
                and token.level == 0
                and (kind.endswith("_open") or kind in ("html_block", "fence", "code_block"))
            ):
                block_line, previous_block_line = token.map[0] + 1, block_line
                if pending and kind != "html_block":
                    self._extend_suppressions(pending, token.map[1])
                    pending = 0
            if kind == "heading_open":
                inline = tokens[index + 1]  # its links are collected by the "inline" branch
                text = _plain_text(inline.children or []).strip()
                slug = _toc_unique(slugify(text), self._slugs)
                line = token.map[0] + 1
                self.headings.append(Heading(int(token.tag[1]), text, slug, line))
                section = text
            elif kind == "table_open":
                end = _closing(tokens, index, "table_open", "table_close")
                self.tables.append(self._table(tokens[index : end + 1], section))
                index = end
            elif kind == "inline":
                before = len(self.block_ids)
                self._inline(token.children or [])
                # A paragraph holding only ``^id`` names the block above it (Obsidian's
                # form for tables, lists and quotes).
                if len(self.block_ids) > before and not _plain_text(token.children or []).strip():
                    bid = self.block_ids[-1]
                    self.block_ids[-1] = BlockId(
                        bid.id, previous_block_line or bid.line, bid.column
                    )
            elif kind in ("fence", "code_block"):
                self.code_blocks.append(
                    CodeBlock(token.info.strip(), token.content, token.map[0] + 1, token.map[1])
                )
            elif kind in ("html_block",):
                self.html.append(
                    RawHtml(token.content.rstrip("\n"), token.map[0] + 1, 1, token.map[1], True)
                )
                before = len(self.suppressions)
                self._html(
                    token.content, token.map[0] + 1, 1, own_line=True, last_line=token.map[1]
                )
                pending += len(self.suppressions) - before
            index += 1

    def _extend_suppressions(self, count: int, last_line: int) -> None:
        """The last ``count`` suppressions cover the block that follows them, to its end."""
        for index in range(len(self.suppressions) - count, len(self.suppressions)):
            suppression = self.suppressions[index]
            if not suppression.whole_file:
                self.suppressions[index] = suppression._replace(last_line=last_line)

    def _inline(self, children: list) -> None:
        for position, child in enumerate(children):
            kind = child.type
            meta = child.meta or {}
            line, column = meta.get("line", 1), meta.get("column", 1)
            if kind in ("wikilink", "embed"):
                target, headings, block, alias = split_wikilink(child.content)
                self.links.append(
                    Link(kind, child.markup, target, headings, block, None, alias, line, column)
                )
            elif kind == "link_open":
                self._markdown_link(
                    child.attrGet("href") or "",
                    meta.get("raw", ""),
                    _plain_text(_until_close(children, position)),
                    "markdown",
                    line,
                    column,
                )
            elif kind == "image":
                self._markdown_link(
                    child.attrGet("src") or "",
                    meta.get("raw", ""),
                    child.content,
                    "image",
                    line,
                    column,
                )
            elif kind == "code_inline":
                self.code_spans.append(
                    CodeSpan(child.content, line, column, len(meta.get("raw", "")))
                )
            elif kind == "tag":
                self.tags.append(Tag(child.content, line, column))
            elif kind == "block_id":
                self.block_ids.append(BlockId(child.content, line, column))
            elif kind == "html_inline":
                self.html.append(
                    RawHtml(meta.get("raw") or child.content, line, column, line, False)
                )
                self._html(child.content, line, column, own_line=False, last_line=line)
            elif kind == "macro":
                self.macros.append(Macro(child.content, child.markup, line, column))

    def _markdown_link(
        self, href: str, raw: str, text: str, kind: str, line: int, column: int
    ) -> None:
        parts = urlsplit(href)
        if parts.scheme.casefold() in _ACTIVE_SCHEMES:
            # A link that runs script is active content, like raw HTML (note-html = escape).
            self.html.append(RawHtml(raw or href, line, column, line, False))
            return
        if parts.scheme or parts.netloc or href.startswith("//"):
            return  # external URL (http:, mailto:, ...): not the vault's business
        target = unquote(parts.path)
        anchor = unquote(parts.fragment) if parts.fragment else None
        self.links.append(
            Link(
                "image" if kind == "image" else "markdown",
                raw or href,
                target,
                (),
                None,
                anchor,
                text or None,
                line,
                column,
            )
        )

    def _html(
        self, content: str, line: int, column: int, *, own_line: bool, last_line: int
    ) -> None:
        for match in _SUPPRESSION.finditer(content):
            codes = tuple(c for c in re.split(r"[\s,]+", match["codes"]) if c)
            start = line + content.count("\n", 0, match.start())
            self.suppressions.append(
                Suppression(
                    codes=codes,
                    reason=(match["reason"] or "").strip(),
                    line=start,
                    column=column,
                    whole_file=bool(match["file"]),
                    first_line=start,
                    last_line=(last_line + 1) if own_line else start,
                )
            )

    def _table(self, tokens: list, section: str | None) -> Table:
        header: list[TableCell] = []
        rows: list[tuple[TableCell, ...]] = []
        raw_counts: list[int] = []
        current: list[TableCell] = []
        in_head = False
        row_line = 0
        row_cursor = [0]
        for token in tokens:
            if token.type == "thead_open":
                in_head = True
            elif token.type == "thead_close":
                in_head = False
            elif token.type == "tr_open":
                current = []
                row_line = token.map[0] if token.map else 0
                row_cursor = [0]
            elif token.type == "tr_close":
                if in_head:
                    header = current
                else:
                    rows.append(tuple(current))
                    raw_counts.append(_raw_cell_count(self.lines, row_line))
            elif token.type == "inline":
                links_before, spans_before = len(self.links), len(self.code_spans)
                self._inline(token.children or [])
                token_line = token.map[0] if token.map else 0
                column = self._cell_column(token_line, token.content, row_cursor)
                current.append(
                    TableCell(
                        token.content,
                        token_line + 1,
                        column,
                        tuple(range(links_before, len(self.links))),
                        tuple(range(spans_before, len(self.code_spans))),
                    )
                )
        line = tokens[0].map[0] + 1 if tokens[0].map else 1
        return Table(tuple(header), tuple(rows), line, tuple(raw_counts), section)

    def _cell_column(self, index: int, content: str, cursor: list[int]) -> int:
        """1-based column of a cell's text on its row, searching left to right."""
        line = self.lines[index] if index < len(self.lines) else ""
        for candidate in (content, content.replace("|", "\\|")):
            found = line.find(candidate, cursor[0]) if candidate else -1
            if found >= 0:
                cursor[0] = found + len(candidate)
                return found + 1
        return 1

    def frontmatter_links(self, front: MappingProxyType, fm_lines: list[str]) -> None:
        """Wikilinks in string values of the frontmatter (``sources``, ``related`` ...)."""
        for key, value in front.items():
            for item in metadata.as_strings(value) if key != "title" else ():
                if "[[" not in item:
                    continue
                line = next((i + 1 for i, text in enumerate(fm_lines) if item in text), 1)
                column = fm_lines[line - 1].find(item) + 1 if line <= len(fm_lines) else 1
                for token in _MD.parseInline(item)[0].children or []:
                    if token.type in ("wikilink", "embed"):
                        target, headings, block, alias = split_wikilink(token.content)
                        offset = token.meta.get("offset", 0)
                        self.links.append(
                            Link(
                                "wikilink",
                                token.markup,
                                target,
                                headings,
                                block,
                                None,
                                alias,
                                line,
                                max(column, 1) + offset,
                                origin=str(key),
                            )
                        )


def _closing(tokens: list, start: int, opening: str, closing: str) -> int:
    depth = 0
    for index in range(start, len(tokens)):
        if tokens[index].type == opening:
            depth += 1
        elif tokens[index].type == closing:
            depth -= 1
            if depth == 0:
                return index
    return len(tokens) - 1


def _until_close(children: list, start: int) -> list:
    depth, out = 0, []
    for child in children[start:]:
        if child.type == "link_open":
            depth += 1
        elif child.type == "link_close":
            depth -= 1
            if depth == 0:
                break
        else:
            out.append(child)
    return out


def _plain_text(children: list) -> str:
    """Visible text of inline tokens, the way a table of contents would show it."""
    parts = []
    for child in children:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("wikilink", "embed"):
            target, headings, _block, alias = split_wikilink(child.content)
            parts.append(alias or (headings[-1] if headings and not target else target))
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "tag":
            parts.append(child.markup)
        elif child.type == "image":
            parts.append(child.content)
    return "".join(parts)


def _closing_run(row: str, start: int, length: int) -> int | None:
    """Index just past the first run of exactly ``length`` backticks at or after ``start``."""
    for match in re.finditer(r"`+", row[start:]):
        if len(match.group()) == length:
            return start + match.end()
    return None


def _raw_cell_count(lines: list[str], index: int) -> int:
    """Cells as written on a table row (markdown-it pads or trims rows to the header)."""
    if index >= len(lines):
        return 0
    row = lines[index].strip()
    count, position = 0, 0
    while position < len(row):
        char = row[position]
        if char == "\\":
            position += 2
            continue
        if char == "`":
            # A run of n backticks opens a code span only if a run of exactly n closes
            # it later on the row; an unmatched run is text (CommonMark).
            rest = row[position:]
            run = len(rest) - len(rest.lstrip("`"))
            close = _closing_run(row, position + run, run)
            position = close if close is not None else position + run
            continue
        if char == "|":
            count += 1
        position += 1
    # ``| a | b |`` has three pipes and two cells; without outer pipes, pipes + 1.
    if row.startswith("|"):
        count -= 1
    if row.endswith("|") and not row.endswith("\\|"):
        count -= 1
    return count + 1
