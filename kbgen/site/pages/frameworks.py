"""Framework pages (one traceability matrix each), the dashboard and the status lists.

Figures are never one number that mixes statuses: every status has its own count, and
the headline is the share of host and hybrid controls that are verified.
"""

from __future__ import annotations

from kbgen.site import charts, escape, paths
from kbgen.site.pages.common import badge, control_title, evidence_notice, link, parts
from kbgen.site.render import PageContext, frontmatter
from kbgen.trace.exports import Coverage, coverage, matrix_rows
from kbgen.trace.frameworks import family
from kbgen.trace.status import MEANING, STATUSES

#: The columns of a framework's matrix (each family's table has them).
MATRIX_HEAD = (
    "| Control | Title | Layer | Status | Options | Tests |",
    "|---|---|---|---|---|---|",
)


def framework_pages(ctx: PageContext) -> dict[str, str]:
    """A traceability matrix per framework, one section (heading and table) per family of
    controls: the search index splits a page at its headings, and a family is what an
    auditor reads at once. ``site-overrides/assets/tables.js`` gives the page one filter
    over all its tables."""
    trace = ctx.trace
    pages: dict[str, str] = {}
    figures = {c.framework: c for c in coverage(trace)}
    by_key = trace.controls.by_key()
    for prd in trace.controls.prds:
        page = paths.framework_page(prd.framework)
        figure = figures[prd.framework]
        lines = [
            frontmatter(
                f"{prd.name} traceability",
                f"Controls of {prd.name}, their options, tests and status.",
            ),
            f"# {escape.text(prd.name)} traceability",
            "",
            f"Version {escape.text(prd.version)} · requirements in "
            f"{link(page, ctx.page_of_note(prd.note), 'the PRD')} · "
            f"{figure.total} controls; {_headline(figure)}",
            "",
            evidence_notice(ctx),
            "",
            charts.status_bar(figure.by_status),
            "",
        ]
        families: dict[tuple[str, str] | None, list[str]] = {}
        for row in matrix_rows(trace, prd.framework):
            group = family(row["framework"], row["control"])
            families.setdefault(group, []).append(_matrix_row(ctx, page, row, by_key))
        if len(families) > 1 or None not in families:
            lines += ['<div class="kb-matrix-filter"></div>', ""]
        for group in sorted(families, key=lambda g: g or ("", "")):
            if group is not None:
                folder = f"{paths.control_family_folder(prd.framework, group[0])}/index.md"
                count = len(families[group])
                lines += [
                    f"## {escape.text(group[1])} {{ #family-{group[0]} }}",
                    "",
                    f"{count} controls · {link(page, folder, 'their pages')}",
                    "",
                ]
            for number, part in enumerate(parts(families[group])):
                if number:
                    title = escape.text(group[1]) if group else "Controls"
                    lines += [f"### {title} (continued)", ""]
                lines += [*MATRIX_HEAD, *part, ""]
        pages[page] = "\n".join(lines)
    return pages


def _matrix_row(ctx: PageContext, page: str, row: dict, by_key: dict) -> str:
    """One control's row of the matrix: id, title, layer, status, options and tests."""
    key = f"{row['framework']}/{row['control']}"
    control_link = link(page, paths.control_page(key), escape.text(row["control"]))
    options = ", ".join(ctx.option_link(page, o) for o in row["options"])
    if row["missing_options"]:
        options += " " + ", ".join(
            f'<span class="kb-broken">{escape.text(o)}</span>' for o in row["missing_options"]
        )
    tests = ", ".join(link(page, paths.test_page(t), escape.text(t)) for t in row["tests"])
    control = by_key.get(key)
    title = control_title(ctx, control, page) if control else escape.text(row["title"])
    return (
        f"| {control_link} | {title} | {escape.text(row['layer'])} | "
        f"{badge(row['status'])} | {options} | {tests} |"
    )


def _headline(figure: Coverage) -> str:
    return (
        f"**{figure.verified_percent:.0f}% verified**: {figure.verified} of "
        f"{figure.host_and_hybrid} host and hybrid controls have a current, passing "
        "test result."
    )


def dashboard_page(ctx: PageContext) -> dict[str, str]:
    page = f"{paths.GENERATED}/dashboard.md"
    figures = coverage(ctx.trace)
    host = sum(f.host_and_hybrid for f in figures)
    verified = sum(f.verified for f in figures)
    lines = [
        frontmatter(
            "Coverage dashboard",
            "What is known of every framework's controls: "
            "verified, failing, stale, test-written, implemented, unmapped, "
            "accepted risk and policy.",
        ),
        "# Coverage dashboard",
        "",
        evidence_notice(ctx),
        "",
        f"**{verified} of {host} host and hybrid controls are verified** "
        f"({100.0 * verified / host if host else 0:.0f}%).",
        "",
        charts.coverage_chart(figures),
        "",
        "| Framework | Controls | "
        + " | ".join(link(page, paths.status_page(s), s) for s in STATUSES)
        + " | Verified (host and hybrid) |",
        "|---|---:|" + "---:|" * len(STATUSES) + "---:|",
    ]
    for figure in figures:
        name = link(page, paths.framework_page(figure.framework), escape.text(figure.name))
        lines.append(
            f"| {name} | {figure.total} | "
            + " | ".join(str(figure.by_status[s]) for s in STATUSES)
            + f" | {figure.verified} of {figure.host_and_hybrid} "
            f"({figure.verified_percent:.0f}%) |"
        )
    lines += ["", "What each status means:", ""]
    lines += [
        f"- {badge(s)} {link(page, paths.status_page(s), 'list')}: {MEANING[s]}." for s in STATUSES
    ]
    total = sum(f.total for f in figures)
    lines += [
        "",
        f"{total} controls across {len(figures)} frameworks; "
        f"{len(ctx.trace.tests)} compliance tests; {len(ctx.trace.risks.rows)} residual "
        f"risks; {len(ctx.trace.settings.settings)} resolved settings.",
        "",
    ]
    return {page: "\n".join(lines) + "\n"}


def status_pages(ctx: PageContext) -> dict[str, str]:
    """One page per status listing its controls: a section per framework, and in it one per
    family (cut every :data:`~kbgen.site.pages.common.SECTION_ROWS` rows), with one filter
    over all the tables (``site-overrides/assets/tables.js``)."""
    trace = ctx.trace
    names = {p.framework: p.name for p in trace.controls.prds}
    pages = {}
    for status in STATUSES:
        page = paths.status_page(status)
        controls = [c for c in trace.controls.controls if trace.status(c) == status]
        lines = [
            frontmatter(f"Controls: {status}", f"Every control whose status is {status}."),
            f"# {badge(status)} controls",
            "",
            f"{len(controls)} controls {escape.text(MEANING[status])}.",
            "",
            evidence_notice(ctx),
            "",
        ]
        if controls:
            lines += ['<div class="kb-matrix-filter"></div>', ""]
        groups: dict[str, dict[tuple[str, str] | None, list]] = {}
        for control in sorted(controls, key=lambda c: (c.framework, c.note, c.line)):
            framework = groups.setdefault(control.framework, {})
            framework.setdefault(family(control.framework, control.id), []).append(control)
        for framework in sorted(groups, key=lambda f: names.get(f, f).casefold()):
            name = escape.text(names.get(framework, framework))
            lines += [f"## {name}", ""]
            for group in sorted(groups[framework], key=lambda g: g or ("", "")):
                for number, part in enumerate(parts(groups[framework][group])):
                    title = escape.text(group[1]) if group else name
                    more = " (continued)" if number else ""
                    if group or number:
                        lines += [f"### {title}{more}", ""]
                    lines += ["| Control | Title | Layer | Tests |", "|---|---|---|---|"]
                    lines += [_status_row(ctx, page, control) for control in part]
                    lines.append("")
        pages[page] = "\n".join(lines)
    return pages


def _status_row(ctx: PageContext, page: str, control) -> str:
    tests = ctx.trace.tests_by_control.get(control.key, ())
    return (
        f"| {link(page, paths.control_page(control.key), escape.text(control.id))} | "
        f"{control_title(ctx, control, page)} | {escape.text(control.layer)} | "
        + ", ".join(link(page, paths.test_page(t.name), escape.text(t.name)) for t in tests)
        + " |"
    )
