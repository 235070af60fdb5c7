"""Helpers for the payload tests: build a project with the CLI, and read a built page.

:func:`payload_site` builds the payload project once per test session (both
``test_no_code_execution`` and ``test_script_injection`` read it), :func:`plain_site`
the unmodified ``make_site_project`` (the baseline of scripts a site may carry).
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import subprocess
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from tests.security.payloads import Manifest, write_payload_project
from tests.site_checks import VOID
from tests.site_project import make_site_project

#: Attributes whose value the browser follows as a URL.
URL_ATTRIBUTES = {
    "href",
    "src",
    "action",
    "formaction",
    "xlink:href",
    "poster",
    "data",
    "srcset",
    "background",
    "ping",
    "cite",
    "manifest",
}


def env(**extra: str) -> dict[str, str]:
    return {**os.environ, "KBGEN_NO_CACHE": "1", "SOURCE_DATE_EPOCH": "1700000000", **extra}


def run_kbgen(
    root: Path, *args: str, timeout: float = 120, **extra_env: str
) -> subprocess.CompletedProcess:
    """``python -m kbgen ARGS`` in ``root`` (a subprocess: nothing is shared with pytest)."""
    return subprocess.run(
        [sys.executable, "-m", "kbgen", *args],
        cwd=root,
        env=env(**extra_env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass
class Built:
    root: Path
    result: subprocess.CompletedProcess
    manifest: Manifest | None = None

    @property
    def tree(self) -> Path:
        return self.root / "build" / "docs"

    @property
    def site(self) -> Path:
        return self.root / "site"

    def page(self, pattern: str) -> str:
        """The compiled-tree page ``pattern`` names (a glob must match exactly one)."""
        if "*" not in pattern:
            return pattern
        found = sorted(p.relative_to(self.tree).as_posix() for p in self.tree.glob(pattern))
        assert len(found) == 1, (pattern, found)
        return found[0]


_BUILT: dict[str, Built] = {}


def payload_site(tmp_path_factory) -> Built:
    """The payload project, built once per session with ``kbgen build``."""
    if "payload" not in _BUILT:
        base = tmp_path_factory.mktemp("payload-site")
        marker = base / "MARKER-code-ran"
        manifest = write_payload_project(base / "project", marker)
        _BUILT["payload"] = Built(manifest.root, run_kbgen(manifest.root, "build"), manifest)
    return _BUILT["payload"]


def payload_site_rendering_notes(tmp_path_factory) -> Built:
    """The payload project with ``note-html = "render"`` (the default): notes' HTML is
    live, but nothing kbgen generates may be."""
    if "payload-render" not in _BUILT:
        base = tmp_path_factory.mktemp("payload-render")
        manifest = write_payload_project(
            base / "project", base / "MARKER-code-ran", note_html="render"
        )
        _BUILT["payload-render"] = Built(manifest.root, run_kbgen(manifest.root, "build"), manifest)
    return _BUILT["payload-render"]


def plain_site(tmp_path_factory) -> Built:
    """``make_site_project`` with harmless text only, built once per session: the
    baseline of what a page may carry. One note gets a tag, so that the features the
    payload site uses (a page's tag list, tag pages) appear here too."""
    if "plain" not in _BUILT:
        root = make_site_project(tmp_path_factory.mktemp("plain-site") / "project")
        note = root / "vault/wiki/ops/hardening.md"
        note.write_text(note.read_text().replace("description:", "tags: [ssh]\ndescription:"))
        _BUILT["plain"] = Built(root, run_kbgen(root, "build"))
    return _BUILT["plain"]


def html_of(page: str) -> str:
    """The site file of a compiled-tree page (``use_directory_urls: false``)."""
    return page[:-3] + ".html"


@dataclass
class Page:
    """What a security check needs from one HTML page."""

    url: str  # site-relative path of the page
    title: str = ""
    description: str | None = None
    #: Text of the page's <article> (the content), character references decoded.
    article: str = ""
    #: Text inside <code>/<pre> within the article.
    code: str = ""
    #: (site-absolute src, or "inline:" + sha256 of the normalised inline script).
    scripts: list[str] = field(default_factory=list)
    #: (tag, attribute, value) of every on* attribute.
    handlers: list[tuple[str, str, str]] = field(default_factory=list)
    #: (tag, attribute, value) of every URL attribute with a javascript: (or similar) URL.
    script_urls: list[tuple[str, str, str]] = field(default_factory=list)
    tags: set[str] = field(default_factory=set)


_SCHEME_NOISE = re.compile(r"[\x00-\x20]")


def is_script_url(value: str) -> bool:
    """Whether a browser would run ``value`` as script when following it (the scheme is
    matched after the browser strips whitespace and control characters)."""
    cleaned = _SCHEME_NOISE.sub("", value).casefold()
    return cleaned.startswith(("javascript:", "vbscript:", "data:text/html"))


class _Reader(HTMLParser):
    def __init__(self, page: Page) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.stack: list[str] = []
        self.inline: list[str] | None = None
        self.article: list[str] = []
        self.code: list[str] = []

    def handle_starttag(self, tag, attrs):
        self._attributes(tag, attrs)
        if tag == "script":
            src = dict(attrs).get("src")
            if src:
                self.page.scripts.append(_absolute(self.page.url, src))
            else:
                self.inline = []
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self._attributes(tag, attrs)

    def _attributes(self, tag, attrs):
        self.page.tags.add(tag)
        values = dict(attrs)
        if tag == "meta" and values.get("name") == "description":
            self.page.description = values.get("content")
        for name, value in attrs:
            if name.startswith("on"):
                self.page.handlers.append((tag, name, value or ""))
            if name in URL_ATTRIBUTES and value and is_script_url(value):
                self.page.script_urls.append((tag, name, value))

    def handle_endtag(self, tag):
        if tag == "script" and self.inline is not None:
            text = _normalise_inline("".join(self.inline))
            self.page.scripts.append("inline:" + hashlib.sha256(text.encode()).hexdigest())
            self.inline = None
        if tag in self.stack:
            while self.stack.pop() != tag:
                pass

    def handle_data(self, data):
        if self.inline is not None:
            self.inline.append(data)
            return
        if "title" in self.stack and "head" in self.stack:
            self.page.title += data
        if "article" in self.stack and "style" not in self.stack:
            self.article.append(data)
            if "code" in self.stack or "pre" in self.stack:
                self.code.append(data)


def _absolute(page_url: str, src: str) -> str:
    if re.match(r"[a-z][a-z0-9+.-]*:", src, re.I) or src.startswith("//"):
        return src  # another host or scheme: kept as is, so it can never match the baseline
    return posixpath.normpath(posixpath.join(posixpath.dirname(page_url), src))


_RELATIVE_BASE = re.compile(r'"(?:\.\./)*\.\.?(/[^"]*)?"')


def _normalise_inline(text: str) -> str:
    """An inline script with the page's relative base (``"../.."``) replaced, so the
    same script on pages at different depths has the same hash."""
    return _RELATIVE_BASE.sub(lambda m: '"BASE' + (m.group(1) or "") + '"', text.strip())


def read_page(site: Path, url: str) -> Page:
    page = Page(url)
    reader = _Reader(page)
    reader.feed((site / url).read_text(encoding="utf-8"))
    reader.close()
    page.article = "".join(reader.article)
    page.code = "".join(reader.code)
    return page


def site_pages(site: Path) -> list[str]:
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))


# -- the compiled Markdown ----------------------------------------------------------------

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_CODE_SPAN = re.compile(r"(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.S)
_CODE_ELEMENT = re.compile(r"<code>.*?</code>", re.S)


def outside_code(markdown: str) -> str:
    """``markdown`` without fenced code blocks, code spans and ``<code>`` elements
    (where template syntax is shown, not run, by any renderer kbgen targets)."""
    kept, fence = [], None
    for line in markdown.split("\n"):
        match = _FENCE.match(line)
        if fence is None and match:
            fence = match.group(1)
            continue
        if fence is not None:
            if (
                match
                and match.group(1)[0] == fence[0]
                and len(match.group(1)) >= len(fence)
                and not line.strip()[len(match.group(1)) :].strip()
            ):
                fence = None
            continue
        kept.append(line)
    text = "\n".join(kept)
    return _CODE_ELEMENT.sub("", _CODE_SPAN.sub("", text))


def split_frontmatter(markdown: str) -> tuple[str, str]:
    """(frontmatter, body) of a compiled page."""
    if markdown.startswith("---\n"):
        end = markdown.find("\n---\n", 4)
        if end >= 0:
            return markdown[4:end], markdown[end + 5 :]
    return "", markdown
