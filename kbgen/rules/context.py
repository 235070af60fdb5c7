"""What a rule's check receives: the compiled model and read-only helpers around it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kbgen.config import Config
from kbgen.fileio import inside
from kbgen.vault.model import Vault

if TYPE_CHECKING:
    from kbgen.trace.model import TraceModel


class ProjectFiles:
    """Line counts of repository files cited by notes, read at most once each, and
    never outside the project root (symlinks included)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._lines: dict[str, int | None] = {}

    def line_count(self, rel: str) -> int | None:
        """Number of lines of ``rel`` (project-relative), or None when it is not a file
        inside the project."""
        if rel not in self._lines:
            self._lines[rel] = self._count(rel)
        return self._lines[rel]

    def is_dir(self, rel: str) -> bool:
        candidate = self.root / rel
        return inside(candidate, self.root) and candidate.resolve().is_dir()

    def _count(self, rel: str) -> int | None:
        candidate = self.root / rel
        try:
            real = candidate.resolve()
            if not inside(real, self.root) or not real.is_file():
                return None
            with real.open("rb") as handle:
                data = handle.read()
        except OSError:
            return None
        return data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)


@dataclass
class Context:
    vault: Vault
    config: Config
    files: ProjectFiles
    #: The traceability model, once compiled (trace rules read it as :attr:`trace_model`).
    trace: TraceModel | None = None

    @property
    def trace_model(self) -> TraceModel:
        """The traceability model, for trace rules; an error when it was not compiled."""
        if self.trace is None:
            raise RuntimeError(
                "a trace rule ran without the traceability model (Context.trace is None)"
            )
        return self.trace
