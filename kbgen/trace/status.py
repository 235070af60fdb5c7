"""The status ladder: what is known of each control, and on what evidence.

Every control has exactly one status. Host and hybrid controls climb from
``unmapped`` (no option that exists) to ``implemented`` (options exist, no test names
it), ``test-written`` (a test names it, no result supplied), and, with results,
``verified``, ``failing`` or ``stale``; organisational controls are ``policy`` or
``accepted-risk`` (or ``unmapped``). A status never says more than the evidence: only a
current, passing result of every test that names a control makes it ``verified``.
"""

from __future__ import annotations

from dataclasses import dataclass

from kbgen.evidence import Evidence, Outcome, TestRun

#: The statuses, best known first; this order is used in every table and chart.
STATUSES = (
    "verified",
    "failing",
    "stale",
    "test-written",
    "implemented",
    "unmapped",
    "accepted-risk",
    "policy",
)

#: What each status means, in the words the site and the docs use.
MEANING = {
    "verified": "the latest result of every test that names it passed, for the current flake",
    "failing": "a current result of a test that names it failed",
    "stale": "its only results are for an earlier flake revision",
    "test-written": "a compliance test names it; no result was supplied",
    "implemented": "its options exist in the flake; no test names it",
    "unmapped": "cites no option that exists and no policy or accepted risk",
    "accepted-risk": "covered by a residual-risk row",
    "policy": "an organisational control covered by a policy",
}

#: Statuses of host and hybrid controls that are backed by a test result.
WITH_RESULTS = ("verified", "failing", "stale")


@dataclass(frozen=True, slots=True)
class TestVerdict:
    """What one test that names a control says of it."""

    __test__ = False  # not a pytest test class, whatever its name says

    test: str
    #: The run that decides: the latest current one, else the latest stale one.
    run: TestRun | None
    current: bool
    #: What that run says of the control (None without a run).
    outcome: Outcome | None


@dataclass(frozen=True, slots=True)
class ControlStatus:
    status: str
    #: One verdict per test that names the control (empty for other controls).
    verdicts: tuple[TestVerdict, ...] = ()


def host_status(control_key: str, test_names: tuple[str, ...], evidence: Evidence) -> ControlStatus:
    """The status of a host or hybrid control whose options exist."""
    if not test_names:
        return ControlStatus("implemented")
    verdicts = tuple(_verdict(control_key, name, evidence) for name in test_names)
    if any(v.current and v.outcome is Outcome.FAILED for v in verdicts):
        status = "failing"
    elif all(v.current and v.outcome is Outcome.PASSED for v in verdicts):
        status = "verified"
    elif any(v.run is not None and not v.current for v in verdicts):
        status = "stale"
    else:
        status = "test-written"
    return ControlStatus(status, verdicts)


def latest_run(test: str, evidence: Evidence) -> tuple[TestRun | None, bool]:
    """The run of ``test`` that speaks for it: the latest current one, else the latest
    stale one (by finish, then start time; file order breaks ties). And whether it is
    current."""
    runs = [r for r in evidence.runs if r.test == test]
    current = [r for r in runs if evidence.is_current(r)]
    chosen = current or runs
    if not chosen:
        return None, False
    latest = max(enumerate(chosen), key=lambda item: (_when(item[1]), item[0]))[1]
    return latest, bool(current)


def _verdict(control_key: str, test: str, evidence: Evidence) -> TestVerdict:
    run, current = latest_run(test, evidence)
    return TestVerdict(test, run, current, run.verdict_for(control_key) if run else None)


def _when(run: TestRun) -> str:
    moment = run.finished or run.started
    return moment.isoformat() if moment else ""
