"""Tag pages: ``kb/tags/<letter>/<tag>.md`` lists the notes that carry a tag (frontmatter
``tags`` or an inline ``#tag``); ``kb/tags/index.md`` lists every tag by letter, and each
letter's folder has a landing page, so that no navigation section holds more than a
letter's tags (a nested tag ``area/topic`` files under its root's letter)."""

from __future__ import annotations

from collections import defaultdict

from kbgen.names import unique_slug
from kbgen.site import escape, paths
from kbgen.site.pages.common import SECTION_ROWS, link, parts
from kbgen.site.render import PageContext, frontmatter
from kbgen.vault.records import Note

TAGS_DIR = f"{paths.GENERATED}/tags"


def note_tags(note: Note) -> list[str]:
    """The note's tags, frontmatter first, each once (compared ignoring case)."""
    value = note.frontmatter.get("tags")
    if isinstance(value, str):
        found = value.replace(",", " ").split()
    elif isinstance(value, list):
        found = [str(v) for v in value if isinstance(v, (str, int, float)) and str(v).strip()]
    else:
        found = []
    found += [t.name for t in note.tags]
    seen: dict[str, str] = {}
    for tag in found:
        tag = tag.strip().lstrip("#")
        if tag and slug_of(tag) and tag.casefold() not in seen:
            seen[tag.casefold()] = tag
    return list(seen.values())


def slug_of(tag: str) -> str:
    """The tag's file name: its slug, with a short hash when the slug is not the tag
    itself (two tags must not share a page), and never "index" (the list of tags)."""
    name = unique_slug(tag.casefold().replace("/", "-"))
    return f"{name}-tag" if name == "index" else name


def tag_letter(tag: str) -> str:
    """The folder of a tag's page: the first letter of its file name, ``0-9`` for a digit."""
    first = slug_of(tag)[0]
    return "0-9" if first.isdigit() else first


def tag_page(tag: str) -> str:
    return f"{TAGS_DIR}/{tag_letter(tag)}/{slug_of(tag)}.md"


def tag_pages(ctx: PageContext) -> dict[str, str]:
    by_tag: dict[str, list[str]] = defaultdict(list)
    names: dict[str, str] = {}
    for path, note in ctx.vault.notes.items():
        for tag in note_tags(note):
            key = tag_page(tag)
            names.setdefault(key, tag)
            by_tag[key].append(path)
    if not by_tag:
        return {}
    pages = {page: _tag_page(ctx, page, names[page], notes) for page, notes in by_tag.items()}
    pages.update(_tag_indexes(by_tag, names))
    return pages


def _tag_page(ctx: PageContext, page: str, tag: str, notes: list[str]) -> str:
    """The notes that carry a tag; a long list in a section per folder of the vault (and
    per :data:`~kbgen.site.pages.common.SECTION_ROWS` notes of a folder)."""
    lines = [
        frontmatter(f"Tag: {tag}", f"Notes tagged {tag}."),
        f"# Tag {escape.code(tag)}",
        "",
        f"{len(notes)} notes · {link(page, f'{TAGS_DIR}/index.md', 'all tags')}",
        "",
    ]
    by_folder: dict[str, list[str]] = defaultdict(list)
    for path in sorted(notes, key=lambda p: ctx.vault.notes[p].title.casefold()):
        folder = (path.rpartition("/")[0] or "top level") if len(notes) > SECTION_ROWS else ""
        by_folder[folder].append(path)
    for folder in sorted(by_folder):
        for number, part in enumerate(parts(by_folder[folder])):
            if folder:
                more = " (continued)" if number else ""
                lines += [f"## {escape.text(folder)}{more}", ""]
            for path in part:
                note = ctx.vault.notes[path]
                line = f"- {link(page, ctx.page_of_note(path), escape.text(note.title))}"
                if note.description:
                    line += f" — {escape.text(note.description)}"
                lines.append(line)
            lines.append("")
    return "\n".join(lines)


def _tag_indexes(by_tag: dict[str, list[str]], names: dict[str, str]) -> dict[str, str]:
    """The list of every tag, by letter, and each letter's landing page."""
    index = f"{TAGS_DIR}/index.md"
    letters: dict[str, list[str]] = defaultdict(list)
    for page in sorted(by_tag, key=lambda p: names[p].casefold()):
        letters[page.split("/")[-2]].append(page)
    lines = [
        frontmatter("Tags", "Every tag the notes carry."),
        "# Tags",
        "",
        f"{len(by_tag)} tags, by the first letter of their name.",
        "",
    ]
    pages = {}
    for letter in sorted(letters):
        heading = f"Tags: {letter.upper()}"
        folder = f"{TAGS_DIR}/{letter}/index.md"
        entries = letters[letter]
        lines += [f"## {link(index, folder, escape.text(letter.upper()))}", ""]
        lines += [_tag_entry(index, page, names, by_tag) for page in entries] + [""]
        pages[folder] = (
            "\n".join(
                [
                    frontmatter(heading, f"Tags starting with {letter.upper()}."),
                    f"# {escape.text(heading)}",
                    "",
                    f"{len(entries)} tags · {link(folder, index, 'all tags')}",
                    "",
                    *(_tag_entry(folder, page, names, by_tag) for page in entries),
                ]
            )
            + "\n"
        )
    pages[index] = "\n".join(lines)
    return pages


def _tag_entry(index: str, page: str, names: dict[str, str], by_tag: dict[str, list[str]]) -> str:
    return f"- {link(index, page, escape.text(names[page]))} ({len(by_tag[page])})"
