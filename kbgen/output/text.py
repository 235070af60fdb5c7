"""Human output: ``concise`` (one line a finding) and ``full`` (with the source line)."""

from __future__ import annotations

from kbgen.output.report import Report
from kbgen.rules.base import FixSafety


def _summary(report: Report) -> str:
    if not report.findings:
        return "All checks passed."
    counts = report.counts()
    parts = [
        f"{counts[level]} {level}{'s' if counts[level] != 1 else ''}"
        for level in ("error", "warning", "info")
        if counts[level]
    ]
    total = len(report.findings)
    line = f"Found {total} finding{'s' if total != 1 else ''} ({', '.join(parts)})."
    safe, unsafe = report.fixable(FixSafety.SAFE), report.fixable(FixSafety.UNSAFE)
    if safe:
        line += f"\n{safe} fixable with --fix."
    if unsafe:
        line += f"\n{unsafe} more fixable with --fix --unsafe-fixes."
    return line


def concise(report: Report) -> str:
    lines = [f"{f.path}:{f.line}:{f.column}: {f.code} {f.message}" for f in report.findings]
    lines.append(_summary(report))
    return "\n".join(lines) + "\n"


def full(report: Report) -> str:
    out: list[str] = []
    for finding in report.findings:
        out.append(
            f"{finding.path}:{finding.line}:{finding.column}: {finding.code} "
            f"[{finding.severity}] {finding.name}"
        )
        out.append(f"  {finding.message}")
        source = report.source_line(finding)
        if source:
            gutter = str(finding.line)
            pad = " " * len(gutter)
            out.append(f" {pad} |")
            out.append(f" {gutter} | {source}")
            caret_at = max(finding.column - 1, 0)
            out.append(f" {pad} | {' ' * caret_at}^")
        if finding.fix:
            out.append(f"  = fix ({finding.fix.safety}): {finding.fix.description}")
        out.append("")
    out.append(_summary(report))
    return "\n".join(out) + "\n"
