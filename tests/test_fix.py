"""--fix and --diff: safe by default, atomic, byte-preserving and idempotent."""

from __future__ import annotations

import os

from tests.helpers import write_files

INDEX = (
    "---\r\ntitle:   Topic   # odd spacing kept\r\n---\r\n\r\n"
    "- [[first]] — one\r\n\r\nTrailing prose without a final newline."
)
FIRST = "---\ntitle: First\ndescription: The first.\n---\n\n# First\n\n## Key Takeaways\n"
SECOND = "---\ntitle: Second\ndescription: The second.\n---\n\n# Second\n\n## Key Takeaways\n"


def topic(tmp_path):
    return write_files(
        tmp_path,
        {
            "vault/wiki/_master-index.md": "- [[topic/]] — topic\n",
            "vault/wiki/topic/_index.md": INDEX.encode(),
            "vault/wiki/topic/first.md": FIRST,
            "vault/wiki/topic/second.md": SECOND,
        },
    )


def test_fix_lists_the_missing_article_and_keeps_every_other_byte(tmp_path, kbgen, monkeypatch):
    topic(tmp_path)
    monkeypatch.chdir(tmp_path)
    index = tmp_path / "vault/wiki/topic/_index.md"
    os.chmod(index, 0o640)
    code, out, err = kbgen("audit", "--isolated", "--fix", "vault")
    assert "Fixed 1 finding in 1 file." in err
    assert code == 0 and out.strip() == "All checks passed."
    expected = INDEX.replace(
        "- [[first]] — one\r\n", "- [[first]] — one\r\n- [[second]] — The second.\r\n"
    )
    assert index.read_bytes() == expected.encode()
    assert os.stat(index).st_mode & 0o777 == 0o640
    assert not list(index.parent.glob("*.kbgen-tmp"))


def test_second_fix_run_changes_nothing(tmp_path, kbgen, monkeypatch):
    topic(tmp_path)
    monkeypatch.chdir(tmp_path)
    kbgen("audit", "--isolated", "--fix", "vault")
    snapshot = {p: p.read_bytes() for p in (tmp_path / "vault").rglob("*.md")}
    code, _, err = kbgen("audit", "--isolated", "--fix", "vault")
    assert code == 0 and "Fixed" not in err
    assert snapshot == {p: p.read_bytes() for p in (tmp_path / "vault").rglob("*.md")}


def test_diff_shows_the_fix_and_writes_nothing(tmp_path, kbgen, monkeypatch):
    topic(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = (tmp_path / "vault/wiki/topic/_index.md").read_bytes()
    code, out, err = kbgen("audit", "--isolated", "--diff", "vault")
    assert code == 1
    assert "--- a/vault/wiki/topic/_index.md" in out
    assert "+- [[second]] — The second.\r\n" in out
    assert "Would fix 1 finding in 1 file." in err
    assert (tmp_path / "vault/wiki/topic/_index.md").read_bytes() == before


def test_unsafe_fix_needs_the_explicit_flag(tmp_path, kbgen, monkeypatch):
    write_files(
        tmp_path,
        {"vault/a.md": "See [[ssh-hardning|the guide]].\n", "vault/ssh-hardening.md": "[[a]]\n"},
    )
    monkeypatch.chdir(tmp_path)
    code, out, _ = kbgen("audit", "--isolated", "--select", "KB101", "--fix", "vault")
    assert code == 1 and "did you mean [[ssh-hardening]]" in out
    assert (tmp_path / "vault/a.md").read_text() == "See [[ssh-hardning|the guide]].\n"
    code, _, _ = kbgen(
        "audit", "--isolated", "--select", "KB101", "--fix", "--unsafe-fixes", "vault"
    )
    assert code == 0
    assert (tmp_path / "vault/a.md").read_text() == "See [[ssh-hardening|the guide]].\n"


def test_ambiguous_link_is_rewritten_to_the_candidate_in_the_same_folder(
    tmp_path, kbgen, monkeypatch
):
    write_files(
        tmp_path,
        {
            "vault/x/overview.md": "[[x/start]] ![[overview#^b]]\n\ntext ^b\n",
            "vault/y/overview.md": "[[x/start]]\n",
            "vault/x/start.md": "Read [[overview]] and ![[overview#^b|x]].\n",
        },
    )
    monkeypatch.chdir(tmp_path)
    code, _, _ = kbgen("audit", "--isolated", "--select", "KB102", "--fix", "vault")
    assert code == 0
    assert (
        tmp_path / "vault/x/start.md"
    ).read_text() == "Read [[x/overview]] and ![[x/overview#^b|x]].\n"


def test_fix_refuses_a_file_changed_since_it_was_read(tmp_path, monkeypatch):
    from kbgen.fix import plan_fixes
    from kbgen.project import audit, open_config

    topic(tmp_path)
    monkeypatch.chdir(tmp_path)
    config = open_config("vault", isolated=True)
    run = audit(config)
    (tmp_path / "vault/wiki/topic/_index.md").write_text("edited meanwhile\n")
    digests = {path: note.digest for path, note in run.vault.notes.items()}
    plan = plan_fixes(run.findings, run.vault.sources, digests, unsafe=False)
    assert plan.changed == {}
    assert [reason for _, reason in plan.skipped] == [
        "wiki/topic/_index.md changed since it was read"
    ]


def test_master_index_fix_appends_after_the_last_link(tmp_path, kbgen, monkeypatch):
    write_files(
        tmp_path,
        {
            "vault/wiki/_master-index.md": "# Topics\n\n- [[a/]] — A\n\nFooter.\n",
            "vault/wiki/a/_index.md": "# A\n",
            "vault/wiki/b/_index.md": "---\ntitle: B topic\ndescription: All about B.\n---\n# B\n",
        },
    )
    monkeypatch.chdir(tmp_path)
    kbgen("audit", "--isolated", "--select", "KB203", "--fix", "vault")
    assert (tmp_path / "vault/wiki/_master-index.md").read_text() == (
        "# Topics\n\n- [[a/]] — A\n- [[wiki/b/_index|B topic]] — All about B.\n\nFooter.\n"
    )
