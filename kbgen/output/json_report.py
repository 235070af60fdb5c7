"""``--format json``: a stable, versioned document (schema in ``docs/output-formats.md``)."""

from __future__ import annotations

import json
from typing import Any

from kbgen.output.report import Report
from kbgen.rules.base import Finding

SCHEMA_VERSION = 1


def finding_dict(finding: Finding) -> dict[str, Any]:
    fix = None
    if finding.fix:
        fix = {
            "safety": str(finding.fix.safety),
            "description": finding.fix.description,
            "edits": [
                {
                    "path": e.path,
                    "line": e.line,
                    "start_column": e.start_column,
                    "end_column": e.end_column,
                    "text": e.text,
                }
                for e in finding.fix.edits
            ],
        }
    return {
        "code": finding.code,
        "name": finding.name,
        "severity": str(finding.severity),
        "path": finding.path,
        "line": finding.line,
        "column": finding.column,
        "message": finding.message,
        "fix": fix,
    }


def render(report: Report) -> str:
    counts = report.counts()
    document = {
        "version": SCHEMA_VERSION,
        "tool": {"name": "kbgen", "version": report.tool_version},
        "command": report.command,
        "findings": [finding_dict(f) for f in report.findings],
        "summary": {
            "total": len(report.findings),
            "error": counts["error"],
            "warning": counts["warning"],
            "info": counts["info"],
            "fixable": sum(1 for f in report.findings if f.fix),
        },
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
