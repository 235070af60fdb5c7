"""Every page type of the bundled site in Chromium, at desktop (1440×900) and phone (390×844)
size: no console error, no request off the host, nothing wider than the screen but inside a
scrolling box, and a full-page screenshot kept in test-artifacts/screenshots/ for people to
look at. Also the reader tasks of issue 13 and the print stylesheet (a PDF of a matrix).
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
from tests.site_project import REPO

pytestmark = pytest.mark.slow

ARTIFACTS = REPO / "test-artifacts" / "screenshots"
SITE = REPO / "test-artifacts" / "bundled-site-pages"
SIZES = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}


def _first(site: Path, pattern: str, contains: str = "") -> str:
    """The site path of the first page matching ``pattern`` (whose name holds ``contains``):
    generated pages move between folders as navigation is regrouped."""
    for path in sorted(site.glob(pattern)):
        if path.name != "index.html" and contains in path.name:
            return path.relative_to(site).as_posix()
    raise AssertionError(f"no page {pattern} {contains}")


def page_types(site: Path) -> dict[str, str]:
    return {
        "home": "index.html",
        "wiki": _first(site, "wiki/pci-dss/*.html", "authentication"),
        "prd": "prd/pci-dss.html",
        "register": "registers/residual-risks.html",
        "matrix": "kb/frameworks/nist-800-53.html",
        "control": _first(site, "kb/controls/pci-dss/**/*.html", "8-3-6"),
        "option": _first(site, "kb/options/**/*.html", "passwordauthentication"),
        "test": _first(site, "kb/tests/**/*.html", "ssh"),
        "source": _first(site, "kb/source/flake/modules/**/*.html"),
        "settings": "kb/settings.html",
        "dashboard": "kb/dashboard.html",
        "status": "kb/status/test-written.html",
        "findings": "kb/findings.html",
        "graph": "kb/graph.html",
        "tag": _first(site, "kb/tags/*.html", "pci"),
        "risk": "kb/risks/rr-11.html",
    }


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def bundled():
    need(Path(CHROMIUM).exists(), "Debian's chromium is not installed (scripts/test.sh)")
    pytest.importorskip("playwright.sync_api")
    env = {**os.environ, "KBGEN_NO_CACHE": "1", "SOURCE_DATE_EPOCH": "1700000000"}
    result = subprocess.run(
        [sys.executable, "-m", "kbgen", "build", "--site-dir", str(SITE)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(SITE))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", page_types(SITE)
    server.shutdown()


@pytest.fixture(scope="module")
def browser(bundled):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


def open_page(browser, url: str, size: str = "desktop"):
    context = browser.new_context(viewport=SIZES[size])
    page = context.new_page()
    page.requests, page.errors = [], []
    page.on("request", lambda request: page.requests.append(request.url))
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(url)
    page.wait_for_load_state("networkidle")
    return context, page


def assert_clean(page) -> None:
    assert page.errors == []
    hosts = {urlsplit(u).hostname for u in page.requests if not u.startswith("data:")}
    assert hosts <= {"127.0.0.1"}, f"requests left the host: {sorted(hosts)}"


@pytest.mark.parametrize("size", sorted(SIZES))
@pytest.mark.parametrize(
    "kind",
    [
        "home",
        "wiki",
        "prd",
        "register",
        "matrix",
        "control",
        "option",
        "test",
        "source",
        "settings",
        "dashboard",
        "status",
        "findings",
        "graph",
        "tag",
        "risk",
    ],
)
def test_page_type(browser, bundled, kind, size):
    served, pages = bundled
    context, page = open_page(browser, served + pages[kind], size)
    try:
        assert page.inner_text("article").strip()
        assert_clean(page)
        # Nothing makes the page itself scroll sideways: wide tables scroll in their box.
        overflow = page.evaluate("document.documentElement.scrollWidth - innerWidth")
        assert overflow <= 1, f"{kind} is {overflow}px wider than the {size} screen"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"page-{kind}-{size}.png"), full_page=True)
    finally:
        context.close()


def test_chart_text_is_readable_on_a_phone(browser, bundled):
    served, pages = bundled
    context, page = open_page(browser, served + pages["dashboard"], "phone")
    sizes = page.evaluate("""[...document.querySelectorAll('svg.kb-chart')]
        .filter(s => s.getBoundingClientRect().width > 0)
        .flatMap(s => [...s.querySelectorAll('text')]
            .map(t => t.getBoundingClientRect().height))""")
    context.close()
    assert sizes and min(sizes) >= 11, f"chart text {min(sizes or [0]):.1f}px high on a phone"


def test_matrix_columns_reachable_on_a_phone(browser, bundled):
    served, pages = bundled
    context, page = open_page(browser, served + pages["matrix"], "phone")
    table = page.locator("article table").first
    # The table (or the box around it) scrolls sideways; scroll it to its end.
    assert table.evaluate("""t => [t, t.parentElement, t.parentElement.parentElement]
        .filter(e => e.scrollWidth > e.clientWidth + 1)
        .map(e => { e.scrollLeft = e.scrollWidth; return e; }).length > 0""")
    tests = page.locator("article table th").nth(5)
    assert tests.inner_text().startswith("Tests")
    assert tests.bounding_box()["x"] < 390
    first = page.locator("article table tbody tr td").first
    assert first.evaluate("e => getComputedStyle(e).position") == "sticky"
    assert 0 <= first.bounding_box()["x"] < 60
    context.close()


def test_filtering_a_matrix_by_status(browser, bundled):
    served, pages = bundled
    context, page = open_page(browser, served + pages["matrix"])
    rows = page.locator("article table tbody tr")
    total = rows.count()
    page.select_option(".kb-table-filter select[aria-label=Status]", "accepted-risk")
    visible = page.locator("article table tbody tr:not([hidden])")
    assert 0 < visible.count() < total
    assert all(t == "accepted-risk" for t in visible.locator("td:nth-child(4)").all_inner_texts())
    page.click("article table th:nth-child(1)")
    page.click("article table th:nth-child(1)")
    assert page.locator("article table th:nth-child(1)").get_attribute("aria-sort") == "descending"
    assert_clean(page)
    context.close()


def test_register_rows_are_cards_that_link_to_risk_pages(browser, bundled):
    served, pages = bundled
    context, page = open_page(browser, served + pages["register"])
    cell = page.locator(".kb-register tbody td").nth(2)
    assert cell.get_attribute("data-label") == "Source"
    assert page.locator(".kb-register thead").evaluate("e => getComputedStyle(e).display") == "none"
    page.click(".kb-register a:text-is('RR-11')")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("kb/risks/rr-11.html")
    # Accepted risks with their controls: the risk page lists the controls it accepts.
    assert page.locator("article h2:text('Controls whose risk it accepts')").count() == 1
    assert (
        page.locator("article a[href*='kb/controls'], article a[href*='../controls']").count() >= 1
    )
    context.close()


def test_pci_836_from_home_in_three_clicks(browser, bundled):
    """Home -> the PCI DSS matrix -> 8.3.6: its status, option, value and test."""
    served, _ = bundled
    context, page = open_page(browser, served)
    page.click("article a:has-text('Coverage dashboard'), article a:has-text('dashboard')")
    page.wait_for_load_state("networkidle")
    page.click("article a:has-text('PCI DSS')")
    page.wait_for_load_state("networkidle")
    page.click("article table a:text-is('8.3.6')")
    page.wait_for_load_state("networkidle")
    text = page.inner_text("article")
    assert "8.3.6" in text and page.locator("article .kb-badge").count() >= 1
    assert page.locator("article a[href*='options']").count() >= 1  # the option
    assert page.locator("article a[href*='tests']").count() >= 1  # the test
    assert " = " in text or "set in" in text  # its value
    context.close()


def test_untested_controls_reachable_from_the_dashboard(browser, bundled):
    served, pages = bundled
    context, page = open_page(browser, served + pages["dashboard"])
    page.click(
        "article a[href*='status/']:has-text('implemented'), article a[href*='status/implemented']"
    )
    page.wait_for_load_state("networkidle")
    assert "implemented" in page.inner_text("article h1")
    context.close()


def test_graph_has_a_legend_filters_and_the_trace_chain(browser, bundled):
    served, pages = bundled
    context, page = open_page(browser, served + pages["graph"])
    page.wait_for_selector(".kb-graph-global svg circle")
    legend = page.inner_text(".kb-graph-tools")
    for kind in ("Notes", "Controls", "Nix options", "Tests", "Residual risks"):
        assert kind in legend
    assert page.locator(".kb-graph-global circle.framework").count() >= 5
    page.select_option(".kb-graph-tools select", "pci-dss")
    assert page.locator(".kb-graph-global circle.control").count() >= 20
    assert page.locator(".kb-graph-global circle.framework").count() == 0
    context.close()
    context, page = open_page(browser, served + pages["control"])
    page.wait_for_selector(".kb-graph-local svg circle")
    kinds = set(
        page.eval_on_selector_all(".kb-graph-local circle", "cs => cs.map(c => c.classList[0])")
    )
    assert {"control", "option", "test"} <= kinds
    context.close()


def test_search_box_ranks_exact_ids_first(browser, bundled):
    served, _ = bundled
    for query, expected in (
        ("RR-11", "RR-11"),
        ("AC-17", "AC-17 "),
        ("PasswordAuthentication", "services.openssh.settings.PasswordAuthentication"),
        ("minLength", "compliance.canonical.password.minLength"),
    ):
        assert first_result(browser, served, query).startswith(expected), query


def first_result(browser, served: str, query: str) -> str:
    context, page = open_page(browser, served)
    page.click(".md-search__input")
    page.keyboard.type(query, delay=20)
    page.wait_for_function(
        "document.querySelector('.md-search-result__meta') && "
        "/matching/.test(document.querySelector("
        "'.md-search-result__meta').textContent)",
        timeout=20_000,
    )
    page.wait_for_timeout(300)
    first = page.inner_text(".md-search-result__item >> nth=0 >> h1")
    context.close()
    return first


def test_print_gives_a_clean_pdf_of_a_matrix(browser, bundled, tmp_path):
    served, pages = bundled
    context, page = open_page(browser, served + pages["matrix"])
    page.emulate_media(media="print")
    assert (
        page.locator(".md-sidebar--primary").evaluate("e => getComputedStyle(e).display") == "none"
    )
    assert page.locator(".md-search").evaluate("e => getComputedStyle(e).display") == "none"
    pdf = ARTIFACTS / "print-matrix.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True)
    assert pdf.stat().st_size > 10_000
    context.close()
