"""Findings, the graph view and the landing pages of the generated sections."""

from __future__ import annotations

import html

import yaml

from kbgen.rules.base import Finding
from kbgen.site import escape, paths
from kbgen.site.pages.common import SECTION_ROWS, badge, code, evidence_notice, link, parts
from kbgen.site.pages.entries import entry_pages
from kbgen.site.render import PageContext, frontmatter
from kbgen.trace.frameworks import family
from kbgen.trace.graph import build_trace_graph
from kbgen.trace.status import MEANING, STATUSES


def findings_page(ctx: PageContext, findings: list[Finding]) -> dict[str, str]:
    page = f"{paths.GENERATED}/findings.md"
    lines = [
        frontmatter("Findings", "The current findings of kbgen audit and kbgen trace."),
        "# Findings",
        "",
        f"{len(findings)} findings from `kbgen check` when this site was built.",
        "",
    ]
    # Many findings: a section per rule (and per SECTION_ROWS findings of a rule) under one
    # filter, so that no section of the page is too long for a search index.
    by_rule: dict[str, list[Finding]] = {}
    for f in findings:
        rule = f"{f.code} {f.name}" if len(findings) > SECTION_ROWS else ""
        by_rule.setdefault(rule, []).append(f)
    if by_rule and "" not in by_rule:
        lines += ['<div class="kb-matrix-filter"></div>', ""]
    for rule in sorted(by_rule):
        for number, part in enumerate(parts(by_rule[rule])):
            if rule:
                more = " (continued)" if number else f" ({len(by_rule[rule])})"
                lines += [f"## {escape.text(rule)}{more}", ""]
            lines += ["| Where | Rule | Severity | Message |", "|---|---|---|---|"]
            lines += [
                f"| {escape.text(f'{f.path}:{f.line}:{f.column}')} | {f.code} "
                f"{f.name} | {f.severity} | {escape.prose(f.message)} |"
                for f in part
            ]
            lines.append("")
    return {page: "\n".join(lines)}


def graph_page(ctx: PageContext) -> dict[str, str]:
    page = f"{paths.GENERATED}/graph.md"
    exports = f"{paths.GENERATED}/exports"
    text = (
        frontmatter("Graph", "Notes, controls, options, tests and risks, and how they link.")
        + "# Graph\n\nEvery note, control, Nix option, compliance test and residual risk, "
        "joined by links, citations and the trace chain control → option → test. "
        "Controls are gathered into one node per framework until you pick a "
        "framework. Drag (or swipe) to pan, scroll (or pinch) to zoom; click a node to "
        "show its neighbours and their names, click it again to open its page.\n\n"
        '<div class="kb-graph kb-graph-global" data-src="../graph.json"></div>\n\n'
        f"Download the whole traceability graph as [JSON]({exports.split('/', 1)[1]}"
        "/graph.json) (nodes and typed edges, as `kbgen trace --graph` writes it).\n"
    )
    return {page: text}


#: Kinds of node the graph view draws, in legend order.
GRAPH_KINDS = ("note", "control", "option", "test", "risk")


def graph_data(ctx: PageContext) -> dict:
    """The project graph (:func:`kbgen.trace.graph.build_trace_graph`) as the graph view
    draws it: notes, controls, options, tests and risks, each with its page (when it has
    one), and the links between them (a control hangs off the PRD that defines it, so
    the trace chain control -> option / test / risk reads outwards from the control)."""
    from kbgen.site.pages.risks import risk_page_path

    trace = ctx.trace
    graph = build_trace_graph(trace)
    names = {p.framework: p.name for p in trace.controls.prds}
    nodes: list[dict] = []
    index: dict[str, int] = {}

    def add(node_id: str, label: str, kind: str, page: str | None, **extra) -> None:
        index[node_id] = len(nodes)
        nodes.append({"id": node_id, "label": label, "kind": kind, "page": page, **extra})

    for path, note in ctx.vault.notes.items():
        add(f"note:{path}", note.title, "note", ctx.page_of_note(path))
    for control in trace.controls.controls:
        add(
            f"control:{control.key}",
            control.id,
            "control",
            paths.control_page(control.key),
            framework=control.framework,
            status=trace.status(control),
            title=control.title,
        )
    with_page = {
        o.path for c in trace.controls.controls for o in c.options if trace.option_exists(o.path)
    }
    with_page |= {s.canonical_path for s in trace.settings.settings}
    for name, data in sorted(graph.nodes(data=True)):
        kind = data.get("kind")
        if kind == "option" and (graph.in_degree(name) or name[7:] in with_page):
            path = name.split(":", 1)[1]
            add(
                name,
                path,
                "option",
                ctx.layout.option_page(path, trace.flake) if path in with_page else None,
            )
        elif kind == "test":
            add(name, name.split(":", 1)[1], "test", paths.test_page(name.split(":", 1)[1]))
        elif kind == "risk" and name.split(":", 1)[1] in trace.risk_by_id:
            add(name, name.split(":", 1)[1], "risk", risk_page_path(name.split(":", 1)[1]))
    edges = set()
    for source, target, kinds in graph.edges(data="kinds"):
        if source in index and target in index and source != target:
            pair = (index[source], index[target])
            edges.add(pair[::-1] if "defined-by" in kinds else pair)
    return {
        "nodes": nodes,
        "links": sorted(edges),
        "kinds": list(GRAPH_KINDS),
        "frameworks": {f: names[f] for f in sorted(names)},
    }


def section_indexes(ctx: PageContext, generated: dict[str, str]) -> dict[str, str]:
    """Landing pages for the generated folders, so navigation shows real titles: one per
    folder, down to each family of controls and each group of options."""
    trace = ctx.trace
    root = paths.GENERATED
    names = {p.framework: p.name for p in trace.controls.prds}
    pages = {
        f"{root}/index.md": "\n".join(
            [
                frontmatter("Traceability", "Coverage, controls, options, tests and findings."),
                "# Traceability",
                "",
                "Everything on these pages is generated from the PRDs, the flake and the registers "
                "on each build.",
                "",
                "- [Coverage dashboard](dashboard.md): every framework at a glance",
                "- [Controls by status](status/index.md): verified, failing, stale, untested "
                "(test-written and implemented), unmapped",
                "- [Frameworks](frameworks/index.md): one traceability matrix per framework",
                "- [Controls](controls/index.md), [options](options/index.md), "
                "[tests](tests/index.md) and [flake sources](source/index.md)",
                "- [Resolved settings](settings.md) and the [graph](graph.md)",
                "- [Findings](findings.md) of the build's `kbgen check`",
                "",
            ]
        )
    }
    pages.update(entry_pages(ctx, generated))  # frameworks, controls, home, registers
    for framework in sorted(names):
        pages.update(_control_indexes(ctx, framework, names[framework]))
    counts = {s: sum(1 for c in trace.controls.controls if trace.status(c) == s) for s in STATUSES}
    pages[f"{root}/status/index.md"] = (
        frontmatter("Controls by status")
        + "# Controls by status\n\n"
        + "\n".join(
            f"- [{s}]({s}.md): {counts[s]} controls {escape.text(MEANING[s])}" for s in STATUSES
        )
        + "\n"
    )
    pages.update(_option_indexes(ctx, generated))
    prefix = f"{root}/tests/"
    entries = sorted(p for p in generated if p.startswith(prefix) and p != prefix + "index.md")
    pages[f"{prefix}index.md"] = (
        frontmatter("Compliance tests")
        + "# Compliance tests\n\n"
        + "\n".join(f"- [{escape.text(p[len(prefix) : -3])}]({p[len(prefix) :]})" for p in entries)
        + "\n"
    )
    pages.update(_source_indexes(ctx, generated))
    return pages


def _source_indexes(ctx: PageContext, generated: dict[str, str]) -> dict[str, str]:
    """A landing page for every folder of the flake's source pages (they mirror the
    flake's own folders, :class:`kbgen.site.paths.Layout` gathers a crowded folder's files
    into ranges), listing its files and sub-folders."""
    root = f"{paths.GENERATED}/source"
    leaves = {
        page: escape.text(page.rpartition("/")[2][:-3])
        for page in generated
        if page.startswith(f"{root}/") and not page.endswith("/index.md")
    }
    titles = {
        folder: ctx.layout.titles.get(folder) or folder[len(root) + 1 :]
        for folder in {f for page in leaves for f in _ancestors(page, root)}
    }
    head = ("Flake sources", "Every file of the flake, with numbered lines.")
    return tree_indexes(root, leaves, titles, head, "files")


def _ancestors(page: str, root: str) -> list[str]:
    """The folders between ``root`` (excluded) and ``page``."""
    found, folder = [], page.rpartition("/")[0]
    while folder.startswith(root + "/"):
        found.append(folder)
        folder = folder.rpartition("/")[0]
    return found


def tree_indexes(
    root: str,
    leaves: dict[str, str],
    titles: dict[str, str],
    head: tuple[str, str],
    noun: str,
) -> dict[str, str]:
    """A landing page for ``root`` and every folder below it that holds some of ``leaves``
    (page -> its link text, escaped): its sub-folders, titled from ``titles`` with the
    number of pages below each, then its own pages. ``head`` is the root's title and
    introduction."""
    children: dict[str, set[str]] = {root: set()}
    below: dict[str, int] = {}
    for page in leaves:
        children.setdefault(page.rpartition("/")[0], set()).add(page)
        for folder in _ancestors(page, root):
            below[folder] = below.get(folder, 0) + 1
            children.setdefault(folder.rpartition("/")[0], set()).add(folder + "/")
    pages = {}
    for folder, entries in children.items():
        index = f"{folder}/index.md"
        title = head[0] if folder == root else titles.get(folder) or folder.rpartition("/")[2]
        lines = [
            f"- {link(index, f'{e[:-1]}/index.md', escape.text(titles.get(e[:-1]) or e[:-1]))}"
            f": {below[e[:-1]]} {noun}"
            for e in sorted(e for e in entries if e.endswith("/"))
        ]
        lines += [
            f"- {link(index, e, leaves[e])}"
            for e in sorted((e for e in entries if not e.endswith("/")), key=leaves.get)
        ]
        intro = f"{head[1]}\n\n" if folder == root else ""
        pages[index] = (
            frontmatter(title, f"{head[0]}: {title}" if folder != root else head[1])
            + f"# {escape.text(title)}\n\n{intro}"
            + "\n".join(lines)
            + "\n"
        )
    return pages


def _control_indexes(ctx: PageContext, framework: str, name: str) -> dict[str, str]:
    """The landing page of a framework's controls and, when the framework groups them
    (:func:`kbgen.trace.frameworks.family`), one per family."""
    trace = ctx.trace
    folder = f"{paths.GENERATED}/controls/{framework}"
    families: dict[tuple[str, str] | None, list] = {}
    for control in trace.controls.controls:
        if control.framework == framework:
            families.setdefault(family(framework, control.id), []).append(control)

    def entries(index: str, controls: list) -> list[str]:
        return [
            f"- {link(index, paths.control_page(c.key), escape.text(f'{c.id} {c.title}'))}"
            f" {badge(trace.status(c))}"
            for c in controls
        ]

    index = f"{folder}/index.md"
    lines = entries(index, families.pop(None, []))
    for (family_slug, title), controls in sorted(families.items()):
        family_index = f"{paths.control_family_folder(framework, family_slug)}/index.md"
        lines.append(f"- {link(index, family_index, escape.text(title))}: {len(controls)} controls")
    notice = evidence_notice(ctx) + "\n\n"
    pages = {
        index: frontmatter(name) + f"# {escape.text(name)}\n\n" + notice + "\n".join(lines) + "\n"
    }
    for (family_slug, title), controls in families.items():
        family_index = f"{paths.control_family_folder(framework, family_slug)}/index.md"
        pages[family_index] = (
            frontmatter(title, f"{name}: {title}")
            + f"# {escape.text(title)}\n\n"
            + f"{escape.text(name)}, {len(controls)} controls.\n\n"
            + notice
            + "\n".join(entries(family_index, controls))
            + "\n"
        )
    return pages


def _option_indexes(ctx: PageContext, generated: dict[str, str]) -> dict[str, str]:
    """The landing page of the options and one per folder below it: the module that
    declares or sets them (:func:`kbgen.site.paths.option_group`), and the ranges and
    namespaces :class:`kbgen.site.paths.Layout` adds on a large flake."""
    root = f"{paths.GENERATED}/options"
    leaves = {
        page: code(_option_of(text))
        for page, text in generated.items()
        if page.startswith(f"{root}/") and not page.endswith("/index.md")
    }
    head = ("Nix options", "Grouped by the flake module that declares or sets them.")
    return tree_indexes(root, leaves, dict(ctx.layout.titles), head, "options")


def _option_of(page_text: str) -> str:
    """The option path an option page is about (its frontmatter title, which
    :func:`kbgen.site.render.frontmatter` wrote HTML-escaped)."""
    first = page_text.split("\n", 2)[1] if page_text.startswith("---") else ""
    title = yaml.safe_load(first[len("title: ") :]) if first.startswith("title: ") else ""
    return html.unescape(title) if isinstance(title, str) else ""
