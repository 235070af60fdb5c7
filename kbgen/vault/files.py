"""Find and read the vault's files, staying inside the vault root.

Nothing here interprets Markdown. Symlinks are followed only when they resolve
inside the vault; any other symlink is reported and skipped, so kbgen never reads
outside the configured root. Only regular files are notes or attachments: a FIFO,
socket, device or dangling symlink is reported and never opened.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from kbgen.errors import KbgenError
from kbgen.fileio import inside

#: Folders Obsidian keeps for itself, and version-control folders.
ALWAYS_SKIPPED = frozenset({".obsidian", ".trash", ".git"})
#: A note larger than this is not parsed (the parse would take minutes, not seconds).
MAX_NOTE_BYTES = 64 * 1024 * 1024


class FileProblemKind(StrEnum):
    """What a :class:`FileProblem` is about. Each kind is reported by exactly one rule
    (the rule declares it with ``reports=``)."""

    #: A note that cannot be read, or a folder that cannot be listed.
    UNREADABLE = "unreadable"
    #: A note over :data:`MAX_NOTE_BYTES`; not parsed.
    TOO_LARGE = "too-large"
    #: A symlink whose target resolves outside the vault; not followed.
    SYMLINK_OUTSIDE = "symlink-outside"


@dataclass(frozen=True, slots=True)
class FileProblem:
    path: str
    kind: FileProblemKind
    message: str


@dataclass(frozen=True, slots=True)
class VaultFiles:
    root: Path
    #: Vault-relative POSIX paths of ``.md`` notes, sorted.
    notes: tuple[str, ...]
    #: Everything else that may be linked or embedded (images, PDFs, YAML, ...).
    attachments: frozenset[str]
    #: Every folder below the root (vault-relative, no trailing slash).
    folders: frozenset[str]
    problems: tuple[FileProblem, ...]


def matches(path: str, patterns: tuple[str, ...]) -> bool:
    """Glob match on a vault-relative path; ``dir/**`` also matches ``dir`` itself."""
    for pattern in patterns:
        if fnmatch.fnmatchcase(path, pattern):
            return True
        if pattern.endswith("/**") and (path == pattern[:-3] or path.startswith(pattern[:-2])):
            return True
    return False


def discover(root: Path, exclude: tuple[str, ...] = ()) -> VaultFiles:
    """List the vault's notes and attachments."""
    if not root.is_dir():
        raise KbgenError("vault folder not found", str(root))
    real_root = root.resolve()
    notes: list[str] = []
    attachments: set[str] = set()
    folders: set[str] = set()
    problems: list[FileProblem] = []

    def on_error(error: OSError) -> None:
        where = os.path.relpath(error.filename, real_root) if error.filename else "."
        problems.append(
            FileProblem(
                Path(where).as_posix(),
                FileProblemKind.UNREADABLE,
                f"cannot list folder: {error.strerror}",
            )
        )

    for directory, subdirs, files in os.walk(real_root, onerror=on_error):
        rel_dir = os.path.relpath(directory, real_root)
        rel_dir = "" if rel_dir == "." else Path(rel_dir).as_posix()
        kept = []
        for name in sorted(subdirs):
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if name in ALWAYS_SKIPPED or matches(rel, exclude):
                continue
            full = Path(directory, name)
            if full.is_symlink():
                # os.walk does not descend into linked folders; say so when they leave the vault.
                if not inside(full, real_root):
                    problems.append(
                        FileProblem(
                            rel,
                            FileProblemKind.SYMLINK_OUTSIDE,
                            "symlink points outside the vault; not followed",
                        )
                    )
                continue
            kept.append(name)
            folders.add(rel)
        subdirs[:] = kept
        for name in sorted(files):
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if matches(rel, exclude):
                continue
            full = Path(directory, name)
            if full.is_symlink() and not inside(full, real_root):
                problems.append(
                    FileProblem(
                        rel,
                        FileProblemKind.SYMLINK_OUTSIDE,
                        "symlink points outside the vault; not followed",
                    )
                )
                continue
            special = _not_a_regular_file(full)
            if special is not None:
                # Never opened: a FIFO blocks a read forever, a dangling link cannot be read.
                problems.append(FileProblem(rel, FileProblemKind.UNREADABLE, special))
                continue
            if name.lower().endswith(".md"):
                notes.append(rel)
            else:
                attachments.add(rel)
    notes.sort()
    return VaultFiles(
        real_root, tuple(notes), frozenset(attachments), frozenset(folders), tuple(problems)
    )


_SPECIAL_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISDIR, "a folder"),
)


def _not_a_regular_file(path: Path) -> str | None:
    """Why ``path`` (symlinks followed) is not a regular file, or None when it is one."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:  # a dangling or looping symlink, or a file that just vanished
        return f"cannot read: {exc.strerror or exc}"
    if stat.S_ISREG(mode):
        return None
    kind = next((name for test, name in _SPECIAL_KINDS if test(mode)), "a special file")
    return f"not a regular file ({kind}); not read"


def read_note(root: Path, rel: str) -> tuple[bytes | None, FileProblem | None]:
    """Read one note's bytes, or say why it cannot be read.

    The file is opened without blocking and checked to be a regular file before a byte
    is read: a FIFO swapped in since the vault was listed cannot hang the run.
    """
    full = root / rel
    try:
        handle = os.open(full, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
        with os.fdopen(handle, "rb") as stream:
            info = os.fstat(stream.fileno())
            if not stat.S_ISREG(info.st_mode):
                return None, FileProblem(
                    rel, FileProblemKind.UNREADABLE, "not a regular file; not read"
                )
            size = info.st_size
            if size > MAX_NOTE_BYTES:
                return None, FileProblem(
                    rel,
                    FileProblemKind.TOO_LARGE,
                    f"note is {size / 2**20:.0f} MiB, over the "
                    f"{MAX_NOTE_BYTES // 2**20} MiB limit; not parsed",
                )
            return stream.read(), None
    except OSError as exc:
        return None, FileProblem(
            rel, FileProblemKind.UNREADABLE, f"cannot read: {exc.strerror or exc}"
        )
