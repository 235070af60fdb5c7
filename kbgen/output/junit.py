"""``--format junit``: one test suite per file, one failing test case per finding.

A clean run still reports one passing case per rule that ran, so CI dashboards show
what was checked rather than an empty suite.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict

from kbgen.output.report import Report


def render(report: Report) -> str:
    by_file = defaultdict(list)
    for finding in report.findings:
        by_file[finding.path].append(finding)
    root = ET.Element(
        "testsuites",
        name=f"kbgen {report.command}",
        tests=str(len(report.findings) or len(report.rules)),
        failures=str(len(report.findings)),
    )
    for path in sorted(by_file):
        findings = by_file[path]
        suite = ET.SubElement(
            root, "testsuite", name=path, tests=str(len(findings)), failures=str(len(findings))
        )
        for finding in findings:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=path,
                name=f"{finding.code} {finding.name} at {finding.line}:{finding.column}",
            )
            failure = ET.SubElement(
                case, "failure", message=finding.message, type=f"{finding.code} {finding.severity}"
            )
            failure.text = f"{path}:{finding.line}:{finding.column}: {finding.message}"
    if not report.findings:
        suite = ET.SubElement(
            root,
            "testsuite",
            name=f"kbgen {report.command}",
            tests=str(len(report.rules)),
            failures="0",
        )
        for rule in sorted(report.rules, key=lambda r: r.code):
            ET.SubElement(suite, "testcase", classname="kbgen", name=f"{rule.code} {rule.name}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
