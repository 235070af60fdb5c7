"""The whole chain on a repository laid out its own way (tests/fixtures/repos/adopted):
the vault in ``compliance-vault/``, PRDs without kbgen frontmatter in ``docs/prd/`` with
the team's own table headers, registers in ``docs/``, the NixOS modules at the root, no
pyproject (only ``kbgen.toml``) and no ``mkdocs.yml``. Audit, check, export and build must
work on it with that configuration alone, and its site must trace its PRD controls to
its modules.
"""

from __future__ import annotations

import json
import shutil

import pytest

from tests.helpers import FIXTURES
from tests.test_oscal import validate

ADOPTED = FIXTURES / "repos" / "adopted"


@pytest.fixture
def repo(tmp_path, monkeypatch):
    root = tmp_path / "adopted"
    shutil.copytree(ADOPTED, root)
    monkeypatch.chdir(root)
    return root


def test_audit_and_check_pass_with_configuration_only(repo, kbgen):
    assert not (repo / "pyproject.toml").exists() and not (repo / "mkdocs.yml").exists()
    code, out, err = kbgen("audit", "--no-cache")
    assert (code, out) == (0, "All checks passed.\n"), err
    code, out, err = kbgen("check", "--no-cache", "--format", "json")
    assert code == 0, out + err
    findings = json.loads(out)["findings"]
    # Only the note that upstream NixOS options were not checked (no options.json here).
    assert [f["code"] for f in findings] == ["TR211"]


def test_matrix_traces_every_prd_control_to_the_modules(repo, kbgen):
    code, out, err = kbgen("export", "matrix", "--format", "json")
    assert code == 0, err
    by_key = {f"{r['framework']}/{r['control']}": r for r in json.loads(out)["controls"]}
    assert {k.split("/")[0] for k in by_key} == {"nist-800-53", "pci-dss"}
    assert len(by_key) == 19
    for key, row in by_key.items():
        assert row["source"].startswith("docs/prd/prd-"), key
        assert not row["missing_options"], key
        if row["layer"] != "org":
            assert row["options"] and row["tests"], key
        else:
            assert row["policies"] or row["risks"], key
    ssh = by_key["nist-800-53/AC-17"]
    assert "services.openssh.settings.PasswordAuthentication" in ssh["options"]
    assert "false" not in ssh["options"]  # a value in backticks is not an option


def test_oscal_export_names_the_modules(repo, kbgen):
    code, out, err = kbgen("export", "oscal", "component-definition")
    assert code == 0, err
    validate(json.loads(out))  # compliance-trestle's model (the oscal extra)
    document = json.loads(out)["component-definition"]
    titles = {c["title"] for c in document["components"]}
    assert any("ssh" in t for t in titles), titles
    requirements = [
        r["control-id"]
        for c in document["components"]
        for impl in c.get("control-implementations", ())
        for r in impl["implemented-requirements"]
    ]
    # NIST ids in the OSCAL catalog's form; other frameworks' prefixed by their id.
    assert {"ac-17", "ac-17.2", "pci-dss-8.3.4"} <= set(requirements)


def test_markdown_tree_without_findings_has_no_banner(repo, kbgen):
    code, _, err = kbgen("build", "--markdown-only", "--fail-on", "never")
    assert code == 0, err
    tree = repo / "build" / "docs"
    assert (tree / "docs/prd/prd-access.md").is_file()
    assert all("Published with" not in p.read_text(encoding="utf-8") for p in tree.rglob("*.md"))


@pytest.mark.slow
def test_site_builds_without_mkdocs_yml_and_links_controls_to_modules(repo, kbgen):
    code, _, err = kbgen("build")
    assert code == 0, err
    site = repo / "site"
    page = (site / "kb/controls/nist-800-53/ac/ac-17.html").read_text(encoding="utf-8")
    assert "docs/prd/prd-access.html" in page  # the PRD kept outside the vault
    assert "options/module-ssh/services-openssh-settings-passwordauthentication.html" in page
    assert "source/modules/ssh.nix.html#__codelineno-0-34" in page  # the line that sets it
    assert "tests/ssh.nix" in page
    # kbgen's own theme came along: its stylesheet and scripts are published.
    assert (site / "assets/kbgen.css").is_file() and (site / "assets/graph.js").is_file()
    # The site is named after the repository, and nothing is written outside it.
    assert "<title>AC-17" in page and "adopted — compliance knowledge base" in page
    assert (repo / "build/mkdocs.yml").is_file() and not (repo / "mkdocs.yml").exists()


@pytest.mark.slow
def test_a_build_leaves_the_process_environment_as_it_was(repo, kbgen, monkeypatch):
    """MkDocs needs SOURCE_DATE_EPOCH during the build; the review clock (TR306) reads it
    too, so a build must not leave it behind in a long-lived process."""
    import os

    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    assert kbgen("build")[0] == 0
    assert "SOURCE_DATE_EPOCH" not in os.environ
