"""Findings, the graph view and the landing pages of the generated sections."""

from __future__ import annotations

from kbgen.rules.base import Finding
from kbgen.site import escape, paths
from kbgen.site.pages.common import badge
from kbgen.site.render import PageContext, frontmatter
from kbgen.trace.graph import build_trace_graph
from kbgen.trace.status import MEANING, STATUSES


def findings_page(ctx: PageContext, findings: list[Finding]) -> dict[str, str]:
    page = f"{paths.GENERATED}/findings.md"
    lines = [frontmatter("Findings", "The current findings of kbgen audit and kbgen trace."),
             "# Findings", "",
             f"{len(findings)} findings from `kbgen check` when this site was built.", ""]
    if findings:
        lines += ["| Where | Rule | Severity | Message |", "|---|---|---|---|"]
        for f in findings:
            lines.append(f"| {escape.text(f'{f.path}:{f.line}:{f.column}')} | {f.code} "
                         f"{f.name} | {f.severity} | {escape.text(f.message)} |")
    return {page: "\n".join(lines) + "\n"}


def graph_page(ctx: PageContext) -> dict[str, str]:
    page = f"{paths.GENERATED}/graph.md"
    text = (frontmatter("Graph", "Notes and controls and how they link.")
            + "# Graph\n\nNotes (blue) and controls (orange), joined by links and citations. "
              "Drag to pan, scroll to zoom, click a node to open it.\n\n"
              '<div class="kb-graph kb-graph-global" data-src="../graph.json"></div>\n')
    return {page: text}


def graph_data(ctx: PageContext) -> dict:
    """The project graph (:func:`kbgen.trace.graph.build_trace_graph`) as the graph view
    draws it: notes and controls, each with its page, and the links between them (a
    control hangs off the PRD that defines it)."""
    graph = build_trace_graph(ctx.trace)
    nodes, index = [], {}
    for path, note in ctx.vault.notes.items():
        index[f"note:{path}"] = len(nodes)
        nodes.append({"id": f"note:{path}", "label": note.title, "kind": "note",
                      "page": ctx.page_of_note(path)})
    for control in ctx.trace.controls.controls:
        index[f"control:{control.key}"] = len(nodes)
        nodes.append({"id": f"control:{control.key}", "label": control.id, "kind": "control",
                      "page": paths.control_page(control.key)})
    edges = set()
    for source, target, kinds in graph.edges(data="kinds"):
        if source in index and target in index and source != target:
            pair = (index[source], index[target])
            edges.add(pair[::-1] if "defined-by" in kinds else pair)
    return {"nodes": nodes, "links": sorted(edges)}


def section_indexes(ctx: PageContext, generated: dict[str, str]) -> dict[str, str]:
    """Landing pages for the generated folders, so navigation shows real titles."""
    trace = ctx.trace
    root = paths.GENERATED
    names = {p.framework: p.name for p in trace.controls.prds}
    pages = {f"{root}/index.md": "\n".join([
        frontmatter("Traceability", "Coverage, controls, options, tests and findings."),
        "# Traceability", "",
        "Everything on these pages is generated from the PRDs, the flake and the registers "
        "on each build.", "",
        "- [Coverage dashboard](dashboard.md): every framework at a glance",
        "- [Controls by status](status/index.md): verified, failing, stale, untested "
        "(test-written and implemented), unmapped",
        "- [Frameworks](frameworks/index.md): one traceability matrix per framework",
        "- [Controls](controls/index.md), [options](options/index.md), "
        "[tests](tests/index.md) and [flake sources](source/index.md)",
        "- [Resolved settings](settings.md) and the [graph](graph.md)",
        "- [Findings](findings.md) of the build's `kbgen check`", ""])}
    framework_list = [f"- [{escape.text(names[f])}]({f}.md)" for f in sorted(names)]
    pages[f"{root}/frameworks/index.md"] = frontmatter("Frameworks") + "# Frameworks\n\n" + \
        "\n".join(framework_list) + "\n"
    pages[f"{root}/controls/index.md"] = frontmatter("Controls") + "# Controls\n\n" + \
        "\n".join(f"- [{escape.text(names[f])}]({f}/index.md)" for f in sorted(names)) + "\n"
    for framework in sorted(names):
        controls = [c for c in trace.controls.controls if c.framework == framework]
        lines = [f"- [{escape.text(c.id)} {escape.text(c.title)}]"
                 f"({paths.control_page(c.key).rsplit('/', 1)[-1]}) {badge(trace.status(c))}"
                 for c in controls]
        pages[f"{root}/controls/{framework}/index.md"] = (
            frontmatter(names[framework]) + f"# {escape.text(names[framework])}\n\n"
            + "\n".join(lines) + "\n")
    counts = {s: sum(1 for c in trace.controls.controls if trace.status(c) == s)
              for s in STATUSES}
    pages[f"{root}/status/index.md"] = frontmatter("Controls by status") + \
        "# Controls by status\n\n" + "\n".join(
            f"- [{s}]({s}.md): {counts[s]} controls {escape.text(MEANING[s])}"
            for s in STATUSES) + "\n"
    for folder, title in (("options", "Nix options"), ("tests", "Compliance tests"),
                          ("source", "Flake sources")):
        prefix = f"{root}/{folder}/"
        entries = sorted(p for p in generated if p.startswith(prefix) and p != prefix + "index.md")
        lines = [f"- [{escape.text(p[len(prefix):-3])}]({p[len(prefix):]})" for p in entries]
        pages[f"{prefix}index.md"] = frontmatter(title) + f"# {title}\n\n" + \
            "\n".join(lines) + "\n"
    return pages
