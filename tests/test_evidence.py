"""Evidence: supplied test results decide each control's status, and only they.

Fixture projects (the trace base plus an ``evidence/`` folder) prove every status with
golden matrix exports; properties prove that results can only move a control towards
``verified`` when they pass, and that without results nothing is verified.
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kbgen.evidence import NO_EVIDENCE, Evidence, Outcome, TestRun
from kbgen.project import compile_project, open_config
from kbgen.trace.status import host_status
from tests.helpers import FIXTURES
from tests.test_trace_rules import commit_all, project

EVIDENCE = FIXTURES / "evidence"
REPO = Path(__file__).parent.parent


def _result(test: str, result: str, rev: str, **extra) -> str:
    return json.dumps(
        {"kbgen_evidence": 1, "test": test, "result": result, "flake_rev": rev, **extra}, indent=2
    )


@pytest.mark.parametrize("case", sorted(p.name for p in EVIDENCE.iterdir() if p.is_dir()))
def test_status_ladder_matches_golden_matrix(case, tmp_path, kbgen, monkeypatch):
    """passing -> verified, failing -> failing, stale -> stale, malformed -> test-written
    (and a finding), none -> test-written; golden files pin every field."""
    root = project(tmp_path, EVIDENCE / case / "overlay")
    if (EVIDENCE / case / "change-flake-after").exists():
        # The results were recorded, then the flake changed: they are stale now.
        module = root / "flake" / "modules" / "ssh" / "default.nix"
        module.write_text(module.read_text() + "# changed after the test ran\n")
        commit_all(root)
    monkeypatch.chdir(root)
    out = kbgen("export", "matrix", "--format", "json")[1]
    document = json.loads(out)
    for row in document["controls"]:  # commit ids differ from run to run
        for entry in row["evidence"]:
            if (
                entry["flake_rev"]
                and len(entry["flake_rev"]) == 40
                and entry["flake_rev"] != "0123456789abcdef0123456789abcdef01234567"
            ):
                entry["flake_rev"] = "<commit>"
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    golden = EVIDENCE / case / "matrix.json"
    if os.environ.get("KBGEN_UPDATE_GOLDEN") == "1":
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


def test_without_results_no_control_is_verified_and_pages_say_so(tmp_path, kbgen, monkeypatch):
    monkeypatch.chdir(project(tmp_path))
    document = json.loads(kbgen("export", "matrix", "--format", "json")[1])
    assert document["evidence_supplied"] is False
    assert not [r for r in document["controls"] if r["status"] == "verified"]


def test_evidence_flag_overrides_the_configured_folder(tmp_path, kbgen, monkeypatch):
    root = project(tmp_path)
    head = commit_all(root)
    elsewhere = tmp_path / "results"
    elsewhere.mkdir()
    (elsewhere / "ssh.json").write_text(_result("ssh", "passed", head))
    monkeypatch.chdir(root)
    plain = json.loads(kbgen("export", "matrix", "--format", "json")[1])
    given_folder = json.loads(
        kbgen("export", "matrix", "--format", "json", "--evidence", str(elsewhere))[1]
    )
    status = {r["control"]: r["status"] for r in given_folder["controls"]}
    assert status["AC-17"] == "verified"
    assert {r["control"]: r["status"] for r in plain["controls"]}["AC-17"] == "test-written"


def test_a_file_that_is_no_folder_for_evidence_is_a_usage_error(tmp_path, kbgen, monkeypatch):
    root = project(tmp_path)
    (root / "results.json").write_text("{}")
    monkeypatch.chdir(root)
    code, _out, err = kbgen("check", "--evidence", "results.json", "--no-nix-parse")
    assert code == 2 and "--evidence must name a folder" in err


def test_narrowed_assertions_decide_their_controls_only():
    run = TestRun(
        "t",
        Outcome.FAILED,
        "r",
        "",
        None,
        None,
        (_assertion("a", Outcome.PASSED, ("x/A",)), _assertion("b", Outcome.FAILED, ("x/B",))),
        "e.json",
        1,
    )
    assert run.verdict_for("x/A") is Outcome.PASSED
    assert run.verdict_for("x/B") is Outcome.FAILED
    # A control no assertion is tagged with: the failed run speaks for it.
    assert run.verdict_for("x/C") is Outcome.FAILED
    untagged = TestRun(
        "t",
        Outcome.FAILED,
        "r",
        "",
        None,
        None,
        (_assertion("c", Outcome.FAILED, None),),
        "e.json",
        1,
    )
    assert untagged.verdict_for("x/A") is Outcome.FAILED


def test_a_run_that_failed_outside_its_assertions_fails_every_control():
    run = TestRun(
        "t",
        Outcome.FAILED,
        "r",
        "",
        None,
        None,
        (_assertion("a", Outcome.PASSED, ("x/A",)),),
        "e.json",
        1,
        error="the VM did not boot",
    )
    assert run.verdict_for("x/A") is Outcome.FAILED


def _assertion(name, result, controls):
    from kbgen.evidence import AssertionResult

    return AssertionResult(name, result, controls)


# -- properties ---------------------------------------------------------------------------

TESTS = ("t1", "t2", "t3")
REVS = ("current", "old")
RUNS = st.lists(
    st.tuples(
        st.sampled_from(TESTS),
        st.sampled_from(("passed", "failed")),
        st.sampled_from(REVS),
        st.integers(0, 5),
    ),
    max_size=8,
)


def _evidence(runs) -> Evidence:
    return Evidence(
        "evidence",
        tuple(
            TestRun(
                test,
                Outcome(result),
                rev,
                "",
                None,
                datetime(2026, 1, 1, 0, minute),
                (),
                f"e{i}.json",
                1,
            )
            for i, (test, result, rev, minute) in enumerate(runs)
        ),
        current_revisions=frozenset({"current"}),
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(RUNS, st.sets(st.sampled_from(TESTS), min_size=1), st.sampled_from(TESTS))
def test_adding_a_passing_result_only_moves_towards_verified(runs, names, test):
    names = tuple(sorted(names))
    before = host_status("x/A", names, _evidence(runs)).status
    # The newest result of that test, passing, for the current flake.
    after = host_status("x/A", names, _evidence([*runs, (test, "passed", "current", 59)])).status
    # A passing result never makes a control fail, and never takes "verified" away.
    assert after != "failing" or before == "failing"
    if before == "verified":
        assert after == "verified"
    # It moves the control to verified exactly when every other test already passed.
    others = _evidence(runs)
    if (
        all(
            host_status("x/A", (name,), others).status == "verified"
            for name in names
            if name != test
        )
        and test in names
    ):
        assert after == "verified"


@given(st.sets(st.sampled_from(TESTS), min_size=1))
def test_without_evidence_nothing_is_verified(names):
    assert host_status("x/A", tuple(sorted(names)), NO_EVIDENCE).status == "test-written"


# -- the bundled project ------------------------------------------------------------------


@pytest.mark.slow
def test_require_evidence_fails_on_the_bundled_project_and_passes_with_full_results(
    tmp_path, kbgen, monkeypatch
):
    monkeypatch.chdir(REPO)
    code, out, _ = kbgen("check", "--require-evidence", "--no-nix-parse")
    assert code == 1
    assert "TR805" in out and "nist-800-53/AC-17 is test-written, not verified" in out
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()
    config = open_config(None, str(REPO / "pyproject.toml"))
    _vault, trace = compile_project(config, cache=False)
    for test in trace.tests:
        (tmp_path / f"{test.name}.json").write_text(_result(test.name, "passed", head))
    code, out, _ = kbgen(
        "check",
        "--require-evidence",
        "--no-nix-parse",
        "--evidence",
        str(tmp_path),
        "--fail-on",
        "error",
    )
    assert code == 0, out


def test_control_page_shows_each_assertion_with_its_line_and_result(tmp_path, kbgen, monkeypatch):
    """The script's subtests are indexed with their lines; the control page links each one
    that speaks for the control and shows the result the evidence gives it."""
    root = project(tmp_path)
    test = root / "flake" / "tests" / "ssh.nix"
    test.write_text(
        test.read_text().replace(
            '    machine.succeed("sshd -T',
            '    with subtest("only key logins",\n'
            '                 controls=["nist-800-53/AC-17"]):\n'
            '        machine.succeed("sshd -T',
        )
    )
    head = commit_all(root)
    (root / "evidence").mkdir()
    (root / "evidence" / "ssh.json").write_text(
        _result(
            "ssh",
            "passed",
            head,
            assertions=[
                {"name": "only key logins", "controls": ["nist-800-53/AC-17"], "result": "passed"}
            ],
        )
    )
    monkeypatch.chdir(root)
    code, _out, err = kbgen("build", "--markdown-only")
    assert code == 0, err
    page = (root / "build/docs/kb/controls/nist-800-53/ac/ac-17.md").read_text()
    assert "kb-verified" in page
    line = next(i for i, text in enumerate(test.read_text().splitlines(), 1) if "subtest" in text)
    assert "only key logins (tagged with this control)" in page
    assert f"flake/tests/ssh.nix:{line}" in page and f"__codelineno-0-{line}" in page


def test_every_page_showing_a_status_says_when_no_results_were_supplied(
    tmp_path, kbgen, monkeypatch
):
    root = project(tmp_path)
    monkeypatch.chdir(root)
    code, _out, err = kbgen("build", "--markdown-only")
    assert code == 0, err
    pages = [p for p in (root / "build/docs").rglob("*.md") if "kb-badge" in p.read_text()]
    assert len(pages) > 5
    silent = [
        p.relative_to(root).as_posix()
        for p in pages
        if "No test results were supplied" not in p.read_text()
    ]
    assert silent == []
