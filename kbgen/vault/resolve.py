"""Resolve links the way Obsidian does, but never silently pick between candidates.

The rules, with examples, are in ``docs/link-resolution.md``; each row there has a
test in ``tests/test_resolve.py``. Resolution works only on the in-memory index
of the vault: a link such as ``[[../../../etc/passwd]]`` is judged by its path and
never touches the file system.
"""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping

from kbgen.vault.model import Resolution, Target
from kbgen.vault.records import Heading, Link, Note

_SPACES = re.compile(r"\s+")


def _fold(text: str) -> str:
    return _SPACES.sub(" ", text.strip()).casefold()


class Resolver:
    """Indexes of every link target, built once; :meth:`resolve` is then cheap."""

    def __init__(
        self,
        notes: Mapping[str, Note],
        attachments: Iterable[str],
        folders: Iterable[str],
        *,
        index_name: str = "_index.md",
        extra_targets: Iterable[tuple[str, Target]] = (),
        prefix_nouns: Mapping[str, str] | None = None,
    ) -> None:
        self.notes = notes
        self.index_name = index_name
        self._by_path: dict[str, list[str]] = defaultdict(list)
        self._by_stem: dict[str, list[str]] = defaultdict(list)
        self._by_alias: dict[str, list[str]] = defaultdict(list)
        self._by_suffix: dict[str, list[str]] = _suffix_index(notes)
        # One shared, immutable answer per note for the common fragment-less link.
        self._found = {path: Resolution("ok", Target("note", path, path)) for path in notes}
        for path, note in notes.items():
            self._by_path[path.casefold()].append(path)
            self._by_stem[note.stem.casefold()].append(path)
            for alias in _aliases(note):
                self._by_alias[alias.casefold()].append(path)
        self.attachments = frozenset(attachments)
        self._attachment_by_path = {a.casefold(): a for a in self.attachments}
        self._attachment_by_name: dict[str, list[str]] = defaultdict(list)
        for attachment in self.attachments:
            self._attachment_by_name[attachment.rsplit("/", 1)[-1].casefold()].append(attachment)
        self._attachment_by_suffix = _suffix_index(self.attachments)
        self.folders = frozenset(folders)
        self._folder_by_suffix = _suffix_index(self.folders)
        #: "nist-800-53" -> "control": what to call a missing ``prefix/...`` target.
        self._prefix_nouns = dict(prefix_nouns or {})
        self._near: dict[str, set[str]] | None = None  # built on the first broken link
        self._headings: dict[str, dict[str, Heading]] = {}
        self._extra: dict[str, list[Target]] = defaultdict(list)
        for key, target in extra_targets:
            self._extra[key.casefold()].append(target)

    # -- entry point -------------------------------------------------------------------

    def resolve(self, link: Link, source: Note) -> Resolution:
        if link.kind in ("markdown", "image"):
            found = self._markdown_target(link, source)
        else:
            found = self._wikilink_target(link, source)
        if not found.ok or found.target is None or found.target.kind != "note":
            return found
        return self._fragment(link, found)

    # -- targets -----------------------------------------------------------------------

    def _wikilink_target(self, link: Link, source: Note) -> Resolution:
        target = link.target
        if not target:
            return self._found[source.path]
        if target.endswith("/"):
            return self._folder(target.rstrip("/"), source)
        if target.startswith(("./", "../")):
            path = _join(source.folder, target)
            if path is None:
                return Resolution("outside", detail="the link climbs out of the vault")
            return self._exact(path, link)
        if target.startswith("/"):
            return self._exact(target.lstrip("/"), link)
        if _has_attachment_extension(target) and target.casefold() not in self._extra:
            return self._attachment(target)
        lowered = target.removesuffix(".md").removesuffix(".MD").casefold()
        if "/" not in target:
            # Fast path: one note of that name, no alias or control sharing it.
            paths = self._by_stem.get(lowered)
            if (
                paths
                and len(paths) == 1
                and lowered not in self._by_alias
                and target.casefold() not in self._extra
            ):
                return self._found[paths[0]]
        if "/" in target:
            hits = self._by_path.get(lowered + ".md", []) or self._by_suffix.get(
                lowered + ".md", []
            )
            targets = [self._found[p].target for p in hits] + self._extra.get(target.casefold(), [])
        else:
            paths = list(
                dict.fromkeys(
                    self._by_stem.get(lowered, []) + self._by_alias.get(target.casefold(), [])
                )
            )
            targets = [self._found[p].target for p in paths] + self._extra.get(
                target.casefold(), []
            )
        return self._pick(targets, target)

    def _markdown_target(self, link: Link, source: Note) -> Resolution:
        target = link.target
        if not target:
            return self._found[source.path]
        path = target.lstrip("/") if target.startswith("/") else _join(source.folder, target)
        if path is None:
            return Resolution("outside", detail="the link climbs out of the vault")
        if path in self.notes:
            return self._found[path]
        if path in self.attachments:
            return Resolution("ok", Target("attachment", path))
        if target.endswith("/") or path in self.folders:
            index = posixpath.join(path, self.index_name) if path else self.index_name
            if index in self.notes:
                return Resolution("ok", Target("folder", path, index))
        near = self._by_path.get(path.casefold()) or (
            [self._attachment_by_path[path.casefold()]]
            if path.casefold() in self._attachment_by_path
            else []
        )
        detail = "no such file"
        if near:
            detail = f"no such file (file names are case-sensitive: did you mean {near[0]}?)"
        return Resolution("broken", candidates=tuple(near), detail=detail)

    def _exact(self, path: str, link: Link) -> Resolution:
        if _has_attachment_extension(path):
            return self._attachment(path, exact=True)
        key = path.removesuffix(".md").casefold() + ".md"
        return self._pick([self._found[p].target for p in self._by_path.get(key, [])], link.target)

    def _attachment(self, target: str, *, exact: bool = False) -> Resolution:
        lowered = target.casefold()
        if lowered in self._attachment_by_path:
            return Resolution("ok", Target("attachment", self._attachment_by_path[lowered]))
        if exact or "/" in target:
            hits = self._attachment_by_suffix.get(lowered, [])
        else:
            hits = self._attachment_by_name.get(lowered, [])
        return self._pick([Target("attachment", a) for a in hits], target, noun="attachment")

    def _folder(self, name: str, source: Note) -> Resolution:
        if name.startswith(("./", "../")):
            folder = _join(source.folder, name)
            if folder is None:
                return Resolution("outside", detail="the link climbs out of the vault")
            candidates = [folder] if folder in self.folders else []
        else:
            lowered = name.casefold()
            candidates = list(self._folder_by_suffix.get(lowered, []))
        with_index = [f for f in candidates if posixpath.join(f, self.index_name) in self.notes]
        if not with_index:
            detail = (
                f"folder {name}/ has no {self.index_name}"
                if candidates
                else f"no folder named {name}/"
            )
            return Resolution("broken", detail=detail)
        targets = [Target("folder", f, posixpath.join(f, self.index_name)) for f in with_index]
        return self._pick(targets, name + "/", noun="folder")

    def _pick(self, targets: list[Target], written: str, noun: str = "note") -> Resolution:
        unique = list(dict.fromkeys(targets))
        if len(unique) == 1:
            only = unique[0]
            return self._found[only.key] if only.kind == "note" else Resolution("ok", only)
        if len(unique) > 1:
            names = tuple(sorted(t.key for t in unique))
            return Resolution(
                "ambiguous", candidates=names, detail=f"{len(names)} candidates: {', '.join(names)}"
            )
        if noun == "note" and "/" in written:
            noun = self._prefix_nouns.get(written.split("/", 1)[0], noun)
        return Resolution(
            "broken", candidates=self._closest(written, noun), detail=f"no {noun} named {written!r}"
        )

    def _closest(self, written: str, noun: str) -> tuple[str, ...]:
        """Existing names within about one typo of ``written`` (for "did you mean").

        A deletion index (every name with each one character removed) answers in time
        proportional to the name's length, whatever the size of the vault.
        """
        if noun == "attachment":
            return ()
        if self._near is None:
            self._near = defaultdict(set)
            for stem, paths in self._by_stem.items():
                for variant in _deletions(_squash(stem)):
                    self._near[variant].update(paths)
        base = _squash(written.rsplit("/", 1)[-1].removesuffix(".md"))
        found: set[str] = set()
        for variant in _deletions(base):
            found.update(self._near.get(variant, ()))
        return tuple(sorted(found))

    # -- fragments ---------------------------------------------------------------------

    def _fragment(self, link: Link, found: Resolution) -> Resolution:
        assert found.target is not None and found.target.note is not None
        note = self.notes[found.target.note]
        if link.block:
            if any(b.id == link.block for b in note.block_ids):
                return Resolution("ok", found.target, "^" + link.block)
            return Resolution(
                "no-block", found.target, detail=f"{note.path} has no block ^{link.block}"
            )
        if link.headings:
            if len(link.headings) == 1:
                heading = self._heading_index(note).get(_fold(link.headings[0])) or find_heading(
                    note.headings, link.headings
                )
            else:
                heading = find_heading(note.headings, link.headings)
            if heading is None:
                return Resolution(
                    "no-heading",
                    found.target,
                    detail=f"{note.path} has no heading {' > '.join(link.headings)!r}",
                )
            return Resolution("ok", found.target, heading.slug)
        if link.anchor:
            if any(h.slug == link.anchor for h in note.headings) or any(
                "^" + b.id == link.anchor for b in note.block_ids
            ):
                return Resolution("ok", found.target, link.anchor)
            return Resolution(
                "no-heading", found.target, detail=f"{note.path} has no anchor #{link.anchor}"
            )
        return found

    def _heading_index(self, note: Note) -> dict[str, Heading]:
        """Folded heading text -> first heading with it, per note, built on first use."""
        index = self._headings.get(note.path)
        if index is None:
            index = {}
            for heading in note.headings:
                index.setdefault(_fold(heading.text), heading)
            self._headings[note.path] = index
        return index


def find_heading(headings: tuple[Heading, ...], path: tuple[str, ...]) -> Heading | None:
    """Follow ``#A#B``: B must be a heading below A, before A's section ends."""
    start, level, found = 0, 0, None
    for wanted in path:
        key = _fold(wanted)
        found = None
        for index in range(start, len(headings)):
            heading = headings[index]
            if level and heading.level <= level:
                break  # left the parent's section
            if _fold(heading.text) == key or heading.slug == wanted:
                found, start, level = heading, index + 1, heading.level
                break
        if found is None:
            return None
    return found


def _squash(name: str) -> str:
    """Case and separators do not count when guessing what a broken link meant."""
    return "".join(ch for ch in name.casefold() if ch.isalnum())


def _deletions(word: str) -> set[str]:
    return {word, *(word[:i] + word[i + 1 :] for i in range(len(word)))}


def _suffix_index(paths: Iterable[str]) -> dict[str, list[str]]:
    """Every trailing run of path segments (case-folded) -> the paths that end with it."""
    index: dict[str, list[str]] = defaultdict(list)
    for path in paths:
        folded = path.casefold()
        index[folded].append(path)
        position = folded.find("/")
        while position >= 0:
            index[folded[position + 1 :]].append(path)
            position = folded.find("/", position + 1)
    return index


def _aliases(note: Note) -> tuple[str, ...]:
    value = note.frontmatter.get("aliases")
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value if isinstance(v, (str, int)))
    return ()


def _join(folder: str, relative: str) -> str | None:
    """Join and normalise; None when the result would leave the vault."""
    joined = (
        posixpath.normpath(posixpath.join(folder, relative))
        if folder
        else posixpath.normpath(relative)
    )
    if joined == ".":
        return ""
    if joined.startswith("../") or joined == ".." or joined.startswith("/"):
        return None
    return joined


_NOTE_EXTENSIONS = {".md"}


def _has_attachment_extension(target: str) -> bool:
    name = target.rsplit("/", 1)[-1]
    if "." not in name.strip("."):
        return False
    extension = "." + name.rsplit(".", 1)[-1].casefold()
    # Dots are common in note names ("RFC 9.1 notes"); only short alphanumeric endings count.
    return (
        extension not in _NOTE_EXTENSIONS
        and 2 <= len(extension) <= 6
        and extension[1:].isalnum()
        and not extension[1:].isdigit()
    )
