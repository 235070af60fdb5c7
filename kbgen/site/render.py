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
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from kbgen.site import escape, paths
from kbgen.trace.controls import Control
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
from kbgen.vault.records import Macro, Note

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

    def page_of_note(self, path: str) -> str:
        config = self.vault.config
        if path == config.master_index and self._master_is_folder_index:
            # The master index is the landing page of its folder when that has no index.
            return paths.note_page(path.rsplit("/", 1)[0] + "/" + config.index_name,
                                   config.index_name)
        return paths.note_page(path, config.index_name)

    @property
    def _master_is_folder_index(self) -> bool:
        config = self.vault.config
        folder = config.master_index.rsplit("/", 1)[0] if "/" in config.master_index else ""
        sibling = f"{folder}/{config.index_name}" if folder else config.index_name
        return bool(folder) and sibling not in self.vault.notes


def frontmatter(title: str, description: str | None = None, extra: Iterable[str] = ()) -> str:
    """YAML frontmatter for a page. Titles and descriptions are HTML-escaped here because
    MkDocs' and Material's templates insert them into the page (title tag, navigation,
    headings) without escaping."""
    lines = ["---", f"title: {escape.yaml_string(html.escape(title, quote=False))}"]
    if description:
        lines.append(f"description: {escape.yaml_string(html.escape(description))}")
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


def _render_lines(ctx: PageContext, note: Note, page: str, first: int, last: int,
                  stack: tuple[str, ...], depth: int, demote: bool = False) -> list[str]:
    """Lines ``first..last`` (1-based, inclusive) of ``note``, rewritten for ``page``.

    With ``demote`` (transcluded content) headings become bold text, so the host
    page's outline and anchors stay its own.
    """
    links = _links_by_line(ctx, note)
    headings = {h.line: h for h in note.headings} if demote else {}
    blocks = defaultdict(list)
    for block in note.block_ids:
        blocks[block.line].append(block)
    anchors = _register_anchors(ctx, note)
    control_ids = ctx.controls_by_note.get(note.path, {})
    transclusions = whole_line_embeds(ctx.vault, note)
    raw_html = _raw_html(note) if ctx.vault.config.note_html == "escape" else {}
    macros = defaultdict(list)
    for macro in note.macros:
        macros[macro.line].append(macro)
    out: list[str] = []
    for number in range(first, last + 1):
        line = note.line_text(number)
        if number in headings:
            out.append(f"**{escape.text(headings[number].text)}**")
            continue
        line_links = sorted(links.get(number, ()), key=lambda r: r.link.column, reverse=True)
        if raw_html.get(number) == "block":
            out.append(escape.text(line))  # a line of an HTML block, shown as text
            continue
        # A line that holds only an embed is replaced by the embedded content.
        if number in transclusions:
            out.extend(_transclude(ctx, transclusions[number], page, stack, depth))
            continue
        edits: list[tuple[int, int, str]] = []
        for resolved in line_links:
            start = resolved.link.column - 1
            end = _span_end(line, start, resolved.link.raw)
            edits.append((start, end, _link_markdown(ctx, resolved, page)))
        for block in blocks.get(number, ()):
            start = block.column - 1
            if line[start:start + 1 + len(block.id)] == "^" + block.id:
                edits.append((start, start + 1 + len(block.id),
                              f'<a id="{paths.block_anchor(block.id)}"></a>'))
        for tag in raw_html.get(number, ()) if raw_html.get(number) != "block" else ():
            if line.startswith(tag.raw, tag.column - 1):
                edits.append((tag.column - 1, tag.column - 1 + len(tag.raw),
                              escape.text(tag.raw)))
        for macro in macros.get(number, ()):
            start = macro.column - 1
            if line.startswith(macro.raw, start):
                edits.append((start, start + len(macro.raw), _macro_text(ctx, macro, page)))
        if number in anchors:
            column, anchor = anchors[number]
            edits.append((column - 1, column - 1, f'<a id="{anchor}"></a>'))
        for (row_line, column), control in control_ids.items():
            # In a PRD, each control id links to the control's page.
            if row_line == number and line.startswith(control.raw_id, column - 1):
                url = paths.relative(page, paths.control_page(control.key))
                edits.append((column - 1, column - 1 + len(control.raw_id),
                              f'<a id="{control.anchor}"></a>[{escape.text(control.raw_id)}]'
                              f"({url})"))
        for start, end, text in sorted(edits, key=lambda e: e[0], reverse=True):
            line = line[:start] + text + line[end:]
        out.append(line)
    return out


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
    try:
        value = evaluate(ctx.trace, macro.expression)
    except MacroError as exc:  # reported by TR701; shown, not fatal, if that is ignored
        ctx.broken[page].append(macro.raw)
        return f'<span class="kb-broken" title="{escape.attribute(exc)}">' \
               f"{escape.text(macro.raw)}</span>"
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


def _register_anchors(ctx: PageContext, note: Note) -> dict[int, tuple[int, str]]:
    """Line -> (column, anchor) of each residual-risk row's id cell, on the register."""
    if note.path != ctx.trace.risks.path:
        return {}
    return {row.line: (row.column, row.anchor) for row in ctx.trace.risks.rows}


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
    if link.is_embed and resolved.resolution.target and \
            resolved.resolution.target.kind == "attachment":
        extension = posixpath.splitext(resolved.resolution.target.key)[1].casefold()
        if extension in IMAGE_EXTENSIONS:
            width = f'{{ width="{link.alias}" }}' if link.alias and link.alias.isdigit() else ""
            alt = escape.text(posixpath.basename(resolved.resolution.target.key))
            return f"![{alt}]({url}){width}"
    return f"[{text}]({url})"


def _transclude(ctx: PageContext, resolved: ResolvedLink, page: str, stack: tuple[str, ...],
                depth: int) -> list[str]:
    note = embedded_note(ctx.vault, resolved)
    if note.path in stack or depth >= MAX_EMBED_DEPTH or \
            ctx.expanded[page] >= MAX_EXPANDED_CHARS:
        ctx.broken[page].append(resolved.link.raw)
        reason = "embed cycle" if note.path in stack else "embeds nested too deeply" \
            if depth >= MAX_EMBED_DEPTH else "page too large to embed more"
        return [f'<span class="kb-broken" title="{reason}">{escape.text(resolved.link.raw)}'
                f" ({reason})</span>"]
    first, last = embedded_lines(note, resolved.resolution.anchor)
    inner = _render_lines(ctx, note, page, first, last, (*stack, note.path), depth + 1,
                          demote=True)
    ctx.expanded[page] += sum(len(line) + 1 for line in inner)
    url = paths.relative(page, ctx.page_of_note(note.path), resolved.resolution.anchor)
    return ['<div class="kb-embed" markdown>', "",
            *inner, "", f"[↪ {escape.text(note.title)}]({url}){{ .kb-embed-source }}", "",
            "</div>"]
