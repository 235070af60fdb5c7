"""What every generated page uses: links, source-line links, inline code, status badges.

Every piece of text that comes from a note, a PRD, a register or the flake goes through
the helper of :mod:`kbgen.site.escape` for its context, here or in the page modules.
"""

from __future__ import annotations

import json

from kbgen.site import escape, paths
from kbgen.site.render import PageContext, render_cell
from kbgen.trace.controls import Control
from kbgen.trace.status import MEANING


def badge(status: str) -> str:
    """A status badge; its tooltip says what the status means."""
    return (
        f'<span class="kb-badge kb-{status}" title="{escape.attribute(MEANING[status])}">'
        f"{status}</span>"
    )


def link(from_page: str, to_page: str, text: str, anchor: str | None = None) -> str:
    return f"[{text}]({paths.relative(from_page, to_page, anchor)})"


def source_link(ctx: PageContext, from_page: str, file: str, line: int) -> str:
    """A link to a line of a flake file's source page."""
    return link(
        from_page,
        ctx.layout.source_page(file),
        escape.text(f"{file}:{line}"),
        paths.source_anchor(line),
    )


def repo_links(ctx: PageContext, project_path: str) -> str:
    """ "View source" and, for a repository browser whose file URLs hold ``/blob/`` (GitHub,
    GitLab, Gitea), "Edit" links to a file of the project at ``[tool.kbgen] repo-url``; an
    empty string without one. HTML with escaped attributes: the base URL is the project's
    configuration, the path is percent-encoded. On a flake source page reached at a line,
    ``site-overrides/assets/tables.js`` points "View source" at that line (``#L12``)."""
    base = escape.repo_base(ctx.vault.config.repo_url)
    if base is None:
        return ""
    url = base + escape.destination(project_path)
    links = [f'<a class="kb-source" data-kb-view href="{escape.attribute(url)}">View source</a>']
    if "/blob/" in base:
        edit = url.replace("/blob/", "/edit/", 1)
        links.append(f'<a class="kb-source" href="{escape.attribute(edit)}">Edit</a>')
    return '<p class="kb-source-links">' + " · ".join(links) + "</p>"


#: The most entries (rows or list items) of a generated list under one heading: a search
#: index keeps each section of a page as one entry, and Zensical refuses an entry of more
#: than 16 KB of text on a large site.
SECTION_ROWS = 40


def parts(items: list, size: int = SECTION_ROWS) -> list[list]:
    """``items`` cut into runs of at most ``size`` (one when they fit; never empty)."""
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]


def code(text: str) -> str:
    return escape.code(text)


def control_title(ctx: PageContext, control: Control, page: str) -> str:
    """A control's title as its PRD writes it (links and code rendered), for running text
    and table cells; headings and link text use the escaped plain title instead."""
    return render_cell(ctx, control.note, control.title_cell, page) or escape.text(control.title)


def evidence_notice(ctx: PageContext) -> str:
    """What the statuses on a page rest on: says plainly when no results were supplied."""
    evidence = ctx.trace.evidence
    if not evidence.supplied:
        return (
            '<div class="kb-evidence-notice" markdown>\n\n**No test results were supplied '
            "for this build.** No control is shown as verified: a status says at most "
            "that a compliance test names the control (`test-written`).\n\n</div>"
        )
    current = sum(1 for run in evidence.runs if evidence.is_current(run))
    stale = len(evidence.runs) - current
    why = f" ({escape.text(evidence.freshness_note)})" if evidence.freshness_note else ""
    return (
        f'<div class="kb-evidence-notice" markdown>\n\nStatuses rest on '
        f"{len(evidence.runs)} supplied test results from "
        f"{code(evidence.folder or '')}: {current} for the current flake, {stale} for an "
        f"earlier revision{why}.\n\n</div>"
    )


def result_badge(outcome: object) -> str:
    """``passed`` or ``failed`` as a small badge (the outcome of a run or an assertion)."""
    text = getattr(outcome, "value", None) or "no result"
    css = {"passed": "verified", "failed": "failing"}.get(text, "test-written")
    return f'<span class="kb-badge kb-{css}">{escape.text(text)}</span>'


#: NixOS priorities of the wrappers the index unwraps (lower wins).
_PRIORITIES = {
    "mkForce": 50,
    "mkVMOverride": 10,
    "mkImageMediaOverride": 60,
    None: 100,
    "mkDefault": 1000,
    "mkOptionDefault": 1500,
}
#: Longer literal values are not shown inline (the option page shows them in full).
_INLINE_VALUE = 60


def option_value(ctx: PageContext, path: str, page: str) -> str:
    """The value the flake gives an option: the literal of the winning definition (or
    of the declared default) where the index knows it, else "computed" with a link to
    where it is set."""
    flake = ctx.trace.flake
    definitions = [d for d in flake.defined(path) if d.test is None]
    if definitions:
        winner = min(
            definitions, key=lambda d: d.priority_value or _PRIORITIES.get(d.priority, 100)
        )
        shown = _literal(winner.value, winner.value_is_literal)
        where = source_link(ctx, page, winner.pos.file, winner.pos.line)
        more = f" (set in {len(definitions)} places)" if len(definitions) > 1 else ""
        return f"{shown} in {where}{more}" if shown else f"computed in {where}{more}"
    declared = flake.declared(path)
    if declared:
        shown = _literal(declared[0].default, declared[0].default_is_literal)
        return f"{shown} (its default)" if shown else "its default, computed"
    return "not set"


def _literal(value: object, known: bool) -> str | None:
    if not known:
        return None
    text = json.dumps(value, ensure_ascii=False)
    if len(text) > _INLINE_VALUE or "\\n" in text:
        return "a long literal (see the option page)"
    return code(text)
