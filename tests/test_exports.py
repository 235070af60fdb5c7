"""Exports of the traceability model: the matrix (CSV, JSON, Markdown) and the graph."""

from __future__ import annotations

import csv
import io
import json
import os

import pytest

from tests.helpers import FIXTURES
from tests.test_trace_rules import project

EXPORTS = FIXTURES / "exports"


@pytest.fixture
def base(tmp_path, monkeypatch):
    monkeypatch.chdir(project(tmp_path))


@pytest.mark.parametrize(
    ("what", "fmt"), [("matrix", "csv"), ("matrix", "json"), ("matrix", "md"), ("graph", "json")]
)
def test_export_matches_golden_file(what, fmt, base, kbgen):
    code, out, _ = kbgen("export", what, "--format", fmt)
    assert code == 0
    golden = EXPORTS / f"{what}.{fmt}"
    if os.environ.get("KBGEN_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(out, encoding="utf-8")
    assert out == golden.read_text(encoding="utf-8")


def test_matrix_coverage_figures(base, kbgen):
    document = json.loads(kbgen("export", "matrix", "--format", "json")[1])
    (figures,) = document["coverage"]
    assert figures["total"] == 2
    # No results supplied: the tested control is only "test-written", and nothing mixes
    # the accepted risk into a covered share.
    assert figures["by_status"] == {
        "verified": 0,
        "failing": 0,
        "stale": 0,
        "test-written": 1,
        "implemented": 0,
        "unmapped": 0,
        "accepted-risk": 1,
        "policy": 0,
    }
    assert figures["host_and_hybrid"] == 1
    assert figures["verified_percent"] == 0.0
    assert document["evidence_supplied"] is False
    rows = {r["control"]: r for r in document["controls"]}
    assert rows["AC-17"]["tests"] == ["ssh"]
    assert rows["AT-2"]["policies"] == ["policies/training.md"]
    assert rows["AT-2"]["risks"] == ["RR-01"]


def test_csv_has_one_row_per_control(base, kbgen):
    rows = list(csv.DictReader(io.StringIO(kbgen("export", "matrix", "--format", "csv")[1])))
    assert [r["control"] for r in rows] == ["AC-17", "AT-2"]
    assert rows[0]["options"] == "services.openssh.enable; compliance.ssh.enable"


def test_graph_has_typed_edges_in_both_directions_named(base, kbgen):
    from kbgen.trace.graph import EDGE_KINDS

    document = json.loads(kbgen("export", "graph")[1])
    kinds = {e["kind"] for e in document["edges"]}
    assert {
        "implemented-by",
        "verified-by",
        "accepted-as",
        "governed-by",
        "declared-in",
        "defined-in",
        "mentions",
        "pins",
        "defined-by",
    } <= kinds
    assert kinds <= set(EDGE_KINDS)
    edges = {(e["source"], e["kind"], e["target"]) for e in document["edges"]}
    assert ("control:nist-800-53/AC-17", "verified-by", "test:ssh") in edges
    assert (
        "setting:ssh-max-auth-tries",
        "pins",
        "option:compliance.canonical.ssh.maxAuthTries",
    ) in edges


def test_unknown_framework_is_a_usage_error(base, kbgen):
    code, _, err = kbgen("export", "matrix", "--framework", "nist")
    assert code == 2 and "unknown framework 'nist'" in err
