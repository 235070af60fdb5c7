"""``audit --fix`` on hostile names and text: a fix lists the note with a link that
resolves to it, writes nothing but a safe one-line summary, never creates a finding,
and a second run changes nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import FIXTURES, note, write_files

ARTICLE = "\n## Key Takeaways\n\nShort.\n"


def findings(out: str) -> list[str]:
    return [line for line in out.splitlines() if ": KB" in line or ": TR" in line]


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def fix_twice(kbgen, *args: str) -> tuple[str, str, str, str]:
    """Run ``audit --fix`` twice; returns (first out, first err, second out, second err)."""
    _, out1, err1 = kbgen("audit", "--isolated", "--fix", *args, "vault")
    _, out2, err2 = kbgen("audit", "--isolated", "--fix", *args, "vault")
    return out1, err1, out2, err2


def topic(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    return write_files(
        tmp_path,
        {
            "vault/wiki/_master-index.md": note("Master", "- [[t/]] — T"),
            "vault/wiki/t/_index.md": note("T", "- [[a]] — A"),
            "vault/wiki/t/a.md": note("A", ARTICLE),
            **files,
        },
    )


def test_note_with_a_hash_in_its_name_is_listed_once(tmp_path, kbgen, monkeypatch):
    topic(tmp_path, {"vault/wiki/t/hash#frag.md": note("Hash", ARTICLE)})
    monkeypatch.chdir(tmp_path)
    out1, err1, out2, err2 = fix_twice(kbgen)
    assert "Fixed 1 finding in 1 file." in err1
    assert "Fixed" not in err2, out2
    assert findings(out1) == findings(out2) == []
    index = (tmp_path / "vault/wiki/t/_index.md").read_text()
    assert index.count("hash") == 1 and "[[hash#frag]]" not in index


@pytest.mark.parametrize(
    "name", ["pipe|name", "caret^name", "bracket]]name", "50% off", "space name"]
)
def test_names_a_wikilink_cannot_hold_are_listed_with_a_link_that_resolves(
    tmp_path, kbgen, monkeypatch, name
):
    topic(tmp_path, {f"vault/wiki/t/{name}.md": note("Odd", ARTICLE)})
    monkeypatch.chdir(tmp_path)
    out1, err1, _, err2 = fix_twice(kbgen)
    assert "Fixed 1 finding" in err1
    assert findings(out1) == [] and "Fixed" not in err2


def test_index_fix_for_a_shared_name_writes_a_link_that_resolves_uniquely(
    tmp_path, kbgen, monkeypatch
):
    topic(
        tmp_path,
        {
            "vault/wiki/t/overview.md": note("Overview of T", ARTICLE),
            "vault/wiki/u/overview.md": note("Overview of U", ARTICLE),
            "vault/wiki/u/_index.md": note("U", "- [[u/overview]] — U"),
            "vault/wiki/_master-index.md": note("Master", "- [[t/]] — T\n- [[u/]]"),
        },
    )
    monkeypatch.chdir(tmp_path)
    out1, err1, _, err2 = fix_twice(kbgen, "--ignore", "KB207")
    assert "Fixed 1 finding" in err1
    assert findings(out1) == [], out1
    assert "Fixed" not in err2
    index = (tmp_path / "vault/wiki/t/_index.md").read_text()
    assert "- [[t/overview]] — Overview of T\n" in index
    assert index.count("overview") == 1


def test_multi_line_description_is_written_as_one_safe_line(tmp_path, kbgen, monkeypatch):
    description = (
        "description: |\n  First **line** with [[a]], <script>x</script>, `code`,\n"
        "  {{ option_default('x') }} and #tag ^block\n  # A heading\n  <b>html</b>\n"
    )
    topic(tmp_path, {"vault/wiki/t/b.md": note("B", ARTICLE, description)})
    monkeypatch.chdir(tmp_path)
    out1, err1, _, err2 = fix_twice(kbgen)
    assert "Fixed 1 finding" in err1 and "Fixed" not in err2
    assert findings(out1) == []
    index = (tmp_path / "vault/wiki/t/_index.md").read_text()
    added = index.split("- [[a]] — A\n", 1)[1]
    assert added == (
        "- [[b]] — First \\*\\*line\\*\\* with \\[\\[a\\]\\], \\<script\\>x\\</script"
        "\\>, \\`code\\`,\n"
    )
    assert "heading" not in index and "html" not in index


def test_title_with_tabs_and_markup_is_one_safe_line(tmp_path, kbgen, monkeypatch):
    topic(tmp_path, {"vault/wiki/t/b.md": note('"Tab\\there {{ x }} [[a]]"', ARTICLE)})
    monkeypatch.chdir(tmp_path)
    out1, _, _, err2 = fix_twice(kbgen)
    assert findings(out1) == [] and "Fixed" not in err2
    assert (
        "- [[b]] — Tab here \\{\\{ x \\}\\} \\[\\[a\\]\\]\n"
        in (tmp_path / "vault/wiki/t/_index.md").read_text()
    )


def test_symlinked_index_is_written_through_and_stays_a_symlink(tmp_path, kbgen, monkeypatch):
    topic(
        tmp_path,
        {
            "vault/wiki/t/b.md": note("B", ARTICLE),
            "vault/shared/t-index.md": note("T", "- [[a]] — A"),
        },
    )
    index = tmp_path / "vault/wiki/t/_index.md"
    index.unlink()
    index.symlink_to("../../shared/t-index.md")
    monkeypatch.chdir(tmp_path)
    _, _, err = kbgen("audit", "--isolated", "--fix", "--select", "KB202", "vault")
    assert "Fixed 1 finding" in err
    assert index.is_symlink()
    assert "- [[b]] — B\n" in (tmp_path / "vault/shared/t-index.md").read_text()
    _, out, err = kbgen("audit", "--isolated", "--fix", "--select", "KB202", "vault")
    assert "Fixed" not in err and findings(out) == []


def test_two_symlinks_to_one_index_are_fixed_once(tmp_path, kbgen, monkeypatch):
    from kbgen.fix import plan_fixes
    from kbgen.project import audit, open_config

    topic(
        tmp_path, {"vault/wiki/t/b.md": note("B", ARTICLE), "vault/wiki/u/c.md": note("C", ARTICLE)}
    )
    (tmp_path / "vault/wiki/u/_index.md").symlink_to("../t/_index.md")
    monkeypatch.chdir(tmp_path)
    run = audit(open_config("vault", isolated=True), select=("KB202",))
    digests = {path: n.digest for path, n in run.vault.notes.items()}
    plan = plan_fixes(run.findings, run.vault.sources, digests, unsafe=False)
    assert list(plan.changed) == ["wiki/t/_index.md"]
    assert [reason for _, reason in plan.skipped] == [
        "wiki/u/_index.md is the same file as wiki/t/_index.md; the next run fixes it"
    ]


@pytest.mark.parametrize(
    "ending",
    [
        "<details>\n<summary>More</summary>\n</details>",
        "```text\nunclosed fence",
        "<!-- unclosed comment",
    ],
)
def test_index_without_links_ending_in_a_block_is_fixed_or_not_offered(
    tmp_path, kbgen, monkeypatch, ending
):
    topic(
        tmp_path,
        {"vault/wiki/t/_index.md": note("T", ending), "vault/wiki/t/a.md": note("A", ARTICLE)},
    )
    monkeypatch.chdir(tmp_path)
    out1, _, out2, err2 = fix_twice(kbgen, "--select", "KB202")
    assert "Fixed" not in err2
    assert findings(out2) == findings(out1)
    after = snapshot(tmp_path / "vault")
    kbgen("audit", "--isolated", "--fix", "vault")
    kbgen("audit", "--isolated", "--fix", "vault")
    assert snapshot(tmp_path / "vault") == after


def test_master_index_fix_for_an_odd_topic_title(tmp_path, kbgen, monkeypatch):
    write_files(
        tmp_path,
        {
            "vault/wiki/_master-index.md": note("Master", "- [[a/]] — A"),
            "vault/wiki/a/_index.md": note("A"),
            "vault/wiki/b/_index.md": note(
                '"B | ]] [[x]] {{ y }}"', "", "description: 'two\n\n  lines'\n"
            ),
        },
    )
    monkeypatch.chdir(tmp_path)
    _, out1, err1 = kbgen("audit", "--isolated", "--select", "KB203,KB1", "--fix", "vault")
    assert "Fixed 1 finding" in err1 and findings(out1) == []
    _, _, err2 = kbgen("audit", "--isolated", "--select", "KB203,KB1", "--fix", "vault")
    assert "Fixed" not in err2
    master = (tmp_path / "vault/wiki/_master-index.md").read_text()
    assert "- [[wiki/b/_index|B x y]] — two\n" in master


# -- the property, over every rule fixture ------------------------------------------------

TRIGGERS = sorted(
    p / "trigger" for p in (FIXTURES / "rules").iterdir() if (p / "trigger" / "vault").is_dir()
)


def _places(out: str) -> set[tuple[str, str]]:
    """(path:line, code) of every finding: what a fix may remove but never add."""
    places = set()
    for line in findings(out):
        where, rest = line.split(": ", 1)
        places.add((where.rsplit(":", 1)[0], rest.split(" ", 1)[0]))
    return places


@pytest.mark.parametrize("fixture", TRIGGERS, ids=lambda p: p.parent.name)
@pytest.mark.parametrize("unsafe", [False, True], ids=["safe", "unsafe"])
def test_fix_creates_no_finding_and_a_second_run_changes_nothing(
    tmp_path, kbgen, monkeypatch, fixture, unsafe
):
    shutil.copytree(fixture, tmp_path / "case", symlinks=True)
    monkeypatch.chdir(tmp_path / "case")
    flags = ("--unsafe-fixes",) if unsafe else ()
    _, before, _ = kbgen("audit", "--isolated", "vault")
    kbgen("audit", "--isolated", "--fix", *flags, "vault")
    fixed = snapshot(tmp_path / "case")
    _, after, err = kbgen("audit", "--isolated", "--fix", *flags, "vault")
    assert "Fixed" not in err
    assert snapshot(tmp_path / "case") == fixed
    # Lines move when a fix inserts one: compare (file, code) pairs and counts per code.
    new = {(w.rsplit(":", 1)[0], c) for w, c in _places(after)} - {
        (w.rsplit(":", 1)[0], c) for w, c in _places(before)
    }
    assert not new, after


def test_several_entries_are_added_in_order(tmp_path, kbgen, monkeypatch):
    topic(tmp_path, {f"vault/wiki/t/{name}.md": note(name.upper(), ARTICLE) for name in "bcd"})
    monkeypatch.chdir(tmp_path)
    out1, err1, _, err2 = fix_twice(kbgen)
    assert "Fixed 3 findings" in err1 and "Fixed" not in err2 and findings(out1) == []
    assert (
        (tmp_path / "vault/wiki/t/_index.md")
        .read_text()
        .endswith("- [[a]] — A\n- [[b]] — B\n- [[c]] — C\n- [[d]] — D\n")
    )
