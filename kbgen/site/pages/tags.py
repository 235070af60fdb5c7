"""Tag pages: ``kb/tags/<tag>.md`` lists the notes that carry a tag (frontmatter ``tags``
or an inline ``#tag``), ``kb/tags/index.md`` lists the tags."""

from __future__ import annotations

from collections import defaultdict

from kbgen.names import unique_slug
from kbgen.site import escape, paths
from kbgen.site.pages.common import link
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


def tag_page(tag: str) -> str:
    return f"{TAGS_DIR}/{slug_of(tag)}.md"


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
    pages = {}
    for page, notes in by_tag.items():
        tag = names[page]
        lines = [
            frontmatter(f"Tag: {tag}", f"Notes tagged {tag}."),
            f"# Tag {escape.code(tag)}",
            "",
            f"{len(notes)} notes · {link(page, f'{TAGS_DIR}/index.md', 'all tags')}",
            "",
        ]
        for path in sorted(notes, key=lambda p: ctx.vault.notes[p].title.casefold()):
            note = ctx.vault.notes[path]
            line = f"- {link(page, ctx.page_of_note(path), escape.text(note.title))}"
            if note.description:
                line += f" — {escape.text(note.description)}"
            lines.append(line)
        pages[page] = "\n".join(lines) + "\n"
    index = f"{TAGS_DIR}/index.md"
    lines = [frontmatter("Tags", "Every tag the notes carry."), "# Tags", ""]
    for page in sorted(by_tag, key=lambda p: names[p].casefold()):
        lines.append(f"- {link(index, page, escape.text(names[page]))} ({len(by_tag[page])})")
    pages[index] = "\n".join(lines) + "\n"
    return pages
