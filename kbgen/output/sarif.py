"""``--format sarif``: SARIF 2.1.0, validated against the OASIS schema in the tests."""

from __future__ import annotations

import json
from typing import Any

from kbgen.output.report import Report
from kbgen.rules.base import Severity

_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def render(report: Report) -> str:
    rules = sorted(report.rules, key=lambda r: r.code)
    index = {rule.code: i for i, rule in enumerate(rules)}
    results: list[dict[str, Any]] = []
    for finding in report.findings:
        result: dict[str, Any] = {
            "ruleId": finding.code,
            "level": _LEVEL[finding.severity],
            "message": {"text": finding.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": finding.path, "uriBaseId": "PROJECTROOT"},
                        "region": {"startLine": finding.line, "startColumn": finding.column},
                    },
                }
            ],
        }
        if finding.code in index:
            result["ruleIndex"] = index[finding.code]
        if finding.fix:
            result["fixes"] = [
                {
                    "description": {"text": f"{finding.fix.description} ({finding.fix.safety})"},
                    "artifactChanges": [
                        {
                            "artifactLocation": {"uri": finding.path, "uriBaseId": "PROJECTROOT"},
                            "replacements": [
                                {
                                    "deletedRegion": {
                                        "startLine": e.line,
                                        "startColumn": e.start_column,
                                        "endColumn": e.end_column,
                                    },
                                    "insertedContent": {"text": e.text},
                                }
                                for e in finding.fix.edits
                            ],
                        }
                    ],
                }
            ]
        results.append(result)
    document = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "kbgen",
                        "version": report.tool_version,
                        "rules": [
                            {
                                "id": rule.code,
                                "name": rule.name,
                                "shortDescription": {"text": rule.summary},
                                "fullDescription": {"text": rule.section("What it does")},
                                "help": {
                                    "text": rule.section("Why is this bad?"),
                                    "markdown": rule.doc,
                                },
                                "defaultConfiguration": {"level": _LEVEL[rule.severity]},
                                "properties": {
                                    "family": rule.family,
                                    "fixSafety": str(rule.fix_safety),
                                },
                            }
                            for rule in rules
                        ],
                    }
                },
                "columnKind": "unicodeCodePoints",
                "originalUriBaseIds": {"PROJECTROOT": {"uri": "./"}},
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
