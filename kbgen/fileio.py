"""The two file-system primitives every writer and reader of kbgen shares.

* :func:`atomic_write`: a file is replaced whole or not at all (a temporary file in
  the same folder, renamed over the target; removed again if anything fails).
* :func:`inside`: whether a path, symlinks resolved, stays below a root. kbgen never
  reads or writes outside the project's configured roots; this is the one check.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write(path: Path, data: bytes, *, durable: bool = False) -> None:
    """Replace ``path`` with ``data`` atomically, keeping an existing file's permission
    bits. ``durable`` also flushes the data to disk before the rename (for files a
    person wrote, such as notes; caches and build output do not need it)."""
    try:
        mode: int | None = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    handle, temporary = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".kbgen-tmp", dir=path.parent
    )
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            if durable:
                stream.flush()
                os.fsync(stream.fileno())
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def inside(path: Path, root: Path) -> bool:
    """Whether ``path`` (symlinks resolved) is ``root`` or below it (also resolved)."""
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a symlink loop, an unreadable folder
        return False
