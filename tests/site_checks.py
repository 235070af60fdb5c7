"""Static checks of a rendered site that hold whatever renderer made it: every internal
link and resource resolves, and no wikilink or template marker is left in the text."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

#: Elements whose text is code: ``[[`` and ``{{`` there are what the author wrote.
_CODE = {"code", "pre", "script", "style", "textarea", "kbd", "samp"}
VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}


@dataclass
class _Page(HTMLParser):
    urls: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    code_depth: int = 0

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag, attrs) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.urls.append(value)
        if tag in _CODE:
            self.code_depth += 1

    def handle_endtag(self, tag) -> None:
        if tag in _CODE and self.code_depth:
            self.code_depth -= 1

    def handle_data(self, data) -> None:
        if not self.code_depth:
            self.text.append(data)


@dataclass
class SiteProblems:
    pages: int = 0
    #: (page, href) of every internal link or resource whose file is missing.
    broken: list[tuple[str, str]] = field(default_factory=list)
    #: (page, excerpt) of ``[[`` left in the text (outside code).
    wikilinks: list[tuple[str, str]] = field(default_factory=list)
    #: (page, excerpt) of ``{{`` left in the text (outside code).
    templates: list[tuple[str, str]] = field(default_factory=list)


def _excerpt(text: str, marker: str) -> str:
    at = text.find(marker)
    return " ".join(text[max(0, at - 40) : at + 60].split())


def check_site(site: Path) -> SiteProblems:
    """Parse every HTML page under ``site``, resolve each relative ``href``/``src``
    against the page's folder and report missing targets and leftover markup."""
    problems = SiteProblems()
    root = site.resolve()
    for page in sorted(site.rglob("*.html")):
        rel = page.relative_to(site).as_posix()
        parser = _Page()
        parser.feed(page.read_text(encoding="utf-8", errors="replace"))
        problems.pages += 1
        text = "".join(parser.text)
        for marker, found in (("[[", problems.wikilinks), ("{{", problems.templates)):
            if marker in text:
                found.append((rel, _excerpt(text, marker)))
        for url in parser.urls:
            parts = urlsplit(url)
            if parts.scheme or parts.netloc or not parts.path or url.startswith("/"):
                continue  # external, absolute or a fragment of this page
            target = (page.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.is_relative_to(root) or not target.exists():
                problems.broken.append((rel, url))
    return problems
