"""Findings, the graph view and the landing pages of the generated sections."""

from __future__ import annotations

import html

import yaml

from kbgen.rules.base import Finding
from kbgen.site import escape, paths
from kbgen.site.pages.common import badge, code, evidence_notice, link
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
    if findings:
        lines += ["| Where | Rule | Severity | Message |", "|---|---|---|---|"]
        for f in findings:
            lines.append(
                f"| {escape.text(f'{f.path}:{f.line}:{f.column}')} | {f.code} "
                f"{f.name} | {f.severity} | {escape.prose(f.message)} |"
            )
    return {page: "\n".join(lines) + "\n"}


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
                paths.option_page(path, trace.flake) if path in with_page else None,
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
    pages.update(_source_indexes(generated))
    return pages


def _source_indexes(generated: dict[str, str]) -> dict[str, str]:
    """A landing page for every folder of the flake's source pages (they mirror the
    flake's own folders), listing its files and sub-folders."""
    root = f"{paths.GENERATED}/source"
    folders: dict[str, set[str]] = {root: set()}
    for page in generated:
        if page.startswith(f"{root}/") and not page.endswith("/index.md"):
            parent, _, name = page.rpartition("/")
            folders.setdefault(parent, set()).add(name)
            while parent != root:
                parent, _, name = parent.rpartition("/")
                folders.setdefault(parent, set()).add(name + "/")
    pages = {}
    for folder, names in folders.items():
        title = "Flake sources" if folder == root else folder[len(root) + 1 :]
        lines = [
            f"- [{escape.text(n)}]({escape.destination(n + 'index.md')})"
            if n.endswith("/")
            else f"- [{escape.text(n[:-3])}]({escape.destination(n)})"
            for n in sorted(names, key=lambda n: (not n.endswith("/"), n))
        ]
        pages[f"{folder}/index.md"] = (
            frontmatter(title) + f"# {escape.text(title)}\n\n" + "\n".join(lines) + "\n"
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
    """The landing page of the options and one per group (the module that declares or
    sets them, :func:`kbgen.site.paths.option_group`)."""
    flake = ctx.trace.flake
    folder = f"{paths.GENERATED}/options"
    groups: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for page, text in generated.items():
        if page.startswith(f"{folder}/") and not page.endswith("/index.md"):
            option = _option_of(text)
            groups.setdefault(paths.option_group(option, flake), []).append((option, page))
    index = f"{folder}/index.md"
    lines = [
        f"- {link(index, f'{folder}/{group}/index.md', escape.text(title))}: {len(options)} options"
        for (group, title), options in sorted(groups.items())
    ]
    pages = {
        index: frontmatter("Nix options") + "# Nix options\n\nGrouped by the flake "
        "module that declares or sets them.\n\n" + "\n".join(lines) + "\n"
    }
    for (group, title), options in groups.items():
        group_index = f"{folder}/{group}/index.md"
        pages[group_index] = (
            frontmatter(title, f"Nix options: {title}")
            + f"# {escape.text(title)}\n\n"
            + "\n".join(
                f"- {link(group_index, page, code(option))}" for option, page in sorted(options)
            )
            + "\n"
        )
    return pages


def _option_of(page_text: str) -> str:
    """The option path an option page is about (its frontmatter title, which
    :func:`kbgen.site.render.frontmatter` wrote HTML-escaped)."""
    first = page_text.split("\n", 2)[1] if page_text.startswith("---") else ""
    title = yaml.safe_load(first[len("title: ") :]) if first.startswith("title: ") else ""
    return html.unescape(title) if isinstance(title, str) else ""
