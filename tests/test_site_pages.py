"""Static HTML checks of what readers see (issue 13, "Broken or misleading pages"):

* option tables never break: every row has the header's cells, no stray backtick, the
  priority in its column, no multi-line value flattened into a cell (it is a code block
  below the table);
* no literal ``[[`` and no literal backtick outside code on any page: cells copied from
  notes (requirements, risk titles) and option descriptions are rendered like notes;
* every option path the site has a page for is a link wherever it appears in code,
  and links to options carry the ``kb-option`` class;
* the home page names as many frameworks as the dashboard counts and links the
  traceability section; the registers page links the settings page; the frameworks page
  gives each framework its matrix, PRD and controls.

The bundled project is copied to a temporary folder and built there (the repository's
own ``build/`` is left alone).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from kbgen.config import load_config
from kbgen.project import run
from kbgen.site.render import PageContext
from tests.site_project import REPO, make_site_project

pytestmark = pytest.mark.slow

PRIORITIES = re.compile(r"normal|mk\w+|mkOverride \d+")
NUMBER_WORDS = {"nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13}


class Article(HTMLParser):
    """The content of a page: its text outside code, its tables (cells as text), the
    text of each ``<code>`` outside ``<pre>`` and whether it sits in a link."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0  # inside <article>
        self.code = 0  # inside <code> or <pre>
        self.pre = 0
        self.heading = 0
        self.anchors: list[dict] = []
        self.text: list[str] = []
        self.tables: list[list[list[str]]] = []
        self.cell: list[str] | None = None
        self.codes: list[tuple[str, dict | None]] = []  # (text, enclosing <a> attributes)
        self.links: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "article":
            self.depth += 1
        if not self.depth:
            return
        if tag in ("code", "pre"):
            self.code += 1
        if tag == "pre":
            self.pre += 1
        if tag == "h1":
            self.heading += 1
        if tag == "a":
            self.anchors.append(attrs)
            self.links.append(attrs)
        if tag == "code" and not self.pre:
            self.codes.append(["", self.anchors[-1] if self.anchors else None])
        if tag == "table":
            self.tables.append([])
        if tag == "tr" and self.tables:
            self.tables[-1].append([])
        if tag in ("td", "th") and self.tables and self.tables[-1]:
            self.cell = []
            self.tables[-1][-1].append(self.cell)

    def handle_endtag(self, tag):
        if tag == "article":
            self.depth -= 1
        if not self.depth:
            return
        if tag in ("code", "pre"):
            self.code -= 1
        if tag == "pre":
            self.pre -= 1
        if tag == "h1":
            self.heading -= 1
        if tag == "a" and self.anchors:
            self.anchors.pop()
        if tag in ("td", "th"):
            self.cell = None

    def handle_data(self, data):
        if not self.depth:
            return
        if self.cell is not None:
            self.cell.append(data)
        if self.code:
            if self.codes and not self.pre:
                self.codes[-1][0] += data
        else:
            self.text.append(data)

    @property
    def plain(self) -> str:
        return "".join(self.text)


def article(path: Path) -> Article:
    parser = Article()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return parser


def build(root: Path) -> Path:
    result = subprocess.run(
        [sys.executable, "-m", "kbgen", "build"],
        cwd=root,
        env={**_env()},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return root / "site"


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "KBGEN_NO_CACHE": "1", "SOURCE_DATE_EPOCH": "1796256000"}


@pytest.fixture(scope="module")
def bundled(tmp_path_factory) -> Path:
    """The bundled project (vault, flake, site configuration), built in a copy."""
    root = tmp_path_factory.mktemp("bundled") / "project"
    root.mkdir()
    for name in ("vault", "flake", "site-overrides"):
        shutil.copytree(REPO / name, root / name)
    for name in ("mkdocs.yml", "pyproject.toml"):
        shutil.copy(REPO / name, root / name)
    build(root)
    return root


@pytest.fixture(scope="module")
def option_paths(bundled) -> frozenset[str]:
    checked = run(load_config(bundled / "pyproject.toml"), commands=("audit", "trace"), cache=False)
    return PageContext(checked.vault, checked.trace).option_paths


def pages(site: Path, under: str = "") -> list[Path]:
    return sorted((site / under).rglob("*.html")) if (site / under).exists() else []


def option_pages(site: Path) -> list[Path]:
    return [p for p in pages(site, "kb/options") if p.name != "index.html"]


def broken_tables(path: Path) -> list[str]:
    """What is wrong with the tables of an option page."""
    problems = []
    for table in article(path).tables:
        width = len(table[0])
        for row in table:
            cells = ["".join(c).strip() for c in row]
            if len(cells) != width:
                problems.append(f"a row of {len(cells)} cells under {width} headers")
            if any("`" in c for c in cells):
                problems.append(f"stray backtick in {cells}")
            if any(re.search(r"\S {3,}\S", c) for c in cells):
                problems.append(f"a flattened multi-line value in {cells}")
        if [c for c in ("".join(x).strip() for x in table[0])] == ["Where", "Value", "Priority"]:
            problems += [
                f"priority column holds {r[2]!r}"
                for r in (["".join(c).strip() for c in row] for row in table[1:])
                if len(r) == 3 and not PRIORITIES.fullmatch(r[2])
            ]
    return problems


def test_no_option_page_has_a_broken_table(bundled):
    site = bundled / "site"
    found = option_pages(site)
    assert len(found) > 200  # the bundled flake's options, not an empty site
    broken = {p.relative_to(site).as_posix(): broken_tables(p) for p in found}
    assert {k: v for k, v in broken.items() if v} == {}


def test_multi_line_values_are_code_blocks_below_the_table(bundled):
    site = bundled / "site"
    page = next(p for p in option_pages(site) if "pwquality-conf-text" in p.name)
    html = page.read_text(encoding="utf-8")
    assert "shown in full below the table" in html
    assert re.search(r"<pre[^>]*>.*minlen=.*minclass=", html, re.S)
    tls = next(
        p for p in option_pages(site) if p.name == "compliance-canonical-tls-minprotocol.html"
    )
    assert not broken_tables(tls)


def test_no_literal_wikilink_or_backtick_outside_code(bundled):
    site = bundled / "site"
    wikilinks, backticks = [], []
    for path in pages(site):
        if "/source/" in path.as_posix():
            continue
        text = article(path).plain
        if "[[" in text:
            wikilinks.append(path.relative_to(site).as_posix())
        if "`" in text:
            backticks.append(path.relative_to(site).as_posix())
    assert wikilinks == []
    assert backticks == []


def test_control_requirements_render_their_links(bundled):
    site = bundled / "site"
    for name in ("6-3-1.html", "cm-9.html", "sa-8.html"):
        page = next(p for p in pages(site, "kb/controls") if p.name == name)
        parsed = article(page)
        requirement = page.read_text(encoding="utf-8").split('id="requirement"', 1)[1]
        requirement = requirement.split("<h2", 1)[0]
        assert "<a href=" in requirement, name
        assert "[[" not in parsed.plain


def test_every_option_path_in_code_is_a_link(bundled, option_paths):
    site = bundled / "site"
    unlinked: dict[str, set[str]] = {}
    for path in pages(site):
        rel = path.relative_to(site).as_posix()
        if rel.startswith("kb/source/"):
            continue
        for text, anchor in article(path).codes:
            if text.strip() in option_paths and anchor is None:
                unlinked.setdefault(rel, set()).add(text.strip())
    # An option's own page names it in its heading, unlinked.
    unlinked = {
        k: v for k, v in unlinked.items() if not (k.startswith("kb/options/") and len(v) == 1)
    }
    assert unlinked == {}


def test_option_links_look_like_links_and_reach_a_page(bundled):
    site = bundled / "site"
    page = next(p for p in pages(site, "kb/controls") if p.name == "8-3-6.html")
    links = [a for a in article(page).links if "/options/" in a.get("href", "")]
    assert links and all("kb-option" in a.get("class", "") for a in links)
    for path in [page, *pages(site, "wiki"), *pages(site, "kb/tests")]:
        for a in article(path).links:
            href = a.get("href", "").split("#", 1)[0]
            if "/options/" in href:
                assert (path.parent / href).resolve().is_file(), (path, href)


def test_wiki_and_prd_code_spans_naming_options_are_links(bundled):
    site = bundled / "site"
    linked = [
        a
        for p in [*pages(site, "wiki"), *pages(site, "prd")]
        for a in article(p).links
        if "kb-option" in a.get("class", "")
    ]
    assert len(linked) > 20


def test_home_page_counts_the_frameworks_and_links_the_traceability_section(bundled):
    site = bundled / "site"
    home = (site / "index.html").read_text(encoding="utf-8")
    words = {w for w in NUMBER_WORDS if re.search(rf"\b{w} frameworks\b", home)}
    dashboard = (site / "kb/dashboard.html").read_text(encoding="utf-8")
    counted = int(re.search(r"controls across (\d+) frameworks", dashboard).group(1))
    assert words and {NUMBER_WORDS[w] for w in words} == {counted}
    hrefs = {a.get("href") for a in article(site / "index.html").links}
    for target in (
        "kb/dashboard.html",
        "kb/index.html",
        "kb/frameworks/index.html",
        "kb/status/test-written.html",
        "kb/settings.html",
    ):
        assert target in hrefs, target


def test_registers_page_links_the_settings_page(bundled):
    site = bundled / "site"
    hrefs = {a.get("href") for a in article(site / "registers/index.html").links}
    assert "../kb/settings.html" in hrefs
    assert "resolved-settings.yaml" in article(site / "registers/index.html").plain + "".join(
        c for c, _ in article(site / "registers/index.html").codes
    )


def test_frameworks_page_gives_each_framework_its_matrix_prd_and_controls(bundled):
    site = bundled / "site"
    parsed = article(site / "kb/frameworks/index.html")
    table = parsed.tables[0]
    hrefs = [a.get("href", "") for a in parsed.links]
    dashboard = (site / "kb/dashboard.html").read_text(encoding="utf-8")
    counted = int(re.search(r"controls across (\d+) frameworks", dashboard).group(1))
    assert len(table) - 1 == counted
    assert sum(1 for h in hrefs if h.startswith("../../prd/")) == counted
    assert sum(1 for h in hrefs if h.startswith("../controls/")) == counted
    controls = article(site / "kb/controls/index.html")
    assert any(a.get("href") == "../frameworks/index.html" for a in controls.links)


def test_register_rows_carry_the_fields_auditors_ask_for(bundled):
    site = bundled / "site"
    parsed = article(site / "registers/residual-risks.html")
    header = ["".join(c).strip() for c in parsed.tables[0][0]]
    for column in ("Owner", "Accepted on", "Review due", "Likelihood", "Impact"):
        assert column in header
    rows = [["".join(c).strip() for c in r] for r in parsed.tables[0][1:]]
    assert len(rows) >= 18
    for row in rows:
        fields = dict(zip(header, row, strict=True))
        assert fields["Owner"] and re.fullmatch(r"20\d\d-\d\d-\d\d", fields["Review due"])
        assert fields["Likelihood"] in ("low", "medium", "high")


# -- the small site project: a note's option code span and PRD cells ----------------------


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    root = make_site_project(tmp_path_factory.mktemp("small") / "project")
    note = root / "vault" / "wiki" / "ops" / "option-mentions.md"
    note.write_text(
        "---\ntitle: Option mentions\n---\n\n# Option mentions\n\n"
        "Set `services.openssh.settings.MaxAuthTries` and never `no.such.option`.\n",
        encoding="utf-8",
    )
    build(root)
    return root


def test_a_note_code_span_naming_an_option_links_to_its_page(small):
    site = small / "site"
    page = site / "wiki" / "ops" / "option-mentions.html"
    parsed = article(page)
    linked = {text: anchor for text, anchor in parsed.codes}
    assert linked["services.openssh.settings.MaxAuthTries"] is not None
    href = linked["services.openssh.settings.MaxAuthTries"]["href"]
    assert (page.parent / href).resolve().is_file()
    assert "kb-option" in linked["services.openssh.settings.MaxAuthTries"].get("class", "")
    assert linked["no.such.option"] is None
