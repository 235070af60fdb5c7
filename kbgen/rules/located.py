"""Findings of some files only: what ``kbgen audit FILE…`` (and ``trace``, ``check``)
report and fix. The whole project is still compiled and checked; these functions only
choose among its findings. Files are compared as real paths, so a relative, an absolute
and a symlinked name of one file are the same file."""

from __future__ import annotations

from pathlib import Path

from kbgen.rules.base import Finding
from kbgen.vault.model import Vault


def located_in(findings: list[Finding], files: frozenset[Path], root: Path) -> list[Finding]:
    """The findings located in one of ``files`` (real paths); finding paths are relative
    to the project root ``root``."""
    return [finding for finding in findings if (root / finding.path).resolve() in files]


def fix_within(finding: Finding, files: frozenset[Path], vault: Vault) -> bool:
    """Whether every file the finding's fix edits is one of ``files`` (real paths), so
    that a fix restricted to those files touches no other file."""
    edits = finding.fix.edits if finding.fix else ()
    return all(vault.file(edit.path).resolve() in files for edit in edits)
