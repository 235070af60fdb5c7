"""``--format github``: GitHub Actions workflow commands, one annotation a finding."""

from __future__ import annotations

from kbgen.output.report import Report
from kbgen.rules.base import Severity

_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render(report: Report) -> str:
    lines = []
    for f in report.findings:
        lines.append(
            f"::{_COMMAND[f.severity]} file={_property(f.path)},line={f.line},"
            f"col={f.column},title={_property(f'{f.code} {f.name}')}::{_data(f.message)}"
        )
    return "".join(line + "\n" for line in lines)
