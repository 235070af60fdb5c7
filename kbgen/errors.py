"""Errors that stop a run. Everything recoverable is a finding instead."""

from __future__ import annotations


class KbgenError(Exception):
    """The project cannot be read or the command line is wrong.

    Carries an optional location so the CLI can print ``file:line: message``.
    The CLI maps it to exit code 2; library code raises it and never exits.
    """

    def __init__(self, message: str, path: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line

    def __str__(self) -> str:
        where = ""
        if self.path:
            where = f"{self.path}:{self.line}: " if self.line else f"{self.path}: "
        return where + self.message


class ConfigError(KbgenError):
    """``[tool.kbgen]`` in pyproject.toml is malformed."""
