"""OSCAL export: component definition and assessment results, validated with trestle.

Golden files pin both documents for the small trace project (``tests/fixtures/trace/
base``) with each kind of evidence of ``tests/fixtures/evidence``; compliance-trestle's
models (the ``oscal`` extra) parse every document; the bundled project's component
definition is imported back and must name every control of the model, its NIST ids in
NIST's catalog form and, except the PM family, present in NIST's own HIGH or PRIVACY
resolved catalog (``../shared/catalogs``; neither baseline holds PM controls).
Regenerate the golden files with ``KBGEN_UPDATE_GOLDEN=1``.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kbgen.evidence import load_evidence
from kbgen.oscal import (
    FINDING_STATUS,
    assessment_results,
    component_definition,
    oscal_control_id,
)
from kbgen.oscal.ids import NIST_CATALOG, uuid_for
from kbgen.project import compile_project, open_config
from tests.helpers import FIXTURES, need, write_files
from tests.test_trace_rules import commit_all, project

REPO = Path(__file__).parent.parent
GOLDEN = FIXTURES / "oscal"
EVIDENCE = FIXTURES / "evidence"
SHARED = REPO.parent / "shared" / "catalogs" / "nist-sp800-53-rev5"
EPOCH = "1780000000"
HAVE_TRESTLE = importlib.util.find_spec("trestle") is not None


@pytest.fixture(autouse=True)
def _fixed_time(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)


def _trestle():
    need(HAVE_TRESTLE, "compliance-trestle is not installed (pip install -e '.[oscal]')")
    from trestle.oscal.assessment_results import AssessmentResults
    from trestle.oscal.component import ComponentDefinition

    return ComponentDefinition, AssessmentResults


def validate(document: dict):
    """The document parsed by trestle's model of its kind (raises when it is not OSCAL)."""
    component, assessment = _trestle()
    ((kind, body),) = document.items()
    model = {"component-definition": component, "assessment-results": assessment}[kind]
    return model.parse_obj(body)


def export(kbgen, *args: str) -> dict:
    code, out, err = kbgen("export", "oscal", *args)
    assert code == 0, err
    return json.loads(out)


def normalised(document: dict, root: Path) -> str:
    """The document as text, with the commits of this run (which differ from run to
    run) and the UUIDs derived from them replaced by placeholders (still valid UUIDs, so
    that the golden files are valid OSCAL too)."""
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    head = _git_head(root)
    commits = sorted(set(re.findall(r"\b[0-9a-f]{40}\b", text)), key=lambda c: c != head)
    for commit in commits:
        name = "<head>" if commit == head else "<commit>"
        text = text.replace(uuid_for("flake-revision", commit), uuid_for("flake-revision", name))
        text = text.replace(commit, name).replace(commit[:12], name)
    return text


def _git_head(root: Path) -> str | None:
    result = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=False
    )
    return result.stdout.strip() if result.returncode == 0 else None


def check_golden(name: str, text: str) -> None:
    golden = GOLDEN / name
    if os.environ.get("KBGEN_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


def _evidence_project(tmp_path: Path, case: str) -> Path:
    root = project(tmp_path, EVIDENCE / case / "overlay")
    if (EVIDENCE / case / "change-flake-after").exists():
        module = root / "flake" / "modules" / "ssh" / "default.nix"
        module.write_text(module.read_text() + "# changed after the test ran\n")
        commit_all(root)
    return root


# -- the small project: golden files -----------------------------------------------------


def test_component_definition_matches_golden(tmp_path, kbgen, monkeypatch):
    root = project(tmp_path)
    monkeypatch.chdir(root)
    document = export(kbgen, "component-definition")
    validate(document)
    check_golden("component-definition.json", normalised(document, root))


@pytest.mark.parametrize("case", ["none", "passing", "failing", "stale", "malformed"])
def test_assessment_results_match_golden(case, tmp_path, kbgen, monkeypatch):
    root = _evidence_project(tmp_path, case)
    monkeypatch.chdir(root)
    document = export(kbgen, "assessment-results")
    validate(document)
    check_golden(f"assessment-results-{case}.json", normalised(document, root))


@pytest.mark.parametrize("golden", sorted(p.name for p in GOLDEN.glob("*.json")))
def test_golden_files_are_valid_oscal(golden):
    validate(json.loads((GOLDEN / golden).read_text(encoding="utf-8")))


def test_two_exports_of_the_same_input_are_identical(tmp_path, kbgen, monkeypatch):
    monkeypatch.chdir(_evidence_project(tmp_path, "passing"))
    for model in ("component-definition", "assessment-results"):
        first, second = tmp_path / "first.json", tmp_path / "second.json"
        assert kbgen("export", "oscal", model, "-o", str(first))[0] == 0
        assert kbgen("export", "oscal", model, "-o", str(second))[0] == 0
        assert first.read_bytes() == second.read_bytes()


# -- what the documents say ---------------------------------------------------------------


def _finding(document: dict, control_id: str) -> dict:
    (result,) = document["assessment-results"]["results"]
    return next(
        f for f in result.get("findings", ()) if f["target"]["target-id"] == f"{control_id}_obj"
    )


@pytest.mark.parametrize(
    ("case", "state", "reason"),
    [
        ("passing", "satisfied", "pass"),
        ("failing", "not-satisfied", "fail"),
        ("stale", "not-satisfied", "other"),
        ("none", "not-satisfied", "other"),
        ("malformed", "not-satisfied", "other"),
    ],
)
def test_finding_status_follows_the_status_ladder(
    case, state, reason, tmp_path, kbgen, monkeypatch
):
    monkeypatch.chdir(_evidence_project(tmp_path, case))
    finding = _finding(export(kbgen, "assessment-results"), "ac-17")
    assert (finding["target"]["status"]["state"], finding["target"]["status"]["reason"]) == (
        state,
        reason,
    )
    statuses = {p["value"] for p in finding["props"] if p["name"] == "status"}
    assert FINDING_STATUS[statuses.pop()] == (state, reason)


def test_an_observation_per_assertion_with_its_result_file(tmp_path, kbgen, monkeypatch):
    monkeypatch.chdir(_evidence_project(tmp_path, "passing"))
    document = export(kbgen, "assessment-results")
    (result,) = document["assessment-results"]["results"]
    titles = [o["title"] for o in result["observations"]]
    assert titles == ["ssh: the run", "ssh: only key logins"]
    evidence = {e["href"] for o in result["observations"] for e in o["relevant-evidence"]}
    assert evidence == {"evidence/ssh.json#L1"}
    finding = _finding(document, "ac-17")
    related = {r["observation-uuid"] for r in finding["related-observations"]}
    assert related == {o["uuid"] for o in result["observations"]}
    subjects = {s["subject-uuid"] for o in result["observations"] for s in o["subjects"]}
    components = {c["uuid"]: c for c in result["local-definitions"]["components"]}
    assert subjects <= set(components)
    assert all(components[s]["type"] == "this-system" for s in subjects)


def test_without_evidence_the_results_say_so(tmp_path, kbgen, monkeypatch):
    monkeypatch.chdir(project(tmp_path))
    (result,) = export(kbgen, "assessment-results")["assessment-results"]["results"]
    assert "observations" not in result
    assert result["remarks"].startswith("No test results were supplied")
    assert all(f["target"]["status"]["state"] == "not-satisfied" for f in result["findings"])


def test_a_control_lists_its_options_values_and_sources(tmp_path, kbgen, monkeypatch):
    monkeypatch.chdir(project(tmp_path))
    document = export(kbgen, "component-definition")["component-definition"]
    by_title = {c["title"]: c for c in document["components"]}
    ssh = by_title["ssh (NixOS module)"]["control-implementations"][0]
    assert ssh["source"] == NIST_CATALOG
    (requirement,) = ssh["implemented-requirements"]
    assert requirement["control-id"] == "ac-17"
    assert (
        "`services.openssh.enable` = `true` (flake/modules/ssh/default.nix:8)"
        in requirement["description"]
    )
    hrefs = {link["rel"]: link["href"] for link in requirement["links"]}
    assert hrefs["reference"] == "vault/prd/nist.md#L12"
    assert hrefs["compliance-test"] == "flake/tests/ssh.nix#L2"
    org = by_title["Organisational measures"]["control-implementations"][0]
    (training,) = org["implemented-requirements"]
    assert training["control-id"] == "at-2"
    rels = {(link["rel"], link["href"]) for link in training["links"]}
    assert ("policy", "vault/policies/training.md") in rels
    assert ("accepted-risk", "vault/registers/residual-risks.md#L9") in rels


def test_a_prd_can_name_its_catalog(tmp_path, kbgen, monkeypatch):
    root = project(tmp_path)
    prd = root / "vault" / "prd" / "nist.md"
    prd.write_text(
        prd.read_text().replace(
            'version: "5.1.1"}', 'version: "5.1.1", catalog: "catalogs/nist.json"}'
        )
    )
    write_files(
        root,
        {
            "vault/prd/stig.md": (
                "---\ntitle: STIG\n"
                "framework: {id: disa-stig, name: DISA STIG, version: V1R2}\n---\n\n"
                "| Control | Title | Layer | Requirement | Nix options |\n|---|---|---|---|---|\n"
                "| V-268078 | Firewall | host | On. | `services.openssh.enable` |\n"
            )
        },
    )
    monkeypatch.chdir(root)
    document = export(kbgen, "component-definition")["component-definition"]
    validate({"component-definition": document})
    sources = {
        ci["props"][0]["value"]: ci["source"]
        for c in document["components"]
        for ci in c["control-implementations"]
    }
    assert sources["nist-800-53"] == "catalogs/nist.json"
    stig = next(r for r in document["back-matter"]["resources"] if r["title"] == "DISA STIG (V1R2)")
    assert sources["disa-stig"] == f"#{stig['uuid']}"


@pytest.mark.parametrize(
    ("framework", "raw", "expected"),
    [
        ("nist-800-53", "AC-6(9)", "ac-6.9"),
        ("nist-800-53", "AC-2", "ac-2"),
        ("nist-800-53", "PM-10", "pm-10"),
        ("hipaa", "§164.308(a)(1)(ii)(A)", "hipaa-164.308.a.1.ii.A"),
        ("pci-dss", "8.3.6", "pci-dss-8.3.6"),
        ("pci-dss", "A1.1.1", "A1.1.1"),
        ("hitrust", "01.a", "hitrust-01.a"),
        ("owasp-llm", "LLM01:2025", "LLM01-2025"),
        ("eu-ai-act", "Art. 12(1)(a)", "Art-12.1.a"),
        ("eu-ai-act", "Annex III", "Annex-III"),
        ("nist-ai-rmf", "GOVERN 1.1", "GOVERN-1.1"),
        ("mitre-atlas", "AML.T0051", "AML.T0051"),
        ("iso-42001", "A.6.2.8", "A.6.2.8"),
        ("disa-stig", "V-268078", "V-268078"),
        ("owasp-agentic", "T1", "T1"),
    ],
)
def test_control_ids_in_oscal_form(framework, raw, expected):
    assert oscal_control_id(framework, raw) == expected


def test_usage_errors(tmp_path, kbgen, monkeypatch):
    monkeypatch.chdir(project(tmp_path))
    assert kbgen("export", "oscal")[0] == 2
    assert kbgen("export", "matrix", "component-definition")[0] == 2
    with pytest.raises(SystemExit):
        kbgen("export", "oscal", "system-security-plan")


def test_trestle_imports_both_documents_into_a_workspace(tmp_path, kbgen, monkeypatch):
    """The workflow docs/oscal.md gives: trestle init, then trestle import."""
    component_model, results_model = _trestle()
    root = _evidence_project(tmp_path, "passing")
    monkeypatch.chdir(root)
    assert kbgen("export", "oscal", "component-definition", "-o", "cd.json")[0] == 0
    assert kbgen("export", "oscal", "assessment-results", "-o", "ar.json")[0] == 0
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    monkeypatch.chdir(workspace)

    def trestle(*args: str) -> None:
        from trestle.cli import Trestle  # in-process: three interpreters take seconds

        monkeypatch.setattr(sys, "argv", ["trestle", *args])
        assert Trestle().run() == 0

    trestle("init")
    trestle("import", "-f", str(root / "cd.json"), "-o", "kbgen-flake")
    trestle("import", "-f", str(root / "ar.json"), "-o", "kbgen-tests")
    imported = component_model.oscal_read(
        workspace / "component-definitions" / "kbgen-flake" / "component-definition.json"
    )
    assert {
        r.control_id
        for c in imported.components
        for ci in c.control_implementations
        for r in ci.implemented_requirements
    } == {"ac-17", "at-2"}
    results = results_model.oscal_read(
        workspace / "assessment-results" / "kbgen-tests" / "assessment-results.json"
    )
    (finding,) = results.results[0].findings
    assert finding.target.target_id == "ac-17_obj"


def test_kbgen_does_not_need_trestle_to_export(tmp_path):
    root = project(tmp_path)
    script = (
        "import sys; from kbgen.cli import main; "
        "code = main(['export', 'oscal', 'component-definition', '-o', 'cd.json']); "
        "assert code == 0; "
        "assert not [m for m in sys.modules if m.split('.')[0] == 'trestle'], 'trestle'"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "KBGEN_NO_CACHE": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads((root / "cd.json").read_text())["component-definition"]


# -- the bundled project: import it back and find every control ---------------------------


@pytest.fixture(scope="module")
def bundled():
    config = open_config(None, str(REPO / "pyproject.toml"))
    return compile_project(config, cache=False)[1]


def _catalog_ids() -> tuple[set[str], set[str]]:
    """(control ids, part ids) of NIST's HIGH and PRIVACY resolved catalogs."""
    need(SHARED.is_dir(), f"NIST's catalogs are not at {SHARED}")
    controls, parts = set(), set()

    def walk(items):
        for item in items:
            controls.add(item["id"])
            parts.update(p["id"] for p in item.get("parts", ()) if "id" in p)
            walk(item.get("controls", ()))

    for name in ("HIGH", "PRIVACY"):
        path = SHARED / f"NIST_SP-800-53_rev5_{name}-baseline-resolved-profile_catalog-min.json"
        catalog = json.loads(path.read_text(encoding="utf-8"))["catalog"]
        for group in catalog.get("groups", ()):
            walk(group.get("controls", ()))
    return controls, parts


def _nist_form(control_id: str) -> str:
    family, number, enhancement = re.fullmatch(
        r"([A-Z]{2})-(\d+)(?:\((\d+)\))?", control_id
    ).groups()
    return f"{family.lower()}-{number}" + (f".{enhancement}" if enhancement else "")


def test_bundled_component_definition_imports_back_with_every_control(bundled, tmp_path):
    component_model, _ = _trestle()
    path = tmp_path / "component-definition.json"
    path.write_text(json.dumps(component_definition(bundled), indent=2))
    imported = component_model.oscal_read(path)
    found = set()
    for component in imported.components:
        for implementation in component.control_implementations or ():
            (framework,) = [p.value for p in implementation.props if p.name == "framework"]
            found.update((framework, r.control_id) for r in implementation.implemented_requirements)
    expected = {
        (
            c.framework,
            _nist_form(c.id)
            if c.framework == "nist-800-53"
            else oscal_control_id(c.framework, c.id),
        )
        for c in bundled.controls.controls
    }
    assert found == expected
    # One id per control: the mapping loses nothing.
    assert len(expected) == len(bundled.controls.controls)
    catalog, _parts = _catalog_ids()
    nist = {cid for framework, cid in found if framework == "nist-800-53"}
    missing = sorted(cid for cid in nist if not cid.startswith("pm-") and cid not in catalog)
    assert not missing, f"not in NIST's HIGH or PRIVACY catalog: {missing}"


def test_bundled_assessment_results_with_passing_results_validate(bundled, tmp_path):
    """Every test passed at HEAD: satisfied exactly where kbgen says verified."""
    head = _git_head(REPO)
    need(head is not None, "the repository has no commit")
    for test in bundled.tests:
        (tmp_path / f"{test.name}.json").write_text(
            json.dumps(
                {
                    "kbgen_evidence": 1,
                    "test": test.name,
                    "result": "passed",
                    "flake_rev": head,
                    "assertions": [{"name": "all checks", "result": "passed"}],
                }
            )
        )
    config = bundled.config.with_overrides(evidence=str(tmp_path))
    # The same model with these results (compiling the project again would take longer).
    trace = dataclasses.replace(bundled, config=config, evidence=load_evidence(config))
    document = assessment_results(trace)
    parsed = validate(document)
    (result,) = document["assessment-results"]["results"]
    assert len(parsed.results[0].observations) == 2 * len(trace.tests)
    satisfied = {
        f["target"]["target-id"]
        for f in result["findings"]
        if f["target"]["status"]["state"] == "satisfied"
    }
    verified = {
        oscal_control_id(c.framework, c.id) + "_obj"
        for c in trace.controls.controls
        if trace.status(c) == "verified"
    }
    assert satisfied == verified and satisfied
    _controls, parts = _catalog_ids()
    nist = {
        f["target"]["target-id"]
        for f in result["findings"]
        if any(p["value"] == "nist-800-53" for p in f["props"])
    }
    assert not sorted(t for t in nist if not t.startswith("pm-") and t not in parts)
