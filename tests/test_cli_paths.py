"""Files on the command line (as pre-commit passes them): ``kbgen audit``, ``trace`` and
``check`` still compile the whole project, but report, and fix, only what is in the
files named. One folder alone is still the vault."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from kbgen.project import compile_project, open_config
from kbgen.rules.base import Edit, Finding, Fix, FixSafety, Severity
from kbgen.rules.located import fix_within, located_in
from tests.helpers import FIXTURES, write_files

INDEX = "---\ntitle: Topic\n---\n\n- [[first]] — one\n"
FIRST = (
    "---\ntitle: First\ndescription: The first.\n---\n\n# First\n\n"
    "See [[second]] and [[missing-page]].\n\n## Key Takeaways\n"
)
SECOND = "---\ntitle: Second\ndescription: The second.\n---\n\n# Second\n\n## Key Takeaways\n"
OTHER_INDEX = "---\ntitle: Other\n---\n\n- [[third]] — three\n"
THIRD = "---\ntitle: Third\ndescription: The third.\n---\n\n# Third\n\n## Key Takeaways\n"
FOURTH = "---\ntitle: Fourth\ndescription: The fourth.\n---\n\n# Fourth\n\n## Key Takeaways\n"

BROKEN = "vault/wiki/topic/first.md:8:20: KB101 broken link [[missing-page]]"
TOPIC_INDEX = "vault/wiki/topic/_index.md"
OTHER = "vault/wiki/other/_index.md"


def vault(root: Path) -> Path:
    """Two topics whose indexes each miss an article (KB202, fixable) and one broken link
    in ``first.md``; ``first.md`` also links to ``second.md``, which resolves only when
    the whole vault is read."""
    return write_files(
        root,
        {
            "pyproject.toml": '[tool.kbgen]\nvault = "vault"\n',
            "vault/wiki/_master-index.md": "- [[topic/]] — topic\n- [[other/]] — other\n",
            TOPIC_INDEX: INDEX,
            "vault/wiki/topic/first.md": FIRST,
            "vault/wiki/topic/second.md": SECOND,
            OTHER: OTHER_INDEX,
            "vault/wiki/other/third.md": THIRD,
            "vault/wiki/other/fourth.md": FOURTH,
            "scripts/tool.py": "print('not a note')\n",
        },
    )


def finding_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if ": KB" in line or ": TR" in line]


def test_one_folder_is_still_the_vault(tmp_path, kbgen, monkeypatch):
    vault(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, out, _ = kbgen("audit", "vault")
    lines = finding_lines(out)
    assert code == 1
    assert any(line.startswith(BROKEN) for line in lines)
    assert any(line.startswith(TOPIC_INDEX) for line in lines)
    assert any(line.startswith(OTHER) for line in lines)
    assert kbgen("audit")[1] == out


def test_files_report_only_their_own_findings_against_the_whole_vault(tmp_path, kbgen, monkeypatch):
    vault(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, out, _ = kbgen("audit", "vault/wiki/topic/first.md")
    # [[second]] resolves (second.md was read though not named); [[missing-page]] does not.
    assert code == 1
    assert [line.split(" KB101")[0] for line in finding_lines(out)] == [BROKEN.split(" KB")[0]]
    assert "Found 1 finding" in out
    code, out, _ = kbgen("audit", "vault/wiki/topic/first.md", OTHER)
    assert code == 1
    assert sorted(line.split(":")[0] for line in finding_lines(out)) == [
        OTHER,
        "vault/wiki/topic/first.md",
    ]


def test_a_clean_file_passes_even_when_others_have_findings(tmp_path, kbgen, monkeypatch):
    vault(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, out, _ = kbgen("audit", "vault/wiki/topic/second.md")
    assert code == 0 and out.strip() == "All checks passed."


def test_absolute_paths_and_paths_from_another_folder_name_the_same_file(
    tmp_path, kbgen, monkeypatch
):
    vault(tmp_path)
    monkeypatch.chdir(tmp_path)
    _, expected, _ = kbgen("audit", "vault/wiki/topic/first.md")
    assert kbgen("audit", str(tmp_path / "vault/wiki/topic/first.md"))[1] == expected
    assert kbgen("audit", "vault/wiki/../wiki/topic/first.md")[1] == expected


def test_files_outside_the_vault_are_ignored(tmp_path, kbgen, monkeypatch):
    vault(tmp_path)
    outside = write_files(tmp_path / "elsewhere", {"notes.md": "[[missing-page]]\n"})
    monkeypatch.chdir(tmp_path)
    code, out, err = kbgen("audit", "scripts/tool.py", str(outside / "notes.md"))
    assert (code, out.strip(), err) == (0, "All checks passed.", "")
    code, out, _ = kbgen("audit", "scripts/tool.py", "vault/wiki/topic/first.md")
    assert code == 1 and len(finding_lines(out)) == 1


def test_a_missing_file_is_a_usage_error(tmp_path, kbgen, monkeypatch):
    vault(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, out, err = kbgen("audit", "vault/wiki/topic/gone.md")
    assert (code, out) == (2, "")
    assert err.strip() == "kbgen: error: vault/wiki/topic/gone.md: file not found"
    code, _, err = kbgen("check", "vault/wiki/topic/first.md", "gone.nix")
    assert code == 2 and err.strip() == "kbgen: error: gone.nix: file not found"
    # One name without a suffix is taken for the vault folder it always meant.
    code, _, err = kbgen("audit", "no-such-vault")
    assert code == 2 and err.strip() == "kbgen: error: no-such-vault: vault folder not found"


def test_a_folder_among_files_is_a_usage_error(tmp_path, kbgen, monkeypatch):
    vault(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, out, err = kbgen("audit", "vault/wiki/topic/first.md", "vault/wiki/other")
    assert (code, out) == (2, "")
    assert err.strip() == (
        "kbgen: error: vault/wiki/other: is a folder: name the vault folder alone, or only files"
    )


def test_fix_touches_only_the_files_named(tmp_path, kbgen, monkeypatch):
    vault(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, out, err = kbgen("audit", "--fix", TOPIC_INDEX)
    assert "Fixed 1 finding in 1 file." in err
    assert code == 0 and out.strip() == "All checks passed."
    assert (tmp_path / TOPIC_INDEX).read_text() == INDEX + "- [[second]] — The second.\n"
    assert (tmp_path / OTHER).read_text() == OTHER_INDEX
    assert (tmp_path / "vault/wiki/topic/first.md").read_text() == FIRST


def test_fix_of_a_file_without_fixable_findings_writes_nothing(tmp_path, kbgen, monkeypatch):
    vault(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = {p: p.read_bytes() for p in (tmp_path / "vault").rglob("*.md")}
    code, out, err = kbgen("audit", "--fix", "vault/wiki/topic/first.md")
    assert code == 1 and "Fixed" not in err
    assert len(finding_lines(out)) == 1
    assert before == {p: p.read_bytes() for p in (tmp_path / "vault").rglob("*.md")}


def test_diff_shows_only_the_files_named(tmp_path, kbgen, monkeypatch):
    vault(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, out, err = kbgen("audit", "--diff", OTHER)
    assert code == 1
    assert f"--- a/{OTHER}" in out and TOPIC_INDEX not in out
    assert "+- [[fourth]] — The fourth." in out
    assert "Would fix 1 finding in 1 file." in err


def trace_project(tmp_path: Path) -> Path:
    """The trace base project with TR501's trigger: FHS paths in a module and a note."""
    root = tmp_path / "project"
    shutil.copytree(FIXTURES / "trace" / "base", root)
    shutil.copytree(
        FIXTURES / "trace" / "TR501-fhs-path-leak" / "trigger", root, dirs_exist_ok=True
    )
    (root / "pyproject.toml").write_text("[tool.kbgen]\n")
    return root


def test_check_reports_findings_in_nix_files_and_notes_named(tmp_path, kbgen, monkeypatch):
    monkeypatch.chdir(trace_project(tmp_path))
    module, note = "flake/modules/ssh/default.nix", "vault/wiki/audit.md"
    options = ("--select", "TR501", "--no-nix-parse")
    code, out, _ = kbgen("check", *options)
    assert code == 1
    everything = finding_lines(out)
    assert {line.split(":")[0] for line in everything} == {module, note}
    code, out, _ = kbgen("check", *options, module)
    assert code == 1
    assert finding_lines(out) == [line for line in everything if line.startswith(module)]
    code, out, _ = kbgen("trace", "--select", "TR501", note)
    assert code == 1
    assert finding_lines(out) == [line for line in everything if line.startswith(note)]
    code, out, _ = kbgen("check", *options, "flake/tests/ssh.nix")
    assert code == 0 and finding_lines(out) == []


def test_a_fix_that_edits_a_file_not_named_is_not_applied(tmp_path, monkeypatch):
    """No rule's fix edits another file than its finding's today; the guard holds for one
    that would (here a finding of first.md whose fix also edits the topic index)."""
    vault(tmp_path)
    monkeypatch.chdir(tmp_path)
    notes, _trace = compile_project(open_config(), cache=False)
    edits = (
        Edit("wiki/topic/first.md", 8, 1, 1, "x"),
        Edit("wiki/topic/_index.md", 1, 1, 1, "y"),
    )
    finding = Finding(
        "KB101",
        "broken-wikilink",
        Severity.ERROR,
        "vault/wiki/topic/first.md",
        8,
        20,
        "broken link",
        Fix("edit two files", FixSafety.SAFE, edits),
        "wiki/topic/first.md",
    )
    first, index = (tmp_path / "vault/wiki/topic/first.md", tmp_path / TOPIC_INDEX)
    assert located_in([finding], frozenset({first}), tmp_path) == [finding]
    assert not fix_within(finding, frozenset({first}), notes)
    assert fix_within(finding, frozenset({first, index}), notes)
    assert fix_within(dataclasses.replace(finding, fix=None), frozenset(), notes)


def test_a_symlink_names_the_file_it_points_to(tmp_path, kbgen, monkeypatch):
    vault(tmp_path)
    (tmp_path / "first-link.md").symlink_to(tmp_path / "vault/wiki/topic/first.md")
    monkeypatch.chdir(tmp_path)
    assert kbgen("audit", "first-link.md") == kbgen("audit", "vault/wiki/topic/first.md")


def test_a_symlinked_note_and_its_target_are_one_file(tmp_path, kbgen, monkeypatch):
    vault(tmp_path)
    (tmp_path / "vault/wiki/topic/alias.md").symlink_to("first.md")
    monkeypatch.chdir(tmp_path)
    code, out, _ = kbgen("audit", "--select", "KB101", "vault/wiki/topic/alias.md")
    assert code == 1
    assert [line.split(":")[0] for line in finding_lines(out)] == [
        "vault/wiki/topic/alias.md",
        "vault/wiki/topic/first.md",
    ]
