"""Where each page of the site lives, and relative links between pages.

The compiled tree mirrors the vault (``_index.md`` becomes the folder's
``index.md``, the section landing page of most renderers) and adds generated pages
under ``kb/``. Links are ordinary relative Markdown links, so any renderer can take
the tree.

Generated pages are filed in folders small enough for a navigation section (renderers
such as mkdocs-material inline the current section's navigation into every page, so a
folder of 300 pages makes every one of them heavy): controls under their framework and
family (:func:`kbgen.trace.frameworks.family`), options under the flake module that
declares or first sets them (:func:`option_group`).
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING

from kbgen.names import slug, unique_slug
from kbgen.site import escape
from kbgen.trace.frameworks import family

if TYPE_CHECKING:
    from kbgen.nix.model import FlakeIndex

GENERATED = "kb"


def note_page(path: str, index_name: str = "_index.md") -> str:
    folder, _, name = path.rpartition("/")
    if name == index_name:
        return posixpath.join(folder, "index.md") if folder else "index.md"
    return path


def control_page(key: str) -> str:
    framework, _, control = key.partition("/")
    group = family(framework, control)
    folder = f"{GENERATED}/controls/{framework}" + (f"/{group[0]}" if group else "")
    return f"{folder}/{slug(control)}.md"


def control_family_folder(framework: str, family_slug: str) -> str:
    """The folder of one family of a framework's control pages (its ``index.md`` lists
    them)."""
    return f"{GENERATED}/controls/{framework}/{family_slug}"


def framework_page(framework: str) -> str:
    return f"{GENERATED}/frameworks/{framework}.md"


def option_page(path: str, flake: FlakeIndex) -> str:
    """The page of a Nix option, in the folder of its group (:func:`option_group`)."""
    folder = option_group(path, flake)[0]
    return f"{GENERATED}/options/{folder}/{slug(path.replace('<name>', 'name'))}.md"


def option_group(path: str, flake: FlakeIndex) -> tuple[str, str]:
    """(folder, title) of the group an option's page is filed under: the module of the
    flake (``flake/modules/<name>/...`` or ``flake/modules/<name>.nix``) that declares
    it, else the first module that sets it; an option no module declares or sets (set
    only by a host or a test) goes under its first two path segments."""
    declared = flake.declared(path)
    files = (
        [declared[0].pos.file]
        if declared
        else [d.pos.file for d in flake.defined(path) if d.test is None]
    )
    for file in files:
        parts = file.split("/")
        if "modules" in parts[:-1]:
            name = parts[parts.index("modules") + 1].removesuffix(".nix")
            return f"module-{slug(name)}", f"Module {name}"
    namespace = ".".join(path.split(".")[:2])
    return slug(namespace.replace("<name>", "name")), namespace


def test_page(name: str) -> str:
    return f"{GENERATED}/tests/{unique_slug(name)}.md"


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
    while common < len(source) and common < len(target) - 1 and source[common] == target[common]:
        common += 1
    parts = [".."] * (len(source) - common) + target[common:]
    return escape.destination("/".join(parts), anchor)
