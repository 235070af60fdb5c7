"""The compiled vault: one immutable model, built once per run (its graph is built from it
by the free functions of :mod:`kbgen.vault.graph`)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from kbgen.config import Config
from kbgen.vault.files import FileProblem
from kbgen.vault.records import Link, Note
from kbgen.vault.sources import Sources

TargetKind = Literal["note", "attachment", "folder", "control", "risk"]
Status = Literal["ok", "broken", "ambiguous", "outside", "no-heading", "no-block"]


@dataclass(frozen=True, slots=True)
class Target:
    """Something a link can point to."""

    kind: TargetKind
    #: Note or attachment path, folder path, or a key such as ``nist-800-53/AC-2``.
    key: str
    #: The note that shows it (a folder's ``_index.md``, a control's PRD), if any.
    note: str | None = None
    #: Anchor of the target inside ``note`` (a control's row), if any.
    anchor: str | None = None


@dataclass(frozen=True, slots=True)
class Resolution:
    status: Status
    target: Target | None = None
    #: Heading slug or ``^block`` the link lands on.
    anchor: str | None = None
    #: For ambiguous links: every candidate; for broken ones: the closest names.
    candidates: tuple[str, ...] = ()
    #: Why it failed, in words, when it failed.
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True, slots=True)
class ResolvedLink:
    source: str
    link: Link
    resolution: Resolution

    @property
    def target_note(self) -> str | None:
        target = self.resolution.target
        return target.note if target else None


@dataclass(frozen=True)
class Vault:
    config: Config
    #: The first vault's folder; :attr:`sources` says where each note's file is.
    root: Path
    sources: Sources
    notes: MappingProxyType[str, Note]
    attachments: frozenset[str]
    folders: frozenset[str]
    file_problems: tuple[FileProblem, ...]
    links: tuple[ResolvedLink, ...]

    @cached_property
    def inbound(self) -> MappingProxyType[str, tuple[ResolvedLink, ...]]:
        """Note path -> resolved links from *other* notes that land on it."""
        found: dict[str, list[ResolvedLink]] = defaultdict(list)
        for resolved in self.links:
            target = resolved.target_note
            if target and target != resolved.source:
                found[target].append(resolved)
        return MappingProxyType({k: tuple(v) for k, v in found.items()})

    @cached_property
    def links_by_source(self) -> MappingProxyType[str, tuple[ResolvedLink, ...]]:
        found: dict[str, list[ResolvedLink]] = defaultdict(list)
        for resolved in self.links:
            found[resolved.source].append(resolved)
        return MappingProxyType({k: tuple(v) for k, v in found.items()})

    def display_path(self, note_path: str) -> str:
        """Path of a vault file as the user sees it: relative to the project root."""
        return self.sources.display_path(note_path)

    def file(self, note_path: str) -> Path:
        """The file on disk of a note or attachment."""
        return self.sources.file(note_path)
