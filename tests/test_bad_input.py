"""Hostile and broken input: findings or a clear error, never a traceback or a hang."""

from __future__ import annotations

import resource
import time

import pytest

from kbgen.vault import files as vault_files
from tests.helpers import note, write_files


def findings(out: str) -> list[str]:
    return [line for line in out.splitlines() if ": KB" in line]


def test_missing_vault_is_exit_2_with_a_message(tmp_path, kbgen, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _out, err = kbgen("audit", "--isolated", "no-such-vault")
    assert code == 2
    assert err.strip() == "kbgen: error: no-such-vault: vault folder not found"


def test_broken_pyproject_is_exit_2_naming_the_file(tmp_path, kbgen, monkeypatch):
    write_files(tmp_path, {"pyproject.toml": "[tool.kbgen]\nvault = 3\n", "vault/a.md": "# A\n"})
    monkeypatch.chdir(tmp_path)
    code, _, err = kbgen("audit")
    assert code == 2
    assert "pyproject.toml" in err and "vault must be a string" in err


def test_invalid_toml_is_exit_2(tmp_path, kbgen, monkeypatch):
    write_files(tmp_path, {"pyproject.toml": "[tool.kbgen\n", "vault/a.md": "# A\n"})
    monkeypatch.chdir(tmp_path)
    code, _, err = kbgen("audit", "--config", "pyproject.toml")
    assert code == 2 and "invalid TOML" in err


def test_unknown_rule_selector_is_a_usage_error(tmp_path, kbgen, monkeypatch):
    write_files(tmp_path, {"vault/a.md": "# A\n"})
    monkeypatch.chdir(tmp_path)
    code, _, err = kbgen("audit", "--isolated", "--select", "KB999", "vault")
    assert code == 2 and "unknown rule selector 'KB999'" in err


def test_too_large_note_is_reported(tmp_path, kbgen, monkeypatch):
    write_files(tmp_path, {"vault/big.md": "x" * 2048, "vault/a.md": "[[big]]\n"})
    monkeypatch.setattr(vault_files, "MAX_NOTE_BYTES", 1024)
    monkeypatch.chdir(tmp_path)
    _code, out, _ = kbgen("audit", "--isolated", "--select", "KB001", "vault")
    assert findings(out) == [
        "vault/big.md:1:1: KB001 note is 0 MiB, over the 0 MiB limit; not parsed"
    ]


def test_ten_megabyte_note_is_audited(tmp_path, kbgen, monkeypatch):
    paragraph = "Words and a link to [[target]] in a long note. " + "Filler text. " * 150 + "\n\n"
    body = paragraph * (10 * 2**20 // len(paragraph))
    write_files(
        tmp_path,
        {
            "vault/big.md": "---\ntitle: Big\n---\n" + body + "[[missing]]\n",
            "vault/target.md": "[[big]]\n",
        },
    )
    monkeypatch.chdir(tmp_path)
    code, out, _ = kbgen("audit", "--isolated", "--select", "KB101", "vault")
    lines = findings(out)
    assert len(lines) == 1 and "[[missing]]" in lines[0]
    assert code == 1


@pytest.mark.parametrize("marker", ["- ", "> ", "1. ", "* > "])
def test_ten_thousand_deep_nesting_neither_crashes_nor_hangs(tmp_path, kbgen, monkeypatch, marker):
    # "- - - - ... text" nests 10,000 lists on one line (the same for quotes).
    deep = marker * 10_000 + "[[deep-link]]\n"
    write_files(tmp_path, {"vault/deep.md": deep + "\nafter [[missing]]\n"})
    monkeypatch.chdir(tmp_path)
    start = time.monotonic()
    code, out, err = kbgen("audit", "--isolated", "--select", "KB101,KB005", "vault")
    assert time.monotonic() - start < 20
    assert code == 1 and "Traceback" not in err
    emphasis = (
        [
            "vault/deep.md:1:1: KB005 10000 emphasis markers on one line (at most 256): "
            "the renderer nests them and fails"
        ]
        if "*" in marker
        else []
    )
    assert findings(out) == [
        "vault/deep.md:1:1: KB005 lists or quotes nested deeper than 40 levels; the rest of "
        "this line is not parsed",
        *emphasis,
        "vault/deep.md:3:7: KB101 broken link [[missing]]: no note named 'missing'",
    ]


def test_yaml_alias_bomb_neither_hangs_nor_exhausts_memory(tmp_path, kbgen, monkeypatch):
    levels = ["a0: &a0 [" + ", ".join(["lol"] * 10) + "]"]
    for i in range(1, 12):
        levels.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    bomb = "---\n" + "\n".join(levels) + "\n---\n\n# Bomb\n"
    write_files(tmp_path, {"vault/bomb.md": bomb})
    monkeypatch.chdir(tmp_path)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.monotonic()
    _code, out, _ = kbgen("audit", "--isolated", "--select", "KB301", "vault")
    assert time.monotonic() - start < 20  # a generous bound: the real cost is milliseconds
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200 * 1024
    (line,) = findings(out)
    assert line.startswith("vault/bomb.md:1:1: KB301 frontmatter expands to ")
    assert line.endswith(" YAML nodes through aliases (limit 10,000); refusing to load it")
    # 10 strings, 11 levels of ten-fold aliases: over a trillion nodes if expanded.
    assert int(line.split("expands to ")[1].split(" ")[0].replace(",", "")) > 10**12


def test_malformed_yaml_points_at_the_line(tmp_path, kbgen, monkeypatch):
    write_files(tmp_path, {"vault/a.md": "---\ntitle: A\nbad: : :\n  - x\n---\n\n# A\n"})
    monkeypatch.chdir(tmp_path)
    _, out, _ = kbgen("audit", "--isolated", "--select", "KB301", "vault")
    assert findings(out)[0].startswith("vault/a.md:3:")


def test_links_climbing_out_are_never_opened(tmp_path, kbgen, monkeypatch):
    write_files(
        tmp_path,
        {
            "secret.md": "# Secret heading\n",
            "vault/a.md": "[[../secret#Secret heading]] [[../../../etc/passwd]]\n",
        },
    )
    monkeypatch.chdir(tmp_path)
    _, out, _ = kbgen("audit", "--isolated", "--select", "KB1", "vault")
    assert findings(out) == [
        "vault/a.md:1:1: KB107 [[../secret#Secret heading]] points outside the vault",
        "vault/a.md:1:30: KB107 [[../../../etc/passwd]] points outside the vault",
    ]


def test_embed_cycle_of_one_note(tmp_path, kbgen, monkeypatch):
    write_files(tmp_path, {"vault/self.md": note("Self", "![[self]]")})
    monkeypatch.chdir(tmp_path)
    _, out, _ = kbgen("audit", "--isolated", "--select", "KB109", "vault")
    assert findings(out) == ["vault/self.md:5:1: KB109 embed cycle: self.md -> self.md"]


def test_file_reference_never_reads_outside_the_project(tmp_path, kbgen, monkeypatch):
    project = tmp_path / "project"
    write_files(tmp_path, {"outside.txt": "a\nb\n"})
    write_files(project, {"vault/a.md": "`vault/../../outside.txt` `flake/link.nix:1`\n"})
    (project / "flake").mkdir()
    (project / "flake" / "link.nix").symlink_to(tmp_path / "outside.txt")
    monkeypatch.chdir(project)
    _, out, _ = kbgen("audit", "--isolated", "--select", "KB401", "vault")
    assert findings(out) == [
        "vault/a.md:1:27: KB401 `flake/link.nix:1` names a file that does not exist"
    ]
