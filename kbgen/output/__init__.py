"""Render findings in the formats people and CI systems read."""

from __future__ import annotations

from collections.abc import Callable

from kbgen.output import github, json_report, junit, sarif, text
from kbgen.output.report import Report

FORMATS: dict[str, Callable[[Report], str]] = {
    "concise": text.concise,
    "full": text.full,
    "json": json_report.render,
    "sarif": sarif.render,
    "junit": junit.render,
    "github": github.render,
}

__all__ = ["FORMATS", "Report"]
