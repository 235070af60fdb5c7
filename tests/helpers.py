"""Helpers shared by the tests: fixture paths, tiny vaults written in place, and the rule
that a missing external prerequisite skips locally but fails in CI.

Fixtures (pytest's) live in conftest.py; plain functions live here, imported by name.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
#: CI sets this so that a test whose external tool is missing fails instead of skipping.
REQUIRE_ALL = os.environ.get("KBGEN_REQUIRE_ALL") == "1"


def need(condition: bool, reason: str) -> None:
    """Skip (locally) or fail (in CI) when an external prerequisite is missing."""
    if not condition:
        if REQUIRE_ALL:
            pytest.fail(f"missing prerequisite in CI: {reason}")
        pytest.skip(reason)


def write_files(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def note(title: str, body: str = "", extra: str = "") -> str:
    return f"---\ntitle: {title}\n{extra}---\n\n{body}\n"


#: Debian's Chromium, as the browser tests drive it: headless, offline, no extras.
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
]


#: A build in a child process: no parse cache, a fixed date (pages repeat byte for byte).
BUILD_ENV = {**os.environ, "KBGEN_NO_CACHE": "1", "SOURCE_DATE_EPOCH": "1700000000"}


def kbgen_build(root: Path, *args: str) -> None:
    """``kbgen build ARGS`` in ``root``, in a child process; fails the test on a failure."""
    result = subprocess.run(
        [sys.executable, "-m", "kbgen", "build", *args],
        cwd=root,
        env=BUILD_ENV,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
