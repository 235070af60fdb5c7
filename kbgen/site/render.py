"""Turn one note into a page of the compiled tree.

The note is not parsed again: every link, embed and block id carries its line and
column from the one parse, so rewriting is a matter of replacing those spans in the
note's lines. Wikilinks become relative Markdown links with the site's anchors,
embeds are transcluded (with a guard against cycles), links that do not resolve are
marked, and every page ends with the notes that link to it.
"""

from __future__ import annotations

import html
import posixpath
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from kbgen.site import escape, paths
from kbgen.trace.controls import OPTION_PATH, Control
from kbgen.trace.macros import MacroError, evaluate
from kbgen.trace.model import TraceModel
from kbgen.vault.embeds import (
    MAX_EMBED_DEPTH,
    MAX_EXPANDED_CHARS,
    embedded_lines,
    embedded_note,
    whole_line_embeds,
)
from kbgen.vault.model import ResolvedLink, Vault
from kbgen.vault.records import CodeSpan, Macro, Note, TableCell

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".avif", ".bmp"}


@dataclass
class PageContext:
    vault: Vault
    trace: TraceModel
    #: Links that did not resolve, per page (for the strict build and the findings page).
    broken: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    #: Characters transclusion has added to each page so far (bounded per page).
    expanded: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @cached_property
    def controls_by_note(self) -> dict[str, dict[tuple[int, int], Control]]:
        """PRD note -> (line, column) of each control id it defines -> the control."""
        found: dict[str, dict[tuple[int, int], Control]] = defaultdict(dict)
        for control in self.trace.controls.controls:
            found[control.note][(control.line, control.column)] = control
        return found

    @cached_property
    def option_paths(self) -> frozenset[str]:
        """Every option path the site gives a page: the options controls cite, the
        canonical options of resolved settings, the options test nodes set and the code
        spans of notes that name an option, as far as the flake declares or defines them."""
        trace = self.trace
        candidates = {o.path for c in trace.controls.controls for o in c.options}
        candidates.update(s.canonical_path for s in trace.settings.settings)
        candidates.update(o for t in trace.tests for o in t.options_set)
        candidates.update(
            span.text.strip()
            for note in self.vault.notes.values()
            for span in note.code_spans
            if OPTION_PATH.fullmatch(span.text.strip())
        )
        return frozenset(p for p in candidates if trace.option_exists(p))

    @cached_property
    def layout(self) -> paths.Layout:
        """Where option and flake source pages are filed on this build."""
        return paths.Layout.of(self.option_paths, self.trace.flake)

    def option_url(self, page: str, path: str) -> str | None:
        """Where an option's page is, relative to ``page``; None when it has none."""
        if path not in self.option_paths:
            return None
        return paths.relative(page, self.layout.option_page(path, self.trace.flake))

    def option_link(self, page: str, path: str) -> str:
        """An option path as inline code, linked to its page when the site has one (the
        link carries the class ``kb-option`` so that it looks like a link)."""
        url = self.option_url(page, path)
        return escape.code(path) if url is None else f"[{escape.code(path)}]({url}){{ .kb-option }}"

    def page_of_note(self, path: str) -> str:
        config = self.vault.config
        if path == config.master_index and self._master_is_folder_index:
            # The master index is the landing page of its folder when that has no index.
            return paths.note_page(
                path.rsplit("/", 1)[0] + "/" + config.index_name, config.index_name
            )
        return paths.note_page(path, config.index_name)

    @property
    def _master_is_folder_index(self) -> bool:
        config = self.vault.config
        folder = config.master_index.rsplit("/", 1)[0] if "/" in config.master_index else ""
        sibling = f"{folder}/{config.index_name}" if folder else config.index_name
        return bool(folder) and sibling not in self.vault.notes


def _inert(text: str) -> str:
    """No template delimiter survives into a page's front matter (``{`` as a reference)."""
    return text.replace("{", "&#123;").replace("}", "&#125;")


def frontmatter(title: str, description: str | None = None, extra: Iterable[str] = ()) -> str:
    """YAML frontmatter for a page. Titles and descriptions are HTML-escaped here because
    MkDocs' and Material's templates insert them into the page (title tag, navigation,
    headings) without escaping."""
    lines = ["---", f"title: {escape.yaml_string(_inert(html.escape(title, quote=False)))}"]
    if description:
        lines.append(f"description: {escape.yaml_string(_inert(html.escape(description)))}")
    lines.extend(extra)
    lines.append("---")
    return "\n".join(lines) + "\n\n"


def render_note(ctx: PageContext, note: Note) -> str:
    page = ctx.page_of_note(note.path)
    body = _render_lines(ctx, note, page, note.body_line, len(note.lines), (note.path,), 0)
    text = frontmatter(note.title, note.description) + "\n".join(body).strip("\n") + "\n"
    return text + backlinks_section(ctx, page, _inbound_sources(ctx, note.path))


def _inbound_sources(ctx: PageContext, path: str) -> list[str]:
    return sorted({r.source for r in ctx.vault.inbound.get(path, ())})


def backlinks_section(ctx: PageContext, page: str, sources: list[str]) -> str:
    if not sources:
        return ""
    lines = ["", '<div class="kb-backlinks" markdown>', "", "**Linked from**", ""]
    for source in sorted(sources, key=lambda p: ctx.vault.notes[p].title.casefold()):
        title = escape.text(ctx.vault.notes[source].title)
        lines.append(f"- [{title}]({paths.relative(page, ctx.page_of_note(source))})")
    lines += ["", "</div>", ""]
    return "\n".join(lines)


def _links_by_line(ctx: PageContext, note: Note) -> dict[int, list[ResolvedLink]]:
    found: dict[int, list[ResolvedLink]] = defaultdict(list)
    for resolved in ctx.vault.links_by_source.get(note.path, ()):
        if resolved.link.origin == "body":
            found[resolved.link.line].append(resolved)
    return found


@dataclass(frozen=True)
class _Marks:
    """What one note's parse recorded, by line: everything a line's rewrite needs."""

    links: dict[int, list[ResolvedLink]]
    blocks: dict[int, list]
    macros: dict[int, list[Macro]]
    spans: dict[int, list[CodeSpan]]
    raw_html: dict[int, object]
    anchors: dict[int, tuple[int, str, str]]
    controls: dict[tuple[int, int], Control]
    #: Lines inside fenced or indented code blocks (shown exactly as written).
    code_lines: frozenset[int]


def _marks(ctx: PageContext, note: Note) -> _Marks:
    def by_line(items) -> dict[int, list]:
        found: dict[int, list] = defaultdict(list)
        for item in items:
            found[item.line].append(item)
        return found

    return _Marks(
        links=_links_by_line(ctx, note),
        blocks=by_line(note.block_ids),
        macros=by_line(note.macros),
        spans=by_line(note.code_spans),
        raw_html=_raw_html(note) if ctx.vault.config.note_html == "escape" else {},
        anchors=_register_anchors(ctx, note),
        controls=ctx.controls_by_note.get(note.path, {}),
        code_lines=frozenset(
            n
            for block in note.code_blocks
            for n in range(block.line, max(block.line, block.last_line) + 1)
        ),
    )


def _render_lines(
    ctx: PageContext,
    note: Note,
    page: str,
    first: int,
    last: int,
    stack: tuple[str, ...],
    depth: int,
    demote: bool = False,
) -> list[str]:
    """Lines ``first..last`` (1-based, inclusive) of ``note``, rewritten for ``page``.

    With ``demote`` (transcluded content) headings become bold text, so the host
    page's outline and anchors stay its own.
    """
    marks = _marks(ctx, note)
    headings = {h.line: h for h in note.headings} if demote else {}
    register = _register_table(ctx, note)
    transclusions = whole_line_embeds(ctx.vault, note)
    out: list[str] = []
    for number in range(first, last + 1):
        line = note.line_text(number)
        out += _register_wrap(register, number)  # the register's table: cards (CSS)
        if number in headings:
            out.append(f"**{escape.text(headings[number].text)}**")
        elif number in marks.code_lines:
            out.append(line)
        elif marks.raw_html.get(number) == "block":
            out.append(escape.text(line))  # a line of an HTML block, shown as text
        elif number in transclusions:  # a line that holds only an embed: its content
            out.extend(_transclude(ctx, transclusions[number], page, stack, depth))
        else:
            edits = _line_edits(ctx, marks, page, number, line)
            for start, end, text in sorted(edits, key=lambda e: e[0], reverse=True):
                line = line[:start] + text + line[end:]
            out.append(line)
    return out + (_register_wrap(register, last + 1) if register and register[0] >= first else [])


def _line_edits(
    ctx: PageContext, marks: _Marks, page: str, number: int, line: str
) -> list[tuple[int, int, str]]:
    """Replacements ``(start, end, text)`` of one line: links, block ids, macros, option
    spans, anchors, control ids; then every other brace of the author's text."""
    edits: list[tuple[int, int, str]] = []
    for resolved in marks.links.get(number, ()):
        start = resolved.link.column - 1
        edits.append(
            (start, _span_end(line, start, resolved.link.raw), _link_markdown(ctx, resolved, page))
        )
    for block in marks.blocks.get(number, ()):
        start = block.column - 1
        if line[start : start + 1 + len(block.id)] == "^" + block.id:
            edits.append(
                (start, start + 1 + len(block.id), f'<a id="{paths.block_anchor(block.id)}"></a>')
            )
    tags = marks.raw_html.get(number, ())
    for tag in tags if isinstance(tags, list) else ():
        if line.startswith(tag.raw, tag.column - 1):
            edits.append((tag.column - 1, tag.column - 1 + len(tag.raw), escape.text(tag.raw)))
    for macro in marks.macros.get(number, ()):
        start = macro.column - 1
        if line.startswith(macro.raw, start):
            edits.append((start, start + len(macro.raw), _macro_text(ctx, macro, page)))
    _option_spans(ctx, page, line, marks.spans.get(number, ()), edits)
    if number in marks.anchors:
        column, anchor, risk = marks.anchors[number]
        if line.startswith(risk, column - 1):  # the id links to the risk's own page
            url = paths.relative(page, f"{paths.GENERATED}/risks/{anchor}.md")
            edits.append(
                (
                    column - 1,
                    column - 1 + len(risk),
                    f'<a id="{anchor}"></a>[{escape.text(risk)}]({url})',
                )
            )
        else:
            edits.append((column - 1, column - 1, f'<a id="{anchor}"></a>'))
    for (row_line, column), control in marks.controls.items():
        # In a PRD, each control id links to the control's page.
        if row_line == number and line.startswith(control.raw_id, column - 1):
            url = paths.relative(page, paths.control_page(control.key))
            edits.append(
                (
                    column - 1,
                    column - 1 + len(control.raw_id),
                    f'<a id="{control.anchor}"></a>[{escape.text(control.raw_id)}]({url})',
                )
            )
    return edits + _brace_edits(line, marks.spans.get(number, ()), edits)


def _brace_edits(
    line: str, spans: Iterable[CodeSpan], edits: list[tuple[int, int, str]]
) -> list[tuple[int, int, str]]:
    """Every ``{`` of the author's text outside code, as a character reference: no
    attribute list (``{: onclick=… }``) and no template delimiter reaches the renderer
    from a note. Obsidian shows braces as text too; code keeps them as written."""
    taken = [(start, end) for start, end, _ in edits]
    for span in spans:
        end = code_span_end(line, span.column - 1)
        taken.append((span.column - 1, end if end is not None else len(line)))
    # A backslash-escaped brace (``\\{``) becomes the reference alone.
    return [
        (i - 1 if line[i - 1 : i] == "\\" else i, i + 1, "&#123;")
        for i, char in enumerate(line)
        if char == "{" and not any(s <= i < e for s, e in taken)
    ]


def _option_spans(
    ctx: PageContext,
    page: str,
    line: str,
    spans: Iterable[CodeSpan],
    edits: list[tuple[int, int, str]],
) -> None:
    """Link each code span of ``line`` that names an option the site has a page for
    (unless it is already inside a link of the line)."""
    taken = [(start, end) for start, end, _ in edits]
    for span in spans:
        start = span.column - 1
        end = code_span_end(line, start)
        url = ctx.option_url(page, span.text.strip())
        inside_link = line[start - 1 : start] == "[" and line[end or start :][:2] == "]("
        if (
            end is not None
            and url is not None
            and not inside_link
            and not any(s <= start < e for s, e in taken)
        ):
            edits.append((start, end, f"[{line[start:end]}]({url}){{ .kb-option }}"))


def _raw_html(note: Note) -> dict[int, object]:
    """For ``note-html = "escape"``: line -> ``"block"`` for the lines of an HTML block,
    or the inline tags on the line. HTML comments are left alone: they render as nothing."""
    found: dict[int, object] = {}
    for raw in note.html:
        if _is_comment(raw.raw):
            continue
        if raw.block:
            found.update(dict.fromkeys(range(raw.line, raw.last_line + 1), "block"))
        else:
            tags = found.setdefault(raw.line, [])
            if isinstance(tags, list):
                tags.append(raw)
    return found


def _is_comment(raw: str) -> bool:
    text = raw.strip()
    return text.startswith("<!--") and text.endswith("-->") and text.count("-->") == 1


def _macro_text(ctx: PageContext, macro: Macro, page: str) -> str:
    """What a ``{{ ... }}`` span shows: the macro's value, or the text as written."""
    if not macro.is_call:
        return escape.text(macro.raw)
    try:
        value = evaluate(ctx.trace, macro.expression)
    except MacroError as exc:  # reported by TR701; shown, not fatal, if that is ignored
        ctx.broken[page].append(macro.raw)
        return (
            f'<span class="kb-broken" title="{escape.attribute(exc)}">'
            f"{escape.text(macro.raw)}</span>"
        )
    return escape.text(macro.raw if value is None else value)


def _span_end(line: str, start: int, raw: str) -> int:
    """End of a link's source text; in table cells the alias bar is written ``\\|``."""
    if line.startswith(raw, start):
        return start + len(raw)
    escaped = raw.replace("|", "\\|")
    if line.startswith(escaped, start):
        return start + len(escaped)
    close = line.find("]]", start)
    return close + 2 if close >= 0 else start + len(raw)


def _register_anchors(ctx: PageContext, note: Note) -> dict[int, tuple[int, str, str]]:
    """Line -> (column, anchor, id) of each residual-risk row's id cell, on the register."""
    if note.path != ctx.trace.risks.path:
        return {}
    return {row.line: (row.column, row.anchor, row.id) for row in ctx.trace.risks.rows}


def _register_wrap(register: tuple[int, int] | None, number: int) -> list[str]:
    if register and number == register[0]:
        return ['<div class="kb-register" markdown>', ""]
    return ["", "</div>"] if register and number == register[1] + 1 else []


def _register_table(ctx: PageContext, note: Note) -> tuple[int, int] | None:
    """First and last line of the residual-risk table, on the register."""
    rows = ctx.trace.risks.rows
    if note.path != ctx.trace.risks.path or not rows:
        return None
    table = next(
        (
            t
            for t in note.tables
            if t.line <= rows[0].line
            and t.rows
            and max(c.line for c in t.rows[-1]) >= rows[-1].line
        ),
        None,
    )
    if table is None:
        return None
    return table.line, max(c.line for c in table.rows[-1])


def _display(resolved: ResolvedLink) -> str:
    link = resolved.link
    if link.alias and not (link.kind == "embed" and link.alias.isdigit()):
        return link.alias
    if link.kind in ("markdown", "image"):
        return link.alias or link.target
    shown = link.target.removesuffix(".md") or ""
    if link.headings:
        shown = f"{shown} › {link.headings[-1]}" if shown else link.headings[-1]
    return shown or link.raw


def target_url(ctx: PageContext, resolved: ResolvedLink, page: str) -> str | None:
    """Where a resolved link points on the site, relative to ``page``."""
    res = resolved.resolution
    target = res.target
    if target is None or not res.ok:
        return None
    if target.kind in ("note", "folder"):
        anchor = res.anchor
        if anchor and anchor.startswith("^"):
            anchor = paths.block_anchor(anchor[1:])
        return paths.relative(page, ctx.page_of_note(target.note or target.key), anchor)
    if target.kind == "attachment":
        return paths.relative(page, target.key)
    if target.kind == "control":
        return paths.relative(page, paths.control_page(target.key))
    if target.kind == "risk":
        return paths.relative(page, ctx.page_of_note(target.note or ""), target.anchor)
    return None


def _link_markdown(ctx: PageContext, resolved: ResolvedLink, page: str) -> str:
    link = resolved.link
    url = target_url(ctx, resolved, page)
    if url is None:
        ctx.broken[page].append(link.raw)
        detail = escape.attribute(resolved.resolution.detail or "unresolved")
        return f'<span class="kb-broken" title="{detail}">{escape.text(_display(resolved))}</span>'
    # A Markdown link's text is the author's Markdown; a wikilink's alias or target is
    # shown as written, like the text of a broken one.
    if link.kind == "markdown":
        text = _display(resolved).replace("[", "\\[").replace("]", "\\]").replace("|", "\\|")
    else:
        text = escape.link_text(_display(resolved))
    if (
        link.is_embed
        and resolved.resolution.target
        and resolved.resolution.target.kind == "attachment"
    ):
        extension = posixpath.splitext(resolved.resolution.target.key)[1].casefold()
        if extension in IMAGE_EXTENSIONS:
            width = f'{{ width="{link.alias}" }}' if link.alias and link.alias.isdigit() else ""
            alt = escape.text(posixpath.basename(resolved.resolution.target.key))
            return f"![{alt}]({url}){width}"
    return f"[{text}]({url})"


def _transclude(
    ctx: PageContext, resolved: ResolvedLink, page: str, stack: tuple[str, ...], depth: int
) -> list[str]:
    note = embedded_note(ctx.vault, resolved)
    if note.path in stack or depth >= MAX_EMBED_DEPTH or ctx.expanded[page] >= MAX_EXPANDED_CHARS:
        ctx.broken[page].append(resolved.link.raw)
        reason = (
            "embed cycle"
            if note.path in stack
            else "embeds nested too deeply"
            if depth >= MAX_EMBED_DEPTH
            else "page too large to embed more"
        )
        return [
            f'<span class="kb-broken" title="{reason}">{escape.text(resolved.link.raw)}'
            f" ({reason})</span>"
        ]
    first, last = embedded_lines(note, resolved.resolution.anchor)
    inner = _render_lines(ctx, note, page, first, last, (*stack, note.path), depth + 1, demote=True)
    ctx.expanded[page] += sum(len(line) + 1 for line in inner)
    url = paths.relative(page, ctx.page_of_note(note.path), resolved.resolution.anchor)
    return [
        '<div class="kb-embed" markdown>',
        "",
        *inner,
        "",
        f"[↪ {escape.text(note.title)}]({url}){{ .kb-embed-source }}",
        "",
        "</div>",
    ]


def code_span_end(line: str, start: int) -> int | None:
    """End (exclusive) of the code span whose opening backticks are at ``start``."""
    run = len(line[start:]) - len(line[start:].lstrip("`"))
    if run == 0:
        return None
    for match in re.finditer(r"`+", line[start + run :]):
        if len(match.group(0)) == run:
            return start + run + match.end()
    return None


_BACKSLASH_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def render_cell(ctx: PageContext, note_path: str, cell: TableCell | None, page: str) -> str:
    """A table cell of a note as one line of Markdown for the generated ``page``.

    Links are rewritten exactly as on the note's own page, macros expanded, code spans
    shown as inline code (an option the site has a page for is linked to it); every
    other character is escaped text, whatever ``note-html`` says, so that the line is
    safe in a paragraph, a list item or a table cell of a page kbgen writes.
    """
    if cell is None:
        return ""
    note = ctx.vault.notes.get(note_path)
    line = note.line_text(cell.line) if note is not None else ""
    start = cell.column - 1
    source = next(
        (
            form
            for form in (cell.text, cell.text.replace("|", "\\|"))
            if form and line.startswith(form, start)
        ),
        None,
    )
    if note is None or source is None:
        return escape.text(cell.text.strip())
    end = start + len(source)
    edits = _cell_edits(ctx, note, cell, page, line)
    out, cursor = [], start
    for begin, stop, text in sorted(e for e in edits if start <= e[0] and e[1] <= end):
        if begin < cursor:
            continue  # overlapping (a code span inside a link): the first one wins
        out += [_cell_text(line[cursor:begin]), text]
        cursor = stop
    out.append(_cell_text(line[cursor:end]))
    return "".join(out).strip()


def _cell_edits(
    ctx: PageContext, note: Note, cell: TableCell, page: str, line: str
) -> list[tuple[int, int, str]]:
    """(start, end, Markdown) of each link, code span and macro of the cell."""
    edits: list[tuple[int, int, str]] = []
    resolved_links = ctx.vault.links_by_source.get(note.path, ())
    for index in cell.links:
        if index < len(resolved_links) and resolved_links[index].link.line == cell.line:
            resolved = resolved_links[index]
            begin = resolved.link.column - 1
            edits.append(
                (begin, _span_end(line, begin, resolved.link.raw), _cell_link(ctx, resolved, page))
            )
    for index in cell.code_spans:
        span = note.code_spans[index]
        close = code_span_end(line, span.column - 1) if span.line == cell.line else None
        if close is not None:
            text = span.text.replace("\\|", "|")
            edits.append((span.column - 1, close, ctx.option_link(page, text.strip())))
    for macro in note.macros:
        if macro.line == cell.line and line.startswith(macro.raw, macro.column - 1):
            edits.append(
                (macro.column - 1, macro.column - 1 + len(macro.raw), _macro_text(ctx, macro, page))
            )
    return edits


def _cell_text(source: str) -> str:
    """Plain text of a cell: backslash escapes resolved, then escaped for the page."""
    return escape.text(_BACKSLASH_ESCAPE.sub(r"\1", source))


def _cell_link(ctx: PageContext, resolved: ResolvedLink, page: str) -> str:
    """A link of a cell: its target as on the note's page, its text always escaped."""
    url = target_url(ctx, resolved, page)
    shown = escape.link_text(_display(resolved))
    if url is None:
        ctx.broken[page].append(resolved.link.raw)
        detail = escape.attribute(resolved.resolution.detail or "unresolved")
        return f'<span class="kb-broken" title="{detail}">{shown}</span>'
    return f"[{shown}]({url})"
