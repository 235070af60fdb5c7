"""Navigation sections stay small: no section of the site's navigation holds more than
:data:`kbgen.site.paths.SECTION_LIMIT` entries (pages and sub-sections; mkdocs-material
inlines the current section's navigation into every page), on the bundled project and on
a large synthetic one (90 flake modules in one folder, a module with 130 options, 150
tags), and every section has a landing page that names it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kbgen.site import paths
from kbgen.site.build import navigation
from kbgen.site.pages.tags import tag_page
from tests.helpers import kbgen_build
from tests.site_project import REPO


def sections(tree: Path) -> dict[str, int]:
    """Every navigation section of the compiled ``tree`` (as MkDocs builds it from the
    folders, and as kbgen hands it to Zensical) -> its entries, the landing page aside."""
    pages = sorted(p.relative_to(tree).as_posix() for p in tree.rglob("*.md"))
    found: dict[str, int] = {}

    def walk(items: list, where: str) -> None:
        found[where] = sum(1 for i in items if not (isinstance(i, str) and i.endswith("index.md")))
        for item in items:
            if isinstance(item, dict):
                for title, below in item.items():
                    walk(below, f"{where}/{title}")

    walk(navigation(pages, {}), "")
    return found


def assert_small_sections(tree: Path) -> None:
    crowded = {s: n for s, n in sections(tree).items() if n > paths.SECTION_LIMIT}
    assert crowded == {}, f"navigation sections over {paths.SECTION_LIMIT} entries: {crowded}"
    generated = tree / paths.GENERATED  # the vault's own folders are its author's
    for folder in [tree, generated, *(p for p in generated.rglob("*") if p.is_dir())]:
        if any(p.suffix == ".md" or p.is_dir() for p in folder.iterdir()):
            assert (folder / "index.md").is_file(), f"{folder} has no landing page"


def compile_tree(root: Path) -> Path:
    kbgen_build(root, "--markdown-only")
    return root / "build" / "docs"


BIG_MODULE = """{ config, lib, ... }:
{
  options.compliance.big = {
%s
  };
  config = {
%s
  };
}
"""


def make_large_project(root: Path) -> Path:
    """90 modules (``benchmarks/generate.py``), 300 notes in folders of 50, 150 tags and
    a module that declares 130 options in four namespaces, each named by a note."""
    from benchmarks.generate import Spec, generate, generate_trace

    generate(root, Spec(notes=300, links=4, topics=6, broken=0.0))
    generate_trace(root, controls=200, nix_files=100)
    declared = [f"compliance.big.{ns}.o{i:03d}" for ns in ("net", "auth", "log") for i in range(30)]
    options = "\n".join(
        f"    {p.removeprefix('compliance.big.')} = lib.mkOption {{ type = lib.types.int; "
        f"default = 1; }};"
        for p in declared
    )
    settings = [f"services.big{i:02d}.settings.Key" for i in range(40)]
    config = "\n".join(f"    {p} = {i};" for i, p in enumerate(settings))
    (root / "flake/modules/zz-big.nix").write_text(BIG_MODULE % (options, config))
    tags = [f"{word}-{n}" for word in ("alpha", "beta", "gamma", "delta", "eps") for n in range(30)]
    names = declared + settings
    for i in range(50):
        note = root / f"vault/wiki/topic-{i % 6:03d}/note-{i:05d}.md"
        text = note.read_text(encoding="utf-8")
        mine = ", ".join(tags[3 * i : 3 * i + 3])
        spans = " ".join(f"`{p}`" for p in names[i::50])
        text = text.replace("tags: [", f"tags: [{mine}, ", 1) + f"\nOptions: {spans}\n"
        note.write_text(text, encoding="utf-8")
    (root / "pyproject.toml").write_text(
        '[tool.kbgen]\nignore = ["TR207", "TR305", "KB108", "KB201", "TR202", "TR211"]\n'
    )
    return root


@pytest.fixture(scope="module")
def large_tree(tmp_path_factory) -> Path:
    return compile_tree(make_large_project(tmp_path_factory.mktemp("large") / "project"))


@pytest.mark.slow
def test_no_navigation_section_of_a_large_project_is_too_long(large_tree):
    tree = large_tree
    assert_small_sections(tree)
    options = [p for p in (tree / "kb/options").rglob("*.md") if p.name != "index.md"]
    assert len(options) > 300  # every module's cited options and the big module's
    # 90 module groups are gathered into ranges; the big module is split by namespace.
    ranges = [p.name for p in (tree / "kb/options").iterdir() if p.is_dir()]
    assert len(ranges) == 2 and all("-to-" in r for r in ranges), ranges
    big = next((tree / "kb/options").glob("*/module-zz-big"))
    assert (big / "services").is_dir() and (big / "compliance/compliance-big-net").is_dir()
    assert "Module zz-big" in (big / "index.md").read_text(encoding="utf-8")
    # The 90 module files of one flake folder are gathered into ranges of names.
    modules = tree / "kb/source/flake/modules"
    assert [p.name for p in modules.iterdir() if p.is_dir()] != []
    assert not list(modules.glob("*.nix.md"))
    # Tags are filed by letter.
    assert len([p for p in (tree / "kb/tags").rglob("*.md") if p.name != "index.md"]) > 150
    # Every link to an option or source page reaches a page that exists.
    control = next((tree / "kb/controls").rglob("ac-1-1.md"))
    text = control.read_text(encoding="utf-8")
    for target in ("kb/options/", "kb/source/"):
        assert target.split("/")[1] in text
    missing = [
        link
        for page in (tree / "kb").rglob("*.md")
        for link in _relative_links(page)
        if not (page.parent / link).resolve().is_file()
    ]
    assert missing == []


#: What a search index keeps of one section at most: Zensical refuses a field of more than
#: 16 KB of text on a site of this size.
SEARCH_SECTION_BYTES = 16_384


def section_texts(page: Path) -> list[str]:
    """The text of each section (between headings) of a compiled page, roughly as a search
    index sees it: without link destinations and HTML tags."""
    text = page.read_text(encoding="utf-8").split("\n---\n", 1)[-1]
    text = re.sub(r"\]\([^)]*\)", "]", re.sub(r"<[^>]+>", "", text))
    return re.split(r"^#{1,6} ", text, flags=re.MULTILINE)


@pytest.mark.slow
def test_no_generated_section_is_too_long_for_a_search_index(large_tree):
    longest = {
        page.relative_to(large_tree).as_posix(): max(len(t.encode()) for t in section_texts(page))
        for page in (large_tree / paths.GENERATED).rglob("*.md")
    }
    assert {p: n for p, n in longest.items() if n > SEARCH_SECTION_BYTES} == {}
    tag = (large_tree / "kb/tags/b/bench.md").read_text(encoding="utf-8")
    assert tag.count("\n## wiki/topic-000") == 2  # 50 notes of a folder: two sections
    status = (large_tree / "kb/status/test-written.md").read_text(encoding="utf-8")
    assert "## NIST SP 800-53 Rev. 5" in status and "### AC" in status


def _relative_links(page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    return [
        m.group(1).split("#")[0]
        for m in re.finditer(r"\]\(([^)\s]+\.md)(?:#[^)]*)?\)", text)
        if not m.group(1).startswith(("http:", "https:"))
    ]


@pytest.mark.slow
def test_no_navigation_section_of_the_bundled_site_is_too_long():
    tree = compile_tree(REPO)
    assert_small_sections(tree)
    letters = {p.name for p in (tree / "kb/tags").iterdir() if p.is_dir()}
    assert {"a", "p", "s"} <= letters


def test_tags_are_filed_by_first_letter():
    assert tag_page("pci-dss") == "kb/tags/p/pci-dss.md"
    assert tag_page("Framework/HIPAA").startswith("kb/tags/f/")
    assert tag_page("2026-review").startswith("kb/tags/0-9/")
    assert tag_page("index") == "kb/tags/i/index-tag.md"


def test_a_crowded_group_of_options_is_split_by_namespace():
    options = [f"services.s{i:02d}.enable" for i in range(40)]
    options += [f"compliance.big.log.o{i}" for i in range(35)]
    options += [f"compliance.big.net.o{i}" for i in range(35)]
    folders = paths._namespaces(sorted(options), 0)
    assert folders["services.s01.enable"] == (("services", "services"),)
    # The compliance options all share "compliance.big": the folders are one level deeper.
    assert folders["compliance.big.log.o1"] == (
        ("compliance", "compliance"),
        ("compliance-big-log", "compliance.big.log"),
    )
    assert paths._namespaces(options[:60], 0) == {o: () for o in options[:60]}


def test_too_many_entries_are_cut_into_even_ranges():
    assert [len(c) for c in paths._chunks(list(range(90)), 60)] == [45, 45]
    assert [len(c) for c in paths._chunks(list(range(121)), 60)] == [41, 41, 39]
    assert paths._chunks([], 60) == []
