"""TR8xx: supplied test results, and controls whose evidence says they fail or is missing."""

from __future__ import annotations

from collections.abc import Iterator

from kbgen.evidence import EvidenceProblemKind
from kbgen.rules.base import Hit, Severity, problem_hits, rule
from kbgen.rules.context import Context
from kbgen.rules.controls import control_hit

FAMILY = "evidence"


def _problems(ctx: Context, kind: EvidenceProblemKind) -> Iterator[Hit]:
    yield from problem_hits(ctx.trace_model.evidence.problems, (kind,))


@rule(
    "TR801",
    "malformed-evidence",
    family=FAMILY,
    severity=Severity.ERROR,
    command="trace",
    reports=(EvidenceProblemKind.MALFORMED,),
)
def malformed_evidence(ctx: Context) -> Iterator[Hit]:
    """A test result file that cannot be read as evidence.

    ## What it does
    Reads every `*.json` (kbgen's evidence format, `"kbgen_evidence": 1`) and `*.xml`
    (JUnit) file of the evidence folder (`[tool.kbgen] evidence`, default `evidence/`,
    or `--evidence DIR`) and reports files that are not valid JSON or XML, records that
    lack `test`, `result` or `flake_rev`, results other than `passed` or `failed`,
    times that are not ISO 8601, and assertions of the wrong shape, at the line.

    ## Why is this bad?
    A result that cannot be read is not evidence: the controls it was meant to verify
    silently stay unverified, or a failure goes unseen.

    ## Example
    `{"kbgen_evidence": 1, "test": "time-sync", "result": "ok", "flake_rev": "3f2a…"}`:
    `result` must be `passed` or `failed`.

    ## Fix safety
    No fix: produce the file again with the flake's `mkComplianceTest`.
    """
    yield from _problems(ctx, EvidenceProblemKind.MALFORMED)


@rule(
    "TR802",
    "conflicting-evidence",
    family=FAMILY,
    severity=Severity.ERROR,
    command="trace",
    reports=(EvidenceProblemKind.CONFLICT,),
)
def conflicting_evidence(ctx: Context) -> Iterator[Hit]:
    """Two results for the same test and flake revision that disagree.

    ## What it does
    Reports a result whose test and `flake_rev` equal those of an earlier result (in
    path order) while one says `passed` and the other `failed`.

    ## Why is this bad?
    A VM test of one revision is either passing or not; two answers mean one of them
    is not what it claims to be (a re-run on another machine, an edited file), and
    neither can be trusted as evidence until someone looks.

    ## Example
    `evidence/run-1/time-sync.json` says passed and `evidence/run-2/time-sync.json`
    says failed, both for revision `3f2a9c1`.

    ## Fix safety
    No fix: find out which run is right and remove the other.
    """
    yield from _problems(ctx, EvidenceProblemKind.CONFLICT)


@rule("TR803", "evidence-names-unknown", family=FAMILY, severity=Severity.ERROR, command="trace")
def evidence_names_unknown(ctx: Context) -> Iterator[Hit]:
    """A result for a test that does not exist, or an assertion tagged with a stray control.

    ## What it does
    Every result must name a compliance test of the flake (`mkComplianceTest`'s
    `name`), and every control an assertion is tagged with must be one of that test's
    `controls` (and exist in a PRD).

    ## Why is this bad?
    A result that belongs to nothing verifies nothing; a tag for a control the test
    does not name would make a control look verified by a test that is not traced
    to it.

    ## Example
    `{"test": "ssh-hardning", ...}` when the test is `ssh-and-remote-access`.

    ## Fix safety
    No fix.
    """
    model = ctx.trace_model
    tests = {t.name: t for t in model.tests}
    for run in model.evidence.runs:
        test = tests.get(run.test)
        if test is None:
            yield Hit(
                run.path,
                run.line,
                1,
                f"result for {run.test!r}, which is no compliance test of the flake",
                project=True,
            )
            continue
        named = {c.key for key in test.controls if (c := model.canonical_control(key))}
        for assertion in run.assertions:
            for key in assertion.controls or ():
                control = model.canonical_control(key)
                if control is None or control.key not in named:
                    why = (
                        "no such control"
                        if control is None
                        else f"test {run.test!r} does not name it"
                    )
                    yield Hit(
                        run.path,
                        run.line,
                        1,
                        f"assertion {assertion.name!r} is tagged with {key!r}: {why}",
                        project=True,
                    )


@rule("TR804", "failing-control", family=FAMILY, severity=Severity.ERROR, command="trace")
def failing_control(ctx: Context) -> Iterator[Hit]:
    """A control whose current test result failed.

    ## What it does
    Reports, at the control's PRD row, every control whose status is `failing`: a
    result of a test that names it, recorded for the current flake, failed (or the
    assertions tagged with the control failed). It names the test, the result file
    and the failed assertions.

    ## Why is this bad?
    The flake claims the control and its own test shows that it does not hold.

    ## Example
    `authentication-and-lockout` failed on HEAD in the assertion "weak passwords
    rejected", tagged `pci-dss/8.3.6`.

    ## Fix safety
    No fix: fix the module or the test, run the test again, supply the new result.
    """
    model = ctx.trace_model
    for control in model.controls.controls:
        detail = model.status_detail(control)
        if detail.status != "failing":
            continue
        failed = [
            v
            for v in detail.verdicts
            if v.current
            and v.run is not None
            and v.outcome is not None
            and v.outcome.value == "failed"
        ]
        where = "; ".join(f"{v.test} ({v.run.path}:{v.run.line})" for v in failed if v.run)
        yield control_hit(control, f"{control.key} is failing: {where}")


@rule("TR805", "unverified-control", family=FAMILY, severity=Severity.ERROR, command="trace")
def unverified_control(ctx: Context) -> Iterator[Hit]:
    """With `--require-evidence`: a host or hybrid control that is not verified.

    ## What it does
    Only when `kbgen check --require-evidence` (or `require-evidence = true`) is
    given, as on release branches: reports every host or hybrid control whose status
    is not `verified` (or `accepted-risk`), at its PRD row, with its status.

    ## Why is this bad?
    A release claims that the flake's controls hold. A control that is only
    implemented, has a test but no result, or whose only result is for an older
    revision has not been shown to hold for what is released.

    ## Example
    `nist-800-53/AC-17` is `test-written`: its test exists, no result was supplied.

    ## Fix safety
    No fix: run the flake's compliance tests and supply their results.
    """
    model = ctx.trace_model
    if not model.config.require_evidence:
        return
    for control in model.controls.controls:
        if control.layer not in ("host", "hybrid"):
            continue
        status = model.status(control)
        if status not in ("verified", "accepted-risk"):
            yield control_hit(control, f"{control.key} is {status}, not verified")
