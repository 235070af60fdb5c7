"""Weigh the HTML pages of a rendered site: count, total, median and max page size,
and how much of a page is the navigation sidebar.

    .venv/bin/python benchmarks/page_weight.py SITE_DIR [--by-folder]

Only ``.html`` pages count (not search indexes, scripts or attachments). The
navigation share is the size of the primary ``<nav>`` element that mkdocs-material
(and Zensical) inline into every page.
"""

from __future__ import annotations

import argparse
import re
import statistics
from dataclasses import dataclass
from pathlib import Path

_NAV_TAG = re.compile(r"<(/?)nav\b")


@dataclass
class Weight:
    pages: int
    total_bytes: int
    median_bytes: float
    max_bytes: int
    max_page: str
    median_nav_bytes: float

    def summary(self) -> str:
        return (
            f"{self.pages} pages, {self.total_bytes / 1e6:.1f} MB, median "
            f"{self.median_bytes / 1000:.1f} KB (navigation {self.median_nav_bytes / 1000:.1f}"
            f" KB), max {self.max_bytes / 1000:.1f} KB ({self.max_page})"
        )


def nav_bytes(html: str) -> int:
    """Bytes of the primary navigation of one page (0 when there is none)."""
    start = html.find('<nav class="md-nav md-nav--primary"')
    if start < 0:
        return 0
    depth, pos = 0, start
    for match in _NAV_TAG.finditer(html, start):
        depth += -1 if match.group(1) else 1
        pos = match.end()
        if depth == 0:
            break
    return len(html[start:pos].encode())


def weigh(site: Path, under: str = "") -> Weight:
    sizes: dict[str, int] = {}
    navs: list[int] = []
    for page in sorted(site.rglob("*.html")):
        rel = page.relative_to(site).as_posix()
        if under and not rel.startswith(under):
            continue
        data = page.read_bytes()
        sizes[rel] = len(data)
        navs.append(nav_bytes(data.decode("utf-8", "replace")))
    if not sizes:
        return Weight(0, 0, 0, 0, "", 0)
    biggest = max(sizes, key=sizes.__getitem__)
    return Weight(
        len(sizes),
        sum(sizes.values()),
        statistics.median(sizes.values()),
        sizes[biggest],
        biggest,
        statistics.median(navs),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path)
    parser.add_argument(
        "--by-folder",
        action="store_true",
        help="also weigh each generated folder (kb/controls, kb/options, ...)",
    )
    args = parser.parse_args()
    print("all:", weigh(args.site).summary())
    if args.by_folder:
        for folder in (
            "kb/controls/",
            "kb/options/",
            "kb/tests/",
            "kb/source/",
            "kb/frameworks/",
            "wiki/",
        ):
            print(f"{folder}:", weigh(args.site, folder).summary())


if __name__ == "__main__":
    main()
