"""What readers get on top of each page's content: search boosts, "last updated" and
"view source" for notes, tags, the build's commit, and the downloadable exports.

Everything here goes into a page's frontmatter (keys starting with ``kb_``, read by
``site-overrides/main.html``, which escapes them) or into files of the tree; page bodies
are left alone.
"""

from __future__ import annotations

import json
import re

from kbgen.site import escape, history, paths
from kbgen.site.pages.tags import note_tags, tag_page
from kbgen.site.render import PageContext
from kbgen.trace.exports import render_matrix
from kbgen.trace.graph import build_trace_graph, graph_document

#: Search boost per kind of generated page (mkdocs-material's ``search.boost``): exact ids
#: (controls, risks, tests, options) come before the long pages that mention them.
BOOSTS = (
    ("kb/risks/index.md", None),
    ("kb/risks/", 5),
    ("kb/controls/", 4),
    ("kb/options/", 4),
    ("kb/tests/", 3),
    ("kb/frameworks/", 0.5),
    ("kb/status/", 0.3),
    ("kb/tags/", 0.3),
)
#: A control enhancement (``AC-17(1)``) ranks below its base control for the base's id
#: ("AC-17" also matches the enhancement's "17(1)"), and first for its own (only it holds
#: the word "17(1)"; mkdocs.yml's separator keeps such suffixes in the word).
ENHANCEMENT_BOOST = 2
#: The landing page of a family of controls or a group of options lists ids: below them.
LANDING_BOOST = 2
_ENHANCEMENT = re.compile(r"\(\w+\)$")


def search_boost(page: str, enhancement: bool = False) -> float | None:
    if enhancement:
        return ENHANCEMENT_BOOST
    if page.endswith("/index.md") and page.startswith(("kb/controls/", "kb/options/")):
        return LANDING_BOOST
    for prefix, boost in BOOSTS:
        if page == prefix or (prefix.endswith("/") and page.startswith(prefix)):
            return boost
    return None


def annotate(ctx: PageContext, texts: dict[str, str]) -> None:
    """Add the reader metadata to every page of ``texts`` (in place)."""
    config = ctx.vault.config
    root = config.project_root
    changes = history.last_changes(root)
    built = history.head(root)
    build_line = escape.yaml_string(f"{built.date} · commit {built.commit[:12]}") if built else None
    enhancements = {
        paths.control_page(c.key) for c in ctx.trace.controls.controls if _ENHANCEMENT.search(c.id)
    }
    repo = escape.repo_base(config.repo_url)
    note_of_page = {ctx.page_of_note(path): path for path in ctx.vault.notes}
    for page, text in texts.items():
        meta: list[str] = []
        boost = search_boost(page, page in enhancements)
        if boost is not None and "\nsearch:" not in text.split("\n---\n", 1)[0]:
            meta += ["search:", f"  boost: {boost}"]
        if build_line:
            meta.append(f"kb_build: {build_line}")
        path = note_of_page.get(page)
        if path is not None:
            meta += _note_meta(ctx, path, ctx.vault.display_path(path), changes, repo)
        if meta:
            texts[page] = with_meta(text, meta)


def _note_meta(
    ctx: PageContext,
    path: str,
    project_path: str,
    changes: dict[str, history.Revision],
    repo: str | None,
) -> list[str]:
    meta = []
    changed = changes.get(project_path)
    if changed:
        meta.append(f"kb_updated: {escape.yaml_string(changed.date)}")
    if repo:
        meta.append(f"kb_source: {escape.yaml_string(repo + escape.destination(project_path))}")
    tags = note_tags(ctx.vault.notes[path])
    if tags:
        meta.append("kb_tags:")
        # The display text is escaped here (HTML, and no template delimiter survives into
        # the tree); the theme prints it as it is.
        meta += [
            f"  - [{escape.yaml_string(escape.text(t))}, {escape.yaml_string(tag_page(t))}]"
            for t in tags
        ]
    return meta


def split_frontmatter(text: str) -> tuple[str, str]:
    """A compiled page's frontmatter block (up to and with its closing ``---`` line; empty
    when it has none) and the rest."""
    if text.startswith("---\n"):
        end = text.find("\n---\n", 3)
        if end >= 0:
            return text[: end + 5], text[end + 5 :]
    return "", text


def with_meta(text: str, lines: list[str]) -> str:
    """``text`` with ``lines`` added at the end of its frontmatter (or a new one)."""
    head, body = split_frontmatter(text)
    if head:
        return head[:-4] + "\n".join(lines) + "\n---\n" + body
    return "---\n" + "\n".join(lines) + "\n---\n\n" + text


def exports(ctx: PageContext) -> dict[str, bytes]:
    """Each framework's matrix as CSV and JSON, and the whole graph as JSON, published
    under ``kb/exports/`` (linked from the framework pages and the graph page)."""
    trace = ctx.trace
    files: dict[str, bytes] = {}
    for prd in trace.controls.prds:
        for fmt in ("csv", "json"):
            files[export_path(prd.framework, fmt)] = render_matrix(
                trace, fmt, prd.framework
            ).encode("utf-8")
    document = graph_document(build_trace_graph(trace))
    files[export_path("graph", "json")] = (
        json.dumps(document, indent=1, sort_keys=True, default=_json_default) + "\n"
    ).encode("utf-8")
    return files


def export_path(name: str, fmt: str) -> str:
    """Named like the framework's page (``kb/frameworks/<name>.md``), so the page's
    template finds its downloads."""
    return f"{paths.GENERATED}/exports/{name}.{fmt}"


def _json_default(value: object) -> object:
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value, key=str)
    return str(value)
