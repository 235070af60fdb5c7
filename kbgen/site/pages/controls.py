"""One page per control: its requirement, what implements it, what verifies it."""

from __future__ import annotations

from kbgen.site import escape, paths
from kbgen.site.pages.common import badge, code, link, option_value, result_badge, source_link
from kbgen.site.pages.risks import risk_page_path
from kbgen.site.render import PageContext, backlinks_section, frontmatter, render_cell
from kbgen.trace.controls import Control
from kbgen.trace.status import MEANING


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
    lines = [
        frontmatter(
            f"{control.id} {control.title}", f"{framework_name} {control.id}: {control.title}"
        ),
        f"# {escape.text(control.id)} {escape.text(control.title)}",
        "",
        f"{badge(status)} · "
        f"{link(page, paths.framework_page(control.framework), escape.text(framework_name))}"
        f" · layer **{escape.text(control.layer)}** · defined in "
        f"{link(page, ctx.page_of_note(control.note), escape.text(control.note))}",
        "",
        "## Requirement",
        "",
        render_cell(ctx, control.note, control.requirement_cell, page) or "_(none written)_",
        "",
    ]
    lines += ["## Implemented by", ""]
    if control.options:
        for option in control.options:
            exists = trace.option_exists(option.path)
            if not exists:
                lines.append(
                    f'- <span class="kb-broken">{escape.text(option.path)}</span> '
                    "(not declared or defined in the flake)"
                )
                continue
            where = _option_locations(ctx, option.path, page)
            lines.append(
                f"- {ctx.option_link(page, option.path)}"
                f" = {option_value(ctx, option.path, page)}" + (f" — {where}" if where else "")
            )
    else:
        lines.append("_No Nix option (organisational control)._")
    lines += ["", "## Verified by", "", _status_sentence(ctx, control), ""]
    lines += _verdicts(ctx, control, page)
    policies, risks = trace.policies_of(control), trace.risks_of(control)
    if policies or risks:
        lines += ["", "## Policy and residual risk", ""]
        lines += [
            f"- {link(page, ctx.page_of_note(p), escape.text(ctx.vault.notes[p].title))}"
            for p in policies
        ]
        lines += [_risk_item(ctx, risk, page) for risk in risks]
    mentions = [n for n in trace.mentions.get(control.key, ()) if n != control.note]
    return "\n".join(lines) + "\n" + backlinks_section(ctx, page, mentions)


def _risk_item(ctx: PageContext, risk: str, page: str) -> str:
    """A residual risk the control accepts: its id linked to its page, its title as the
    register writes it, and who owns it until when."""
    row = ctx.trace.risk_by_id.get(risk)
    if row is None:
        register = ctx.page_of_note(ctx.trace.risks.path)
        return f"- {link(page, register, escape.text(risk), risk.casefold())}"
    head = f"- {link(page, risk_page_path(row.id), escape.text(row.id))}: "
    if row.superseded:
        return head + f"{escape.text(row.title)} (superseded)"
    facts = [
        f"{name.casefold()} {escape.text(value)}"
        for name, value in (
            ("Owner", row.owner),
            ("Review due", row.field("Review due")),
            ("Likelihood", row.likelihood),
            ("Impact", row.impact),
        )
        if value
    ]
    return (
        head
        + render_cell(ctx, row.note, row.title_cell, page)
        + (f" ({', '.join(facts)})" if facts else "")
    )


def _option_locations(ctx: PageContext, path: str, page: str) -> str:
    flake = ctx.trace.flake
    places = [(d.pos.file, d.pos.line, "declared") for d in flake.declared(path)]
    places += [(d.pos.file, d.pos.line, "set") for d in flake.defined(path) if d.test is None]
    shown = []
    for file, line, verb in sorted(set(places))[:3]:
        shown.append(f"{verb} in {source_link(ctx, page, file, line)}")
    return ", ".join(shown)


def _status_sentence(ctx: PageContext, control: Control) -> str:
    status = ctx.trace.status(control)
    sentence = f"Status {badge(status)}: {escape.text(MEANING[status])}."
    if not ctx.trace.evidence.supplied:
        sentence += " No test results were supplied for this build."
    return sentence


def _verdicts(ctx: PageContext, control: Control, page: str) -> list[str]:
    """Each test that names the control, with the result its status rests on and the
    assertions of that result that speak for this control."""
    trace = ctx.trace
    tests = {t.name: t for t in trace.tests_by_control.get(control.key, ())}
    if not tests:
        return ["_No compliance test names this control._"]
    lines = []
    for verdict in trace.status_detail(control).verdicts:
        test = tests[verdict.test]
        head = (
            f"- {link(page, paths.test_page(test.name), escape.text(test.name))} "
            f"({test.assertions} checks, {source_link(ctx, page, test.pos.file, test.pos.line)})"
        )
        run = verdict.run
        if run is None:
            lines.append(head + ": no result supplied")
        else:
            when = run.finished or run.started
            lines.append(
                head
                + f": {result_badge(verdict.outcome)} "
                + (f"on {escape.text(when.strftime('%Y-%m-%d %H:%M UTC'))}, " if when else "")
                + f"flake revision {code(run.flake_rev[:12])}"
                + ("" if verdict.current else " (stale: the flake changed since)")
                + f", from {code(f'{run.path}:{run.line}')}"
            )
        lines += _assertion_lines(ctx, control, page, test, run)
    return lines


def _assertion_lines(ctx: PageContext, control: Control, page: str, test, run) -> list[str]:
    """The assertions that speak for the control: the script's subtests (linked to their
    line) with the result the run gives each, and results the script does not show."""
    results = {a.name: a for a in run.assertions} if run is not None else {}
    lines, shown = [], set()
    for subtest in test.subtests:
        if subtest.controls is not None and control.key not in _keys(ctx.trace, subtest.controls):
            continue
        shown.add(subtest.name)
        result = results.get(subtest.name)
        outcome = f"{result_badge(result.result)} " if result is not None else ""
        tagged = "" if subtest.controls is None else " (tagged with this control)"
        where = source_link(ctx, page, subtest.pos.file, subtest.pos.line)
        lines.append(f"    - {outcome}{escape.text(subtest.name)}{tagged}, {where}")
    for assertion in results.values():
        if assertion.name in shown or (
            assertion.controls is not None
            and control.key not in _keys(ctx.trace, assertion.controls)
        ):
            continue
        tagged = "" if assertion.controls is None else " (tagged with this control)"
        lines.append(
            f"    - {result_badge(assertion.result)} {escape.text(assertion.name)}{tagged}"
        )
    return lines


def _keys(trace, controls) -> set[str]:
    return {c.key for key in controls or () if (c := trace.canonical_control(key))}
