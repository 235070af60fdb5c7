"""Shared helpers: write tiny vaults, run the CLI in-process, find fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kbgen.cli import main

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


@pytest.fixture(autouse=True)
def _no_cache_by_default(monkeypatch):
    """Tests run in fixture folders of the repository: keep kbgen's cache out of them."""
    monkeypatch.setenv("KBGEN_NO_CACHE", "1")


@pytest.fixture
def kbgen(capsys):
    """Run ``kbgen`` in-process; returns (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out = capsys.readouterr()
        return code, out.out, out.err

    return run
