"""When each file was last changed, from git, asked once per build.

``git log --format=... --name-only`` walks the history newest first; the first commit a
file appears in is its last change. Outside a git checkout (or without git) nothing is
known and pages simply show no date.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

#: Marks a commit's header line in the log (a file name cannot start with it).
_MARK = "\x1ecommit "


@dataclass(frozen=True)
class Revision:
    commit: str
    date: str  # YYYY-MM-DD, UTC


def last_changes(root: Path, timeout: float = 30) -> dict[str, Revision]:
    """Project-relative POSIX path -> the last commit that changed it."""
    try:
        result = subprocess.run(
            [
                "git",
                "-c",
                "core.quotepath=off",
                "log",
                f"--format={_MARK}%H %ct",
                "--name-only",
                "--no-renames",
                "--",
                ".",
            ],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return {}
    if result.returncode != 0:
        return {}
    prefix = _prefix(root)
    found: dict[str, Revision] = {}
    current: Revision | None = None
    for line in result.stdout.split("\n"):
        if line.startswith(_MARK):
            commit, _, stamp = line[len(_MARK) :].partition(" ")
            day = (
                datetime.fromtimestamp(int(stamp), UTC).strftime("%Y-%m-%d")
                if stamp.isdigit()
                else ""
            )
            current = Revision(commit, day)
        elif line and current is not None:
            path = line[len(prefix) :] if prefix and line.startswith(prefix) else line
            found.setdefault(path, current)
    return found


def head(root: Path, timeout: float = 10) -> Revision | None:
    """The checked-out commit, or None outside a git checkout."""
    try:
        result = subprocess.run(
            ["git", "log", "-1", "--format=%H %ct"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit, _, stamp = result.stdout.strip().partition(" ")
    if result.returncode != 0 or not stamp.isdigit():
        return None
    return Revision(commit, datetime.fromtimestamp(int(stamp), UTC).strftime("%Y-%m-%d"))


def _prefix(root: Path) -> str:
    """The project's folder inside the repository (git log names files from its top)."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--show-prefix"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""
