"""Framework pages (one traceability matrix each), the dashboard and the status lists.

Figures are never one number that mixes statuses: every status has its own count, and
the headline is the share of host and hybrid controls that are verified.
"""

from __future__ import annotations

from kbgen.site import charts, escape, paths
from kbgen.site.pages.common import badge, control_title, evidence_notice, link
from kbgen.site.render import PageContext, frontmatter
from kbgen.trace.exports import Coverage, coverage, matrix_rows
from kbgen.trace.status import MEANING, STATUSES


def framework_pages(ctx: PageContext) -> dict[str, str]:
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
            "| Control | Title | Layer | Status | Options | Tests |",
            "|---|---|---|---|---|---|",
        ]
        for row in matrix_rows(trace, prd.framework):
            key = f"{row['framework']}/{row['control']}"
            control_link = link(page, paths.control_page(key), escape.text(row["control"]))
            options = ", ".join(ctx.option_link(page, o) for o in row["options"])
            if row["missing_options"]:
                options += " " + ", ".join(
                    f'<span class="kb-broken">{escape.text(o)}</span>'
                    for o in row["missing_options"]
                )
            tests = ", ".join(link(page, paths.test_page(t), escape.text(t)) for t in row["tests"])
            title = (
                control_title(ctx, by_key[key], page)
                if key in by_key
                else escape.text(row["title"])
            )
            lines.append(
                f"| {control_link} | {title} | "
                f"{escape.text(row['layer'])} | "
                f"{badge(row['status'])} | {options} | {tests} |"
            )
        pages[page] = "\n".join(lines) + "\n"
    return pages


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
    """One page per status listing its controls, grouped by framework."""
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
            lines += ["| Framework | Control | Title | Layer | Tests |", "|---|---|---|---|---|"]
            for control in sorted(controls, key=lambda c: (c.framework, c.note, c.line)):
                tests = trace.tests_by_control.get(control.key, ())
                lines.append(
                    f"| {escape.text(names.get(control.framework, control.framework))} | "
                    f"{link(page, paths.control_page(control.key), escape.text(control.id))} | "
                    f"{control_title(ctx, control, page)} | {escape.text(control.layer)} | "
                    + ", ".join(
                        link(page, paths.test_page(t.name), escape.text(t.name)) for t in tests
                    )
                    + " |"
                )
        pages[page] = "\n".join(lines) + "\n"
    return pages
