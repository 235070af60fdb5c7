"""Distinct names from content must not share one generated page. Found while writing the
payload tests: payload texts that differ only in punctuation slug to the same page name.
Both are data loss rather than script injection. The tag clash was fixed while these
tests were written."""

from __future__ import annotations

import yaml

from tests.security.site_html import run_kbgen, split_frontmatter
from tests.site_project import make_site_project


def _titles(tree, folder: str) -> list[str]:
    titles = []
    for page in sorted((tree / folder).rglob("*.md")):
        front, _ = split_frontmatter(page.read_text(encoding="utf-8"))
        titles.append((yaml.safe_load(front) or {}).get("title"))
    return titles


def test_tests_whose_names_slug_alike_each_get_a_page(tmp_path):
    root = make_site_project(tmp_path / "project")
    test = (root / "flake/tests/ssh.nix").read_text()
    (root / "flake/tests/ssh-upper.nix").write_text(test.replace('name = "ssh"', 'name = "SSH"'))
    result = run_kbgen(root, "build", "--markdown-only")
    assert result.returncode == 0, result.stdout + result.stderr
    titles = _titles(root / "build/docs", "kb/tests")
    assert "Test ssh" in titles  # the fixture's own test has its page
    assert "Test SSH" in titles


def test_tags_whose_names_slug_alike_each_get_a_page(tmp_path):
    # Guards kbgen/site/pages/tags.py slug_of(): tags "a b" and "a-b" (like the payload
    # tags "tick ``` run" and "tick ```` run") once shared one page, titled with the first.
    root = make_site_project(tmp_path / "project")
    note = root / "vault/wiki/ops/hardening.md"
    note.write_text(note.read_text().replace("description:", 'tags: ["a b", "a-b"]\ndescription:'))
    result = run_kbgen(root, "build", "--markdown-only")
    assert result.returncode == 0, result.stdout + result.stderr
    titles = _titles(root / "build/docs", "kb/tags")
    assert "Tag: a b" in titles or "Tag: a-b" in titles  # tag pages exist at all
    assert {"Tag: a b", "Tag: a-b"} <= set(titles)
