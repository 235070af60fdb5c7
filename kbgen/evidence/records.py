"""What a supplied test result says, as records (see docs/evidence.md for the formats)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class AssertionResult:
    """One assertion of a test run (a ``subtest`` of a NixOS test, a JUnit test case)."""

    name: str
    result: Outcome
    #: The controls it verifies; None: every control of its test.
    controls: tuple[str, ...] | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class TestRun:
    """One supplied result of one compliance test."""

    __test__ = False  # not a pytest test class, whatever its name says

    test: str
    result: Outcome
    #: The git commit of the flake source the test ran on.
    flake_rev: str
    system: str
    started: datetime | None
    finished: datetime | None
    assertions: tuple[AssertionResult, ...]
    #: Project-relative path of the result file, and the line the run starts at.
    path: str
    line: int
    error: str | None = None

    def verdict_for(self, control: str) -> Outcome:
        """What this run says of ``control`` (a canonical ``framework/ID`` key).

        An assertion tagged with controls verifies only those; an untagged one verifies
        every control of the test. A run that failed outside any assertion (a VM that
        did not boot) fails every control; one with no assertions speaks as a whole."""
        relevant = [a for a in self.assertions if a.controls is None or control in a.controls]
        if any(a.result is Outcome.FAILED for a in relevant):
            return Outcome.FAILED
        failed_elsewhere = any(a.result is Outcome.FAILED for a in self.assertions)
        if self.result is Outcome.FAILED and not failed_elsewhere:
            return Outcome.FAILED
        return Outcome.PASSED if relevant else self.result


class EvidenceProblemKind(StrEnum):
    """What is wrong with a result file (each kind is reported by one rule)."""

    #: Not JSON or XML, the wrong shape, a missing or invalid field.
    MALFORMED = "malformed-evidence"
    #: Two results for one test and revision that disagree.
    CONFLICT = "conflicting-evidence"


@dataclass(frozen=True, slots=True)
class EvidenceProblem:
    kind: EvidenceProblemKind
    message: str
    #: Project-relative path of the result file.
    path: str
    line: int = 1
    column: int = 1
    #: The path is project-relative (result files are not vault notes).
    project: bool = True


@dataclass(frozen=True)
class Evidence:
    """Every result supplied for this build, and what the repository says is current."""

    #: Project-relative folder the results came from (None: none configured).
    folder: str | None
    runs: tuple[TestRun, ...] = ()
    problems: tuple[EvidenceProblem, ...] = ()
    #: The flake revisions whose results are current (HEAD, and any revision after which
    #: nothing under the flake folder changed); empty when git cannot tell.
    current_revisions: frozenset[str] = frozenset()
    #: Why freshness could not be established, if it could not.
    freshness_note: str | None = None

    @property
    def supplied(self) -> bool:
        return bool(self.runs)

    def is_current(self, run: TestRun) -> bool:
        return run.flake_rev in self.current_revisions


#: No results supplied.
NO_EVIDENCE = Evidence(folder=None)
