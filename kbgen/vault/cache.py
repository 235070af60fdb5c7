"""A cache of parsed notes, so an unchanged note is not parsed again on the next run.

Entries are keyed by the note's vault path and validated by size and modification
time (nanoseconds), like most linters' caches. The file lives under the project's
cache folder (``cache-dir``, default ``.kbgen/``) and is written atomically; a cache
from another kbgen version or parser revision is ignored. Any problem reading it
just means a cold run.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from pathlib import Path

from kbgen import __version__

#: Bump when the records or the parser change what they produce.
FORMAT = 3


class ParseCache:
    def __init__(self, directory: Path, vault_root: Path) -> None:
        key = hashlib.sha256(f"{__version__}|{FORMAT}|{vault_root}".encode()).hexdigest()[:16]
        self.path = directory / f"notes-{key}.pickle"
        self._old: dict[str, tuple[int, int, tuple]] = {}
        self._new: dict[str, tuple[int, int, tuple]] = {}
        try:
            with self.path.open("rb") as stream:
                data = pickle.load(stream)
            if isinstance(data, dict):
                self._old = data
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError,
                TypeError, ImportError, IndexError):
            self._old = {}

    def get(self, rel: str, stat: os.stat_result) -> tuple | None:
        entry = self._old.get(rel)
        if entry and entry[0] == stat.st_size and entry[1] == stat.st_mtime_ns:
            self._new[rel] = entry
            return entry[2]
        return None

    def has(self, rel: str) -> bool:
        """Whether this run already holds a current entry for ``rel``."""
        return rel in self._new

    def put(self, rel: str, stat: os.stat_result, packed: tuple) -> None:
        self._new[rel] = (stat.st_size, stat.st_mtime_ns, packed)

    def save(self) -> None:
        if self._new.keys() == self._old.keys() and all(
                self._new[k][:2] == self._old[k][:2] for k in self._new):
            return  # nothing changed
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            gitignore = self.path.parent / ".gitignore"
            if not gitignore.exists():
                gitignore.write_text("# kbgen's cache\n*\n", encoding="utf-8")
            handle, temporary = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
            with os.fdopen(handle, "wb") as stream:
                pickle.dump(self._new, stream, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, self.path)
        except OSError:
            pass  # a read-only checkout simply runs without a cache
