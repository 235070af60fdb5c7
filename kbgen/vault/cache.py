"""A cache of parsed notes on disk, so an unchanged note is not parsed again next run.

Entries are keyed by the note's vault path and validated by size and modification
time (nanoseconds), like most linters' caches. The file is JSON (see
:mod:`kbgen.vault.packing`): reading it can never execute anything, and every entry
is checked field by field when it is used, so a damaged, foreign or planted file
only costs a cold parse. It lives under the project's cache folder (``cache-dir``,
default ``.kbgen/``, which the configuration keeps inside the project) and is
written atomically; a cache from another kbgen version or format is ignored.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from kbgen import __version__
from kbgen.fileio import atomic_write
from kbgen.vault.packing import PackError, pack, unpack
from kbgen.vault.records import Note

#: Bump when the records or the parser change what they produce.
FORMAT = 6
#: A cache file larger than this is not read (a vault of 50,000 notes needs ~300 MB).
MAX_BYTES = 2 << 30


class ParseCache:
    def __init__(self, directory: Path, vault_root: Path) -> None:
        key = hashlib.sha256(f"{__version__}|{FORMAT}|{vault_root}".encode()).hexdigest()[:16]
        self.path = directory / f"notes-{key}.json"
        self._old: dict[str, list] = self._read()
        self._new: dict[str, list] = {}
        #: Whether this run parsed a note the cache did not hold (or held damaged).
        self._changed = False

    def _read(self) -> dict[str, list]:
        try:
            if self.path.stat().st_size > MAX_BYTES:
                return {}
            data = json.loads(self.path.read_bytes())
        except (OSError, ValueError, RecursionError):
            return {}
        if (
            not isinstance(data, dict)
            or data.get("kbgen_parse_cache") != FORMAT
            or data.get("version") != __version__
            or not isinstance(data.get("notes"), dict)
        ):
            return {}
        # Entries of the wrong shape are dropped here, so nothing below trips on them.
        return {rel: entry for rel, entry in data["notes"].items() if _valid_entry(entry)}

    def get(self, rel: str, stat: os.stat_result) -> Note | None:
        """The cached note when its entry matches the file's size and time and is well
        formed; None otherwise (the caller parses the file)."""
        entry = self._old.get(rel)
        if entry is None or entry[0] != stat.st_size or entry[1] != stat.st_mtime_ns:
            return None
        try:
            note = unpack(entry[2])
        except PackError:
            return None
        if note.path != rel:
            return None
        self._new[rel] = entry
        return note

    def keep(self, rel: str, stat: os.stat_result, note: Note) -> None:
        """Keep ``note`` in the cache written by :meth:`save` (unless already there)."""
        if rel in self._new:
            return
        self._changed = True
        # A note whose frontmatter holds a value the safe loader does not produce is not
        # cached (pack raises TypeError).
        with contextlib.suppress(TypeError):
            self._new[rel] = [stat.st_size, stat.st_mtime_ns, pack(note)]

    def save(self) -> None:
        if not self._changed and self._new.keys() == self._old.keys():
            return  # every note came from the cache as it is
        document = {"kbgen_parse_cache": FORMAT, "version": __version__, "notes": self._new}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            gitignore = self.path.parent / ".gitignore"
            if not gitignore.exists():
                atomic_write(gitignore, b"# kbgen's cache\n*\n")
            data = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
            atomic_write(self.path, data.encode("utf-8", "surrogatepass"))
        except OSError:
            pass  # a read-only checkout simply runs without a cache


def _valid_entry(entry: Any) -> bool:
    return (
        type(entry) is list and len(entry) == 3 and type(entry[0]) is int and type(entry[1]) is int
    )
