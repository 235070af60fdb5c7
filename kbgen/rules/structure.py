"""KB2xx: how the wiki hangs together (indexes, orphans, required sections, raw notes)."""

from __future__ import annotations

import posixpath
from collections import defaultdict
from collections.abc import Iterator

from kbgen.rules.base import Edit, Fix, FixSafety, Hit, Severity, rule
from kbgen.rules.context import Context
from kbgen.vault.files import matches
from kbgen.vault.model import Vault
from kbgen.vault.records import Note

FAMILY = "structure"


def is_index(vault: Vault, path: str) -> bool:
    config = vault.config
    return path.rsplit("/", 1)[-1] == config.index_name or path in (config.master_index,
                                                                     config.home)


def _linked_from(vault: Vault, index: str) -> set[str]:
    """Notes (paths) that ``index`` links to, however it links."""
    return {r.target_note for r in vault.links_by_source.get(index, ())
            if r.resolution.ok and r.target_note}


def _append_line_fix(vault: Vault, index: Note, line_text: str, description: str) -> Fix:
    """Insert a list line after the index's last body link, else at the end of the file."""
    body_links = [r.link for r in vault.links_by_source.get(index.path, ())
                  if r.link.origin == "body"]
    after = max((link.line for link in body_links), default=index.line_count)
    return Fix(description, FixSafety.SAFE, (Edit(index.path, after + 1, 1, 1, line_text + "\n"),))


def _topic_indexes(vault: Vault) -> list[str]:
    """Index notes of the folders directly under the topics root, sorted."""
    config = vault.config
    root = config.topics_root.strip("/")
    return sorted(p for p in vault.notes
                  if p.rsplit("/", 1)[-1] == config.index_name and
                  posixpath.dirname(posixpath.dirname(p)) == root and
                  posixpath.dirname(p) != root)


def _list_line(note: Note) -> str:
    description = note.description or note.title
    return f"- [[{note.stem}]] — {description}"


@rule("KB201", "orphan-note", family=FAMILY, severity=Severity.WARNING)
def orphan_note(ctx: Context) -> Iterator[Hit]:
    """A note that no other note links to and no index lists.

    ## What it does
    Reports notes with no incoming link, embed or index entry. The home page and the
    master index are roots and exempt; topic indexes are judged by
    `master-index-missing-topic` and raw notes by `raw-note-not-compiled`.

    ## Why is this bad?
    Nobody reading the wiki or the site can reach the note by following links, so it
    is effectively lost and rots unseen.

    ## Example
    `wiki/nixos-platform/option-renames.md` exists but neither
    `wiki/nixos-platform/_index.md` nor any article links to it.

    ## Fix safety
    No fix here; `topic-index-incomplete` offers the safe fix of listing it in its index.
    """
    vault = ctx.vault
    raw_prefix = vault.config.raw_dir.rstrip("/") + "/"
    topics = set(_topic_indexes(vault))
    for path, note in vault.notes.items():
        if path in (vault.config.home, vault.config.master_index) or path in topics or \
                path.startswith(raw_prefix):
            continue
        if not vault.inbound.get(path):
            yield Hit(path, 1, 1, f"orphan note: nothing links to {note.stem!r}")


@rule("KB202", "topic-index-incomplete", family=FAMILY, severity=Severity.WARNING,
      fix=FixSafety.SAFE)
def topic_index_incomplete(ctx: Context) -> Iterator[Hit]:
    """A folder's `_index.md` that does not list every article of its folder.

    ## What it does
    For every folder with an index note, reports each note of that folder (and each
    sub-folder index) that the index does not link to.

    ## Why is this bad?
    The index is the reader's table of contents; an article missing from it is hard
    to find and looks unfinished.

    ## Example
    `wiki/hipaa/_index.md` lists `risk-analysis` but not the new `breach-notification`.

    ## Fix safety
    A *safe* fix appends `- [[article]] — description` after the index's last link
    (the description comes from the article's frontmatter). Nothing else in the index
    changes.
    """
    vault = ctx.vault
    name = vault.config.index_name
    by_folder: dict[str, list[Note]] = defaultdict(list)
    for note in vault.notes.values():
        by_folder[note.folder].append(note)
        if note.path.rsplit("/", 1)[-1] == name and note.folder:
            # A sub-folder's index is an entry of the parent folder's index.
            by_folder[posixpath.dirname(note.folder)].append(note)
    for index_path, index in vault.notes.items():
        if index_path.rsplit("/", 1)[-1] != name:
            continue
        listed = _linked_from(vault, index_path)
        for note in by_folder.get(index.folder, ()):
            if note.path == index_path or note.path in listed:
                continue
            if note.folder == index.folder:
                line = _list_line(note)
            else:
                line = (f"- [[{note.path.removesuffix('.md')}|{note.title}]] — "
                        f"{note.description or note.title}")
            yield Hit(index_path, 1, 1, f"index does not list {note.path}",
                      _append_line_fix(vault, index, line, f"list {note.path} in the index"))


@rule("KB203", "master-index-missing-topic", family=FAMILY, severity=Severity.WARNING,
      fix=FixSafety.SAFE)
def master_index_missing_topic(ctx: Context) -> Iterator[Hit]:
    """The master index does not list a topic's index.

    ## What it does
    Every folder directly under the topics root (default `wiki/`) that has an index
    note must be linked from the master index (default `wiki/_master-index.md`).
    A missing master index is reported once.

    ## Why is this bad?
    The master index is how readers discover topics; an unlisted topic is invisible.

    ## Example
    `wiki/review-findings/_index.md` exists but `_master-index.md` does not link it.

    ## Fix safety
    A *safe* fix appends a line linking the topic's index after the master index's
    last link.
    """
    vault = ctx.vault
    config = vault.config
    topics = _topic_indexes(vault)
    if not topics:
        return
    master = vault.notes.get(config.master_index)
    if master is None:
        yield Hit(config.master_index, 1, 1,
                  f"no master index at {config.master_index} for {len(topics)} topics")
        return
    listed = _linked_from(vault, master.path)
    for topic in topics:
        if topic not in listed:
            note = vault.notes[topic]
            line = f"- [[{topic.removesuffix('.md')}|{note.title}]] — " \
                   f"{note.description or note.title}"
            yield Hit(master.path, 1, 1, f"master index does not list topic {topic}",
                      _append_line_fix(vault, master, line, f"list {topic}"))


@rule("KB204", "missing-required-section", family=FAMILY, severity=Severity.WARNING)
def missing_required_section(ctx: Context) -> Iterator[Hit]:
    """A note without a section its folder requires.

    ## What it does
    `required-sections` in `[tool.kbgen]` maps folder globs to headings; the default
    requires `## Key Takeaways` in every wiki article. Index notes are exempt.

    ## Why is this bad?
    Readers skim; a missing summary section breaks the shape every article promises.

    ## Example
    A wiki article that ends after its last paragraph, with no `## Key Takeaways`.

    ## Fix safety
    No fix: the section needs content written by a person.
    """
    vault = ctx.vault
    for path, note in vault.notes.items():
        if is_index(vault, path):
            continue
        for pattern, sections in vault.config.required_sections.items():
            if not matches(path, (pattern,)):
                continue
            have = {h.text.casefold() for h in note.headings}
            for section in sections:
                if section.casefold() not in have:
                    yield Hit(path, max(note.line_count, 1), 1,
                              f"missing required section '## {section}'")


@rule("KB205", "raw-note-not-compiled", family=FAMILY, severity=Severity.WARNING)
def raw_note_not_compiled(ctx: Context) -> Iterator[Hit]:
    """A raw source note that no wiki article cites.

    ## What it does
    Reports notes under the raw folder (default `raw/`) that no note under the topics
    root lists in its `sources` frontmatter or links to.

    ## Why is this bad?
    Raw notes are research waiting to be compiled into the wiki; one nobody cites is
    either forgotten knowledge or dead weight.

    ## Example
    `raw/2026-05-cuda-wx-investigation.md` exists, but no article has it in `sources`.

    ## Fix safety
    No fix.
    """
    vault = ctx.vault
    raw_prefix = vault.config.raw_dir.rstrip("/") + "/"
    topics_prefix = vault.config.topics_root.rstrip("/") + "/"
    for path in vault.notes:
        if not path.startswith(raw_prefix) or is_index(vault, path):
            continue
        citing = [r for r in vault.inbound.get(path, ()) if r.source.startswith(topics_prefix)]
        if not citing:
            yield Hit(path, 1, 1, "raw note is not cited by any wiki article")


def _duplicates(vault: Vault, key) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for path, note in vault.notes.items():
        if path.rsplit("/", 1)[-1] == vault.config.index_name:
            continue
        groups[key(note)].append(path)
    return {k: v for k, v in groups.items() if len(v) > 1}


@rule("KB206", "duplicate-title", family=FAMILY, severity=Severity.WARNING)
def duplicate_title(ctx: Context) -> Iterator[Hit]:
    """Two notes with the same title.

    ## What it does
    Reports every note whose title (frontmatter `title`, else first heading, else file
    name) equals another note's, ignoring case. Index notes are exempt.

    ## Why is this bad?
    Search results and navigation show two identical entries and readers cannot tell
    which one is current.

    ## Example
    `wiki/hipaa/overview.md` and `wiki/pci-dss/overview.md` both titled "Overview".

    ## Fix safety
    No fix.
    """
    for paths in _duplicates(ctx.vault, lambda n: n.title.casefold()).values():
        for path in sorted(paths)[1:]:
            others = ", ".join(p for p in sorted(paths) if p != path)
            yield Hit(path, 1, 1, f"title {ctx.vault.notes[path].title!r} is also used by {others}")


@rule("KB207", "duplicate-basename", family=FAMILY, severity=Severity.WARNING)
def duplicate_basename(ctx: Context) -> Iterator[Hit]:
    """Two notes with the same file name in different folders.

    ## What it does
    Reports notes whose file name (case-insensitive) is shared with another note;
    `_index.md` is exempt.

    ## Why is this bad?
    Every `[[name]]` link to either note becomes ambiguous, now or as soon as one is
    written.

    ## Example
    `wiki/architecture/overview.md` and `wiki/hipaa/overview.md`.

    ## Fix safety
    No fix: renaming a note is a decision.
    """
    for paths in _duplicates(ctx.vault, lambda n: n.stem.casefold()).values():
        for path in sorted(paths)[1:]:
            others = ", ".join(p for p in sorted(paths) if p != path)
            yield Hit(path, 1, 1, f"file name is also used by {others}; [[links]] to it are "
                                  f"ambiguous")
