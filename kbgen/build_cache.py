"""What a long-lived process keeps between two builds of one project.

``kbgen serve`` builds the site again on every change. Most of the project did not
change, so the serve loop owns one :class:`BuildCache` and hands it to each build:
parsed notes, indexed Nix files and compiled pages are reused when their inputs are
equal. Every entry is keyed by what it is made of (sizes and modification times,
content digests, or the model records themselves, compared with ``==``), never by
object identity, and :meth:`BuildCache.evict` drops entries for files that are gone,
so the cache holds at most one entry per file of the project.

One-shot commands (``audit``, ``check``, ``build``) pass no cache: nothing here is
module-level state.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class BuildCache:
    #: Vault path -> (size, modification time in ns, parsed note).
    notes: dict[str, tuple[int, int, Any]] = field(default_factory=dict)
    #: Project path of a ``.nix`` file -> (SHA-256 of its bytes, indexed file).
    nix_files: dict[str, tuple[str, Any]] = field(default_factory=dict)
    #: Vault path -> (the page's inputs, its compiled text, the unresolved links on it).
    note_pages: dict[str, tuple[Any, str, list[str]]] = field(default_factory=dict)
    #: (inputs of the generated pages, the pages), from the last build.
    generated_pages: tuple[Any, dict[str, str]] | None = None
    #: Page of the compiled tree -> the bytes the last build wrote there.
    written: dict[str, bytes] = field(default_factory=dict)

    @staticmethod
    def evict(entries: MutableMapping[str, Any], present: Iterable[str]) -> None:
        """Drop the entries of ``entries`` whose key is not in ``present``."""
        keep = set(present)
        for key in [k for k in entries if k not in keep]:
            del entries[key]
