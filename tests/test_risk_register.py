"""The register's auditor fields (owner, dates, ratings) and the review clock (TR306)."""

from __future__ import annotations

import calendar
from datetime import date

from kbgen.trace.registers import RISK_FIELDS, extract_risks, parse_date, today
from kbgen.vault.parse import parse_note
from tests.test_trace_rules import TRACE, findings, project

HEAD = "| ID | " + " | ".join(RISK_FIELDS) + " |\n|" + "---|" * (len(RISK_FIELDS) + 1) + "\n"


def register(*rows: str):
    text = "---\ntitle: Residual risks\n---\n\n" + HEAD + "".join(r + "\n" for r in rows)
    note = parse_note("registers/residual-risks.md", text.encode())
    return extract_risks(note, note.path)


def row(
    owner="Security lead",
    accepted="2026-01-15",
    due="2027-03-31",
    likelihood="low",
    impact="high",
    rid="RR-01",
) -> str:
    return (
        f"| {rid} | A risk | [[nist-800-53/AT-2]] | why | what | measures | {owner} | "
        f"{accepted} | {due} | {likelihood} | {impact} |"
    )


def _epoch(day: date) -> str:
    """``SOURCE_DATE_EPOCH`` for noon UTC of ``day``."""
    return str(calendar.timegm(day.timetuple()) + 43200)


def test_fields_are_read():
    risk = register(row()).rows[0]
    assert (risk.owner, risk.accepted_on, risk.review_due, risk.likelihood, risk.impact) == (
        "Security lead",
        date(2026, 1, 15),
        date(2027, 3, 31),
        "low",
        "high",
    )


def test_malformed_fields_are_problems():
    problems = register(row(accepted="15/01/2026", likelihood="severe", impact="")).problems
    messages = [p.message for p in problems]
    assert any("'Accepted on' must be an ISO date" in m for m in messages)
    assert any("'Likelihood' must be one of low, medium, high" in m for m in messages)
    assert any("'Impact' is empty" in m for m in messages)
    assert not register(row(likelihood="Medium")).problems  # the scale ignores case


def test_review_before_acceptance_is_a_problem():
    problems = register(row(accepted="2026-05-01", due="2026-04-01")).problems
    assert [p.message for p in problems] == [
        "RR-01: 'Review due' (2026-04-01) is before 'Accepted on' (2026-05-01)"
    ]


def test_parse_date_refuses_impossible_dates():
    assert parse_date("2026-02-30") is None and parse_date("2026-2-3") is None
    assert parse_date(" 2026-06-30 ") == date(2026, 6, 30)


def test_today_comes_from_source_date_epoch(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1796256000")  # 2026-12-03 00:00 UTC
    assert today() == date(2026, 12, 3)
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert isinstance(today(), date)


def test_overdue_depends_on_the_clock(tmp_path, kbgen, monkeypatch):
    overlay = TRACE / "TR306-risk-review-overdue" / "trigger"
    monkeypatch.chdir(project(tmp_path, overlay))
    # 2020-06-30 is the row's review date: the day before it is fine, the day after not.
    monkeypatch.setenv("SOURCE_DATE_EPOCH", _epoch(date(2020, 6, 29)))
    code, out, _ = kbgen("trace", "--select", "TR306", "--fail-on", "info")
    assert findings(out) == [] and code == 0
    monkeypatch.setenv("SOURCE_DATE_EPOCH", _epoch(date(2020, 7, 1)))
    code, out, _ = kbgen("trace", "--select", "TR306", "--fail-on", "info")
    assert findings(out) == [
        "vault/registers/residual-risks.md:9:1: TR306 RR-01: review was "
        "due on 2020-06-30 (owner: Training lead)"
    ]
    assert code == 1


def test_the_bundled_register_is_filled_in_and_due_after_the_reference_date():
    from kbgen.vault.parse import parse_note as parse

    path = TRACE.parent.parent.parent / "vault" / "registers" / "residual-risks.md"
    note = parse("registers/residual-risks.md", path.read_bytes())
    risks = extract_risks(note, note.path)
    assert risks.problems == () and len(risks.rows) >= 18
    for risk in risks.rows:
        assert risk.owner in ("System owner", "Security lead", "AI governance lead")
        assert risk.accepted_on and risk.accepted_on.year == 2026
        assert risk.review_due and risk.review_due > date(2026, 12, 3)
