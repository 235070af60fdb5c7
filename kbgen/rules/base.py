"""What a rule is, what it reports, and how a fix is described.

A rule is one documented unit: a stable code (prefix + three digits, grouped by
family, never reused), a kebab-case name, a default severity, a fix safety, and
a docstring with the sections *What it does*, *Why is this bad?*, *Example* and
*Fix safety*. ``kbgen rule CODE`` and the generated rule reference both read the
docstring, so the docs have one source.

Problems found while reading files (a :class:`~kbgen.vault.records.NoteProblemKind`,
:class:`~kbgen.vault.files.FileProblemKind` or
:class:`~kbgen.trace.controls.TraceProblemKind`) reach the user through the one rule
that declares their kind in ``reports``.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any


class Severity(IntEnum):
    INFO = 0
    WARNING = 1
    ERROR = 2

    @classmethod
    def parse(cls, text: str) -> Severity:
        return cls[text.upper()]

    def __str__(self) -> str:
        return self.name.lower()


class FixSafety(StrEnum):
    #: Mechanical, meaning-preserving: applied by ``--fix``.
    SAFE = "safe"
    #: Probably right but may change meaning: needs ``--unsafe-fixes``.
    UNSAFE = "unsafe"
    #: The rule never offers a fix.
    NONE = "none"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace columns ``[start_column, end_column)`` of ``line`` (1-based) with ``text``.

    ``end_column == start_column`` inserts. ``line`` one past the last line appends.
    Lines and columns count characters of the text without its newline characters,
    so the edit is independent of the file's line endings.
    """

    path: str
    line: int
    start_column: int
    end_column: int
    text: str


@dataclass(frozen=True, slots=True)
class Fix:
    description: str
    safety: FixSafety
    edits: tuple[Edit, ...]


@dataclass(frozen=True, slots=True)
class Hit:
    """What a rule's check yields: a place and a message (code and severity come from the rule)."""

    #: Vault-relative path of the file (for vault files) or project-relative path with
    #: ``project=True`` (flake files, registers outside the vault).
    path: str
    line: int
    column: int
    message: str
    fix: Fix | None = None
    project: bool = False


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    name: str
    severity: Severity
    #: Path relative to the project root, as shown to the user.
    path: str
    line: int
    column: int
    message: str
    fix: Fix | None = None
    #: Vault-relative path when the finding is in a vault note (for suppressions).
    note: str | None = None

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.code)


#: A rule's check: it receives the :class:`~kbgen.rules.context.Context`, or, for a
#: ``final`` rule, the engine's record of the suppressions the other rules used.
Check = Callable[[Any], Iterable[Hit]]


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    family: str
    severity: Severity
    fix_safety: FixSafety
    summary: str
    doc: str
    check: Check
    #: ``audit`` rules read the vault; ``trace`` rules read the traceability model.
    command: str = "audit"
    #: Problem kinds this rule reports; every kind is declared by exactly one rule.
    reports: tuple[StrEnum, ...] = ()
    #: Run by the engine after every other rule, on what filtering their findings recorded
    #: (:class:`~kbgen.rules.suppressions.SuppressionUse`) rather than on the Context.
    final: bool = False

    def section(self, title: str) -> str:
        """One ``## Title`` section of the rule's documentation, without its heading."""
        match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", self.doc, re.M | re.S)
        return match.group(1).strip() if match else ""


_CODE = re.compile(r"^[A-Z]{2,4}\d{3}$")
_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
REQUIRED_SECTIONS = ("What it does", "Why is this bad?", "Example", "Fix safety")

REGISTRY: dict[str, Rule] = {}


def rule(
    code: str,
    name: str,
    *,
    family: str,
    severity: Severity,
    fix: FixSafety = FixSafety.NONE,
    command: str = "audit",
    reports: tuple[StrEnum, ...] = (),
    final: bool = False,
) -> Callable[[Check], Check]:
    """Register a check function as a rule. The docstring's first line is its summary.

    ``reports`` names the problem kinds the check turns into findings; ``final`` marks
    the check the engine runs last, over the suppressions (see :mod:`kbgen.rules.engine`).
    """

    def register(check: Check) -> Check:
        if not _CODE.match(code):
            raise ValueError(f"rule code {code!r} is not a prefix and three digits")
        if not _NAME.match(name):
            raise ValueError(f"rule name {name!r} is not kebab-case")
        if code in REGISTRY or any(r.name == name for r in REGISTRY.values()):
            raise ValueError(f"rule {code} {name} registered twice")
        claimed = [
            f"{kind!r} ({r.code})"
            for r in REGISTRY.values()
            for kind in reports
            if any(kind is other for other in r.reports)
        ]
        if claimed:
            raise ValueError(
                f"rule {code} reports kinds another rule reports: {', '.join(claimed)}"
            )
        doc = inspect.cleandoc(check.__doc__ or "")
        summary, _, body = doc.partition("\n")
        missing = [s for s in REQUIRED_SECTIONS if f"## {s}" not in body]
        if missing:
            raise ValueError(f"rule {code} docs lack sections: {', '.join(missing)}")
        REGISTRY[code] = Rule(
            code,
            name,
            family,
            severity,
            fix,
            summary.strip(),
            body.strip(),
            check,
            command,
            tuple(reports),
            final,
        )
        return check

    return register


def problem_hits(problems: Iterable[Any], kinds: Iterable[StrEnum]) -> Iterator[Hit]:
    """The problems of ``kinds`` that parsing or extraction recorded, as hits. A problem
    record has ``kind``, ``path``, ``line``, ``column``, ``message`` and ``project``."""
    wanted = tuple(kinds)
    for problem in problems:
        if problem.kind in wanted:
            yield Hit(
                problem.path, problem.line, problem.column, problem.message, project=problem.project
            )
