"""Evidence: the supplied results of the compliance tests, and how fresh they are.

``load_evidence`` reads the configured folder (``[tool.kbgen] evidence``, or
``--evidence DIR``); a missing folder means no results were supplied, never an error.
The trace model turns the runs into each control's status (``kbgen.trace.status``).
"""

from __future__ import annotations

from kbgen.config import Config
from kbgen.evidence.freshness import current_revisions
from kbgen.evidence.read import read_folder
from kbgen.evidence.records import (
    NO_EVIDENCE,
    AssertionResult,
    Evidence,
    EvidenceProblem,
    EvidenceProblemKind,
    Outcome,
    TestRun,
)

__all__ = [
    "NO_EVIDENCE",
    "AssertionResult",
    "Evidence",
    "EvidenceProblem",
    "EvidenceProblemKind",
    "Outcome",
    "TestRun",
    "load_evidence",
]


def load_evidence(config: Config) -> Evidence:
    """The results in the configured evidence folder (none when it does not exist)."""
    folder = config.evidence_root
    shown = config.evidence.rstrip("/") or "."
    if not folder.is_dir():
        return Evidence(folder=shown)
    runs, problems = read_folder(folder, config.project_root)
    problems.extend(_conflicts(runs))
    revisions, note = current_revisions(
        config.project_root, config.flake_root, (run.flake_rev for run in runs)
    )
    return Evidence(shown, tuple(runs), tuple(problems), revisions, note)


def _conflicts(runs: list[TestRun]) -> list[EvidenceProblem]:
    """Two results for one test and revision that disagree cannot both be true."""
    first: dict[tuple[str, str], TestRun] = {}
    problems = []
    for run in runs:
        key = (run.test, run.flake_rev)
        earlier = first.setdefault(key, run)
        if earlier is not run and earlier.result is not run.result:
            problems.append(
                EvidenceProblem(
                    EvidenceProblemKind.CONFLICT,
                    f"test {run.test!r} {run.result} on {run.flake_rev[:12]}, but "
                    f"{earlier.path}:{earlier.line} says it {earlier.result}",
                    run.path,
                    run.line,
                )
            )
    return problems
