"""Walking the repository for ``kbgen init``: which folders are searched, which files
are read, and how (never following a symlink out of the repository, never blocking on a
FIFO, never reading a file over :data:`MAX_READ_BYTES`)."""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from kbgen.config import KBGEN_TOML
from kbgen.fileio import inside
from kbgen.vault.parse import parse_note
from kbgen.vault.records import Note

#: Markdown and Nix files larger than this are not read.
MAX_READ_BYTES = 2 * 1024 * 1024
_SKIP_ANYWHERE = frozenset({"node_modules", "__pycache__"})
_SKIP_AT_ROOT = frozenset({"build", "site"})
_TEST_DATA = frozenset({"fixtures", "testdata", "test-data"})
#: Files worth parsing: they may hold a control table or a ``framework`` key.
_WORTH_PARSING = re.compile(rb"(?i)layer|framework")


@dataclass(frozen=True)
class Found:
    """Something found (or skipped): its project-relative POSIX path, and why."""

    path: str
    why: str


@dataclass
class Tree:
    """The files of the repository that ``init`` looks at (project-relative paths)."""

    vaults: list[str] = field(default_factory=list)
    folders: set[str] = field(default_factory=set)
    markdown: list[str] = field(default_factory=list)
    yaml: list[str] = field(default_factory=list)
    nix: list[str] = field(default_factory=list)
    flakes: list[str] = field(default_factory=list)
    policies: list[str] = field(default_factory=list)
    skipped: list[Found] = field(default_factory=list)


def below(path: str, folder: str) -> bool:
    return folder == "" or path == folder or path.startswith(folder + "/")


def shown(path: str) -> str:
    return path or "."


def _skip_reason(name: str, parent: str, full: str) -> str | None:
    """Why a folder is not searched ("" for a silent skip), or None to search it."""
    if name.startswith(".") or name in _SKIP_ANYWHERE or os.path.islink(full):
        return ""
    if not parent and name in _SKIP_AT_ROOT:
        return ""
    if name in _TEST_DATA:
        return "test data; not searched"
    if os.path.isfile(os.path.join(full, KBGEN_TOML)):
        return f"has its own {KBGEN_TOML}; not searched"
    if os.path.isfile(os.path.join(full, "pyproject.toml")):
        data, _ = read_file(Path(full), "pyproject.toml")
        if data is not None and b"[tool.kbgen" in data:
            return "its pyproject.toml configures kbgen; not searched"
    return None


def walk(root: Path) -> Tree:
    tree = Tree()

    def on_error(error: OSError) -> None:
        where = os.path.relpath(error.filename, root) if error.filename else "."
        tree.skipped.append(Found(Path(where).as_posix(), f"cannot list: {error.strerror}"))

    for directory, subdirs, files in os.walk(root, onerror=on_error):
        rel = Path(os.path.relpath(directory, root)).as_posix()
        rel = "" if rel == "." else rel
        obsidian = os.path.join(directory, ".obsidian")
        if (
            not any(below(rel, v) for v in tree.vaults)
            and os.path.isdir(obsidian)
            and not os.path.islink(obsidian)
        ):
            tree.vaults.append(rel)
        kept = []
        for name in sorted(subdirs):
            child = f"{rel}/{name}" if rel else name
            why = _skip_reason(name, rel, os.path.join(directory, name))
            if why is None and _unusable(name):
                why = "a name kbgen cannot configure (control character or backslash)"
            if why is not None:
                if why:
                    tree.skipped.append(Found(child, why))
                continue
            kept.append(name)
            tree.folders.add(child)
            if name == "policies":
                tree.policies.append(child)
        subdirs[:] = kept
        for name in sorted(files):
            _add_file(tree, root, rel, name)
    return tree


def _unusable(name: str) -> bool:
    return "\\" in name or any(ord(c) < 32 or ord(c) == 127 for c in name)


def _add_file(tree: Tree, root: Path, folder: str, name: str) -> None:
    lower = name.lower()
    if lower.endswith(".md"):
        into = tree.markdown
    elif lower.endswith(".nix"):
        into = tree.nix
    elif lower.endswith((".yaml", ".yml")) and "resolved-settings" in lower:
        into = tree.yaml
    else:
        return
    path = f"{folder}/{name}" if folder else name
    if _unusable(name):
        tree.skipped.append(Found(path, "a name kbgen cannot configure; not read"))
        return
    full = root / path
    if full.is_symlink() and not inside(full, root):
        tree.skipped.append(Found(path, "symlink out of the repository; not followed"))
        return
    into.append(path)
    if name == "flake.nix":
        tree.flakes.append(folder)


def read_file(root: Path, path: str) -> tuple[bytes | None, str]:
    """A file's bytes, or None and why it was not read. Never blocks on a FIFO."""
    try:
        handle = os.open(root / path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
        with os.fdopen(handle, "rb") as stream:
            info = os.fstat(stream.fileno())
            if not stat.S_ISREG(info.st_mode):
                return None, "not a regular file; not read"
            if info.st_size > MAX_READ_BYTES:
                return None, f"over {MAX_READ_BYTES // 2**20} MiB; not read"
            return stream.read(MAX_READ_BYTES + 1), ""
    except OSError as exc:
        return None, f"cannot read: {exc.strerror or exc}"


def parse_markdown(root: Path, tree: Tree) -> dict[str, Note]:
    """The parsed notes that may matter: those that mention a layer or a framework, and
    the residual-risk register candidates. Unreadable files go to ``tree.skipped``."""
    notes = {}
    for path in tree.markdown:
        data, why = read_file(root, path)
        if data is None:
            tree.skipped.append(Found(path, why))
            continue
        if _WORTH_PARSING.search(data) or "residual-risk" in path.rsplit("/", 1)[-1].lower():
            try:
                notes[path] = parse_note(path, data)
            except Exception as exc:  # a parser bug must not stop init
                tree.skipped.append(Found(path, f"cannot parse: {type(exc).__name__}"))
    return notes
