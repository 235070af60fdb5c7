"""The ways in: one entry per thing, reachable from the home page.

* ``kb/frameworks/index.md`` is the one list of frameworks: each with its traceability
  matrix, its PRD, its control pages and its coverage;
* ``kb/controls/index.md`` points to the same list and to the controls by status;
* the home page (the vault's ``index.md``) and the registers' landing page get, on the
  site, the links a note cannot write: generated pages are not notes, so a wikilink
  cannot reach them.
"""

from __future__ import annotations

from kbgen.site import escape, paths
from kbgen.site.pages.common import link
from kbgen.site.render import PageContext, frontmatter
from kbgen.trace.exports import coverage

FRAMEWORKS_INDEX = f"{paths.GENERATED}/frameworks/index.md"
CONTROLS_INDEX = f"{paths.GENERATED}/controls/index.md"
DASHBOARD = f"{paths.GENERATED}/dashboard.md"
SETTINGS = f"{paths.GENERATED}/settings.md"
RISKS_INDEX = f"{paths.GENERATED}/risks/index.md"
STATUS_INDEX = f"{paths.GENERATED}/status/index.md"


def framework_table(ctx: PageContext, page: str) -> list[str]:
    """A table row per framework: its matrix, its PRD, its controls and its coverage."""
    figures = {f.framework: f for f in coverage(ctx.trace)}
    lines = [
        "| Framework | Traceability matrix | Requirements | Controls | Verified |",
        "|---|---|---|---:|---:|",
    ]
    for prd in sorted(ctx.trace.controls.prds, key=lambda p: p.name.casefold()):
        figure = figures.get(prd.framework)
        controls = f"{paths.GENERATED}/controls/{prd.framework}/index.md"
        count = figure.total if figure else 0
        verified = (
            f"{figure.verified} of {figure.host_and_hybrid}"
            if figure and figure.host_and_hybrid
            else "none to verify"
        )
        lines.append(
            f"| {escape.text(prd.name)} "
            f"| {link(page, paths.framework_page(prd.framework), 'matrix')} "
            f"| {link(page, ctx.page_of_note(prd.note), 'PRD')} "
            f"| {link(page, controls, f'{count} controls')} | {verified} |"
        )
    return lines


def frameworks_index(ctx: PageContext) -> str:
    page = FRAMEWORKS_INDEX
    count = len(ctx.trace.controls.prds)
    lines = [
        frontmatter(
            "Frameworks", "Every framework: its traceability matrix, its PRD and its controls."
        ),
        "# Frameworks",
        "",
        f"{count} frameworks. For each: the **matrix** (every control with its layer, "
        "status, options and tests), the **PRD** that states the requirements, and the "
        "**controls**, one page each, grouped as the framework groups them.",
        "",
        *framework_table(ctx, page),
        "",
        f"All frameworks at a glance: the {link(page, DASHBOARD, 'coverage dashboard')}.",
        "",
    ]
    return "\n".join(lines)


def controls_index(ctx: PageContext) -> str:
    page = CONTROLS_INDEX
    names = {p.framework: p.name for p in ctx.trace.controls.prds}
    lines = [
        frontmatter("Controls", "Control pages, by framework."),
        "# Controls",
        "",
        "A page per control: its requirement, the Nix options that implement it, the "
        "tests that verify it and its status. The frameworks, with their matrices and "
        f"PRDs, are listed on {link(page, FRAMEWORKS_INDEX, 'Frameworks')}; controls "
        "by status (for example every untested one) on "
        f"{link(page, STATUS_INDEX, 'Controls by status')}.",
        "",
    ]
    lines += [
        f"- {link(page, f'{paths.GENERATED}/controls/{f}/index.md', escape.text(n))}"
        for f, n in sorted(names.items(), key=lambda item: item[1].casefold())
    ]
    return "\n".join(lines) + "\n"


def home_links(ctx: PageContext, page: str) -> list[str]:
    """The traceability entries the home page adds on the site."""
    return [
        "## Traceability",
        "",
        f"- {link(page, DASHBOARD, 'Coverage dashboard')}: every framework at a glance",
        f"- {link(page, FRAMEWORKS_INDEX, 'Frameworks')}: each framework's matrix, PRD and "
        "controls",
        f"- Untested controls: {link(page, paths.status_page('test-written'), 'test-written')}"
        f" and {link(page, paths.status_page('implemented'), 'implemented')}; "
        f"{link(page, paths.status_page('accepted-risk'), 'accepted risks')} and the "
        f"{link(page, RISKS_INDEX, 'residual risks')} they rest on",
        f"- {link(page, SETTINGS, 'Resolved settings')}, "
        f"{link(page, f'{paths.GENERATED}/options/index.md', 'Nix options')}, "
        f"{link(page, f'{paths.GENERATED}/tests/index.md', 'compliance tests')}",
        f"- {link(page, f'{paths.GENERATED}/findings.md', 'Findings')} of this build's "
        f"check, and the {link(page, f'{paths.GENERATED}/graph.md', 'graph')}",
        f"- {link(page, f'{paths.GENERATED}/index.md', 'The whole traceability section')}",
        "",
    ]


def register_links(ctx: PageContext, page: str) -> list[str]:
    """What the registers' landing page adds on the site: the generated pages of both
    registers (a YAML file is not a note, so the note cannot link it)."""
    settings = ctx.trace.settings
    return [
        "## On this site",
        "",
        f"- {link(page, SETTINGS, 'Resolved settings')}: every value of "
        f"{escape.code(settings.path)}, with its canonical option, driving controls and "
        "rejected values",
        f"- {link(page, RISKS_INDEX, 'Residual risks')}: a page per row of the register",
        "",
    ]


def entry_pages(ctx: PageContext, texts: dict[str, str]) -> dict[str, str]:
    """The two indexes, and the home and registers pages with their site-only links."""
    pages = {FRAMEWORKS_INDEX: frameworks_index(ctx), CONTROLS_INDEX: controls_index(ctx)}
    if "index.md" in texts:
        pages["index.md"] = _insert(texts["index.md"], home_links(ctx, "index.md"))
    register_dir = ctx.trace.risks.path.rsplit("/", 1)[0] if "/" in ctx.trace.risks.path else ""
    register_index = f"{register_dir}/index.md" if register_dir else ""
    if register_index and register_index in texts:
        pages[register_index] = _insert(texts[register_index], register_links(ctx, register_index))
    return pages


#: A note marks where the site's links go with this comment on a line of its own
#: (invisible in Obsidian and on the site); without it they go at the end.
MARKER = "<!-- site: traceability links -->"


def _insert(text: str, lines: list[str]) -> str:
    """``lines`` where the note's page has :data:`MARKER`, else at its end (before its
    backlinks)."""
    block = "\n".join(lines) + "\n"
    at = text.find("\n" + MARKER + "\n")
    if at >= 0:
        return text[: at + 1] + block + text[at + 1 + len(MARKER) + 1 :]
    marker = '\n<div class="kb-backlinks" markdown>'
    at = text.find(marker)
    if at < 0:
        return text.rstrip("\n") + "\n\n" + block
    return text[:at].rstrip("\n") + "\n\n" + block + text[at:]
