"""What every output format renders: findings plus the context to explain them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from kbgen import __version__
from kbgen.rules.base import Finding, FixSafety, Rule


@dataclass(frozen=True)
class Report:
    #: ``audit``, ``trace`` or ``check``.
    command: str
    findings: tuple[Finding, ...]
    #: Every rule that ran, so SARIF and JUnit can list them even when clean.
    rules: tuple[Rule, ...]
    #: Returns the source line of a finding (for the full text format), or "".
    source_line: Callable[[Finding], str] = lambda finding: ""
    tool_version: str = __version__

    def counts(self) -> Counter[str]:
        return Counter(str(f.severity) for f in self.findings)

    def fixable(self, safety: FixSafety = FixSafety.SAFE) -> int:
        return sum(1 for f in self.findings if f.fix and f.fix.safety is safety)
