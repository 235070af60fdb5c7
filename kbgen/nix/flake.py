"""The flake index: every ``*.nix`` file under the flake folder, indexed once per content."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from kbgen.errors import KbgenError

from .index import index_nix_source
from .model import FlakeIndex, NixFile, NixParseError, Pos

__all__ = ["index_flake"]

#: (path, SHA-256 of the bytes) -> the file's index; records are immutable.  A
#: long-running process (``kbgen serve``) indexes the flake on every change of
#: any note; files whose bytes did not change keep their record.
_INDEXED: dict[tuple[str, bytes], NixFile] = {}


def index_flake(flake_root: Path, project_root: Path) -> FlakeIndex:
    """Index every ``*.nix`` file under ``flake_root``, sorted by path.

    Paths are reported relative to ``project_root`` (which must contain
    ``flake_root``).  Symlinks, to files or directories, are followed only
    while they resolve inside ``project_root``; the others are listed in
    :attr:`FlakeIndex.skipped`.  A file that cannot be read is indexed as
    empty with a :class:`NixParseError`.

    Raises :class:`~kbgen.errors.KbgenError` when ``flake_root`` (the
    ``flake`` setting) is outside the project, is not a folder or cannot be read.
    """
    root = os.path.realpath(project_root)
    # Resolved, so that paths are reported as the project sees them even when
    # flake_root was given through a symlink.
    flake = os.path.realpath(flake_root)
    setting = f"[tool.kbgen] flake = {Path(os.path.relpath(flake_root, project_root)).as_posix()!r}"
    _check_flake_root(setting, flake, root)
    collector = _Collector(root)
    try:
        collector.collect(flake)
    except OSError as exc:
        raise KbgenError(
            f"{setting}: cannot read the folder {flake}: {exc.strerror or exc}"
        ) from exc

    def relative(p: str) -> str:
        return Path(os.path.relpath(p, root)).as_posix()

    files = [_index_file(path, p) for path, p in sorted((relative(p), p) for p in collector.found)]
    skipped = tuple(sorted(relative(p) for p in collector.skipped))
    return FlakeIndex(files=tuple(files), skipped=skipped)


def _index_file(path: str, real_path: str) -> NixFile:
    """One file's index (memoised by content); an unreadable file is an error entry."""
    try:
        with open(real_path, "rb") as stream:
            data = stream.read()
    except OSError as exc:
        error = NixParseError(
            Pos(path, 1, 1), f"cannot read file: {exc.strerror or exc}", "tree-sitter"
        )
        return NixFile(path, (), (), (), (), (), (error,))
    key = (path, hashlib.sha256(data).digest())
    record = _INDEXED.get(key)
    if record is None:
        record = _INDEXED[key] = index_nix_source(data, path)
    return record


def _check_flake_root(setting: str, flake: str, root: str) -> None:
    """The flake folder must be a folder inside the project."""
    if not _inside(flake, root):
        raise KbgenError(
            f"{setting} resolves to {flake}, outside the project root {root}; "
            "kbgen indexes only Nix files inside the project"
        )
    if not os.path.isdir(flake):
        why = "is not a folder" if os.path.exists(flake) else "does not exist"
        raise KbgenError(f"{setting}: {flake} {why}")


def _inside(real: str, root: str) -> bool:
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


#: Folders that hold tools' state, never Nix of the project (``flake = "."`` walks the
#: whole repository).
NEVER_WALKED = frozenset({".git", ".venv", "node_modules", "__pycache__", ".direnv", ".kbgen"})


class _Collector:
    """Every ``*.nix`` file under a folder; symlinks leaving the project are skipped.

    Only symlinks can make the walk revisit a directory, so only their targets
    are resolved and remembered; that keeps the common case free of syscalls.
    A folder below the flake folder that cannot be read is passed over.
    """

    def __init__(self, project_root: str) -> None:
        self.project_root = project_root
        self.found: list[str] = []
        self.skipped: list[str] = []
        self._entered: set[str] = set()
        self._pending: list[str] = []

    def collect(self, flake_root: str) -> None:
        """Walk ``flake_root``; raises :class:`OSError` when that folder itself cannot be read."""
        self._entered.add(flake_root)
        self._visit(flake_root)
        while self._pending:
            try:
                self._visit(self._pending.pop())
            except OSError:
                continue

    def _visit(self, directory: str) -> None:
        with os.scandir(directory) as it:
            entries = list(it)
        for entry in entries:
            try:
                self._entry(entry)
            except OSError:
                if entry.name.endswith(".nix"):
                    self.found.append(entry.path)

    def _entry(self, entry: os.DirEntry[str]) -> None:
        name = entry.name
        if entry.is_symlink():
            self._symlink(entry)
        elif entry.is_dir(follow_symlinks=False):
            if name not in NEVER_WALKED:
                self._pending.append(entry.path)
        elif name.endswith(".nix") and entry.is_file(follow_symlinks=False):
            self.found.append(entry.path)  # not sockets or FIFOs: reading those could block

    def _symlink(self, entry: os.DirEntry[str]) -> None:
        """Skipped when it leaves the project; a folder is entered once."""
        name = entry.name
        real = os.path.realpath(entry.path)
        is_dir = os.path.isdir(real)
        if not _inside(real, self.project_root):
            if is_dir or name.endswith(".nix"):
                self.skipped.append(entry.path)
        elif is_dir:
            if real not in self._entered and name != ".git":
                self._entered.add(real)
                self._pending.append(entry.path)
        elif name.endswith(".nix"):
            self.found.append(entry.path)  # a dangling link is reported on read
