"""``[tool.kbgen] note-html``: raw HTML in notes.

``render`` (the default) shows it as Obsidian does: a note's HTML is HTML, scripts
included; it is for vaults whose authors are trusted like the site's maintainers.
``escape`` shows every tag and HTML block as text and leaves comments invisible, for
sites that publish notes from people one does not trust.
"""

from __future__ import annotations

import pytest

from tests.security.site_html import html_of, read_page, run_kbgen
from tests.site_project import make_site_project

pytestmark = pytest.mark.slow

NOTE = "wiki/ops/raw-html.md"
RAW_NOTE = """---
title: Raw HTML
---

# Raw HTML

Inline script <script>alert(1)</script> in a sentence.

An image <img src=x onerror=alert(1)> in a sentence.

<div class="boxed">
<b>bold in a block</b>
</div>

<!-- a comment nobody sees -->

Text after the comment.

## Key Takeaways

- HTML is text here.
"""

#: Markdown, not HTML, that can still carry script: attr_list (enabled in mkdocs.yml)
#: and link destinations.
MARKDOWN_NOTE = """---
title: Hostile Markdown
---

# Hostile Markdown

A paragraph that sets a handler.
{: onclick="alert(1)" }

## A heading that sets one too {: onmouseover="alert(1)" }

| A | B |
|---|---|
| cell | text {: onclick="alert(1)" } |

An inline [link](javascript:alert(1)) and a [reference link][r].

[r]: javascript:alert(1)

## Key Takeaways

- Markdown is not HTML.
"""


def _project(tmp_path, note_html: str | None):
    root = make_site_project(tmp_path / "project")
    (root / "pyproject.toml").write_text(
        "[tool.kbgen]\n" + (f'note-html = "{note_html}"\n' if note_html else "")
    )
    (root / "vault" / NOTE).write_text(RAW_NOTE, encoding="utf-8")
    (root / "vault/wiki/ops/hostile-markdown.md").write_text(MARKDOWN_NOTE, encoding="utf-8")
    index = root / "vault/wiki/ops/_index.md"
    index.write_text(
        index.read_text() + "- [[raw-html]] — raw HTML\n- [[hostile-markdown]] — hostile Markdown\n"
    )
    result = run_kbgen(root, "build")
    assert result.returncode == 0, result.stdout + result.stderr
    return root


@pytest.fixture(scope="module")
def escaped(tmp_path_factory):
    return _project(tmp_path_factory.mktemp("escape"), "escape")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    return _project(tmp_path_factory.mktemp("render"), None)


def _html(root):
    return (root / "site" / html_of(NOTE)).read_text(encoding="utf-8")


def _article(html: str) -> str:
    return html.split("<article", 1)[1].split("</article>", 1)[0]


def test_escape_shows_tags_and_blocks_as_text(escaped):
    # Guards the escape of inline tags and HTML blocks: the reader sees the tags.
    page = read_page(escaped / "site", html_of(NOTE))
    assert "Inline script <script>alert(1)</script> in a sentence." in page.article
    assert "An image <img src=x onerror=alert(1)> in a sentence." in page.article
    assert '<div class="boxed">' in page.article and "<b>bold in a block</b>" in page.article
    assert "</div>" in page.article


def test_escape_leaves_no_element_from_the_note(escaped):
    # Guards against any of the note's tags reaching the page as an element.
    article = _article(_html(escaped))
    assert "<script>alert" not in article and "<img src=x" not in article
    assert "<b>bold" not in article and '<div class="boxed">' not in article
    page = read_page(escaped / "site", html_of(NOTE))
    assert page.handlers == [] and page.script_urls == []
    plain = read_page(escaped / "site", "wiki/ops/hardening.html")
    assert page.scripts == plain.scripts  # only the theme's and kbgen's scripts


def test_escape_keeps_comments_invisible(escaped):
    # Guards against escaping comments (they would show) and against the comment
    # swallowing what follows it.
    page = read_page(escaped / "site", html_of(NOTE))
    assert "a comment nobody sees" not in page.article
    assert "Text after the comment." in page.article


def test_render_is_obsidian_compatible(rendered):
    # The default renders a note's HTML, as Obsidian does: the tags are elements (and
    # a script runs). Guards against the default silently changing what notes show.
    article = _article(_html(rendered))
    page = read_page(rendered / "site", html_of(NOTE))
    assert "<script>alert(1)</script>" in article
    assert ("img", "onerror", "alert(1)") in page.handlers
    assert "<b>bold in a block</b>" in article and '<div class="boxed">' in article
    assert "Inline script <script>" not in page.article  # not shown as text
    assert "a comment nobody sees" not in page.article


def test_escape_leaves_no_script_in_hostile_markdown(escaped):
    page = read_page(escaped / "site", "wiki/ops/hostile-markdown.html")
    assert page.handlers == [] and page.script_urls == []


def test_hostile_markdown_is_the_only_hole_in_escape_mode(escaped):
    # Pins the extent of the bug above, so that nothing else regresses meanwhile: the
    # handlers and URLs on the page are exactly the ones the Markdown asked for.
    page = read_page(escaped / "site", "wiki/ops/hostile-markdown.html")
    assert {h[1:] for h in page.handlers} <= {("onclick", "alert(1)"), ("onmouseover", "alert(1)")}
    assert {u[2] for u in page.script_urls} <= {"javascript:alert(1)"}
