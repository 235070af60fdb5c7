"""Every page type of the bundled site in Chromium, at desktop (1440×900) and phone (390×844)
size: no console error, no request off the host, nothing wider than the screen but inside a
scrolling box, and a full-page screenshot kept in test-artifacts/screenshots/ for people to
look at. Also the reader tasks of issue 13 and the print stylesheet (a PDF of a matrix).
"""

from __future__ import annotations

import functools
import http.server
import os
import re
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
        "tag": _first(site, "kb/tags/**/*.html", "pci"),
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
    """The matrix is a section per family; one filter above them filters every family's
    table and hides the families it leaves empty. Each table sorts on its own."""
    served, pages = bundled
    context, page = open_page(browser, served + pages["matrix"])
    assert page.locator(".kb-table-filter").count() == 1
    families = page.locator("article h2[id^='family-']")
    assert families.count() >= 15  # NIST's families: AC, AT, AU, ...
    rows = page.locator("article table tbody tr")
    total = rows.count()
    assert total >= 250
    page.select_option(".kb-table-filter select[aria-label=Status]", "accepted-risk")
    visible = page.locator("article table tbody tr:not([hidden])")
    assert 0 < visible.count() < total
    assert all(t == "accepted-risk" for t in visible.locator("td:nth-child(4)").all_inner_texts())
    shown = page.locator("article h2[id^='family-']:visible").count()
    assert 0 < shown < families.count()  # families without such a control are hidden
    assert "of" in page.inner_text(".kb-table-count")
    page.fill(".kb-table-filter input", "AC-17")
    page.select_option(".kb-table-filter select[aria-label=Status]", "")
    assert page.locator("article h2[id^='family-']:visible").count() == 1
    page.fill(".kb-table-filter input", "")
    first = page.locator("article table").first.locator("th:nth-child(1)")
    first.click()
    first.click()
    assert first.get_attribute("aria-sort") == "descending"
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


def _touch(cdp, kind: str, points: list[tuple[float, float]]) -> None:
    """One touch event through the DevTools protocol (as a finger makes it)."""
    touch_points = [{"x": x, "y": y, "id": i} for i, (x, y) in enumerate(points)]
    cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": touch_points})


def _gesture(cdp, start: list[tuple[float, float]], step: list[tuple[float, float]]) -> None:
    """Put fingers down at ``start``, move each by its ``step`` ten times, lift them."""
    _touch(cdp, "touchStart", start)
    for k in range(1, 11):
        moved = [(x + k * dx, y + k * dy) for (x, y), (dx, dy) in zip(start, step, strict=True)]
        _touch(cdp, "touchMove", moved)
    _touch(cdp, "touchEnd", [])


#: Marks the node of the global graph that is farthest from any other (inside the drawing)
#: and returns its centre, its radius and that distance, in CSS pixels.
LONELY_NODE = """() => {
  const cs = [...document.querySelectorAll('.kb-graph-global circle:not(.kb-hit)')];
  const at = cs.map(c => { const r = c.getBoundingClientRect();
                           return [r.x + r.width / 2, r.y + r.height / 2, r.width / 2]; });
  const box = document.querySelector('.kb-graph-global svg').getBoundingClientRect();
  const top = Math.max(box.top, 0), bottom = Math.min(box.bottom, innerHeight);
  let best = -1, far = 0;
  at.forEach((p, i) => {
    if (p[0] < box.left + 30 || p[0] > box.right - 30 || p[1] < top + 30 || p[1] > bottom - 30)
      return;
    const near = Math.min(...at.filter((q, j) => j !== i)
                               .map(q => Math.hypot(p[0] - q[0], p[1] - q[1])));
    if (near > far) { far = near; best = i; }
  });
  cs[best].setAttribute('data-kb-target', '1');
  return {x: at[best][0], y: at[best][1], r: at[best][2], far: far};
}"""


def test_graph_pans_zooms_and_opens_nodes_by_touch(browser, bundled):
    """On a phone with a touch screen: one finger pans the global graph (and not the page),
    two fingers pinch to zoom and move together to pan, a tap on a node shows its
    neighbours and a second tap opens its page."""
    served, pages = bundled
    context = browser.new_context(viewport=SIZES["phone"], has_touch=True, is_mobile=True)
    page = context.new_page()
    page.goto(served + pages["graph"])
    page.wait_for_selector(".kb-graph-global svg circle")
    page.evaluate("document.querySelector('.kb-graph-global svg').scrollIntoView()")
    cdp = context.new_cdp_session(page)
    box = page.locator(".kb-graph-global svg").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 3

    def view() -> tuple[float, float, float]:
        transform = page.eval_on_selector(
            ".kb-graph-global svg > g", "g => g.getAttribute('transform') || ''"
        )
        numbers = [float(n) for n in re.findall(r"-?[\d.]+(?:e-?\d+)?", transform)]
        return tuple(numbers) if numbers else (0.0, 0.0, 1.0)

    scrolled = page.evaluate("scrollY")
    _gesture(cdp, [(x, y)], [(8, 5)])
    tx, ty, scale = view()
    assert tx > 40 and ty > 20 and scale == 1, view()
    assert page.evaluate("scrollY") == scrolled  # the finger moved the graph, not the page
    _gesture(cdp, [(x - 20, y), (x + 20, y)], [(-6, 0), (6, 0)])
    assert view()[2] > 2.5, view()
    before = view()
    _gesture(cdp, [(x - 30, y), (x + 30, y)], [(0, -4), (0, -4)])
    after = view()
    assert after[1] < before[1] - 20 and abs(after[2] - before[2]) < 0.01, (before, after)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "graph-touch-zoomed-phone.png"))
    page.reload()
    page.wait_for_selector(".kb-graph-global svg circle")
    page.evaluate("document.querySelector('.kb-graph-global svg').scrollIntoView()")
    # Zoomed in, a tap beside a node (a finger is wider than a node) selects it: 4 px
    # outside the node, inside its ring (9 px wide at any zoom), where no other node's
    # ring reaches.
    _gesture(cdp, [(x - 20, y), (x + 20, y)], [(-2, 0), (2, 0)])
    lonely = page.evaluate(LONELY_NODE)
    offset = lonely["r"] + 4
    assert lonely["far"] > offset + 14 + 9 + 1, lonely
    beside = (lonely["x"] + offset, lonely["y"])
    hit = page.evaluate("([x, y]) => document.elementFromPoint(x, y).getAttribute('class')", beside)
    assert hit == "kb-hit"  # the ring is there (Chromium also moves taps to a near link)
    _touch(cdp, "touchStart", [beside])
    _touch(cdp, "touchEnd", [])
    page.wait_for_timeout(300)
    target = page.locator(".kb-graph-global circle[data-kb-target]").locator("xpath=..")
    assert "kb-dim" not in (target.get_attribute("class") or "")
    assert page.locator(".kb-graph-global .kb-dim").count() > 0  # the rest is dimmed
    node = page.locator(".kb-graph-global circle.framework").first.bounding_box()
    tap = [(node["x"] + node["width"] / 2, node["y"] + node["height"] / 2)]
    _touch(cdp, "touchStart", tap)
    _touch(cdp, "touchEnd", [])
    page.wait_for_timeout(300)
    assert page.url.endswith(pages["graph"])
    framework = page.locator(".kb-graph-global circle.framework").first.locator("xpath=..")
    assert "kb-dim" not in (framework.get_attribute("class") or "")
    with page.expect_navigation():
        _touch(cdp, "touchStart", tap)
        _touch(cdp, "touchEnd", [])
    assert "/kb/frameworks/" in page.url
    context.close()


def test_a_page_graph_leaves_vertical_swipes_to_the_page(browser, bundled):
    served, pages = bundled
    context = browser.new_context(viewport=SIZES["phone"], has_touch=True, is_mobile=True)
    page = context.new_page()
    page.goto(served + pages["control"])
    page.wait_for_selector(".kb-graph-local svg circle")
    svg = page.locator(".kb-graph-local svg")
    assert svg.evaluate("e => getComputedStyle(e).touchAction") == "pan-y"
    global_page = context.new_page()
    global_page.goto(served + pages["graph"])
    global_svg = global_page.locator(".kb-graph-global svg")
    global_page.wait_for_selector(".kb-graph-global svg circle")
    assert global_svg.evaluate("e => getComputedStyle(e).touchAction") == "none"
    context.close()


def test_search_box_ranks_exact_ids_first(browser, bundled):
    served, _ = bundled
    for query, expected in (
        ("RR-11", "RR-11"),
        ("AC-17", "AC-17 "),
        # Base controls whose longer siblings hold a rarer word ("21" in AC-21): the exact
        # id is pinned first (site-overrides/assets/exact.js), whatever lunr scores.
        ("AC-2", "AC-2 "),
        ("ac-1", "AC-1 "),
        ("T1", "T1 "),
        # An enhancement before its base control (mkdocs.yml keeps "17(1)" one word).
        ("AC-17(1)", "AC-17(1) "),
        ("AC-2(13)", "AC-2(13) "),
        ("SC-7", "SC-7 "),
        ("§164.312(a)(1)", "§164.312(a)(1) "),
        ("8.3.6", "8.3.6 "),
        ("PasswordAuthentication", "services.openssh.settings.PasswordAuthentication"),
        ("minLength", "compliance.canonical.password.minLength"),
    ):
        first = first_result(browser, served, query)
        assert first.startswith(expected), (query, first)


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
