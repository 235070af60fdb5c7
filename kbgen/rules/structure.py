"""KB2xx: how the wiki hangs together (indexes, orphans, required sections, raw notes)."""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict
from collections.abc import Iterator
from urllib.parse import quote

from kbgen.rules.base import Edit, Fix, FixSafety, Hit, Severity, rule
from kbgen.rules.context import Context
from kbgen.vault.files import matches
from kbgen.vault.model import Vault
from kbgen.vault.parse import parse_note
from kbgen.vault.records import Link, Note
from kbgen.vault.resolve import Resolver

FAMILY = "structure"


def is_index(vault: Vault, path: str) -> bool:
    config = vault.config
    return path.rsplit("/", 1)[-1] == config.index_name or path in (
        config.master_index,
        config.home,
    )


def _linked_from(vault: Vault, index: str) -> set[str]:
    """Notes (paths) that ``index`` links to, however it links."""
    return {
        r.target_note
        for r in vault.links_by_source.get(index, ())
        if r.resolution.ok and r.target_note
    }


def _topic_indexes(vault: Vault) -> list[str]:
    """Index notes of the folders directly under the topics root, sorted."""
    config = vault.config
    root = config.topics_root.strip("/")
    return sorted(
        p
        for p in vault.notes
        if p.rsplit("/", 1)[-1] == config.index_name
        and posixpath.dirname(posixpath.dirname(p)) == root
        and posixpath.dirname(p) != root
    )


#: Markdown punctuation that could make a summary more than text: emphasis, code, links,
#: HTML, headings, tables, tags, block ids, macros, Obsidian comments and highlights.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|!~^$&=%])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
#: A summary longer than this is cut (with an ellipsis).
SUMMARY_CHARS = 200


def summary(text: str | None) -> str:
    """A safe one-line summary of ``text`` for an index line: its first non-blank line,
    control characters as spaces, Markdown-escaped, at most :data:`SUMMARY_CHARS` long."""
    first = next((line for line in (text or "").splitlines() if line.strip()), "")
    first = " ".join(_CONTROL.sub(" ", first).split())
    if len(first) > SUMMARY_CHARS:
        first = first[: SUMMARY_CHARS - 1].rstrip() + "…"
    return _MARKDOWN_SPECIAL.sub(r"\\\1", first)


def _label(text: str) -> str:
    """Display text for a wikilink alias: one line, without the characters that end or
    split a wikilink or that a renderer could read as markup."""
    first = next((line for line in (text or "").splitlines() if line.strip()), "")
    return " ".join(re.sub(r"[\[\]|{}<>\\`#^]", " ", _CONTROL.sub(" ", first)).split())


class _IndexEntries:
    """Lines the index fixes append: each one is checked, by kbgen's own parser and
    resolver, to hold exactly one link and that link to land on the note it lists, so
    that the next run finds the note listed (a fix is idempotent) and the line brings
    no other finding with it. When no form of the link qualifies, no fix is offered."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._resolver: Resolver | None = None

    @property
    def resolver(self) -> Resolver:
        if self._resolver is None:
            vault, trace = self.ctx.vault, self.ctx.trace
            extra: list = []
            if trace is not None:
                from kbgen.trace.model import control_targets, risk_targets

                extra = [*control_targets(trace.controls), *risk_targets(trace.risks)]
            self._resolver = Resolver(
                vault.notes,
                vault.attachments,
                vault.folders,
                index_name=vault.config.index_name,
                extra_targets=extra,
            )
        return self._resolver

    def line(self, index: Note, note: Note, *, label: str | None) -> str | None:
        """``- <link> — <summary>`` (or without the summary), or None."""
        text = summary(note.description or note.title)
        for link in self._links(index, note, label):
            for line in ((f"- {link} — {text}" if text else None), f"- {link}"):
                if line is not None and self._lists(index, note, line):
                    return line
        return None

    def _links(self, index: Note, note: Note, label: str | None) -> Iterator[str]:
        target = note.path.removesuffix(".md")
        alias = _label(label) if label is not None else ""
        bar = f"|{alias}" if alias else ""
        if label is None:
            yield f"[[{note.stem}]]"
            # Path-qualified, shortest first: the first that names only this note.
            parts = target.split("/")
            for start in range(len(parts) - 2, -1, -1):
                yield f"[[{'/'.join(parts[start:])}]]"
        else:
            yield f"[[{target}{bar}]]"
        # Names a wikilink cannot hold (``#``, ``|``, ``^``, ``]``): a Markdown link.
        relative = posixpath.relpath(note.path, index.folder or ".")
        text = summary(alias or note.title) or summary(note.stem) or "link"
        yield f"[{text}]({quote(relative)})"

    def _lists(self, index: Note, note: Note, line: str) -> bool:
        parsed = parse_note(index.path, line.encode("utf-8"))
        if (
            parsed.problems
            or parsed.tags
            or parsed.code_spans
            or parsed.block_ids
            or parsed.headings
            or parsed.suppressions
            or parsed.tables
            or getattr(parsed, "macros", ())
            or getattr(parsed, "html", ())
            or len(parsed.links) != 1
        ):
            return False
        return self._lands_on(parsed.links[0], index, note)

    def _lands_on(self, link: Link, index: Note, note: Note) -> bool:
        found = self.resolver.resolve(link, index)
        return (
            found.ok
            and found.anchor is None
            and found.target is not None
            and found.target.note == note.path
        )

    def fixes(self, index: Note, entries: list[tuple[Note, str]], what: str) -> list[Fix | None]:
        """One fix per entry (None where the entry would not list its note once written).

        The lines go after the index's last link (else at the end of the file); the
        whole result is parsed once to make sure each line is a link there too (not the
        inside of a code block or an HTML comment that runs to the end).
        """
        body_links = [
            r.link
            for r in self.ctx.vault.links_by_source.get(index.path, ())
            if r.link.origin == "body"
        ]
        after = max((link.line for link in body_links), default=index.line_count)
        attempts = [""] if body_links else ["", "\n"]  # at the end: maybe after a blank line
        fixes: list[Fix | None] = [None] * len(entries)
        for separator in attempts:
            edits = [
                Edit(index.path, after + 1, 1, 1, separator + line + "\n") for _, line in entries
            ]
            landed = self._landed(index, entries, edits, after)
            for position, ok in enumerate(landed):
                if ok and fixes[position] is None:
                    note = entries[position][0]
                    fixes[position] = Fix(
                        f"list {note.path} in {what}", FixSafety.SAFE, (edits[position],)
                    )
            if all(fixes):
                break
        return fixes

    def _landed(
        self, index: Note, entries: list[tuple[Note, str]], edits: list[Edit], after: int
    ) -> list[bool]:
        from kbgen.fix import apply_edits  # the fix module applies what rules propose

        text = apply_edits("\n".join(index.lines), edits)
        parsed = parse_note(index.path, text.encode("utf-8"))
        written = text.split("\n")
        landed = []
        for note, line in entries:
            numbers = {
                n + 1 for n, text_line in enumerate(written) if n >= after and text_line == line
            }
            landed.append(
                any(
                    link.line in numbers and self._lands_on(link, index, note)
                    for link in parsed.links
                )
            )
        return landed


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
        if (
            path in (vault.config.home, vault.config.master_index)
            or path in topics
            or path.startswith(raw_prefix)
        ):
            continue
        if not vault.inbound.get(path):
            yield Hit(path, 1, 1, f"orphan note: nothing links to {note.stem!r}")


@rule(
    "KB202", "topic-index-incomplete", family=FAMILY, severity=Severity.WARNING, fix=FixSafety.SAFE
)
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
    entries = _IndexEntries(ctx)
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
        missing = [
            note
            for note in by_folder.get(index.folder, ())
            if note.path != index_path and note.path not in listed
        ]
        if not missing:
            continue
        lines = [
            entries.line(index, note, label=None if note.folder == index.folder else note.title)
            for note in missing
        ]
        fixable = [(note, line) for note, line in zip(missing, lines, strict=True) if line]
        fixes = dict(
            zip(
                (note.path for note, _ in fixable),
                entries.fixes(index, fixable, "the index"),
                strict=True,
            )
        )
        for note in missing:
            yield Hit(index_path, 1, 1, f"index does not list {note.path}", fixes.get(note.path))


@rule(
    "KB203",
    "master-index-missing-topic",
    family=FAMILY,
    severity=Severity.WARNING,
    fix=FixSafety.SAFE,
)
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
        yield Hit(
            config.master_index,
            1,
            1,
            f"no master index at {config.master_index} for {len(topics)} topics",
        )
        return
    listed = _linked_from(vault, master.path)
    missing = [vault.notes[topic] for topic in topics if topic not in listed]
    if not missing:
        return
    entries = _IndexEntries(ctx)
    lines = [entries.line(master, note, label=note.title) for note in missing]
    fixable = [(note, line) for note, line in zip(missing, lines, strict=True) if line]
    fixes = dict(
        zip(
            (note.path for note, _ in fixable),
            entries.fixes(master, fixable, "the master index"),
            strict=True,
        )
    )
    for note in missing:
        yield Hit(
            master.path, 1, 1, f"master index does not list topic {note.path}", fixes.get(note.path)
        )


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
                    yield Hit(
                        path, max(note.line_count, 1), 1, f"missing required section '## {section}'"
                    )


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
            yield Hit(
                path, 1, 1, f"file name is also used by {others}; [[links]] to it are ambiguous"
            )
