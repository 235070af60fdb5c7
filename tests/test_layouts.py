"""A repository laid out its own way, configured only by ``kbgen.toml`` or ``[tool.kbgen]``:
several vaults, PRDs and registers outside the vault, PRDs without kbgen frontmatter.

Each test writes a tiny project and runs kbgen on it as a user would.
"""

from __future__ import annotations

import pytest

from kbgen.config import load_config
from kbgen.errors import ConfigError
from kbgen.project import compile_project, open_config
from tests.helpers import write_files

CONFIG = """\
vault = ["notes", "team"]
flake = "nix"
prd = ["docs/prd/prd-*.md"]
policies-dir = "docs/policies"
residual-risks = "docs/risks.md"
resolved-settings = "docs/settings.yaml"

[prd-frameworks]
"docs/prd/prd-access.md" = "nist-800-53"

[columns]
control = ["Control ID"]
requirement = ["NixOS Implementation Requirement"]
options = ["NixOS Implementation Requirement"]
"""

HEADER = "| Control ID | Title | Layer | NixOS Implementation Requirement |\n|---|---|---|---|\n"

FILES = {
    "kbgen.toml": CONFIG,
    "docs/prd/prd-access.md": "# Access\n\n"
    + HEADER
    + "| AC-17 | Remote access | host | Set `services.openssh.settings.PasswordAuthentication`"
    " to `false` ([[remote]]). |\n"
    "| PL-1 | Policy | org | Carried by [[access-policy]]. |\n",
    "docs/prd/prd-pci-dss.md": "# PCI\n\n"
    + HEADER
    + "| 8.3.6 | Length | host | `services.openssh.settings.PasswordAuthentication = false` |\n",
    "docs/prd/notes-on-prds.md": "# Not a PRD\n\nNot matched by the glob.\n",
    "docs/policies/access-policy.md": "# Access policy\n\nReviewed yearly.\n",
    "notes/wiki/remote.md": "# Remote\n\nSee [[team-note]] and [[nist-800-53/AC-17]].\n",
    "team/wiki/team-note.md": "# Team note\n\nBack to [[remote]].\n",
    "nix/ssh.nix": "{ ... }: { services.openssh.settings.PasswordAuthentication = false; }\n",
}


@pytest.fixture
def project(tmp_path, monkeypatch):
    write_files(tmp_path, FILES)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_kbgen_toml_configures_a_project_without_pyproject(project):
    config = open_config()
    assert config.source == project / "kbgen.toml"
    assert (config.vault, config.more_vaults) == ("notes", ("team",))
    assert config.prd == ("docs/prd/prd-*.md",)
    # A [columns] table renames only the roles it lists; the others keep their names.
    assert config.columns["layer"] == ("Layer",)
    assert config.columns["control"] == ("Control ID",)


def test_kbgen_toml_wins_over_a_pyproject_in_the_same_folder(project):
    (project / "pyproject.toml").write_text('[tool.kbgen]\nvault = "elsewhere"\n')
    assert open_config().vault == "notes"


def test_content_outside_the_vault_keeps_its_project_path(project):
    vault, _ = compile_project(open_config(), cache=False)
    assert "wiki/remote.md" in vault.notes  # the first vault: vault-relative
    assert "team/wiki/team-note.md" in vault.notes  # another vault: project-relative
    assert "docs/prd/prd-access.md" in vault.notes
    assert "docs/policies/access-policy.md" in vault.notes
    assert "docs/prd/notes-on-prds.md" not in vault.notes  # no glob names it
    assert vault.display_path("wiki/remote.md") == "notes/wiki/remote.md"
    assert vault.display_path("docs/prd/prd-access.md") == "docs/prd/prd-access.md"
    assert vault.file("docs/prd/prd-access.md") == project / "docs/prd/prd-access.md"
    # Links resolve across vaults and into the PRD rows kept outside them.
    broken = [r for r in vault.links if not r.resolution.ok]
    assert broken == []


def test_prds_without_frontmatter_get_their_framework_from_config_or_name(project):
    _, trace = compile_project(open_config(), cache=False)
    frameworks = {prd.note: prd.framework for prd in trace.controls.prds}
    assert frameworks == {
        "docs/prd/prd-access.md": "nist-800-53",  # [prd-frameworks]
        "docs/prd/prd-pci-dss.md": "pci-dss",  # its file name
    }
    controls = trace.controls.by_key()
    assert set(controls) == {"nist-800-53/AC-17", "nist-800-53/PL-1", "pci-dss/8.3.6"}
    # Options come from the prose column: option paths only, never the values.
    options = [o.path for o in controls["nist-800-53/AC-17"].options]
    assert options == ["services.openssh.settings.PasswordAuthentication"]
    assert [o.path for o in controls["pci-dss/8.3.6"].options] == options
    assert trace.policies_of(controls["nist-800-53/PL-1"]) == ["docs/policies/access-policy.md"]


def test_findings_name_files_outside_the_vault_from_the_project_root(project, kbgen):
    (project / "docs/prd/prd-access.md").write_text(
        "# Access\n\n" + HEADER + "| AC-99x | Bad id | host | `x.y` |\n"
    )
    code, out, _ = kbgen("check", "--no-cache")
    assert code == 1
    # The row with a bad id is reported at its cell, not dropped silently.
    assert "docs/prd/prd-access.md:5:3: TR101 'AC-99x' is not a NIST SP 800-53" in out
    # Registers that are configured outside the vault but missing are named as configured.
    assert "docs/risks.md:1:1: TR301 no residual-risk register at docs/risks.md" in out
    assert "docs/settings.yaml:1:1: TR401" in out


def test_registers_outside_the_vault_are_read(project):
    from tests.test_risk_register import HEAD, row

    register = "# Residual risks\n\n" + HEAD + row().replace("AT-2", "PL-1") + "\n"
    write_files(project, {"docs/risks.md": register})
    _, trace = compile_project(open_config(), cache=False)
    assert trace.risks.path == "docs/risks.md"
    assert [r.id for r in trace.risks.rows] == ["RR-01"]


def test_a_path_written_from_the_project_root_into_the_vault_is_the_vault_path(project):
    text = CONFIG.replace('policies-dir = "docs/policies"', 'policies-dir = "notes/policies"')
    config = load_config(write_files(project, {"kbgen.toml": text}) / "kbgen.toml")
    assert config.policies_dir == "policies"


def test_default_paths_never_reach_outside_the_vault(tmp_path, monkeypatch):
    """A project with the default keys loads nothing but its vault, even when the project
    root has folders named like the vault's (``prd/``, ``policies/``)."""
    write_files(
        tmp_path,
        {
            "pyproject.toml": "[tool.kbgen]\n",
            "vault/wiki/a.md": "# A\n",
            "prd/nist.md": "# Not this project's PRD\n",
            "policies/p.md": "# Not a policy note\n",
        },
    )
    monkeypatch.chdir(tmp_path)
    vault, _ = compile_project(open_config(), cache=False, flake=False)
    assert set(vault.notes) == {"wiki/a.md"}


def test_a_path_claimed_twice_is_a_configuration_error(project):
    # The first vault has a folder named like the second vault: one content path, two files.
    write_files(project, {"notes/team/wiki/team-note.md": "# Shadow\n"})
    with pytest.raises(ConfigError, match=r"team/wiki/team-note\.md is also a path in the vault"):
        compile_project(open_config(), cache=False)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"vault": []}, "vault must name at least one folder"),
        ({"vault": ["notes", "../x"]}, "vault = '../x'"),
        ({"prd": ["/etc/*.md"]}, "prd = '/etc/\\*.md'"),
        ({"prd-frameworks": {"docs/*.md": "nist"}}, "not a framework id"),
    ],
)
def test_bad_layout_keys_are_clear_errors(tmp_path, table, message):
    from kbgen.config import config_from_table

    with pytest.raises(ConfigError, match=message):
        config_from_table(table, project_root=tmp_path)


def test_fixes_write_files_outside_the_vault(project, kbgen):
    """``--fix`` edits a PRD kept outside the vault, where it lives."""
    prd = project / "docs/prd/prd-access.md"
    prd.write_text(prd.read_text() + "\nThis page: [[prd-access]].\n")
    _, out, _ = kbgen("audit", "--no-cache", "--select", "KB108")
    assert out.startswith("docs/prd/prd-access.md:8:12: KB108"), out
    kbgen("audit", "--no-cache", "--select", "KB108", "--fix", "--unsafe-fixes")
    assert prd.read_text().endswith("\nThis page: prd-access.\n")
    assert not (project / "notes/docs").exists()


def test_build_fail_on_never_publishes_with_a_banner_on_every_page(project, kbgen):
    code, _, err = kbgen("build", "--markdown-only")
    assert code == 1 and "build stopped" in err
    assert not (project / "build/docs").exists()

    code, _, err = kbgen("build", "--markdown-only", "--fail-on", "never")
    assert code == 0, err
    assert "published with" in err and "--fail-on never" in err
    tree = project / "build/docs"
    pages = sorted(tree.rglob("*.md"))
    assert len(pages) > 10
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert '!!! danger "Published with ' in text, page
        # The banner links to the findings page, relative to each page.
        target = text.split("See [the findings](", 1)[1].split(")", 1)[0]
        assert (page.parent / target).resolve() == tree / "kb/findings.md"
    # The PRD kept outside the vault is a page at its project path, its controls traced.
    assert (tree / "docs/prd/prd-access.md").is_file()
    assert "TR203" in (tree / "kb/findings.md").read_text(encoding="utf-8")


def test_exclude_applies_to_content_paths_of_every_source(project):
    write_files(project, {"team/drafts/wip.md": "# WIP\n", "docs/prd/prd-draft.md": "# Draft\n"})
    text = CONFIG.replace(
        'prd = ["docs/prd/prd-*.md"]',
        'prd = ["docs/prd/prd-*.md"]\nexclude = ["team/drafts/**", "docs/prd/prd-draft.md"]',
    )
    load = load_config(write_files(project, {"kbgen.toml": text}) / "kbgen.toml")
    vault, _ = compile_project(load, cache=False, flake=False)
    assert "team/wiki/team-note.md" in vault.notes
    assert "team/drafts/wip.md" not in vault.notes
    assert "docs/prd/prd-draft.md" not in vault.notes


def test_a_glob_without_a_folder_searches_the_project_but_not_tools_folders(project):
    write_files(
        project,
        {
            "elsewhere/prd-extra.md": "# Extra\n",
            ".venv/lib/prd-vendored.md": "# Not ours\n",
            "node_modules/x/prd-pkg.md": "# Not ours\n",
        },
    )
    text = CONFIG.replace('prd = ["docs/prd/prd-*.md"]', 'prd = ["**/prd-*.md"]')
    config = load_config(write_files(project, {"kbgen.toml": text}) / "kbgen.toml")
    vault, _ = compile_project(config, cache=False, flake=False)
    found = sorted(p for p in vault.notes if "prd-" in p)
    assert found == ["docs/prd/prd-access.md", "docs/prd/prd-pci-dss.md", "elsewhere/prd-extra.md"]
