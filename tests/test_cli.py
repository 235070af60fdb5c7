"""The command line: help, version, rule docs and the generated rule reference."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from kbgen import __version__
from kbgen.rules import all_rules
from kbgen.rules.base import REQUIRED_SECTIONS


def test_version(kbgen):
    with pytest.raises(SystemExit) as exit_info:
        kbgen("--version")
    assert exit_info.value.code == 0


def test_python_dash_m_and_help_for_every_command():
    for args in ([], ["audit"], ["rule"], ["rules"]):
        result = subprocess.run(
            [sys.executable, "-m", "kbgen", *args, "--help"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert "usage: kbgen" in result.stdout


def test_version_via_module():
    result = subprocess.run(
        [sys.executable, "-m", "kbgen", "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == f"kbgen {__version__}"


def test_no_command_prints_help_and_exits_2(kbgen):
    code, out, _ = kbgen()
    assert code == 2 and "audit" in out


def test_every_rule_is_a_documented_unit():
    codes, names = set(), set()
    for rule in all_rules():
        assert rule.code not in codes and rule.name not in names
        codes.add(rule.code)
        names.add(rule.name)
        for section in REQUIRED_SECTIONS:
            assert rule.section(section), f"{rule.code} has an empty '{section}' section"
        assert rule.summary.endswith(".")


def test_rule_prints_its_docs_by_code_or_name(kbgen):
    code, by_code, _ = kbgen("rule", "KB101")
    assert code == 0
    assert by_code.startswith("# KB101 broken-wikilink")
    for section in REQUIRED_SECTIONS:
        assert f"## {section}" in by_code
    assert kbgen("rule", "broken-wikilink")[1] == by_code


def test_unknown_rule_is_exit_2(kbgen):
    code, _, err = kbgen("rule", "KB000")
    assert code == 2 and "no rule 'KB000'" in err


def test_rules_json_and_markdown_reference(kbgen):
    _, out, _ = kbgen("rules", "--format", "json")
    rules = json.loads(out)
    assert [r["code"] for r in rules] == [r.code for r in all_rules()]
    _, markdown, _ = kbgen("rules", "--format", "markdown")
    for rule in all_rules():
        assert f"## {rule.code} {rule.name}" in markdown


def test_generated_rule_reference_is_up_to_date(kbgen):
    from pathlib import Path

    reference = Path(__file__).parent.parent / "docs" / "rules.md"
    _, markdown, _ = kbgen("rules", "--format", "markdown")
    assert reference.read_text(encoding="utf-8") == markdown, (
        "docs/rules.md is stale: run 'kbgen rules --format markdown > docs/rules.md'"
    )


def test_a_reader_that_stops_reading_is_not_an_internal_error():
    """``kbgen rules | head -1``: the pipe closes before kbgen is done writing."""
    import subprocess
    import sys

    process = subprocess.Popen(
        [sys.executable, "-m", "kbgen", "rules", "--format", "markdown"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    process.stdout.close()  # nobody reads: the first write fails with EPIPE
    stderr = process.stderr.read().decode()
    assert process.wait() == 141, stderr
    assert stderr == ""
