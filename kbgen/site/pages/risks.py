"""One page per residual-risk row (``kb/risks/rr-11.md``), so search and links can reach a
risk by its id; the register row links to it.

A row's cells are the author's Markdown: on the risk page each cell is shown as text,
with its wikilinks and Markdown links turned into links, its code spans into inline code
and a struck-through risk into ``<del>``; everything else goes through
:func:`kbgen.site.escape.text`, so no cell can add markup.
"""

from __future__ import annotations

import re

from kbgen.site import escape, paths
from kbgen.site.pages.common import badge, evidence_notice, link
from kbgen.site.render import PageContext, frontmatter, render_cell, target_url
from kbgen.trace.registers import RiskRow
from kbgen.vault.model import ResolvedLink

#: Inline code in a cell (a single run of backticks on each side).
_CODE = re.compile(r"(`+)(.+?)\1")


def risk_page_path(risk_id: str) -> str:
    return f"{paths.GENERATED}/risks/{escape.anchor_id(risk_id)}.md"


def risk_pages(ctx: PageContext) -> dict[str, str]:
    trace = ctx.trace
    if not trace.risks.rows:
        return {}
    register = ctx.page_of_note(trace.risks.path)
    controls: dict[str, list] = {}
    for control in trace.controls.controls:
        for risk in trace.risks_of(control):
            controls.setdefault(risk, []).append(control)
    pages = {}
    for row in trace.risks.rows:
        page = risk_page_path(row.id)
        pages[page] = _risk_page(ctx, row, page, register, controls.get(row.id, []))
    index = f"{paths.GENERATED}/risks/index.md"
    lines = [
        frontmatter("Residual risks", "Every row of the residual-risk register."),
        "# Residual risks",
        "",
        f"The rows of the {link(index, register, 'residual-risk register')}, one page each.",
        "",
    ]
    for row in trace.risks.rows:
        state = " (superseded)" if row.superseded else ""
        lines.append(
            f"- {link(index, risk_page_path(row.id), escape.text(row.id))} "
            f"{_title(ctx, row, index)}{state}"
        )
    pages[index] = "\n".join(lines) + "\n"
    return pages


def _risk_page(ctx: PageContext, row: RiskRow, page: str, register: str, controls: list) -> str:
    title = f"{row.id} {_plain(row.title)}"
    lines = [
        frontmatter(title, f"Residual risk {row.id}: {_plain(row.title)}"),
        f"# {escape.text(row.id)} {_title(ctx, row, page)}",
        "",
        ("**Superseded.** " if row.superseded else "")
        + f"Row {link(page, register, escape.text(row.id), row.anchor)} of the "
        f"{link(page, register, 'residual-risk register')}.",
        "",
    ]
    resolved = _row_links(ctx, row)
    lines.append('<div class="kb-risk-fields" markdown>')
    lines.append("")
    for name, text in row.fields:
        lines += [f"**{escape.text(name)}**", "", _cell(ctx, text, resolved, page), ""]
    lines += ["</div>", ""]
    lines += ["## Controls whose risk it accepts", "", evidence_notice(ctx), ""]
    if controls:
        for control in controls:
            to = link(page, paths.control_page(control.key), escape.text(control.key))
            lines.append(f"- {to} {escape.text(control.title)} {badge(ctx.trace.status(control))}")
    else:
        lines.append("_No control names this risk in its policy / risk column._")
    notes = sorted(ctx.trace.mentions.get(row.id, ()))
    if notes:
        lines += ["", "## Mentioned in", ""]
        lines += [
            f"- {link(page, ctx.page_of_note(n), escape.text(ctx.vault.notes[n].title))}"
            for n in notes
            if n in ctx.vault.notes
        ]
    return "\n".join(lines) + "\n"


def _title(ctx: PageContext, row: RiskRow, page: str) -> str:
    """The Risk cell as the register writes it (code and links rendered), or the plain
    title of a superseded row."""
    if row.superseded or row.title_cell is None:
        return escape.text(_plain(row.title))
    return render_cell(ctx, row.note, row.title_cell, page)


def _plain(text: str) -> str:
    """A risk title for titles and lists: without the strike-through marks."""
    return text.strip("~ ")


def _row_links(ctx: PageContext, row: RiskRow) -> list[ResolvedLink]:
    return [
        r
        for r in ctx.vault.links_by_source.get(row.note, ())
        if r.link.origin == "body" and r.link.line == row.line
    ]


def _cell(ctx: PageContext, text: str, resolved: list[ResolvedLink], page: str) -> str:
    """One cell: links and code spans rendered, everything else escaped text (a cell
    struck through as a whole, a superseded risk, is shown struck through)."""
    if len(text) > 4 and text.startswith("~~") and text.endswith("~~"):
        return f"<del>{_cell(ctx, text[2:-2], resolved, page)}</del>"
    spans: list[tuple[int, int, str]] = []
    for r in resolved:
        for raw in {r.link.raw, r.link.raw.replace("|", "\\|")}:
            for match in re.finditer(re.escape(raw), text):
                spans.append((match.start(), match.end(), _link(ctx, r, page)))
    for match in _CODE.finditer(text):
        spans.append((match.start(), match.end(), ctx.option_link(page, match.group(2).strip())))
    out, position = [], 0
    for start, end, html in sorted(spans):
        if start < position:
            continue  # overlaps a span already taken (a link inside code, or the reverse)
        out.append(escape.text(text[position:start]))
        out.append(html)
        position = end
    out.append(escape.text(text[position:]))
    return "".join(out) or "_(empty)_"


def _link(ctx: PageContext, resolved: ResolvedLink, page: str) -> str:
    link_ = resolved.link
    if link_.alias:
        shown = link_.alias
    elif link_.kind == "markdown":
        shown = link_.target
    else:
        shown = link_.target.removesuffix(".md") or link_.raw
        if link_.headings:
            shown = f"{shown} › {link_.headings[-1]}"
    url = target_url(ctx, resolved, page)
    if url is None:
        return f'<span class="kb-broken">{escape.text(shown)}</span>'
    return f"[{escape.link_text(shown)}]({url})"
