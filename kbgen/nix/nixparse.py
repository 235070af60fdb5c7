"""Optional cross-check of Nix syntax with ``nix-instantiate --parse``.

tree-sitter-nix is a tolerant grammar; Nix's own parser is the authority.
``nix-instantiate --parse`` also reports what Nix checks while parsing:
undefined variables (outside ``with``) and attributes defined twice.

Behaviour of ``nix-instantiate --parse`` (Nix 2.8, Debian's nix-bin) that
this module works around:

* Given several files it prints one parsed expression per line on stdout and
  stops at the first file that fails, so a batch is re-run from the file after
  the failing one.  Only the first error of each file is reported.
* Errors go to stderr as ``error: <message>`` followed, a few lines later, by
  ``at /abs/path/file.nix:LINE:COL:`` and a code excerpt.  COL counts bytes;
  it is converted to characters here.  A message may itself contain
  ``at <file>:<l>:<c>`` (``attribute 'a' already defined at ...``); the
  position used is the one on its own ``at`` line.
* Even for ``--parse`` it opens the Nix state directory and, when that is not
  writable, tries the daemon socket and fails.  Every run therefore gets a
  private temporary ``NIX_STATE_DIR``/``NIX_LOG_DIR`` and XDG directories.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from .model import NixParseError, Pos

__all__ = ["NixInstantiateUnavailable", "cross_check", "nix_instantiate_available"]

_EXE = "nix-instantiate"
_BATCH = 200  # files per run: keeps argv well below the kernel limit
_TIMEOUT = 120.0  # seconds per run
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_AT_LINE = re.compile(r"^\s*at (?P<file>.+?):(?P<line>\d+):(?P<col>\d+):?\s*$", re.MULTILINE)
_ERROR_LINE = re.compile(r"^error:\s*(?P<msg>.*)$", re.MULTILINE)


class NixInstantiateUnavailable(RuntimeError):
    """``nix-instantiate`` is not on PATH."""


def nix_instantiate_available() -> bool:
    """Whether ``nix-instantiate`` can be run."""
    return shutil.which(_EXE) is not None


def _env(tmp: str) -> dict[str, str]:
    env = dict(os.environ)
    for var, sub in (
        ("NIX_STATE_DIR", "state"),
        ("NIX_LOG_DIR", "log"),
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_STATE_HOME", "xdg-state"),
        ("XDG_DATA_HOME", "data"),
    ):
        env[var] = os.path.join(tmp, sub)
    env["NIX_REMOTE"] = ""  # never the daemon: parsing needs no store
    env["NO_COLOR"] = "1"
    env.pop("NIX_PATH", None)  # <nixpkgs> is not resolved by --parse anyway
    return env


def _char_column(path: Path, line: int, byte_col: int) -> int:
    """Convert Nix's 1-based byte column to a 1-based character column."""
    try:
        with path.open("rb") as fh:
            for i, raw in enumerate(fh, start=1):
                if i == line:
                    return len(raw[: byte_col - 1].decode("utf-8", errors="replace")) + 1
    except OSError:
        pass
    return byte_col


def _rel(path: Path, project_root: Path) -> str:
    try:
        return path.relative_to(project_root).as_posix()
    except ValueError:
        return path.as_posix()


def _parse_stderr(
    stderr: str, failing: Path, by_abs: dict[str, Path], project_root: Path
) -> NixParseError:
    text = _ANSI.sub("", stderr)
    m_err = _ERROR_LINE.search(text)
    message = m_err.group("msg").strip() if m_err else (text.strip().splitlines() or ["error"])[0]
    line, col = 1, 1
    target = failing
    # The first ``at`` line after the message is the error's position.
    m_at = _AT_LINE.search(text, m_err.end() if m_err else 0)
    if m_at is not None:
        target = by_abs.get(m_at.group("file"), failing)
        line = int(m_at.group("line"))
        col = _char_column(target, line, int(m_at.group("col")))
    # Messages may name other positions by absolute path; keep them project-relative.
    message = message.replace(str(project_root) + os.sep, "")
    return NixParseError(Pos(_rel(target, project_root), line, col), message, "nix-instantiate")


def cross_check(paths: list[Path], project_root: Path) -> list[NixParseError]:
    """Parse each file with ``nix-instantiate --parse``; return the errors it reports.

    Files are checked in batches; positions are project-relative like the
    rest of the index.  Raises :class:`NixInstantiateUnavailable` when the
    program is missing.  A batch that times out yields one error per file
    it did not get to.
    """
    exe = shutil.which(_EXE)
    if exe is None:
        raise NixInstantiateUnavailable(f"{_EXE} is not on PATH")
    project_root = Path(project_root).resolve()
    files = [Path(p) if Path(p).is_absolute() else project_root / p for p in paths]
    files = [p.resolve() for p in files]
    by_abs = {str(p): p for p in files}
    errors: list[NixParseError] = []
    with tempfile.TemporaryDirectory(prefix="kbgen-nix-") as tmp:
        env = _env(tmp)
        pending = files
        while pending:
            batch = pending[:_BATCH]
            try:
                proc = subprocess.run(
                    [exe, "--parse", "--", *map(str, batch)],
                    capture_output=True,
                    env=env,
                    timeout=_TIMEOUT,
                    check=False,
                    stdin=subprocess.DEVNULL,
                )
            except subprocess.TimeoutExpired:
                errors.extend(
                    NixParseError(
                        Pos(_rel(p, project_root), 1, 1),
                        "nix-instantiate timed out",
                        "nix-instantiate",
                    )
                    for p in batch
                )
                pending = pending[len(batch) :]
                continue
            if proc.returncode == 0:
                pending = pending[len(batch) :]
                continue
            # Each successfully parsed file printed one line; the next one failed.
            done = proc.stdout.count(b"\n")
            failing_index = min(done, len(batch) - 1)
            failing = batch[failing_index]
            stderr = proc.stderr.decode("utf-8", errors="replace")
            errors.append(_parse_stderr(stderr, failing, by_abs, project_root))
            pending = pending[failing_index + 1 :]
    return errors
