"""Every rule against a tiny vault that triggers it and one that does not.

``tests/fixtures/rules/<CODE>-<name>/trigger`` must produce exactly the findings in
its ``expected.txt`` (concise format); ``clean`` must produce none. A fixture may
name extra rules to run in a ``select`` file (an unused suppression needs the rule
it suppresses to run).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kbgen.rules import all_rules
from tests.helpers import FIXTURES, write_files

RULE_FIXTURES = sorted(p for p in (FIXTURES / "rules").iterdir() if p.is_dir())


def _select(case: Path) -> str:
    extra = case.parent / "select"
    code = case.parent.name.split("-", 1)[0]
    return extra.read_text().strip() if extra.exists() else code


def _findings(output: str) -> list[str]:
    return [line for line in output.splitlines() if ": KB" in line or ": TR" in line]


@pytest.mark.parametrize("fixture", RULE_FIXTURES, ids=lambda p: p.name)
def test_trigger_reports_exactly_the_expected_findings(fixture, kbgen, monkeypatch):
    case = fixture / "trigger"
    monkeypatch.chdir(case)
    code, out, err = kbgen("audit", "--isolated", "--select", _select(case), "vault")
    expected = (fixture / "expected.txt").read_text(encoding="utf-8").splitlines()
    assert _findings(out) == expected, err
    assert code == 1


@pytest.mark.parametrize("fixture", RULE_FIXTURES, ids=lambda p: p.name)
def test_clean_reports_nothing(fixture, kbgen, monkeypatch):
    case = fixture / "clean"
    monkeypatch.chdir(case)
    code, out, _ = kbgen("audit", "--isolated", "--select", _select(case), "vault")
    assert _findings(out) == []
    assert out.strip() == "All checks passed."
    assert code == 0


def test_every_rule_has_fixtures_or_a_runtime_test():
    covered = {p.name.split("-", 1)[0] for p in RULE_FIXTURES}
    # These need files that git cannot hold portably (symlinks, unreadable files);
    # tests/test_bad_input.py builds them at run time.
    runtime = {"KB001", "KB004"}
    audit_codes = {r.code for r in all_rules() if r.command == "audit"}
    assert audit_codes - covered - runtime == set()


def test_unreadable_note_is_reported_not_raised(tmp_path, kbgen, monkeypatch):
    write_files(tmp_path, {"vault/a.md": "---\ntitle: A\n---\n\n[[a#Top]]\n\n# Top\n"})
    (tmp_path / "vault" / "gone.md").symlink_to(tmp_path / "vault" / "missing-target.md")
    monkeypatch.chdir(tmp_path)
    code, out, _ = kbgen("audit", "--isolated", "--select", "KB001", "vault")
    assert _findings(out) == ["vault/gone.md:1:1: KB001 cannot read: No such file or directory"]
    assert code == 1


def test_symlink_outside_vault_is_not_followed(tmp_path, kbgen, monkeypatch):
    secret = tmp_path / "outside" / "secret.md"
    write_files(tmp_path, {"outside/secret.md": "# Secret [[nowhere]]\n", "vault/a.md": "# A\n"})
    (tmp_path / "vault" / "linked.md").symlink_to(secret)
    (tmp_path / "vault" / "dir").symlink_to(secret.parent, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    _code, out, _ = kbgen("audit", "--isolated", "--select", "KB004,KB101", "vault")
    assert _findings(out) == [
        "vault/dir:1:1: KB004 symlink points outside the vault; not followed",
        "vault/linked.md:1:1: KB004 symlink points outside the vault; not followed",
    ]
    assert "nowhere" not in out
