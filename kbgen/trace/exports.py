"""Traceability matrices (CSV, JSON, Markdown) with coverage figures.

Everything here is derived from the :class:`~kbgen.trace.model.TraceModel`; the
output is sorted and stable so that it can be diffed and golden-tested.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from kbgen.trace.controls import Control
from kbgen.trace.model import TraceModel
from kbgen.trace.status import STATUSES

COLUMNS = (
    "framework",
    "control",
    "title",
    "layer",
    "status",
    "options",
    "missing_options",
    "tests",
    "policies",
    "risks",
    "source",
    "evidence",
)


@dataclass(frozen=True)
class Coverage:
    """What is known of one framework's controls: a count per status, never one mixed
    "covered" figure. The headline is the share of host and hybrid controls (the ones a
    test can verify) that are ``verified``."""

    framework: str
    name: str
    total: int
    #: Host and hybrid controls: the ones the flake implements and a test can verify.
    host_and_hybrid: int
    verified: int
    by_status: dict[str, int]

    @property
    def verified_percent(self) -> float:
        return 100.0 * self.verified / self.host_and_hybrid if self.host_and_hybrid else 0.0

    def share(self, status: str) -> float:
        """Percentage of all the framework's controls that have ``status``."""
        return 100.0 * self.by_status[status] / self.total if self.total else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "framework": self.framework,
            "name": self.name,
            "total": self.total,
            "host_and_hybrid": self.host_and_hybrid,
            "verified": self.verified,
            "verified_percent": round(self.verified_percent, 1),
            "by_status": self.by_status,
            "share": {s: round(self.share(s), 1) for s in STATUSES},
        }


def matrix_rows(model: TraceModel, framework: str | None = None) -> list[dict[str, Any]]:
    rows = []
    for control in _controls(model, framework):
        valid = model.valid_options(control)
        rows.append(
            {
                "framework": control.framework,
                "control": control.id,
                "title": control.title,
                "layer": control.layer,
                "status": model.status(control),
                "evidence": _evidence(model, control),
                "options": valid,
                "missing_options": [o.path for o in control.options if o.path not in valid],
                "tests": sorted(t.name for t in model.tests_by_control.get(control.key, ())),
                "policies": model.policies_of(control),
                "risks": model.risks_of(control),
                "source": f"{model.vault.display_path(control.note)}:{control.line}",
            }
        )
    return rows


def _evidence(model: TraceModel, control: Control) -> list[dict[str, Any]]:
    """The results a control's status rests on: one entry per test that names it."""
    return [
        {
            "test": v.test,
            "result": v.outcome.value if v.outcome else None,
            "current": v.current,
            "flake_rev": v.run.flake_rev if v.run else None,
            "file": f"{v.run.path}:{v.run.line}" if v.run else None,
        }
        for v in model.status_detail(control).verdicts
    ]


def _controls(model: TraceModel, framework: str | None) -> list[Control]:
    return sorted(
        (c for c in model.controls.controls if framework is None or c.framework == framework),
        key=lambda c: (c.framework, c.note, c.line),
    )


def coverage(model: TraceModel) -> list[Coverage]:
    names = {p.framework: p.name for p in model.controls.prds}
    result = []
    for framework in sorted(names):
        controls = _controls(model, framework)
        statuses = [model.status(c) for c in controls]
        verifiable = [c for c in controls if c.layer in ("host", "hybrid")]
        result.append(
            Coverage(
                framework,
                names[framework],
                len(controls),
                len(verifiable),
                verified=sum(1 for c in verifiable if model.status(c) == "verified"),
                by_status={s: statuses.count(s) for s in STATUSES},
            )
        )
    return result


def render_matrix(model: TraceModel, fmt: str, framework: str | None = None) -> str:
    rows = matrix_rows(model, framework)
    figures = [c for c in coverage(model) if framework is None or c.framework == framework]
    if fmt == "json":
        return (
            json.dumps(
                {
                    "version": 2,
                    "evidence_supplied": model.evidence.supplied,
                    "coverage": [c.as_dict() for c in figures],
                    "controls": rows,
                },
                indent=2,
                ensure_ascii=False,
            )
            + "\n"
        )
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow(
                [
                    "; ".join(v) if isinstance(v, list) else v
                    for v in (row[c] for c in COLUMNS if c != "evidence")
                ]
                + [
                    "; ".join(
                        f"{e['test']}={e['result'] or 'no result'}"
                        f"{'' if e['current'] or not e['result'] else ' (stale)'}"
                        for e in row["evidence"]
                    )
                ]
            )
        return out.getvalue()
    if fmt == "md":
        return _markdown(rows, figures)
    raise ValueError(f"unknown matrix format {fmt!r}")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _markdown(rows: list[dict[str, Any]], figures: list[Coverage]) -> str:
    lines = [
        "| Framework | Controls | " + " | ".join(STATUSES) + " | Verified (host and hybrid) |",
        "|---|---:|" + "---:|" * len(STATUSES) + "---:|",
    ]
    for c in figures:
        lines.append(
            f"| {_cell(c.name)} | {c.total} | "
            + " | ".join(str(c.by_status[s]) for s in STATUSES)
            + f" | {c.verified} of {c.host_and_hybrid} ({c.verified_percent:.0f}%) |"
        )
    lines += [
        "",
        "| Control | Title | Layer | Status | Options | Tests | Policy / risk |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        options = ", ".join(f"`{o}`" for o in row["options"])
        if row["missing_options"]:
            options += " (missing: " + ", ".join(f"`{o}`" for o in row["missing_options"]) + ")"
        lines.append(
            f"| {row['framework']}/{_cell(row['control'])} | {_cell(row['title'])} | "
            f"{row['layer']} | {row['status']} | {_cell(options)} | "
            f"{', '.join(row['tests'])} | "
            f"{_cell(', '.join(row['policies'] + row['risks']))} |"
        )
    return "\n".join(lines) + "\n"
