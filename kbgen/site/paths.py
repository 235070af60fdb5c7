"""Where each page of the site lives, and relative links between pages.

The compiled tree mirrors the vault (``_index.md`` becomes the folder's
``index.md``, the section landing page of most renderers) and adds generated pages
under ``kb/``. Links are ordinary relative Markdown links, so any renderer can take
the tree.
"""

from __future__ import annotations

import posixpath

from kbgen.names import slug
from kbgen.site import escape

GENERATED = "kb"


def note_page(path: str, index_name: str = "_index.md") -> str:
    folder, _, name = path.rpartition("/")
    if name == index_name:
        return posixpath.join(folder, "index.md") if folder else "index.md"
    return path


def control_page(key: str) -> str:
    framework, _, control = key.partition("/")
    return f"{GENERATED}/controls/{framework}/{slug(control)}.md"


def framework_page(framework: str) -> str:
    return f"{GENERATED}/frameworks/{framework}.md"


def option_page(path: str) -> str:
    return f"{GENERATED}/options/{slug(path.replace('<name>', 'name'))}.md"


def test_page(name: str) -> str:
    return f"{GENERATED}/tests/{slug(name)}.md"


def status_page(status: str) -> str:
    """The list of controls that have ``status``."""
    return f"{GENERATED}/status/{status}.md"


def source_page(path: str) -> str:
    return f"{GENERATED}/source/{path}.md"


def source_anchor(line: int) -> str:
    """The anchor the code block of a source page gives a line (pymdownx.highlight)."""
    return f"__codelineno-0-{line}"


def block_anchor(block_id: str) -> str:
    return f"block-{block_id}"


def relative(from_page: str, to_page: str, anchor: str | None = None) -> str:
    """A relative link from one page of the tree to another (``#anchor`` optional),
    percent-encoded for use as a link destination.

    Both paths are tree-relative and normalised, so plain string work replaces
    ``posixpath.relpath`` (which consults the working directory on every call; the
    site makes a link per wikilink of every page).
    """
    if from_page == to_page and anchor:
        return escape.destination("", anchor)
    source = from_page.split("/")[:-1]
    target = to_page.split("/")
    common = 0
    while common < len(source) and common < len(target) - 1 and \
            source[common] == target[common]:
        common += 1
    parts = [".."] * (len(source) - common) + target[common:]
    return escape.destination("/".join(parts), anchor)

