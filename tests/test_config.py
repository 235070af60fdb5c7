"""[tool.kbgen]: typed keys, selection, per-path ignores, severities and exit codes."""

from __future__ import annotations

import pytest

from kbgen.config import config_from_table
from kbgen.errors import ConfigError
from tests.helpers import note, write_files

BROKEN = {
    "vault/wiki/t/a.md": note("A", "[[missing]]\n\n## Key Takeaways"),
    "vault/wiki/t/_index.md": note("T", "- [[a]] — a"),
    "vault/wiki/_master-index.md": note("Master", "- [[t/]] — t"),
}


def project(tmp_path, table: str):
    return write_files(tmp_path, {"pyproject.toml": f"[tool.kbgen]\n{table}\n", **BROKEN})


def test_unknown_key_is_an_error_that_lists_the_known_keys(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown key 'vualt'.*known: "):
        config_from_table({"vualt": "x"}, project_root=tmp_path)


def test_wrong_type_is_an_error():
    with pytest.raises(ConfigError, match="select must be a string or a list of strings"):
        config_from_table({"select": 3}, project_root=None)


def test_bad_severity_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="use one of info, warning, error"):
        config_from_table({"severity": {"KB101": "fatal"}}, project_root=tmp_path)


def test_configured_vault_is_used_from_a_sub_folder(tmp_path, kbgen, monkeypatch):
    write_files(
        tmp_path,
        {
            "pyproject.toml": '[tool.kbgen]\nvault = "notes"\n',
            "notes/a.md": "[[missing]]\n",
            "other/x.txt": "",
        },
    )
    monkeypatch.chdir(tmp_path / "other")
    code, out, _ = kbgen("audit", "--select", "KB101")
    assert code == 1 and out.startswith("notes/a.md:1:1: KB101")


def test_ignore_by_name_in_config(tmp_path, kbgen, monkeypatch):
    project(tmp_path, 'ignore = ["broken-wikilink"]')
    monkeypatch.chdir(tmp_path)
    code, out, _ = kbgen("audit")
    assert code == 0, out


def test_per_path_ignores(tmp_path, kbgen, monkeypatch):
    project(tmp_path, '[tool.kbgen.per-path-ignores]\n"wiki/t/**" = ["KB1"]')
    monkeypatch.chdir(tmp_path)
    code, _, _ = kbgen("audit")
    assert code == 0


def test_severity_override_and_fail_on(tmp_path, kbgen, monkeypatch):
    project(tmp_path, '[tool.kbgen.severity]\nKB101 = "info"')
    monkeypatch.chdir(tmp_path)
    code, out, _ = kbgen("audit")
    assert code == 0 and "(1 info)" in out
    code, _, _ = kbgen("audit", "--fail-on", "info")
    assert code == 1


def test_exit_zero(tmp_path, kbgen, monkeypatch):
    project(tmp_path, "")
    monkeypatch.chdir(tmp_path)
    assert kbgen("audit")[0] == 1
    assert kbgen("audit", "--exit-zero")[0] == 0


def test_required_sections_per_folder(tmp_path, kbgen, monkeypatch):
    write_files(
        tmp_path,
        {
            "pyproject.toml": (
                '[tool.kbgen.required-sections]\n"policies/**" = ["Purpose", "Scope"]\n'
            ),
            "vault/policies/p.md": note("P", "## Purpose\n\nWhy."),
        },
    )
    monkeypatch.chdir(tmp_path)
    _, out, _ = kbgen("audit", "--select", "KB204")
    assert (
        out.splitlines()[0] == "vault/policies/p.md:7:1: KB204 missing required section '## Scope'"
    )


def test_suppression_on_its_own_line_covers_the_next_block_only(tmp_path, kbgen, monkeypatch):
    write_files(
        tmp_path,
        {
            "vault/a.md": "<!-- kbgen-ignore KB101: written next week -->\n"
            "[[later]] and\n[[also-later]]\n\n[[missing]]\n"
            "text <!-- kbgen-ignore KB101: inline --> [[x]]\n"
        },
    )
    monkeypatch.chdir(tmp_path)
    _, out, _ = kbgen("audit", "--isolated", "--select", "KB101,KB901", "vault")
    assert out.splitlines()[:-1] == [
        "vault/a.md:5:1: KB101 broken link [[missing]]: no note named 'missing'"
    ]


def test_file_wide_suppression_by_name(tmp_path, kbgen, monkeypatch):
    write_files(
        tmp_path,
        {"vault/a.md": "[[x]]\n\n[[y]]\n\n<!-- kbgen-ignore-file broken-wikilink: draft -->\n"},
    )
    monkeypatch.chdir(tmp_path)
    code, _, _ = kbgen("audit", "--isolated", "--select", "KB101,KB901", "vault")
    assert code == 0
