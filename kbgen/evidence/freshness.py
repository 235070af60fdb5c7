"""Which flake revisions' results still speak for the flake as it is now.

A result is current when it was recorded on the repository's HEAD, or on a commit
after which nothing under the flake folder changed (git is asked, once per distinct
revision). Without git, or outside a repository, no result can be shown to be
current: every result is stale, and the reason is kept for the site to say.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path

_TIMEOUT = 20


def current_revisions(
    project_root: Path, flake_root: Path, revisions: Iterable[str]
) -> tuple[frozenset[str], str | None]:
    """(the revisions of ``revisions`` that are current, why none could be, if so)."""
    wanted = sorted(set(revisions))
    if not wanted:
        return frozenset(), None
    head = _git(project_root, "rev-parse", "--verify", "HEAD^{commit}")
    if head is None:
        return frozenset(), "git could not name the repository's HEAD: no result is current"
    try:
        flake = flake_root.relative_to(project_root).as_posix() or "."
    except ValueError:
        flake = str(flake_root)
    current = set()
    for revision in wanted:
        if revision == head:
            current.add(revision)
            continue
        if revision.strip("0123456789abcdef") or len(revision) < 7:
            continue  # not a commit id ("dirty", "unknown", an abbreviation too short)
        commit = _git(project_root, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
        if commit is None:
            continue  # a revision this clone does not have
        if _unchanged(project_root, commit, head, flake):
            current.add(revision)
    return frozenset(current), None


def _git(cwd: Path, *args: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=_TIMEOUT, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() if result.returncode == 0 and result.stdout.strip() else None


def _unchanged(cwd: Path, commit: str, head: str, flake: str) -> bool:
    """Whether no file under ``flake`` differs between ``commit`` and ``head``."""
    try:
        result = subprocess.run(
            ["git", "diff", "--quiet", commit, head, "--", flake],
            cwd=cwd,
            capture_output=True,
            timeout=_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return result.returncode == 0
