"""OSCAL assessment results from the evidence the gate reads.

One result for the flake: an observation for every supplied test run and one for each
of its assertions (the result file and line as the evidence, the compliance test as the
origin, the flake revision it ran on as the subject), and a finding per control that a compliance
test names, with the verdict kbgen's status ladder gives it:

========================  ====================================================
kbgen status              finding target status
========================  ====================================================
``verified``              ``satisfied`` (reason ``pass``): every test that names
                          it has a current, passing result
``failing``               ``not-satisfied`` (reason ``fail``)
``stale``                 ``not-satisfied`` (reason ``other``): results only for an
                          earlier flake revision
``test-written``          ``not-satisfied`` (reason ``other``): no result supplied
========================  ====================================================

Controls no test names (``implemented``, ``unmapped``, ``policy``, ``accepted-risk``)
were not assessed: they get no finding and are not among the reviewed controls; the
component definition describes them. ``satisfied`` is never written without a current
passing result.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from kbgen import __version__
from kbgen.evidence import Outcome, TestRun
from kbgen.oscal.catalogs import Catalog, catalogs, resource
from kbgen.oscal.ids import (
    OSCAL_VERSION,
    count,
    document_time,
    head_revision,
    href,
    objective_id,
    oscal_control_id,
    prop,
    timestamp,
    uuid_for,
)
from kbgen.trace.controls import Control
from kbgen.trace.model import TraceModel
from kbgen.trace.status import MEANING, TestVerdict

#: kbgen status -> (finding target state, reason).
FINDING_STATUS = {
    "verified": ("satisfied", "pass"),
    "failing": ("not-satisfied", "fail"),
    "stale": ("not-satisfied", "other"),
    "test-written": ("not-satisfied", "other"),
}
_WHY_NOT = {
    "stale": "Its results are for an earlier flake revision only: re-run the tests on the "
    "current flake.",
    "test-written": "No result of a test that names it was supplied.",
}


def assessment_results(trace: TraceModel, *, time: str | None = None) -> dict[str, Any]:
    """The assessment results, as the JSON object OSCAL defines (a plain dict)."""
    root = trace.config.project_root
    now = time or document_time(root)
    head = head_revision(root)
    cats = catalogs(trace)
    plan = _plan_resource(trace)
    return {
        "assessment-results": {
            "uuid": uuid_for("assessment-results", trace.config.flake),
            "metadata": {
                "title": "Compliance test results of the NixOS flake",
                "last-modified": now,
                "version": head or "unversioned",
                "oscal-version": OSCAL_VERSION,
                "props": [prop("generator", f"kbgen {__version__}")],
                "remarks": "Written by kbgen export oscal assessment-results from the supplied "
                "test results. Every href without a scheme is relative to the project "
                "root; #L<n> names a line.",
            },
            "import-ap": {
                "href": f"#{plan['uuid']}",
                "remarks": "kbgen writes no OSCAL assessment plan: the plan is the "
                "flake's compliance tests, listed in the back-matter.",
            },
            "results": [_result(trace, cats, now, head)],
            "back-matter": {"resources": [plan, *(resource(c) for c in cats.values())]},
        }
    }


def _assessed(trace: TraceModel) -> list[Control]:
    """The controls a compliance test names (the ones with verdicts), in PRD order."""
    return [
        c
        for c in sorted(trace.controls.controls, key=lambda c: (c.framework, c.note, c.line))
        if trace.status_detail(c).verdicts
    ]


def _result(
    trace: TraceModel, cats: dict[str, Catalog], now: str, head: str | None
) -> dict[str, Any]:
    evidence = trace.evidence
    controls = _assessed(trace)
    runs = list(evidence.runs)
    observations = [o for run in runs for o in _observations(trace, run, now)]
    findings = [_finding(trace, cats, c) for c in controls]
    components = _components(trace, runs, head)
    times = sorted(timestamp(t) for r in runs for t in (r.started, r.finished) if t)
    revision = f" at {head[:12]}" if head else ""
    return {
        "uuid": uuid_for("result", trace.config.flake),
        "title": f"Compliance tests of the flake{revision}",
        "description": "The results of the flake's compliance tests (NixOS VM tests) "
        + (f"supplied in {evidence.folder}/" if evidence.folder else "(none supplied)")
        + ", and what they say of each control a test "
        "names.",
        "start": times[0] if times else now,
        **({"end": times[-1]} if times else {}),
        "props": [
            *([prop("flake-rev", head)] if head else []),
            prop("evidence-supplied", str(evidence.supplied).lower()),
        ],
        **({"local-definitions": {"components": components}} if components else {}),
        "reviewed-controls": _reviewed(controls, cats),
        **({"observations": observations} if observations else {}),
        **({"findings": findings} if findings else {}),
        "remarks": _remarks(trace, controls),
    }


def _remarks(trace: TraceModel, controls: list[Control]) -> str:
    evidence = trace.evidence
    counts = Counter(trace.status(c) for c in controls)
    parts = []
    if not evidence.supplied:
        where = f" in {evidence.folder}/" if evidence.folder else ""
        parts.append(
            (
                f"No test result{where} could be read"
                if evidence.problems
                else f"No test results were supplied{where}"
            )
            + ": there are no observations, and no control is satisfied."
        )
    parts.append(
        f"{count(len(controls), 'control')} named by a compliance test: "
        + ", ".join(f"{counts[s]} {s}" for s in FINDING_STATUS)
        + "."
    )
    untested = len(trace.controls.controls) - len(controls)
    if untested:
        parts.append(
            f"{count(untested, 'control')} that no test names (implemented, "
            "unmapped, policy or accepted-risk): not assessed, no finding; the "
            "component definition describes them."
        )
    if evidence.problems:
        parts.append(
            f"{count(len(evidence.problems), 'problem')} in the result files "
            "ignored (kbgen check reports them)."
        )
    if evidence.freshness_note:
        parts.append(evidence.freshness_note + ".")
    return " ".join(parts)


def _reviewed(controls: list[Control], cats: dict[str, Catalog]) -> dict[str, Any]:
    by_framework: dict[str, list[Control]] = {}
    for control in controls:
        by_framework.setdefault(control.framework, []).append(control)
    selections = [
        {
            "description": cats[fw].title if fw in cats else fw,
            "props": [prop("framework", fw)],
            "include-controls": [
                {"control-id": oscal_control_id(c.framework, c.id)} for c in chosen
            ],
        }
        for fw, chosen in sorted(by_framework.items())
    ]
    return {
        "description": "The controls a compliance test of the flake names.",
        "control-selections": selections
        or [{"description": "No compliance test names a control: nothing was assessed."}],
    }


# -- observations ------------------------------------------------------------------------


def observation_uuid(run: TestRun, part: int | str) -> str:
    """The observation of assertion ``part`` (an index, or ``run`` for the run itself)."""
    return uuid_for("observation", run.path, str(run.line), run.test, str(part))


def _observations(trace: TraceModel, run: TestRun, now: str) -> list[dict[str, Any]]:
    """The run itself, then one observation per assertion."""
    current = trace.evidence.is_current(run)
    base = _observation_base(run, current, now)
    failed = sum(1 for a in run.assertions if a.result is Outcome.FAILED)
    why = f": {run.error}" if run.error else ""
    found = [
        {
            "uuid": observation_uuid(run, "run"),
            "title": f"{run.test}: the run",
            "description": f"Compliance test {run.test!r} {run.result.value} on flake revision "
            f"{run.flake_rev}{_system(run)}{why}; "
            f"{count(len(run.assertions), 'assertion')}, {failed} failed.",
            "props": [*_run_props(run, current), prop("result", run.result.value)],
            **base,
        }
    ]
    for index, assertion in enumerate(run.assertions):
        error = f" ({assertion.error})" if assertion.error else ""
        found.append(
            {
                "uuid": observation_uuid(run, index),
                "title": f"{run.test}: {assertion.name}",
                "description": f"Assertion {assertion.name!r} of compliance test {run.test!r} "
                f"{assertion.result.value} on flake revision {run.flake_rev}"
                f"{_system(run)}{error}.",
                "props": [
                    *_run_props(run, current),
                    prop("result", assertion.result.value),
                    *[prop("control", c) for c in assertion.controls or ()],
                ],
                **base,
            }
        )
    return found


def _observation_base(run: TestRun, current: bool, now: str) -> dict[str, Any]:
    moment = run.finished or run.started
    return {
        "methods": ["TEST"],
        "types": ["control-objective" if current else "historic"],
        "origins": [{"actors": [{"type": "tool", "actor-uuid": uuid_for("test", run.test)}]}],
        "subjects": [
            {
                "subject-uuid": uuid_for("flake-revision", run.flake_rev),
                "type": "component",
                "title": f"flake at {run.flake_rev}",
            }
        ],
        "relevant-evidence": [
            {"href": href(run.path, run.line), "description": f"result file {run.path}:{run.line}"}
        ],
        "collected": timestamp(moment) if moment else now,
    }


def _run_props(run: TestRun, current: bool) -> list[dict[str, Any]]:
    return [
        prop("test", run.test),
        prop("flake-rev", run.flake_rev),
        prop("current", str(current).lower()),
        *([prop("system", run.system)] if run.system.strip() else []),
    ]


def _system(run: TestRun) -> str:
    return f" ({run.system})" if run.system.strip() else ""


def _components(trace: TraceModel, runs: list[TestRun], head: str | None) -> list[dict[str, Any]]:
    """The flake revisions the runs were on (and HEAD), and the tests that ran."""
    revisions = [*([head] if head else []), *sorted({r.flake_rev for r in runs} - {head})]
    found = [
        {
            "uuid": uuid_for("flake-revision", rev),
            "type": "this-system",
            "title": f"flake at {rev}",
            "description": f"The flake {trace.config.flake}/ at revision {rev}"
            + (" (the repository's HEAD)" if rev == head else "")
            + ("; its results are current" if rev in trace.evidence.current_revisions else "")
            + ".",
            "props": [prop("flake-rev", rev)],
            "status": {"state": "operational"},
        }
        for rev in revisions
    ]
    tests = {t.name: t for t in trace.tests}
    for name in sorted({r.test for r in runs}):
        test = tests.get(name)
        where = f" ({test.pos.file}:{test.pos.line})" if test else " (not in the flake)"
        found.append(
            {
                "uuid": uuid_for("test", name),
                "type": "software",
                "title": f"compliance test {name}",
                "description": f"The NixOS VM test {name!r}{where}; its runs produced the "
                "supplied results.",
                **(
                    {"links": [{"href": href(test.pos.file, test.pos.line), "rel": "reference"}]}
                    if test
                    else {}
                ),
                "status": {"state": "operational"},
            }
        )
    return found


def _plan_resource(trace: TraceModel) -> dict[str, Any]:
    files = sorted({t.pos.file for t in trace.tests})
    return {
        "uuid": uuid_for("assessment-plan", trace.config.flake),
        "title": "The flake's compliance tests (kbgen writes no OSCAL assessment plan)",
        "description": f"{count(len(trace.tests), 'compliance test')} (mkComplianceTest) "
        f"in {count(len(files), 'file')}; each names the controls it "
        "verifies.",
        **({"rlinks": [{"href": href(f)} for f in files]} if files else {}),
    }


# -- findings ----------------------------------------------------------------------------


def _finding(trace: TraceModel, cats: dict[str, Catalog], control: Control) -> dict[str, Any]:
    detail = trace.status_detail(control)
    state, reason = FINDING_STATUS[detail.status]
    framework = cats[control.framework].title if control.framework in cats else control.framework
    lines = [f"{detail.status}: {MEANING[detail.status]}.", ""]
    lines += [f"- {_verdict_text(v)}" for v in detail.verdicts]
    related = list(dict.fromkeys(u for v in detail.verdicts for u in _related(v, control.key)))
    prd = trace.vault.display_path(control.note)
    return {
        "uuid": uuid_for("finding", control.key),
        "title": f"{framework} {control.id} {control.title}".rstrip(),
        "description": "\n".join(lines),
        "props": [
            prop("framework", control.framework),
            prop("control", control.id),
            prop("status", detail.status),
        ],
        "links": [
            {
                "href": href(prd, control.line),
                "rel": "reference",
                "text": f"PRD row {prd}:{control.line}",
            }
        ],
        "target": {
            "type": "objective-id",
            "target-id": objective_id(control.framework, control.id),
            "title": f"{control.id} {control.title}".rstrip(),
            "status": {
                "state": state,
                "reason": reason,
                **({"remarks": _WHY_NOT[detail.status]} if detail.status in _WHY_NOT else {}),
            },
        },
        **({"related-observations": [{"observation-uuid": u} for u in related]} if related else {}),
    }


def _verdict_text(verdict: TestVerdict) -> str:
    run = verdict.run
    if run is None or verdict.outcome is None:
        return f"test {verdict.test}: no result supplied"
    when = "current" if verdict.current else "stale: an earlier flake revision"
    return (
        f"test {verdict.test}: {verdict.outcome.value} on {run.flake_rev[:12]} ({when}); "
        f"{run.path}:{run.line}"
    )


def _related(verdict: TestVerdict, key: str) -> list[str]:
    """The observations the verdict rests on: the deciding run, and its assertions that
    verify ``key`` (an untagged assertion verifies every control of its test)."""
    run = verdict.run
    if run is None:
        return []
    return [
        observation_uuid(run, "run"),
        *(
            observation_uuid(run, i)
            for i, a in enumerate(run.assertions)
            if a.controls is None or key in a.controls
        ),
    ]
