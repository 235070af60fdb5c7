""" "View source" and "Edit" links to the repository (``[tool.kbgen] repo-url``): a note
links to its file, a flake source page to its file and, when it is reached at a line, to
that line; file names are percent-encoded, the configured URL is HTML-escaped, and a
project without a usable repo-url gets no links at all."""

from __future__ import annotations

import functools
import html
import http.server
import json
import re
import threading
from pathlib import Path

import pytest

from tests.helpers import CHROMIUM, CHROMIUM_FLAGS, kbgen_build, need, note
from tests.site_project import REPO, make_site_project

#: A base URL with a character HTML must escape.
BASE = "https://git.example.com/org/k&b/blob/main"
ODD_NOTE = "wiki/ops/notes & drafts.md"
ODD_NIX = "flake/modules/ssh/extra rules.nix"
ARTIFACTS = REPO / "test-artifacts" / "screenshots"
SIZES = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}


def project(root: Path, repo_url: str | None) -> Path:
    make_site_project(root)
    (root / "vault" / ODD_NOTE).write_text(
        note("Notes and drafts", "Drafts of [[hardening]].", "description: Odd file name.\n")
    )
    index = root / "vault/wiki/ops/_index.md"
    index.write_text(index.read_text() + "\n- [[notes & drafts]]\n")
    (root / ODD_NIX).write_text("{ ... }:\n{\n  services.openssh.openFirewall = false;\n}\n")
    if repo_url is not None:
        (root / "pyproject.toml").write_text(f"[tool.kbgen]\nrepo-url = {json.dumps(repo_url)}\n")
    return root


def source_links(page: Path) -> list[tuple[str, str]]:
    """(text, href as the browser reads it) of every ``a.kb-source`` of a built page."""
    found = re.findall(
        r'<a class="kb-source"(?: data-kb-view)? href="([^"]*)">([^<]*)</a>',
        page.read_text(encoding="utf-8"),
    )
    return [(text, html.unescape(href)) for href, text in found]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = project(tmp_path_factory.mktemp("repo") / "project", BASE)
    kbgen_build(root)
    return root / "site"


@pytest.mark.slow
def test_a_note_links_to_its_file_in_the_repository(site):
    links = source_links(site / "wiki/ops/hardening.html")
    assert links == [
        ("View source", f"{BASE}/vault/wiki/ops/hardening.md"),
        ("Edit this page", f"{BASE.replace('/blob/', '/edit/')}/vault/wiki/ops/hardening.md"),
    ]
    raw = (site / "wiki/ops/hardening.html").read_text(encoding="utf-8")
    assert "k&amp;b/blob/main/vault/wiki/ops/hardening.md" in raw  # escaped in the attribute
    odd = source_links(site / "wiki/ops/notes & drafts.html")
    assert odd[0] == ("View source", f"{BASE}/vault/wiki/ops/notes%20%26%20drafts.md")


@pytest.mark.slow
def test_a_flake_source_page_links_to_its_file(site):
    links = source_links(site / "kb/source/flake/modules/ssh/default.nix.html")
    assert links == [
        ("View source", f"{BASE}/flake/modules/ssh/default.nix"),
        ("Edit", f"{BASE.replace('/blob/', '/edit/')}/flake/modules/ssh/default.nix"),
    ]
    odd = source_links(site / "kb/source/flake/modules/ssh/extra rules.nix.html")
    assert odd[0] == ("View source", f"{BASE}/flake/modules/ssh/extra%20rules.nix")


@pytest.mark.slow
def test_view_source_follows_the_line_a_source_page_is_opened_at(site):
    need(Path(CHROMIUM).exists(), "Debian's chromium is not installed (scripts/test.sh)")
    sync_api = pytest.importorskip("playwright.sync_api")
    handler = functools.partial(_Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    served = f"http://127.0.0.1:{server.server_address[1]}/"
    page_url = served + "kb/source/flake/modules/ssh/default.nix.html"
    view = "a.kb-source[data-kb-view]"
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            page = browser.new_page()
            page.goto(page_url + "#__codelineno-0-3")
            page.wait_for_load_state("networkidle")
            file = f"{BASE}/flake/modules/ssh/default.nix"
            assert page.get_attribute(view, "href") == f"{file}#L3"
            page.evaluate("location.hash = '#__codelineno-0-2'")
            page.wait_for_function(f"document.querySelector('{view}').href.endsWith('#L2')")
            page.goto(page_url)
            page.wait_for_load_state("networkidle")
            assert page.get_attribute(view, "href") == file
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            for size, viewport in SIZES.items():
                page.set_viewport_size(viewport)
                page.goto(page_url + "#__codelineno-0-3")
                page.wait_for_load_state("networkidle")
                page.screenshot(path=str(ARTIFACTS / f"source-repo-links-{size}.png"))
            browser.close()
    finally:
        server.shutdown()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.mark.parametrize("repo_url", [None, "javascript:alert(1)//", 'https://x.example/"><b>'])
def test_no_links_without_a_usable_repo_url(tmp_path, repo_url):
    root = project(tmp_path / "project", repo_url)
    kbgen_build(root, "--markdown-only")
    tree = root / "build/docs"
    source = (tree / "kb/source/flake/modules/ssh/default.nix.md").read_text(encoding="utf-8")
    assert "kb-source" not in source
    assert "kb_source" not in (tree / "wiki/ops/hardening.md").read_text(encoding="utf-8")


def test_links_are_in_the_compiled_markdown_for_any_renderer(tmp_path):
    """The source page's links are part of its body (Zensical renders them too), the
    note's are metadata the theme shows."""
    root = project(tmp_path / "project", BASE + "/")
    kbgen_build(root, "--markdown-only")
    tree = root / "build/docs"
    source = (tree / "kb/source/flake/modules/ssh/extra rules.nix.md").read_text(encoding="utf-8")
    assert (
        '<a class="kb-source" data-kb-view href="https://git.example.com/org/k&amp;b/blob/main/'
        'flake/modules/ssh/extra%20rules.nix">View source</a>'
    ) in source
    assert 'kb_source: "https://git.example.com/org/k&b/blob/main/vault/wiki/ops/' in (
        tree / "wiki/ops/hardening.md"
    ).read_text(encoding="utf-8")
