"""Hostile or broken ``pyproject.toml``: a clear error that names the file, never a silent
fallback to other settings, an internal error, or a read outside the project."""

from __future__ import annotations

import pytest

from kbgen.config import Config, config_from_table
from kbgen.errors import ConfigError
from tests.helpers import note, write_files

BROKEN_NOTE = {"vault/a.md": "[[missing]]\n"}


def run_in(tmp_path, kbgen, monkeypatch, *args: str):
    monkeypatch.chdir(tmp_path)
    return kbgen("audit", *args)


def test_invalid_toml_is_an_error_naming_the_file_and_line(tmp_path, kbgen, monkeypatch):
    write_files(
        tmp_path,
        {"pyproject.toml": '[tool.kbgen]\nvault = "vault"\n\nfail-on = warning\n', **BROKEN_NOTE},
    )
    code, out, err = run_in(tmp_path, kbgen, monkeypatch)
    assert code == 2, out
    assert "All checks passed" not in out
    assert err.startswith(f"kbgen: error: {tmp_path / 'pyproject.toml'}:4: invalid TOML: ")


def test_invalid_toml_does_not_fall_back_to_the_parent_config(tmp_path, kbgen, monkeypatch):
    # The parent's configuration ignores KB101; the child's broken file must not be skipped.
    write_files(
        tmp_path,
        {
            "pyproject.toml": '[tool.kbgen]\nignore = ["KB101"]\n',
            "child/pyproject.toml": "[tool.kbgen\nvault = 'vault'\n",
            "child/vault/a.md": "[[missing]]\n",
        },
    )
    code, out, err = run_in(tmp_path / "child", kbgen, monkeypatch)
    assert code == 2 and "All checks passed" not in out
    assert f"{tmp_path / 'child' / 'pyproject.toml'}:1: invalid TOML" in err


def test_invalid_toml_without_any_other_config_is_not_run_on_defaults(tmp_path, kbgen, monkeypatch):
    write_files(
        tmp_path, {"pyproject.toml": "[tool.kbgen]\nignore = [KB101]\n", "vault/a.md": "# A\n"}
    )
    code, _, err = run_in(tmp_path, kbgen, monkeypatch, "vault")
    assert code == 2 and ":2: invalid TOML" in err


def test_toml_error_line_is_in_the_error(tmp_path):
    from kbgen.config import load_config

    path = tmp_path / "pyproject.toml"
    path.write_text('[tool.kbgen]\n\n\nvault = "vault\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.path == str(path) and caught.value.line == 4
    assert "(at line" not in caught.value.message


def test_pyproject_that_is_not_utf8_is_an_error(tmp_path, kbgen, monkeypatch):
    write_files(tmp_path, {"pyproject.toml": b'[tool.kbgen]\nvault = "v\xe9"\n', **BROKEN_NOTE})
    code, out, err = run_in(tmp_path, kbgen, monkeypatch)
    assert code == 2 and "All checks passed" not in out
    assert "pyproject.toml" in err and "not valid UTF-8" in err


def test_deeply_nested_toml_is_an_error_not_a_crash(tmp_path, kbgen, monkeypatch):
    write_files(
        tmp_path, {"pyproject.toml": "[tool.kbgen]\nx = " + "[" * 100_000 + "\n", **BROKEN_NOTE}
    )
    code, _, err = run_in(tmp_path, kbgen, monkeypatch)
    assert code == 2 and "internal error" not in err and "pyproject.toml" in err


@pytest.mark.parametrize(
    "toml", ["[tool]\nkbgen = 5\n", 'tool = "kbgen"\n', "[tool]\nkbgen = [1, 2]\n", "tool = 3\n"]
)
def test_tool_kbgen_that_is_not_a_table_is_a_config_error(tmp_path, kbgen, monkeypatch, toml):
    write_files(tmp_path, {"pyproject.toml": toml, **BROKEN_NOTE})
    code, _, err = run_in(tmp_path, kbgen, monkeypatch)
    assert code == 2
    assert "internal error" not in err
    assert "pyproject.toml" in err and "must be a table" in err


@pytest.mark.parametrize(
    "key",
    [
        "vault",
        "flake",
        "cache-dir",
        "canonical-module",
        "evidence",
        "master-index",
        "home",
        "raw-dir",
        "topics-root",
        "prd",
        "policies-dir",
        "residual-risks",
        "resolved-settings",
    ],
)
@pytest.mark.parametrize("value", ["/etc", "../outside", "a/../../outside", "C:/Windows", ""])
def test_path_keys_must_stay_inside_their_root(key, value):
    with pytest.raises(ConfigError, match=rf"\[tool.kbgen\] {key} = .*: "):
        config_from_table({key: value}, project_root=None)


def test_every_string_key_is_a_checked_path_or_known_not_to_be_one():
    """A new path key must join PROJECT_PATHS or VAULT_PATHS (and so be checked)."""
    import dataclasses

    from kbgen.config import PROJECT_PATHS, VAULT_PATHS

    not_paths = {"fail_on", "index_name", "note_html", "repo_url"}
    strings = {f.name for f in dataclasses.fields(Config) if f.type == "str"}
    assert strings - not_paths == set(PROJECT_PATHS) | set(VAULT_PATHS)


def test_file_reference_roots_and_index_name_are_checked():
    with pytest.raises(ConfigError, match="file-reference-roots"):
        config_from_table({"file-reference-roots": ["flake", "/etc"]}, project_root=None)
    with pytest.raises(ConfigError, match="index-name must be a file name"):
        config_from_table({"index-name": "../_index.md"}, project_root=None)


def test_paths_that_stay_inside_are_accepted(tmp_path):
    config = config_from_table(
        {"vault": "./notes", "flake": "nix/../flake", "prd": "docs/prd/*.md", "home": "index.md"},
        project_root=tmp_path,
    )
    assert config.vault == "./notes" and config.prd == ("docs/prd/*.md",)


def test_flake_outside_the_project_is_never_read(tmp_path, kbgen, monkeypatch):
    write_files(
        tmp_path,
        {
            "outside/flake/secret.nix": "{ options.compliance.x = 1; }\n",
            "project/pyproject.toml": '[tool.kbgen]\nflake = "../outside/flake"\n',
            "project/vault/a.md": note("A"),
        },
    )
    monkeypatch.chdir(tmp_path / "project")
    code, _, err = kbgen("check")
    assert code == 2 and "flake = '../outside/flake'" in err and "climbs out" in err


def test_absolute_flake_is_a_config_error(tmp_path, kbgen, monkeypatch):
    write_files(
        tmp_path, {"pyproject.toml": '[tool.kbgen]\nflake = "/etc"\n', "vault/a.md": note("A")}
    )
    monkeypatch.chdir(tmp_path)
    code, _, err = kbgen("check")
    assert code == 2 and "flake = '/etc'" in err and "absolute path" in err


def test_configured_path_that_is_a_symlink_out_of_the_project_is_refused(
    tmp_path, kbgen, monkeypatch
):
    write_files(
        tmp_path,
        {
            "outside/cache/x": "",
            "project/pyproject.toml": "[tool.kbgen]\n",
            "project/vault/a.md": note("A"),
        },
    )
    (tmp_path / "project" / ".kbgen").symlink_to(
        tmp_path / "outside" / "cache", target_is_directory=True
    )
    monkeypatch.chdir(tmp_path / "project")
    monkeypatch.delenv("KBGEN_NO_CACHE")
    code, _, err = kbgen("audit")
    assert code == 2 and "cache-dir = '.kbgen' resolves to" in err and "outside" in err
    assert sorted(p.name for p in (tmp_path / "outside" / "cache").iterdir()) == ["x"]


@pytest.mark.parametrize(
    "table",
    [
        {"severity": {"KB999": "info"}},
        {"severity": {"brokn-wikilink": "info"}},
        {"severity": {"kb101": "info"}},
    ],
)
def test_unknown_rule_under_severity_is_an_error_naming_the_key(table):
    (key,) = table["severity"]
    with pytest.raises(ConfigError, match=rf"\[tool.kbgen.severity\] unknown rule '{key}'"):
        config_from_table(table, project_root=None)


def test_unknown_rule_under_per_path_ignores_is_an_error_naming_the_key(
    tmp_path, kbgen, monkeypatch
):
    write_files(
        tmp_path,
        {
            "pyproject.toml": '[tool.kbgen.per-path-ignores]\n"raw/**" = ["KB204", "orphan-nte"]\n',
            "vault/a.md": note("A"),
        },
    )
    monkeypatch.chdir(tmp_path)
    code, _, err = kbgen("audit")
    assert code == 2
    assert "[tool.kbgen.per-path-ignores] 'raw/**': unknown rule 'orphan-nte'" in err


def test_known_rules_by_code_name_and_prefix_are_accepted():
    config = config_from_table(
        {
            "severity": {"KB101": "info", "orphan-note": "error"},
            "per-path-ignores": {"raw/**": ["KB2", "broken-wikilink"]},
        },
        project_root=None,
    )
    assert config.severity["orphan-note"] == "error"


def test_tests_dir_is_no_longer_a_key():
    assert not hasattr(Config(), "tests_dir")
    with pytest.raises(ConfigError, match="unknown key 'tests-dir'"):
        config_from_table({"tests-dir": "flake/tests"}, project_root=None)
