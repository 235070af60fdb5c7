"""The built site in a real browser: headless Chromium (Debian's) driven by Playwright.

The site is served on 127.0.0.1 from a thread; every request the browser makes is
recorded and must stay on that host. Screenshots of the key pages are kept in
test-artifacts/screenshots/ for people to look at.
"""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.helpers import CHROMIUM, need
from tests.helpers import CHROMIUM_FLAGS as FLAGS
from tests.site_project import REPO, make_site_project

#: Every test here builds a site (and drives a browser): `pytest -m "not slow"` skips them.
pytestmark = pytest.mark.slow

ARTIFACTS = REPO / "test-artifacts" / "screenshots"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    need(
        Path(CHROMIUM).exists(), "Debian's chromium is not installed (scripts/test.sh installs it)"
    )
    pytest.importorskip("playwright.sync_api")
    root = make_site_project(tmp_path_factory.mktemp("browser") / "project")
    env = {**os.environ, "KBGEN_NO_CACHE": "1", "SOURCE_DATE_EPOCH": "1700000000"}
    subprocess.run(
        [sys.executable, "-m", "kbgen", "build", "--strict"],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
    )
    handler = functools.partial(_QuietHandler, directory=str(root / "site"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # the test output is for failures, not requests
        pass


@pytest.fixture(scope="module")
def browser(served):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, served):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.requests = []  # every URL the page asked for
    page.errors = []  # console errors and uncaught exceptions
    page.on("request", lambda request: page.requests.append(request.url))
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    yield page
    hosts = {urlsplit(url).hostname for url in page.requests if not url.startswith("data:")}
    assert hosts <= {"127.0.0.1"}, f"requests left the host: {sorted(hosts)}"
    context.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_home_page_loads_without_console_errors(page, served):
    page.goto(served)
    page.wait_for_load_state("networkidle")
    assert "Compliance knowledge base" in page.inner_text("article")
    assert page.errors == []
    shot(page, "home")


def test_following_a_wikilink_reaches_the_right_page_and_anchor(page, served):
    page.goto(served + "wiki/ops/ssh-access.html")
    page.click("article >> text=hardening › Ciphers")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("wiki/ops/hardening.html#ciphers")
    assert page.evaluate("document.getElementById('ciphers').tagName") == "H2"
    assert page.errors == []
    shot(page, "wikilink-target")


def test_backlinks_list_the_linking_notes(page, served):
    page.goto(served + "wiki/ops/hardening.html")
    backlinks = page.inner_text(".kb-backlinks")
    assert "SSH access" in backlinks and "Operations" in backlinks


def test_control_page_links_to_its_option_and_test(page, served):
    page.goto(served + "kb/controls/nist-800-53/ac/ac-17.html")
    shot(page, "control")
    assert page.inner_text(".kb-badge") == "test-written"  # no results supplied: never "verified"
    page.click("article >> text=services.openssh.enable")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("kb/options/module-ssh/services-openssh-enable.html")
    assert "Remote access" in page.inner_text("article")
    page.go_back()
    page.click("article a:text-is('ssh')")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("kb/tests/ssh.html")
    assert "nist-800-53/AC-17" in page.inner_text("article")


def test_search_finds_a_control_by_id(page, served):
    page.goto(served)
    page.wait_for_load_state("networkidle")
    page.click(".md-search__input")
    page.keyboard.type("AC-17", delay=30)  # the search listens to key events
    page.wait_for_selector(".md-search-result__item", timeout=15_000)
    first = page.inner_text(".md-search-result__item >> nth=0")
    assert "AC-17 Remote access" in first
    shot(page, "search")


def test_graph_view_draws_nodes(page, served):
    page.goto(served + "kb/graph.html")
    page.wait_for_selector(".kb-graph-global svg circle")
    assert page.locator(".kb-graph-global svg circle").count() >= 8
    shot(page, "graph")
    page.goto(served + "wiki/ops/ssh-access.html")
    page.wait_for_selector(".kb-graph-local svg circle")
    assert page.locator(".kb-graph-local svg circle").count() >= 3


def test_dashboard_chart_is_inline_svg(page, served):
    page.goto(served + "kb/dashboard.html")
    assert page.locator("article svg.kb-chart rect").count() >= 2
    assert page.errors == []
    shot(page, "dashboard")


@pytest.fixture(scope="module")
def bundled_site(browser):
    """The bundled vault and flake, built the way the README builds them."""
    env = {**os.environ, "KBGEN_NO_CACHE": "1", "SOURCE_DATE_EPOCH": "1700000000"}
    out = REPO / "test-artifacts" / "bundled-site"
    result = subprocess.run(
        [sys.executable, "-m", "kbgen", "build", "--strict", "--site-dir", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    handler = functools.partial(_QuietHandler, directory=str(out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.mark.parametrize(
    "path",
    [
        "index.html",
        "kb/dashboard.html",
        "kb/frameworks/nist-800-53.html",
        "kb/controls/nist-800-53/ac/ac-17.html",
        "registers/residual-risks.html",
        "prd/master-prd.html",
        "kb/graph.html",
    ],
)
def test_bundled_site_pages_load_cleanly(browser, bundled_site, path):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    requests, errors = [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(bundled_site + path)
    page.wait_for_load_state("networkidle")
    assert page.inner_text("article").strip()
    assert errors == []
    assert {urlsplit(u).hostname for u in requests} <= {"127.0.0.1"}
    shot(page, "bundled-" + path.replace("/", "-").removesuffix(".html"))
    context.close()
