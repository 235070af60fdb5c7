"""Generated pages: frameworks, controls, options, tests, sources, registers, dashboard.

Each function returns ``{page path: Markdown}``. Every piece of text that comes from
a note, a PRD or the flake goes through :func:`escape_text`, so a title such as
``<script>`` shows as text.
"""

from __future__ import annotations

import json
from collections import defaultdict

from kbgen.rules.base import Finding
from kbgen.site import charts, escape, paths
from kbgen.site.render import PageContext, backlinks_section, frontmatter
from kbgen.trace.controls import Control
from kbgen.trace.exports import coverage, matrix_rows
from kbgen.trace.graph import build_trace_graph
from kbgen.trace.model import STATUSES

STATUS_LABEL = {"tested": "tested", "untested": "untested", "unmapped": "unmapped",
                "accepted-risk": "accepted risk", "policy": "policy"}


def badge(status: str) -> str:
    return f'<span class="kb-badge kb-{status}">{STATUS_LABEL.get(status, status)}</span>'


def _link(from_page: str, to_page: str, text: str, anchor: str | None = None) -> str:
    return f"[{text}]({paths.relative(from_page, to_page, anchor)})"


def _source(from_page: str, file: str, line: int) -> str:
    """A link to a line of a flake file's source page."""
    return _link(from_page, paths.source_page(file), escape.text(f"{file}:{line}"),
                 paths.source_anchor(line))


def _code(text: str) -> str:
    return escape.code(text)


def framework_pages(ctx: PageContext) -> dict[str, str]:
    trace = ctx.trace
    pages: dict[str, str] = {}
    figures = {c.framework: c for c in coverage(trace)}
    for prd in trace.controls.prds:
        page = paths.framework_page(prd.framework)
        figure = figures[prd.framework]
        rows = [r for r in matrix_rows(trace, prd.framework)]
        lines = [frontmatter(f"{prd.name} traceability",
                             f"Controls of {prd.name}, their options, tests and status."),
                 f"# {escape.text(prd.name)} traceability", "",
                 f"Version {escape.text(prd.version)} · requirements in "
                 f"{_link(page, ctx.page_of_note(prd.note), 'the PRD')} · "
                 f"{figure.total} controls, {figure.percent_covered:.0f}% covered "
                 "(tested, governed by a policy or accepted as a residual risk).", "",
                 charts.status_bar(figure.by_status), "",
                 "| Control | Title | Layer | Status | Options | Tests |",
                 "|---|---|---|---|---|---|"]
        for row in rows:
            key = f"{row['framework']}/{row['control']}"
            control_link = _link(page, paths.control_page(key), escape.text(row["control"]))
            options = ", ".join(_link(page, paths.option_page(o), _code(o))
                                for o in row["options"])
            if row["missing_options"]:
                options += " " + ", ".join(f'<span class="kb-broken">{escape.text(o)}</span>'
                                           for o in row["missing_options"])
            tests = ", ".join(_link(page, paths.test_page(t), escape.text(t))
                              for t in row["tests"])
            lines.append(f"| {control_link} | {escape.text(row['title'])} | "
                         f"{escape.text(row['layer'])} | "
                         f"{badge(row['status'])} | {options} | {tests} |")
        pages[page] = "\n".join(lines) + "\n"
    return pages


def control_pages(ctx: PageContext) -> dict[str, str]:
    trace = ctx.trace
    pages = {}
    names = {p.framework: p.name for p in trace.controls.prds}
    for control in trace.controls.controls:
        page = paths.control_page(control.key)
        pages[page] = _control_page(ctx, control, page, names[control.framework])
    return pages


def _control_page(ctx: PageContext, control: Control, page: str, framework_name: str) -> str:
    trace = ctx.trace
    status = trace.status(control)
    lines = [frontmatter(f"{control.id} {control.title}",
                         f"{framework_name} {control.id}: {control.title}"),
             f"# {escape.text(control.id)} {escape.text(control.title)}", "",
             f"{badge(status)} · "
             f"{_link(page, paths.framework_page(control.framework), escape.text(framework_name))}"
             f" · layer **{escape.text(control.layer)}** · defined in "
             f"{_link(page, ctx.page_of_note(control.note), escape.text(control.note))}", "",
             "## Requirement", "", escape.text(control.requirement) or "_(none written)_", ""]
    lines += ["## Implemented by", ""]
    if control.options:
        for option in control.options:
            exists = trace.option_exists(option.path)
            if not exists:
                lines.append(f'- <span class="kb-broken">{escape.text(option.path)}</span> '
                             "(not declared or defined in the flake)")
                continue
            where = _option_locations(ctx, option.path, page)
            lines.append(f"- {_link(page, paths.option_page(option.path), _code(option.path))}"
                         + (f" — {where}" if where else ""))
    else:
        lines.append("_No Nix option (organisational control)._")
    lines += ["", "## Verified by", ""]
    tests = trace.tests_by_control.get(control.key, ())
    lines += [f"- {_link(page, paths.test_page(t.name), escape.text(t.name))} "
              f"({t.assertions} assertions, {_source(page, t.pos.file, t.pos.line)})"
              for t in tests] or ["_No compliance test names this control._"]
    policies, risks = trace.policies_of(control), trace.risks_of(control)
    if policies or risks:
        lines += ["", "## Policy and residual risk", ""]
        lines += [f"- {_link(page, ctx.page_of_note(p), escape.text(ctx.vault.notes[p].title))}"
                  for p in policies]
        for risk in risks:
            row = trace.risk_by_id.get(risk)
            title = f"{risk}: {row.title}" if row else risk
            register = ctx.page_of_note(trace.risks.path)
            lines.append(f"- {_link(page, register, escape.text(title), risk.casefold())}")
    mentions = [n for n in trace.mentions.get(control.key, ()) if n != control.note]
    return "\n".join(lines) + "\n" + backlinks_section(ctx, page, mentions)


def _option_locations(ctx: PageContext, path: str, page: str) -> str:
    flake = ctx.trace.flake
    places = [(d.pos.file, d.pos.line, "declared") for d in flake.declared(path)]
    places += [(d.pos.file, d.pos.line, "set") for d in flake.defined(path) if d.test is None]
    shown = []
    for file, line, verb in sorted(set(places))[:3]:
        shown.append(f"{verb} in {_source(page, file, line)}")
    return ", ".join(shown)


def option_pages(ctx: PageContext) -> dict[str, str]:
    trace = ctx.trace
    cited: dict[str, list[Control]] = defaultdict(list)
    for control in trace.controls.controls:
        for option in control.options:
            if trace.option_exists(option.path):
                cited[option.path].append(control)
    for setting in trace.settings.settings:
        cited.setdefault(setting.canonical_path, [])
    pages = {}
    for path, controls in sorted(cited.items()):
        page = paths.option_page(path)
        flake = trace.flake
        lines = [frontmatter(path, f"Nix option {path}: where it is declared and set, and the "
                                   "controls it implements."),
                 f"# {_code(path)}", ""]
        declared = flake.declared(path)
        if declared:
            d = declared[0]
            default = json.dumps(d.default) if d.default_is_literal else d.default_text or "none"
            lines += ["| | |", "|---|---|",
                      f"| Declared | {_source(page, d.pos.file, d.pos.line)} |",
                      f"| Type | {_code(d.type_text or '?')} |",
                      f"| Default | {_code(default)} |"]
            if d.description:
                lines.append(f"| Description | {escape.text(d.description)} |")
            lines.append("")
        definitions = [d for d in flake.defined(path) if d.test is None]
        if definitions:
            lines += ["## Set in", "", "| Where | Value | Priority |", "|---|---|---|"]
            for d in definitions:
                value = json.dumps(d.value) if d.value_is_literal else d.value_text
                lines.append(f"| {_source(page, d.pos.file, d.pos.line)} "
                             f"| {_code(value[:120])} | {d.priority or 'normal'} |")
            lines.append("")
        lines += ["## Controls", ""]
        lines += [f"- {_link(page, paths.control_page(c.key), escape.text(c.key))} "
                  f"{escape.text(c.title)}" for c in controls] or ["_No control cites it._"]
        pinned = [s for s in trace.settings.settings if s.canonical_path == path]
        if pinned:
            lines += ["", "## Resolved setting", ""]
            settings = f"{paths.GENERATED}/settings.md"
            lines += [f"- {_link(page, settings, escape.text(s.title), escape.anchor_id(s.id))}"
                      for s in pinned]
        pages[page] = "\n".join(lines) + "\n"
    return pages


def test_pages(ctx: PageContext) -> dict[str, str]:
    trace = ctx.trace
    pages = {}
    for test in trace.tests:
        page = paths.test_page(test.name)
        lines = [frontmatter(f"Test {test.name}", f"Compliance test {test.name}."),
                 f"# Test {_code(test.name)}", "",
                 f"Defined in {_source(page, test.pos.file, test.pos.line)}"
                 f" · {test.assertions} assertions · nodes: "
                 f"{', '.join(escape.text(n) for n in test.node_names) or '?'}", "",
                 "## Controls it verifies", ""]
        for key in test.controls:
            control = trace.canonical_control(key)
            lines.append(f"- {_link(page, paths.control_page(control.key), escape.text(key))} "
                         f"{escape.text(control.title)}" if control else
                         f'- <span class="kb-broken">{escape.text(key)}</span> (no such control)')
        lines += ["", "## Options its nodes set", ""]
        lines += [f"- {_code(o)}" for o in test.options_set] or ["_none_"]
        pages[page] = "\n".join(lines) + "\n"
    return pages


def source_pages(ctx: PageContext) -> dict[str, str]:
    """Every Nix file of the flake as a page with numbered, linkable lines."""
    pages = {}
    root = ctx.vault.config.project_root
    for nix_file in ctx.trace.flake.files:
        page = paths.source_page(nix_file.path)
        try:
            text = (root / nix_file.path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        pages[page] = (frontmatter(nix_file.path, f"Source of {nix_file.path}.",
                                   ["search:", "  exclude: true"])
                       + f"# {_code(nix_file.path)}\n\n"
                       + escape.fenced(text, 'nix linenums="1"'))
    return pages


def settings_page(ctx: PageContext) -> dict[str, str]:
    settings = ctx.trace.settings
    page = f"{paths.GENERATED}/settings.md"
    lines = [frontmatter("Resolved settings", "Every cross-framework value, its driving "
                         "frameworks, rejected values and canonical option."),
             "# Resolved settings", "",
             f"From `{escape.text(settings.path)}`: each value is pinned to an option of the "
             "canonical module, which `kbgen trace` checks on every build.", ""]
    for setting in settings.settings:
        lines += [f"## {escape.text(setting.title)} {{ #{escape.anchor_id(setting.id)} }}", "",
                  f"**Value** {_code(json.dumps(setting.value))} · **canonical option** "
                  + _link(page, paths.option_page(setting.canonical_path),
                          _code(setting.canonical_path)),
                  ""]
        drivers = []
        for key in setting.frameworks:
            control = ctx.trace.canonical_control(key)
            drivers.append(_link(page, paths.control_page(control.key), escape.text(key))
                           if control else escape.text(key))
        if drivers:
            lines += ["Driven by " + ", ".join(drivers) + ".", ""]
        if setting.rejected:
            lines += ["| Rejected value | Why |", "|---|---|"]
            lines += [f"| {_code(json.dumps(value))} | {escape.text(reason)} |"
                      for value, reason in setting.rejected]
            lines.append("")
    return {page: "\n".join(lines) + "\n"}


def dashboard_page(ctx: PageContext) -> dict[str, str]:
    page = f"{paths.GENERATED}/dashboard.md"
    figures = coverage(ctx.trace)
    lines = [frontmatter("Coverage dashboard", "Coverage of every framework: tested, policy, "
                         "accepted risk, untested and unmapped controls."),
             "# Coverage dashboard", "", charts.coverage_chart(figures), "",
             "| Framework | Controls | " + " | ".join(STATUS_LABEL[s].capitalize()
                                                    for s in STATUSES) + " | Covered |",
             "|---|---:|" + "---:|" * len(STATUSES) + "---:|"]
    for figure in figures:
        name = _link(page, paths.framework_page(figure.framework), escape.text(figure.name))
        lines.append(f"| {name} | {figure.total} | "
                     + " | ".join(str(figure.by_status[s]) for s in STATUSES)
                     + f" | {figure.percent_covered:.0f}% |")
    total = sum(f.total for f in figures)
    lines += ["", f"{total} controls across {len(figures)} frameworks; "
              f"{len(ctx.trace.tests)} compliance tests; {len(ctx.trace.risks.rows)} residual "
              f"risks; {len(ctx.trace.settings.settings)} resolved settings.", ""]
    return {page: "\n".join(lines) + "\n"}


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
    for folder, title in (("options", "Nix options"), ("tests", "Compliance tests"),
                          ("source", "Flake sources")):
        prefix = f"{root}/{folder}/"
        entries = sorted(p for p in generated if p.startswith(prefix) and p != prefix + "index.md")
        lines = [f"- [{escape.text(p[len(prefix):-3])}]({p[len(prefix):]})" for p in entries]
        pages[f"{prefix}index.md"] = frontmatter(title) + f"# {title}\n\n" + \
            "\n".join(lines) + "\n"
    return pages
