"""The bundled vault and flake: the gate passes and the knowledge base is well formed."""

from __future__ import annotations

from collections import deque
from pathlib import Path

import pytest

from kbgen.project import open_config, run
from kbgen.rules.base import Severity

REPO = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def bundled():
    return run(
        open_config(str(REPO / "vault"), str(REPO / "pyproject.toml")),
        commands=("audit", "trace"),
        cache=False,
    )


def test_check_reports_no_error_or_warning(bundled):
    blocking = [
        f"{f.path}:{f.line}: {f.code} {f.message}"
        for f in bundled.findings
        if f.severity >= Severity.WARNING
    ]
    assert blocking == []


def test_every_note_is_within_three_clicks_of_the_home_page(bundled):
    vault = bundled.vault
    depth = {"index.md": 0}
    queue = deque(["index.md"])
    outgoing: dict[str, set[str]] = {}
    for resolved in vault.links:
        if resolved.resolution.ok and resolved.target_note:
            outgoing.setdefault(resolved.source, set()).add(resolved.target_note)
    while queue:
        note = queue.popleft()
        for target in outgoing.get(note, ()):
            if target not in depth:
                depth[target] = depth[note] + 1
                queue.append(target)
    far = sorted(p for p in vault.notes if depth.get(p, 99) > 3)
    assert far == []


def test_the_knowledge_base_has_its_promised_shape(bundled):
    vault, trace = bundled.vault, bundled.trace
    articles = [
        n
        for p, n in vault.notes.items()
        if p.startswith("wiki/") and not p.endswith(("_index.md", "_master-index.md"))
    ]
    assert len(articles) >= 40
    for note in articles:
        assert note.headings and note.headings[-1].text == "Key Takeaways", note.path
    assert len([r for r in trace.risks.rows if not r.superseded]) >= 10
    policies = [p for p in vault.notes if p.startswith("policies/") and "_index" not in p]
    assert len(policies) >= 10
    assert {p.framework for p in trace.controls.prds} >= {
        "nist-800-53",
        "disa-stig",
        "pci-dss",
        "hipaa",
        "hitrust",
        "owasp-llm",
        "nist-ai-rmf",
        "eu-ai-act",
        "iso-42001",
        "mitre-atlas",
    }


def test_every_flake_file_parses_with_tree_sitter_and_with_nix(bundled):
    from kbgen.nix.nixparse import cross_check, nix_instantiate_available
    from tests.helpers import need

    flake = bundled.trace.flake
    assert len(flake.files) >= 20
    assert [f"{e.pos.file}:{e.pos.line}: {e.message}" for e in flake.errors] == []
    need(nix_instantiate_available(), "nix-instantiate is not on PATH (Debian's nix-bin)")
    paths = [REPO / f.path for f in flake.files]
    assert [f"{e.pos.file}:{e.pos.line}: {e.message}" for e in cross_check(paths, REPO)] == []


def test_every_test_names_controls_and_asserts_something(bundled):
    tests = bundled.trace.tests
    assert len(tests) >= 13
    for test in tests:
        assert test.controls, test.name
        assert test.assertions >= 3, test.name
