"""Machine-readable output is stable (golden files) and valid (SARIF against its schema)."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from kbgen import __version__
from tests.helpers import FIXTURES, need

OUTPUT = FIXTURES / "output"
SCHEMA = Path(
    os.environ.get(
        "KBGEN_SARIF_SCHEMA", Path(__file__).parent.parent / ".cache" / "sarif-2.1.0.json"
    )
)


def run(kbgen, monkeypatch, fmt: str) -> str:
    monkeypatch.chdir(OUTPUT)
    code, out, _ = kbgen("audit", "--isolated", "--format", fmt, "vault")
    assert code == 1
    return out.replace(__version__, "VERSION")


@pytest.mark.parametrize("fmt", ["json", "sarif", "junit", "github", "concise", "full"])
def test_output_matches_golden_file(fmt, kbgen, monkeypatch):
    out = run(kbgen, monkeypatch, fmt)
    golden = OUTPUT / f"expected.{fmt}"
    if os.environ.get("KBGEN_UPDATE_GOLDEN") == "1":
        golden.write_text(out, encoding="utf-8")
    assert out == golden.read_text(encoding="utf-8")


def test_json_document_shape(kbgen, monkeypatch):
    document = json.loads(run(kbgen, monkeypatch, "json"))
    assert document["version"] == 1
    assert document["tool"] == {"name": "kbgen", "version": "VERSION"}
    assert document["summary"]["total"] == len(document["findings"]) == 5
    keys = {"code", "name", "severity", "path", "line", "column", "message", "fix"}
    assert all(set(f) == keys for f in document["findings"])


def test_sarif_validates_against_the_official_schema(kbgen, monkeypatch):
    need(SCHEMA.is_file(), f"SARIF 2.1.0 schema not found at {SCHEMA} (scripts/test.sh fetches it)")
    jsonschema = pytest.importorskip("jsonschema")
    document = json.loads(run(kbgen, monkeypatch, "sarif"))
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validate(document, schema)
    results = document["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {"KB101", "KB103", "KB201", "KB202", "KB401"}


def test_sarif_of_a_clean_run_is_valid_too(tmp_path, kbgen, monkeypatch):
    need(SCHEMA.is_file(), f"SARIF 2.1.0 schema not found at {SCHEMA}")
    jsonschema = pytest.importorskip("jsonschema")
    (tmp_path / "vault").mkdir()
    (tmp_path / "vault" / "a.md").write_text("# A\n")
    monkeypatch.chdir(tmp_path)
    code, out, _ = kbgen("audit", "--isolated", "--format", "sarif", "--select", "KB1", "vault")
    assert code == 0
    jsonschema.validate(json.loads(out), json.loads(SCHEMA.read_text(encoding="utf-8")))


def test_junit_is_well_formed_xml_with_one_failure_per_finding(kbgen, monkeypatch):
    root = ET.fromstring(run(kbgen, monkeypatch, "junit"))
    assert root.tag == "testsuites"
    assert root.get("failures") == "5"
    assert len(root.findall(".//failure")) == 5


def test_output_file_option_writes_the_report(tmp_path, kbgen, monkeypatch):
    monkeypatch.chdir(OUTPUT)
    target = tmp_path / "report.json"
    code, out, _ = kbgen("audit", "--isolated", "--format", "json", "-o", str(target), "vault")
    assert code == 1 and out == ""
    assert json.loads(target.read_text())["summary"]["total"] == 5
