"""pytest fixtures shared by every test: no parse cache in fixture folders, the CLI run
in-process. Plain helper functions are in tests/helpers.py."""

from __future__ import annotations

import pytest

from kbgen.cli import main


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
