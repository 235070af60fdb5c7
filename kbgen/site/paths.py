"""Where each page of the site lives, and relative links between pages.

The compiled tree mirrors the vault (``_index.md`` becomes the folder's
``index.md``, the section landing page of most renderers) and adds generated pages
under ``kb/``. Links are ordinary relative Markdown links, so any renderer can take
the tree.

Generated pages are filed in folders small enough for a navigation section (renderers
such as mkdocs-material inline the current section's navigation into every page, so a
folder of 300 pages makes every one of them heavy): controls under their framework and
family (:func:`kbgen.trace.frameworks.family`), options under the flake module that
declares or first sets them (:func:`option_group`). Sets that can grow without bound
on a large project are laid out once per build by :class:`Layout`: more than
:data:`SECTION_LIMIT` option groups are gathered into ranges, a group of more options is
split by namespace, and a flake folder of more files by ranges of file names. Tags are
filed under their first letter (:func:`kbgen.site.pages.tags.tag_page`).
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kbgen.names import slug, unique_slug
from kbgen.nix.model import split_path
from kbgen.site import escape
from kbgen.trace.frameworks import family

if TYPE_CHECKING:
    from kbgen.nix.model import FlakeIndex

GENERATED = "kb"
#: The most entries (pages and sub-folders) a folder of generated pages holds: renderers
#: such as mkdocs-material inline the current section's navigation into every page.
SECTION_LIMIT = 60


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
    """The page of a Nix option, in the folder of its group (:func:`option_group`): where
    :class:`Layout` files it unless its group or the number of groups is over the limit."""
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
    """The page of a flake file, mirroring the flake's folders (:class:`Layout` gathers the
    files of a folder that holds too many into ranges)."""
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


@dataclass(frozen=True)
class Layout:
    """Where the pages of options and flake sources go on one build, and the titles of the
    folders that :data:`SECTION_LIMIT` made (their landing pages name the sections)."""

    options: Mapping[str, str]
    sources: Mapping[str, str]
    #: Folder of the tree -> its title, for every folder of option and source pages.
    titles: Mapping[str, str]

    @classmethod
    def of(cls, option_paths: Iterable[str], flake: FlakeIndex) -> Layout:
        titles: dict[str, str] = {}
        options = _option_layout(sorted(option_paths), flake, titles)
        sources = _source_layout(sorted(f.path for f in flake.files), titles)
        return cls(options, sources, titles)

    def option_page(self, path: str, flake: FlakeIndex) -> str:
        return self.options.get(path) or option_page(path, flake)

    def source_page(self, path: str) -> str:
        return self.sources.get(path) or source_page(path)


def _option_layout(
    option_paths: list[str], flake: FlakeIndex, titles: dict[str, str]
) -> dict[str, str]:
    """Each option's page: ``kb/options/[range/]group/[namespace/...]slug.md``."""
    root = f"{GENERATED}/options"
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in option_paths:
        groups[option_group(path, flake)].append(path)
    ranges = _chunks(sorted(groups), SECTION_LIMIT)
    pages: dict[str, str] = {}
    for chunk in ranges:
        parent = root
        if len(ranges) > 1:
            first, last = (_group_name(g) for g in (chunk[0], chunk[-1]))
            parent = f"{root}/{slug(first)}-to-{slug(last)}"
            titles[parent] = f"Options: {first} to {last}"
        for folder, title in chunk:
            top = f"{parent}/{folder}"
            titles[top] = title
            for path, below in _namespaces(groups[(folder, title)], 0).items():
                where = top
                for sub, sub_title in below:
                    where = f"{where}/{sub}"
                    titles[where] = sub_title
                pages[path] = f"{where}/{slug(path.replace('<name>', 'name'))}.md"
    return pages


def _group_name(group: tuple[str, str]) -> str:
    folder, title = group
    return title.removeprefix("Module ") if folder.startswith("module-") else title


def _namespaces(options: list[str], depth: int) -> dict[str, tuple[tuple[str, str], ...]]:
    """The folders below a group for each of its options: none when they fit in a section;
    else one per namespace (the first ``depth + 1`` segments of the path, deeper while all
    share one), and ranges of paths when there are too many namespaces."""
    if len(options) <= SECTION_LIMIT:
        return {o: () for o in options}
    by_prefix: dict[str, list[str]] = defaultdict(list)
    for option in options:
        segments = split_path(option)
        by_prefix[".".join(segments[: depth + 1]) if len(segments) > depth + 1 else ""].append(
            option
        )
    leaves = by_prefix.pop("", [])
    if not leaves and len(by_prefix) == 1:
        return _namespaces(options, depth + 1)
    if not by_prefix or len(by_prefix) + len(leaves) > SECTION_LIMIT:
        return {
            o: ((f"{slug(chunk[0])}-to-{slug(chunk[-1])}", f"{chunk[0]} to {chunk[-1]}"),)
            for chunk in _chunks(options, SECTION_LIMIT)
            for o in chunk
        }
    found = {o: () for o in leaves}
    for prefix, members in by_prefix.items():
        folder = (slug(prefix.replace("<name>", "name")), prefix)
        for option, below in _namespaces(members, depth + 1).items():
            found[option] = (folder, *below)
    return found


def _source_layout(files: list[str], titles: dict[str, str]) -> dict[str, str]:
    """Each flake file's page: its folder mirrored under ``kb/source``, its files gathered
    into ranges of names when the folder holds more entries than a section."""
    root = f"{GENERATED}/source"
    by_folder: dict[str, list[str]] = defaultdict(list)
    children: dict[str, set[str]] = defaultdict(set)
    for path in files:
        folder, _, _name = path.rpartition("/")
        by_folder[folder].append(path)
        while folder:
            parent, _, name = folder.rpartition("/")
            children[parent].add(name)
            folder = parent
    pages = {path: source_page(path) for path in files}
    for folder, members in by_folder.items():
        room = SECTION_LIMIT - len(children[folder])
        if len(members) <= room:
            continue
        for chunk in _chunks(members, max(room, 1)):
            first, last = (m.rpartition("/")[2] for m in (chunk[0], chunk[-1]))
            name = f"{slug(first.removesuffix('.nix'))}-to-{slug(last.removesuffix('.nix'))}"
            where = "/".join(filter(None, (root, folder, name)))
            titles[where] = f"{folder or 'flake'}: {first} to {last}"
            for path in chunk:
                pages[path] = f"{where}/{path.rpartition('/')[2]}.md"
    return pages


def _chunks(items: list, limit: int) -> list[list]:
    """``items`` in order, cut into as few runs of at most ``limit`` as possible, of even
    length."""
    if not items:
        return []
    count = -(-len(items) // limit)
    size = -(-len(items) // count)
    return [items[i : i + size] for i in range(0, len(items), size)]
