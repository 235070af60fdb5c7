"""``kbgen init``: what it finds in a repository, the kbgen.toml it writes (which must load
and make ``kbgen check`` read the PRDs), what it prints, and what it refuses to do."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tomllib
from pathlib import Path

import pytest

from kbgen.cli import build_parser
from kbgen.config import KBGEN_TOML, Config, load_config
from kbgen.errors import KbgenError
from kbgen.init import add_init_parser, discover, guess_framework, render_config, run_init
from kbgen.init.discover import glob_escape
from kbgen.vault.files import matches
from tests.helpers import FIXTURES, note, write_files

REPOSITORY = Path(__file__).parent.parent
ADOPTED = FIXTURES / "repos" / "adopted"

ACCESS_TABLE = (
    "| Control ID | Title | Layer | NixOS Implementation Requirement |\n"
    "|---|---|---|---|\n"
    "| AC-8 | System use notification | host | `site.ssh.banner` is shown before login. |\n"
    "| AC-17 | Remote access | host | `site.ssh.enable` turns on sshd with keys only. |\n"
    "| AU-6 | Audit review | org | People read the logs, as [[log-review]] says. |\n"
)
PCI_TABLE = (
    "| Control ID | Title | Layer | NixOS Implementation Requirement |\n"
    "|---|---|---|---|\n"
    "| 2.2.7 | Encrypted admin access | host | `site.ssh.enable` |\n"
    "| 8.2.8 | Idle timeout | host | `site.ssh.enable` |\n"
)
SSH_MODULE = """{ config, lib, ... }:
let
  inherit (lib) mkOption types;
in
{
  options.site.ssh = {
    enable = lib.mkEnableOption "sshd";
    banner = mkOption { type = types.str; default = "authorised use only"; };
  };
  config = lib.mkIf config.site.ssh.enable {
    services.openssh.enable = true;
    services.openssh.banner = config.site.ssh.banner;
  };
}
"""
CANONICAL = """{ lib, ... }:
{
  options.site.baseline.ssh.maxAuthTries = lib.mkOption { type = lib.types.int; default = 3; };
}
"""
SSH_TEST = """# mkComplianceTest in a comment is not a call.
{ compliance, ... }:
compliance.mkComplianceTest {
  name = "ssh";
  controls = [ "nist-800-53/AC-17" "pci-dss/2.2.7" "pci-dss/8.2.8" ];
  nodes.gateway = { site.ssh.enable = true; };
  testScript = "gateway.succeed('true')";
}
"""
HELPER = """{ pkgs }:
{
  # mkComplianceTest { name, controls, ... }: the helper itself is not a test.
  mkComplianceTest = { name, controls, ... }@args: pkgs.testers.runNixOSTest args;
}
"""
RISKS = (
    "# Residual risks\n\n"
    "| ID | Risk | Source |\n|---|---|---|\n"
    "| RR-01 | Keys can leak. | [[nist-800-53/AC-17]] |\n"
)


def adopted_repo(root: Path) -> Path:
    """An adopted repository: the flake at the root, the vault one folder among others,
    PRDs without frontmatter and with the team's own headers under docs/."""
    return write_files(
        root,
        {
            "notes/.obsidian/app.json": "{}",
            "notes/index.md": note("Home", "# Home\n\nThe gateway."),
            "notes/wiki/residual-risk-management.md": note("Residual risk", "How we accept."),
            "docs/prd/prd-access.md": f"# Access\n\n{ACCESS_TABLE}",
            "docs/prd/prd-pci-dss.md": f"# PCI\n\n{PCI_TABLE}",
            "docs/prd/README.md": "# The PRDs\n\nRead them.\n",
            "docs/policies/log-review.md": note("Log review", "Daily."),
            "docs/residual-risks.md": RISKS,
            "docs/resolved-settings.yaml": "settings: []\n",
            "flake.nix": "{ outputs = { self }: { }; }\n",
            "modules/ssh.nix": SSH_MODULE,
            "modules/canonical.nix": CANONICAL,
            "lib/compliance.nix": HELPER,
            "tests/ssh.nix": SSH_TEST,
        },
    )


def init_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kbgen")
    add_init_parser(parser.add_subparsers(dest="command"))
    return parser


def cli_has_init() -> bool:
    parser = build_parser()
    return any(
        "init" in action.choices
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
    )


@pytest.fixture
def init(capsys):
    """Run ``kbgen init ARGS`` as the CLI does: (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        try:
            code = run_init(init_parser().parse_args(["init", *args]))
        except KbgenError as exc:
            print(f"kbgen: error: {exc}", file=sys.stderr)
            code = 2
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def config_of(layout_root: Path) -> tuple[str, Config]:
    """The configuration ``init`` would write for a folder, and what kbgen reads from it."""
    text = render_config(discover(layout_root))
    path = layout_root / KBGEN_TOML
    path.write_text(text, encoding="utf-8")
    return text, load_config(path)


# -- vaults ----------------------------------------------------------------------------


def test_one_vault_is_found_by_its_obsidian_folder(tmp_path):
    write_files(tmp_path, {"kb/.obsidian/app.json": "{}", "kb/index.md": "# Home\n"})
    layout = discover(tmp_path)
    assert [(v.path, v.why) for v in layout.vaults] == [("kb", ".obsidian/")]
    _, config = config_of(tmp_path)
    assert config.vault == "kb"
    assert config.more_vaults == ()


def test_two_vaults_the_shallowest_first_and_none_inside_a_vault(tmp_path):
    write_files(
        tmp_path,
        {
            "team/notes/.obsidian/app.json": "{}",
            "kb/.obsidian/app.json": "{}",
            # A vault inside a vault is part of it, not a vault of its own.
            "kb/archive/.obsidian/app.json": "{}",
        },
    )
    text, config = config_of(tmp_path)
    assert (config.vault, config.more_vaults) == ("kb", ("team/notes",))
    assert 'vault = [\n  "kb",\n  "team/notes",\n]' in text


def test_a_vault_folder_without_obsidian_and_no_vault_at_all(tmp_path):
    write_files(tmp_path / "a", {"vault/index.md": "# Home\n"})
    layout = discover(tmp_path / "a")
    assert [v.path for v in layout.vaults] == ["vault"]
    assert "no .obsidian/" in layout.vaults[0].why

    write_files(tmp_path / "b", {"docs/readme.md": "# Nothing\n"})
    text, config = config_of(tmp_path / "b")
    assert "\nvault =" not in text
    assert "No Obsidian vault found" in text
    assert config.vault == "vault"  # the default, unchanged


def test_a_vault_at_the_root(tmp_path):
    write_files(
        tmp_path,
        {
            ".obsidian/app.json": "{}",
            "prd/nist-800-53.md": ACCESS_TABLE,
            "prd/pci-dss.md": PCI_TABLE,
            "registers/residual-risks.md": RISKS,
        },
    )
    text, config = config_of(tmp_path)
    assert 'vault = "."' in text
    assert (config.vault, config.prd, config.prd_frameworks) == (".", ("prd/*.md",), {})
    assert "\nresidual-risks =" not in text  # where kbgen looks by default


# -- PRDs, globs, frameworks and columns -------------------------------------------------


def test_prds_outside_the_vault_get_a_prefix_glob_and_frameworks(tmp_path):
    adopted_repo(tmp_path)
    layout = discover(tmp_path)
    prds = {p.path: p for p in layout.prds}
    assert set(prds) == {"docs/prd/prd-access.md", "docs/prd/prd-pci-dss.md"}
    assert prds["docs/prd/prd-access.md"].rows == 3
    # No frontmatter: one framework from the file name, the other from the ids.
    assert (prds["docs/prd/prd-pci-dss.md"].framework, prds["docs/prd/prd-pci-dss.md"].source) == (
        "pci-dss",
        "file name",
    )
    access = prds["docs/prd/prd-access.md"]
    assert (access.framework, access.source) == ("nist-800-53", "ids")
    # README.md sits in the folder but outside the glob.
    assert layout.prd_globs == ("docs/prd/prd-*.md",)
    text, config = config_of(tmp_path)
    assert config.prd == ("docs/prd/prd-*.md",)
    assert config.prd_frameworks == {"docs/prd/prd-access.md": "nist-800-53"}
    assert "# docs/prd/prd-pci-dss.md: pci-dss, from its file name" in text


def test_a_glob_that_would_load_other_notes_outside_the_vault_lists_the_files(tmp_path):
    write_files(
        tmp_path,
        {
            "kb/.obsidian/app.json": "{}",
            "docs/access.md": f"# A\n\n{ACCESS_TABLE}",
            "docs/pci-dss.md": f"# P\n\n{PCI_TABLE}",
            "docs/howto.md": "# How to\n",
        },
    )
    layout = discover(tmp_path)
    assert layout.prd_globs == ("docs/access.md", "docs/pci-dss.md")


def test_prds_in_the_vault_share_a_glob_with_harmless_notes(tmp_path):
    frontmatter = "---\ntitle: NIST\nframework: {id: nist-800-53}\n---\n\n"
    write_files(
        tmp_path,
        {
            "vault/.obsidian/app.json": "{}",
            "vault/prd/_index.md": note("PRDs", "- [[nist]]\n- [[pci-dss]]"),
            "vault/prd/nist.md": frontmatter + ACCESS_TABLE,
            "vault/prd/pci-dss.md": PCI_TABLE,
        },
    )
    layout = discover(tmp_path)
    frameworks = {p.path: (p.framework, p.source) for p in layout.prds}
    assert frameworks == {
        "vault/prd/nist.md": ("nist-800-53", "frontmatter"),
        "vault/prd/pci-dss.md": ("pci-dss", "file name"),
    }
    assert layout.prd_globs == ("vault/prd/*.md",)
    assert layout.glob_extras == ("vault/prd/_index.md",)
    _, config = config_of(tmp_path)
    assert config.prd == ("prd/*.md",)  # the default, written from the project root
    assert config.prd_frameworks == {}


def test_tables_that_are_not_prds(tmp_path):
    quoted = ACCESS_TABLE.replace(
        "| AU-6 | Audit review | org | People read the logs", "| AU-6 | x | org | y"
    )
    write_files(
        tmp_path,
        {
            "vault/.obsidian/app.json": "{}",
            "vault/prd/access.md": "---\nframework: {id: nist-800-53}\n---\n\n" + ACCESS_TABLE,
            # A wiki page quoting the PRD's rows: all its controls are the PRD's.
            "vault/wiki/nist-800-53-notes.md": "# Notes\n\n" + quoted,
            # Ids of no framework.
            "vault/wiki/layers.md": "| Control | Layer |\n|---|---|\n| sandbox | host |\n",
            # A Layer column and framework ids under a header kbgen does not know.
            "vault/wiki/shared.md": "| Req ID | Layer |\n|---|---|\n| AC-2 | host |\n",
        },
    )
    layout = discover(tmp_path)
    assert [p.path for p in layout.prds] == ["vault/prd/access.md"]
    why = {n.path: n.why for n in layout.not_prds}
    assert "repeat vault/prd/access.md" in why["vault/wiki/nist-800-53-notes.md"]
    assert "no framework" in why["vault/wiki/layers.md"]
    assert 'add "Req ID" to [columns] control' in why["vault/wiki/shared.md"]
    assert layout.prd_globs == ("vault/prd/access.md",)


def test_guess_framework_needs_a_clear_majority():
    assert guess_framework(["AC-2", "AC-17(2)", "SC-7"])[0] == "nist-800-53"
    assert guess_framework(["1.3.1", "10.2.1.2"])[0] == "pci-dss"
    framework, why = guess_framework(["AC-2", "T1"])
    assert framework is None
    assert "equally" in why
    framework, why = guess_framework(["AC-2", "x", "y"])
    assert (framework, why) == (None, "only 1 of 3 ids are nist-800-53 ids")
    assert guess_framework([])[0] is None


def test_a_prd_without_a_known_framework_is_kept_and_said_so(tmp_path):
    write_files(
        tmp_path,
        {"prd/mixed.md": "| Control | Layer |\n|---|---|\n| AC-2 | host |\n| T1 | host |\n"},
    )
    layout = discover(tmp_path)
    assert [(p.path, p.framework) for p in layout.prds] == [("prd/mixed.md", None)]
    text, config = config_of(tmp_path)
    assert "framework not known: its ids fit nist-800-53 and owasp-agentic equally" in text
    assert config.prd_frameworks == {}


def test_team_headers_map_to_requirement_and_options(tmp_path):
    adopted_repo(tmp_path)
    text, config = config_of(tmp_path)
    header = "NixOS Implementation Requirement"
    # Added after kbgen's own names, so tables that use those read as before.
    assert config.columns["requirement"] == (*Config().columns["requirement"], header)
    assert config.columns["options"] == (*Config().columns["options"], header)
    assert config.columns["control"] == Config().columns["control"]
    assert f'"{header}" read as the requirement and the options' in text


def test_a_table_with_an_options_column_maps_the_requirement_only(tmp_path):
    table = (
        "| Control | Layer | Implementation requirement text | Nix options |\n"
        "|---|---|---|---|\n| AC-2 | host | x | `a.b` |\n"
    )
    write_files(tmp_path, {"docs/nist-800-53.md": table})
    _, config = config_of(tmp_path)
    assert config.columns["requirement"][-1] == "Implementation requirement text"
    assert config.columns["options"] == Config().columns["options"]


def test_glob_escape_matches_only_the_file():
    name = "docs/prd/a[1]*?.md"
    assert matches(name, (glob_escape(name),))
    assert not matches("docs/prd/a1xy.md", (glob_escape(name),))


# -- registers and the flake -------------------------------------------------------------


def test_registers_outside_the_vault(tmp_path):
    adopted_repo(tmp_path)
    layout = discover(tmp_path)
    assert layout.residual_risks.path == "docs/residual-risks.md"
    assert "1 RR-nn rows" in layout.residual_risks.why
    assert layout.resolved_settings.path == "docs/resolved-settings.yaml"
    assert layout.policies_dir.path == "docs/policies"
    _, config = config_of(tmp_path)
    assert config.residual_risks == "docs/residual-risks.md"
    assert config.resolved_settings == "docs/resolved-settings.yaml"
    assert config.policies_dir == "docs/policies"


def test_registers_where_kbgen_looks_by_default_are_comments(tmp_path):
    write_files(
        tmp_path,
        {
            "vault/.obsidian/app.json": "{}",
            "vault/registers/residual-risks.md": RISKS,
            "vault/registers/resolved-settings.yaml": "settings: []\n",
            "vault/policies/p.md": note("P"),
            "vault/wiki/residual-risk-acceptance.md": note("How", "No table."),
            "flake/flake.nix": "{ }\n",
            "flake/modules/canonical/default.nix": CANONICAL,
        },
    )
    text = render_config(discover(tmp_path))
    for key in ("residual-risks", "resolved-settings", "policies-dir", "canonical-module"):
        assert f"\n{key} =" not in text
    assert "vault/registers/residual-risks.md (table with 1 RR-nn rows), where kbgen looks" in text
    assert "flake/modules/canonical/default.nix (declares options), where kbgen looks" in text


def test_flake_at_the_root_counts_modules_and_tests(tmp_path):
    adopted_repo(tmp_path)
    layout = discover(tmp_path)
    assert layout.flake.path == "."
    # ssh.nix and canonical.nix declare options; tests/ssh.nix calls the helper, which
    # lib/compliance.nix only defines (and names in a comment).
    assert "2 .nix files declare options (mkOption), 1 call mkComplianceTest" in layout.flake.why
    assert layout.canonical_module.path == "modules/canonical.nix"
    _, config = config_of(tmp_path)
    assert config.flake == "."
    assert config.canonical_module == "modules/canonical.nix"


def test_flake_in_a_folder_and_the_top_most_one_wins(tmp_path):
    write_files(
        tmp_path,
        {
            "flake/flake.nix": "{ }\n",
            "flake/modules/ssh.nix": SSH_MODULE,
            "flake/sub/flake.nix": "{ }\n",
            "other/deep/er/flake.nix": "{ }\n",
        },
    )
    layout = discover(tmp_path)
    assert layout.flake.path == "flake"
    assert "1 .nix file declare" in layout.flake.why
    assert layout.canonical_module is None


# -- what is not searched ----------------------------------------------------------------


def test_tool_folders_test_data_nested_projects_and_symlinks_are_not_searched(tmp_path):
    outside = write_files(tmp_path / "outside", {"prd-pci-dss.md": PCI_TABLE})
    root = write_files(
        tmp_path / "repo",
        {
            "kb/.obsidian/app.json": "{}",
            ".venv/lib/.obsidian/x": "",
            "node_modules/pkg/pci-dss.md": PCI_TABLE,
            "tests/fixtures/vault/.obsidian/app.json": "{}",
            "vendor/other/kbgen.toml": 'vault = "v"\n',
            "vendor/other/v/.obsidian/app.json": "{}",
            "build/pci-dss.md": PCI_TABLE,
        },
    )
    (root / "linked").symlink_to(outside, target_is_directory=True)
    (root / "kb" / "prd-pci-dss.md").symlink_to(outside / "prd-pci-dss.md")
    layout = discover(root)
    assert [v.path for v in layout.vaults] == ["kb"]
    assert layout.prds == ()
    skipped = {s.path: s.why for s in layout.skipped}
    assert "test data" in skipped["tests/fixtures"]
    assert "kbgen.toml" in skipped["vendor/other"]
    assert "symlink out of the repository" in skipped["kb/prd-pci-dss.md"]


def test_special_large_and_undecodable_files_never_stop_init(tmp_path):
    write_files(
        tmp_path,
        {
            "big.md": b"| Control | Layer |\n|---|---|\n" + b"| AC-2 | host |\n" * 200_000,
            "latin1-nist-800-53.md": "| Control | Layer |\n|---|---|\n| AC-2 | h\xf4st |\n".encode(
                "latin-1"
            ),
        },
    )
    os.mkfifo(tmp_path / "pipe.md")
    layout = discover(tmp_path)
    skipped = {s.path: s.why for s in layout.skipped}
    assert "over 2 MiB" in skipped["big.md"]
    assert "not a regular file" in skipped["pipe.md"]
    assert [p.path for p in layout.prds] == ["latin1-nist-800-53.md"]


# -- the command -------------------------------------------------------------------------


def test_init_writes_a_configuration_that_loads_and_reports(tmp_path, init, monkeypatch):
    adopted_repo(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, out, err = init()
    assert (code, err) == (0, "")
    assert load_config(tmp_path / KBGEN_TOML).vault == "notes"
    lines = out.splitlines()
    assert "  vault" in lines[1] and "notes  (.obsidian/)" in lines[1]
    assert any(
        "docs/prd/prd-access.md  (control table with 3 rows; framework nist-800-53 from its ids"
        in line
        for line in lines
    )
    assert any("flake" in line and ".  (flake.nix; 2 .nix files" in line for line in lines)
    assert lines[-1] == "Wrote kbgen.toml. Next: kbgen check"


def test_init_in_another_folder_says_where_to_run_check(tmp_path, init, monkeypatch):
    write_files(tmp_path / "repo", {"vault/.obsidian/app.json": "{}"})
    monkeypatch.chdir(tmp_path)
    code, out, _ = init("repo")
    assert code == 0
    assert "Not found:\n  PRDs" in out
    assert out.splitlines()[-1] == "Wrote repo/kbgen.toml. Next: cd repo && kbgen check"


def test_stdout_writes_nothing(tmp_path, init):
    adopted_repo(tmp_path)
    code, out, err = init(str(tmp_path), "--stdout")
    assert code == 0
    assert not (tmp_path / KBGEN_TOML).exists()
    assert tomllib.loads(out)["vault"] == "notes"
    assert err.startswith("Found:\n")


def test_existing_configuration_is_not_overwritten(tmp_path, init):
    write_files(tmp_path, {KBGEN_TOML: "# mine\n", "vault/.obsidian/app.json": "{}"})
    code, _, err = init(str(tmp_path))
    assert code == 2
    assert err == (
        f"kbgen: error: {tmp_path}/kbgen.toml: exists already; use --force to overwrite it, "
        "or --stdout to print the configuration\n"
    )
    assert (tmp_path / KBGEN_TOML).read_text() == "# mine\n"
    assert init(str(tmp_path), "--stdout")[0] == 0
    assert (tmp_path / KBGEN_TOML).read_text() == "# mine\n"
    assert init(str(tmp_path), "--force")[0] == 0
    assert load_config(tmp_path / KBGEN_TOML).vault == "vault"


def test_pyproject_with_and_without_tool_kbgen(tmp_path, init):
    write_files(tmp_path / "with", {"pyproject.toml": '[tool.kbgen]\nvault = "v"\n'})
    code, _, err = init(str(tmp_path / "with"))
    assert code == 2
    assert "pyproject.toml: its [tool.kbgen] configures kbgen here already" in err
    code, out, _ = init(str(tmp_path / "with"), "--force")
    assert code == 0
    assert "kbgen.toml now takes precedence over [tool.kbgen]" in out

    write_files(tmp_path / "without", {"pyproject.toml": '[project]\nname = "x"\n'})
    code, out, _ = init(str(tmp_path / "without"))
    assert code == 0
    assert "pyproject.toml has no [tool.kbgen]" in out
    assert (tmp_path / "without" / KBGEN_TOML).is_file()

    write_files(tmp_path / "broken", {"pyproject.toml": "[tool\n"})
    code, _, err = init(str(tmp_path / "broken"))
    assert code == 2
    assert "pyproject.toml: cannot tell whether it configures kbgen" in err


def test_root_that_is_not_a_folder(tmp_path, init):
    (tmp_path / "file").write_text("x")
    for root in (tmp_path / "file", tmp_path / "missing"):
        code, out, err = init(str(root))
        assert (code, out) == (2, "")
        assert err == f"kbgen: error: {root}: not a folder\n"


def test_kbgen_check_reads_the_prds_of_the_written_configuration(
    tmp_path, init, kbgen, monkeypatch
):
    adopted_repo(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert init()[0] == 0
    _, out, err = kbgen("check", "--no-nix-parse", "--select", "TR2")
    assert "kbgen: error" not in err
    untested = {
        line.split(" no compliance test names ")[-1]
        for line in out.splitlines()
        if " TR203 " in line
    }
    # AC-8 has an option and no test; AC-17 and the PCI rows are tested; AU-6 is org.
    assert untested == {"nist-800-53/AC-8"}
    assert "docs/prd/prd-access.md:" in out


@pytest.mark.skipif(not cli_has_init(), reason="kbgen init is not wired into kbgen.cli yet")
def test_the_cli_runs_init(tmp_path, kbgen):
    write_files(tmp_path, {"vault/.obsidian/app.json": "{}"})
    code, out, _ = kbgen("init", str(tmp_path), "--stdout")
    assert code == 0
    assert 'vault = "vault"' in out
    assert kbgen("init", str(tmp_path / "missing"))[0] == 2


# -- the bundled repository and the adopted fixture ---------------------------------------


def test_the_bundled_repository_comes_out_as_configured():
    layout = discover(REPOSITORY)
    assert [v.path for v in layout.vaults] == ["vault"]
    assert layout.prd_globs == ("vault/prd/*.md",)
    assert all(p.source == "frontmatter" for p in layout.prds)
    assert layout.flake.path == "flake"
    config = Config(vault="vault")
    text = render_config(layout)
    table = tomllib.loads(text)
    assert set(table) <= {"vault", "flake", "prd"}
    assert config.content_path(table["prd"]) == config.prd[0]


@pytest.mark.skipif(not ADOPTED.is_dir(), reason="no adopted fixture")
def test_the_adopted_fixture_comes_out_as_its_own_configuration(tmp_path):
    shutil.copytree(ADOPTED, tmp_path / "adopted")
    (tmp_path / "adopted" / KBGEN_TOML).unlink()
    _, ours = config_of(tmp_path / "adopted")
    theirs = load_config(ADOPTED / KBGEN_TOML)
    for key in (
        "vault",
        "flake",
        "prd",
        "prd_frameworks",
        "policies_dir",
        "residual_risks",
        "resolved_settings",
        "canonical_module",
        "option_prefixes",  # from the namespace of the options its modules declare
    ):
        assert getattr(ours, key) == getattr(theirs, key), key
    for column in ("control", "requirement", "options"):
        assert set(theirs.columns[column]) <= set(ours.columns[column]), column


def test_option_namespaces_come_from_declarations_not_from_nixos_namespaces(tmp_path):
    write_files(
        tmp_path,
        {
            "flake.nix": "{ outputs = _: { }; }\n",
            "modules/own.nix": "{ lib, ... }: { options.site.ssh.enable = lib.mkEnableOption "
            '"ssh"; options.services.extra.enable = lib.mkEnableOption "extra"; }\n',
        },
    )
    layout = discover(tmp_path)
    assert layout.option_prefixes is not None and layout.option_prefixes.path == "site."
    assert 'option-prefixes = "site."' in render_config(layout)


def test_the_default_namespace_is_not_written(tmp_path):
    write_files(
        tmp_path,
        {
            "flake.nix": "{ outputs = _: { }; }\n",
            "modules/own.nix": "{ lib, ... }: { options.compliance.x = lib.mkOption { }; }\n",
        },
    )
    layout = discover(tmp_path)
    assert layout.option_prefixes is None
    assert "option-prefixes" not in render_config(layout)
