"""Every rule kbgen knows, registered on import (see :mod:`kbgen.rules.base`)."""

from kbgen.rules import (  # noqa: F401
    controls,
    evidence,
    files,
    flake,
    links,
    macros,
    references,
    registers,
    structure,
    suppressions,
    upstream,
)
from kbgen.rules.base import REGISTRY, Finding, Rule, Severity

__all__ = ["REGISTRY", "Finding", "Rule", "Severity", "all_rules"]


def all_rules() -> list[Rule]:
    return [REGISTRY[code] for code in sorted(REGISTRY)]
