"""Payloads on the reader pages of issue 13: a page per residual risk (kb/risks/), tag
pages (kb/tags/), the note metadata kbgen adds to frontmatter (tags, last updated) and
the downloadable exports. Every payload shows as text; none adds an element, a handler,
a script URL or a script."""

from __future__ import annotations

import json
import re

import pytest

from tests.security.payloads import RISK_CELLS, TAGS
from tests.security.site_html import html_of, payload_site, read_page, split_frontmatter

pytestmark = pytest.mark.slow

#: Elements a risk or tag page may hold inside its article (what kbgen writes).
ALLOWED = {
    "a",
    "p",
    "strong",
    "code",
    "del",
    "div",
    "h1",
    "h2",
    "ul",
    "li",
    "span",
    "em",
    "article",
    "nav",
    "svg",
    "path",
    "aside",
    "wbr",
    "label",
    "input",
    "form",
    "button",
    "script",
    "html",
    "head",
    "body",
    "meta",
    "title",
    "link",
    "header",
    "main",
    "footer",
    "ol",
    "img",
    "small",
    "hr",
    "br",
    "section",
    "details",
    "summary",
    "i",
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    site = payload_site(tmp_path_factory)
    assert site.result.returncode == 0, site.result.stdout + site.result.stderr
    return site


def _risk_payloads(built):
    return [p for p in built.manifest.payloads if RISK_CELLS in p.fields]


def test_every_risk_row_has_a_page_that_shows_its_payload_as_text(built):
    risky = _risk_payloads(built)
    assert risky
    for number, payload in enumerate(risky, start=1):
        rid = f"rr-{number + 1:02d}"
        url = f"kb/risks/{rid}.html"
        assert (built.site / url).is_file(), url
        page = read_page(built.site, url)
        assert page.handlers == [] and page.script_urls == []
        # The payload is shown (code spans and strike-through render as such: compare
        # without their marks).
        shown = re.sub(r"[`~\s]+", "", page.article)
        assert re.sub(r"[`~\s\\]+", "", payload.text.replace("\\|", "|")) in shown.replace(
            "\\", ""
        ), (url, payload.id)


def test_risk_pages_add_no_element(built):
    for url in sorted((built.site / "kb" / "risks").glob("*.html")):
        page = read_page(built.site, url.relative_to(built.site).as_posix())
        assert page.tags <= ALLOWED, (url.name, page.tags - ALLOWED)


def test_tag_pages_show_each_payload_tag_as_text(built):
    tagged = [p for p in built.manifest.payloads if TAGS in p.fields]
    assert tagged
    index = read_page(built.site, "kb/tags/index.html")
    assert index.handlers == [] and index.script_urls == []
    for payload in tagged:
        assert payload.text.strip().lstrip("#") in index.article, payload.id
    for url in sorted((built.site / "kb" / "tags").rglob("*.html")):
        page = read_page(built.site, url.relative_to(built.site).as_posix())
        assert page.handlers == [] and page.script_urls == [], url.name
        assert page.tags <= ALLOWED, (url.name, page.tags - ALLOWED)


def test_note_metadata_is_yaml_strings(built):
    # The tags kbgen copies into a note's frontmatter are quoted YAML strings: a payload
    # cannot end the frontmatter or add a key.
    tree = built.tree
    note = next(
        p
        for p in tree.rglob("*.md")
        if "kb_tags:" in p.read_text(encoding="utf-8")
        and "Tagged" in p.read_text(encoding="utf-8").split("\n", 2)[1]
    )
    meta, _ = split_frontmatter(note.read_text(encoding="utf-8"))
    import yaml

    data = yaml.safe_load(meta)
    assert isinstance(data["kb_tags"], list)
    assert all(
        isinstance(name, str) and isinstance(url, str) and url.startswith("kb/tags/")
        for name, url in data["kb_tags"]
    )
    page = read_page(built.site, html_of(note.relative_to(tree).as_posix()))
    assert page.handlers == [] and page.script_urls == []


def test_exports_are_published_and_parse(built):
    exports = built.site / "kb" / "exports"
    graph = json.loads((exports / "graph.json").read_text(encoding="utf-8"))
    assert graph["nodes"] and graph["edges"]
    matrix = json.loads((exports / "nist-800-53.json").read_text(encoding="utf-8"))
    assert matrix["controls"]
    assert (exports / "nist-800-53.csv").read_text(encoding="utf-8").startswith("framework")
