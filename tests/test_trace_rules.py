"""Every trace rule against a tiny project that triggers it and one that does not.

``tests/fixtures/trace/base`` is a complete, clean project (a PRD, a policy, the two
registers, a canonical module, a module and a compliance test). Each
``<CODE>-<name>/trigger`` folder holds only the files that differ from it; the
findings must equal ``expected.txt``. A ``clean`` overlay, where a rule has one, shows
the near miss and must produce none; the base itself is clean for every rule.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from kbgen.rules import all_rules
from tests.helpers import FIXTURES

TRACE = FIXTURES / "trace"
CASES = sorted(p for p in TRACE.iterdir() if p.is_dir() and p.name != "base")


def project(tmp_path: Path, *overlays: Path) -> Path:
    """The base project with the overlays copied over it (an overlay may bring its own
    pyproject.toml). Evidence naming the revision ``@HEAD@`` gets the project committed
    to git and the placeholder replaced by that commit, so its results are current."""
    root = tmp_path / "project"
    shutil.copytree(TRACE / "base", root)
    for overlay in overlays:
        if overlay.is_dir():
            shutil.copytree(overlay, root, dirs_exist_ok=True)
    if not (root / "pyproject.toml").exists():
        (root / "pyproject.toml").write_text("[tool.kbgen]\n")
    placeholders = [
        p
        for p in root.glob("evidence/**/*")
        if p.is_file() and "@HEAD@" in p.read_text(encoding="utf-8")
    ]
    if placeholders:
        head = commit_all(root)
        for path in placeholders:
            path.write_text(path.read_text(encoding="utf-8").replace("@HEAD@", head))
    return root


def commit_all(root: Path) -> str:
    """Make ``root`` a git repository with everything committed; the commit id."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=kbgen tests", "-c", "user.email=tests@kbgen.invalid", *args],
            cwd=root,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    git("init", "-q")
    git("add", "-A")
    git("commit", "-q", "-m", "fixture")
    return git("rev-parse", "HEAD")


def findings(out: str) -> list[str]:
    return [line for line in out.splitlines() if ": TR" in line or ": KB" in line]


def test_base_project_is_clean_for_every_rule(tmp_path, kbgen, monkeypatch):
    """With the upstream fixture (TR211 says so without one; see its fixture)."""
    monkeypatch.chdir(project(tmp_path))
    code, out, _ = kbgen(
        "check",
        "--fail-on",
        "info",
        "--no-nix-parse",
        "--nixos-options",
        str(FIXTURES / "upstream" / "options.json"),
    )
    assert findings(out) == [], out
    assert code == 0


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_trigger(case, tmp_path, kbgen, monkeypatch):
    monkeypatch.chdir(project(tmp_path, case / "trigger"))
    code, out, _ = kbgen("trace", "--select", case.name.split("-", 1)[0], "--fail-on", "info")
    expected = (case / "expected.txt").read_text(encoding="utf-8").splitlines()
    assert findings(out) == expected
    assert code == 1


#: Cases with a near-miss overlay; for the others the base project is the clean case, and
#: test_base_project_is_clean_for_every_rule already runs it with every rule.
CLEAN_CASES = [case for case in CASES if (case / "clean").is_dir()]


@pytest.mark.parametrize("case", CLEAN_CASES, ids=lambda p: p.name)
def test_clean(case, tmp_path, kbgen, monkeypatch):
    monkeypatch.chdir(project(tmp_path, case / "clean"))
    code, out, _ = kbgen("trace", "--select", case.name.split("-", 1)[0], "--fail-on", "info")
    assert findings(out) == []
    assert code == 0


def test_every_trace_rule_has_a_fixture():
    covered = {p.name.split("-", 1)[0] for p in CASES}
    assert {r.code for r in all_rules() if r.command == "trace"} == covered
