"""Pages of the flake: Nix options, compliance tests and source files."""

from __future__ import annotations

import json
import textwrap
from collections import defaultdict

from kbgen.nix.upstream import NIXPKGS_BLOB, nixpkgs_file
from kbgen.site import escape, paths
from kbgen.site.pages.common import (
    code,
    control_title,
    link,
    repo_links,
    result_badge,
    source_link,
)
from kbgen.site.render import PageContext, frontmatter
from kbgen.trace.controls import Control
from kbgen.trace.status import latest_run


def option_pages(ctx: PageContext) -> dict[str, str]:
    """A page for every option the site links to (:attr:`PageContext.option_paths`)."""
    trace = ctx.trace
    cited: dict[str, list[Control]] = defaultdict(list)
    for control in trace.controls.controls:
        for option in control.options:
            cited[option.path].append(control)
    pages = {}
    for path in sorted(ctx.option_paths):
        page = ctx.layout.option_page(path, trace.flake)
        pages[page] = _option_page(ctx, path, cited.get(path, []), page)
    return pages


#: Longer values (and any that spans lines) go in a code block below their table.
_CELL_VALUE = 80


def _option_page(ctx: PageContext, path: str, controls: list[Control], page: str) -> str:
    flake = ctx.trace.flake
    lines = [
        frontmatter(
            path,
            f"Nix option {path}: where it is declared and set, and the controls it implements.",
        ),
        f"# {code(path)}",
        "",
    ]
    blocks: list[str] = []  # values too long for a cell, shown in full after the table
    declared = flake.declared(path)
    if declared:
        d = declared[0]
        default = json.dumps(d.default) if d.default_is_literal else d.default_text or "none"
        lines += [
            "| | |",
            "|---|---|",
            f"| Declared | {source_link(ctx, page, d.pos.file, d.pos.line)} |",
            f"| Type | {_value_cell(d.type_text or '?', 'Type', blocks)} |",
            f"| Default | {_value_cell(default, 'Default', blocks)} |",
        ]
        if d.description:
            lines.append(f"| Description | {escape.prose(d.description)} |")
        lines += ["", *blocks]
    lines += upstream_section(ctx, path, page)
    definitions = [d for d in flake.defined(path) if d.test is None]
    if definitions:
        blocks = []
        lines += ["## Set in", "", "| Where | Value | Priority |", "|---|---|---|"]
        for d in definitions:
            value = json.dumps(d.value) if d.value_is_literal else d.value_text
            where = f"{d.pos.file}:{d.pos.line}"
            lines.append(
                f"| {source_link(ctx, page, d.pos.file, d.pos.line)} "
                f"| {_value_cell(value, f'Value set in {where}', blocks)} "
                f"| {escape.text(d.priority or 'normal')} |"
            )
        lines += ["", *blocks]
    lines += ["## Controls", ""]
    lines += [
        f"- {link(page, paths.control_page(c.key), escape.text(c.key))} "
        f"{control_title(ctx, c, page)}"
        for c in controls
    ] or ["_No control cites it._"]
    pinned = [s for s in ctx.trace.settings.settings if s.canonical_path == path]
    if pinned:
        lines += ["", "## Resolved setting", ""]
        settings = f"{paths.GENERATED}/settings.md"
        lines += [
            f"- {link(page, settings, escape.text(s.title), escape.anchor_id(s.id))}"
            for s in pinned
        ]
    return "\n".join(lines) + "\n"


def upstream_section(ctx: PageContext, path: str, page: str) -> list[str]:
    """What NixOS's options.json says of the option (or of the freeform option it is
    below): type, default, description, what replaced it, and its declarations in nixpkgs
    at the revision flake.nix pins."""
    upstream = ctx.trace.upstream
    match = upstream.lookup(path) if upstream is not None else None
    if match is None or match.option is None:
        return []
    option, blocks = match.option, []
    heading = (
        "In NixOS"
        if match.kind == "option"
        else f"In NixOS (below the freeform option {code(option.path)})"
    )
    lines = [
        f"## {heading}",
        "",
        "| | |",
        "|---|---|",
        f"| Type | {_value_cell(option.type, 'NixOS type', blocks)} |",
        f"| Default | {_value_cell(option.default or 'none', 'NixOS default', blocks)} |",
    ]
    if option.description:
        lines.append(f"| Description | {escape.prose(option.description)} |")
    if option.replacement:
        lines.append(f"| Status | {escape.text(option.replacement)} |")
    rev = ctx.trace.nixpkgs_revision
    declared = [_declaration(d, rev) for d in option.declarations]
    if declared:
        lines.append(f"| Declared in | {', '.join(declared)} |")
    return [*lines, "", *blocks]


def _declaration(file: str, rev: str | None) -> str:
    """A declaration: linked to nixpkgs at the pinned revision when it is a nixpkgs file."""
    in_nixpkgs = nixpkgs_file(file)
    if rev is None or in_nixpkgs is None:
        return code(file)
    url = NIXPKGS_BLOB + escape.destination(f"{rev}/{in_nixpkgs}")
    return f"[{escape.link_text(in_nixpkgs)}]({url})"


def _value_cell(value: str, label: str, blocks: list[str]) -> str:
    """A value for a table cell: inline code when it is short and on one line; else a
    pointer to a code block, added to ``blocks``, that shows it in full below the table."""
    if "\n" not in value and len(value) <= _CELL_VALUE:
        return code(value)
    # The lines after the first keep the indentation of the source file: remove what
    # they share, so the value reads as written and not pushed to the right.
    first, _, rest = value.strip("\n").partition("\n")
    body = f"{first}\n{textwrap.dedent(rest)}" if rest else first
    blocks += [f"{escape.text(label)}:", "", escape.fenced(body, "nix"), ""]
    return f"{escape.text(label.split(' set in ')[0].lower())} shown in full below the table"


def test_pages(ctx: PageContext) -> dict[str, str]:
    trace = ctx.trace
    pages = {}
    for test in trace.tests:
        page = paths.test_page(test.name)
        lines = [
            frontmatter(f"Test {test.name}", f"Compliance test {test.name}."),
            f"# Test {code(test.name)}",
            "",
            f"Defined in {source_link(ctx, page, test.pos.file, test.pos.line)}"
            f" · {test.assertions} assertions · nodes: "
            f"{', '.join(escape.text(n) for n in test.node_names) or '?'}",
            "",
            "## Controls it verifies",
            "",
        ]
        for key in test.controls:
            control = trace.canonical_control(key)
            lines.append(
                f"- {link(page, paths.control_page(control.key), escape.text(key))} "
                f"{control_title(ctx, control, page)}"
                if control
                else f'- <span class="kb-broken">{escape.text(key)}</span> (no such control)'
            )
        lines += ["", "## Last result", "", *_last_result(ctx, test.name)]
        lines += ["", "## Options its nodes set", ""]
        lines += [f"- {_option_link(ctx, page, o)}" for o in test.options_set] or ["_none_"]
        pages[page] = "\n".join(lines) + "\n"
    return pages


def _option_link(ctx: PageContext, page: str, path: str) -> str:
    """An option path, linked to its page when the site has one."""
    return ctx.option_link(page, path)


def _last_result(ctx: PageContext, test: str) -> list[str]:
    """The result that speaks for the test, with each assertion and its controls."""
    run, current = latest_run(test, ctx.trace.evidence)
    if run is None:
        return ["_No result was supplied for this test in this build._"]
    when = run.finished or run.started
    lines = [
        f"{result_badge(run.result)} "
        + (f"on {escape.text(when.strftime('%Y-%m-%d %H:%M UTC'))} · " if when else "")
        + f"flake revision {code(run.flake_rev[:12])}"
        + (" (current)" if current else " (stale: the flake changed since)")
        + f" · system {code(run.system or '?')} · from {code(f'{run.path}:{run.line}')}",
        "",
    ]
    if run.error:
        lines += [f"Error: {escape.text(run.error[:500])}", ""]
    if run.assertions:
        lines += ["| Assertion | Result | Controls |", "|---|---|---|"]
        for assertion in run.assertions:
            controls = (
                "all of the test's"
                if assertion.controls is None
                else ", ".join(escape.text(c) for c in assertion.controls)
            )
            lines.append(
                f"| {escape.text(assertion.name)} | {result_badge(assertion.result)} | {controls} |"
            )
    return lines


def source_pages(ctx: PageContext) -> dict[str, str]:
    """Every Nix file of the flake as a page with numbered, linkable lines."""
    pages = {}
    root = ctx.vault.config.project_root
    for nix_file in ctx.trace.flake.files:
        page = ctx.layout.source_page(nix_file.path)
        try:
            text = (root / nix_file.path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        links = repo_links(ctx, nix_file.path)
        pages[page] = (
            frontmatter(
                nix_file.path, f"Source of {nix_file.path}.", ["search:", "  exclude: true"]
            )
            + f"# {code(nix_file.path)}\n\n"
            + (f"{links}\n\n" if links else "")
            + escape.fenced(text, 'nix linenums="1"')
        )
    return pages
