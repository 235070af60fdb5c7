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
from kbgen.trace.model import STATUSES, TraceModel

COLUMNS = ("framework", "control", "title", "layer", "status", "options", "missing_options",
           "tests", "policies", "risks", "source")


@dataclass(frozen=True)
class Coverage:
    framework: str
    name: str
    total: int
    #: host/hybrid controls with at least one option that exists.
    mapped: int
    #: controls verified by at least one test.
    tested: int
    #: controls accepted (partly) as a residual risk.
    accepted: int
    #: org controls governed by a policy.
    policy: int
    by_status: dict[str, int]

    @property
    def percent_covered(self) -> float:
        """Share of controls that are tested, governed by a policy or accepted as risk."""
        done = self.by_status["tested"] + self.by_status["policy"] + \
            self.by_status["accepted-risk"]
        return 100.0 * done / self.total if self.total else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"framework": self.framework, "name": self.name, "total": self.total,
                "mapped": self.mapped, "tested": self.tested, "accepted": self.accepted,
                "policy": self.policy, "by_status": self.by_status,
                "percent_covered": round(self.percent_covered, 1)}


def matrix_rows(model: TraceModel, framework: str | None = None) -> list[dict[str, Any]]:
    rows = []
    for control in _controls(model, framework):
        valid = model.valid_options(control)
        rows.append({
            "framework": control.framework,
            "control": control.id,
            "title": control.title,
            "layer": control.layer,
            "status": model.status(control),
            "options": valid,
            "missing_options": [o.path for o in control.options if o.path not in valid],
            "tests": sorted(t.name for t in model.tests_by_control.get(control.key, ())),
            "policies": model.policies_of(control),
            "risks": model.risks_of(control),
            "source": f"{model.vault.display_path(control.note)}:{control.line}",
        })
    return rows


def _controls(model: TraceModel, framework: str | None) -> list[Control]:
    return sorted((c for c in model.controls.controls
                   if framework is None or c.framework == framework),
                  key=lambda c: (c.framework, c.note, c.line))


def coverage(model: TraceModel) -> list[Coverage]:
    names = {p.framework: p.name for p in model.controls.prds}
    result = []
    for framework in sorted(names):
        controls = _controls(model, framework)
        statuses = [model.status(c) for c in controls]
        result.append(Coverage(
            framework, names[framework], len(controls),
            mapped=sum(1 for c in controls if c.layer != "org" and model.valid_options(c)),
            tested=sum(1 for c in controls if model.tests_by_control.get(c.key)),
            accepted=sum(1 for c in controls if model.risks_of(c)),
            policy=sum(1 for c in controls if model.policies_of(c)),
            by_status={s: statuses.count(s) for s in STATUSES}))
    return result


def render_matrix(model: TraceModel, fmt: str, framework: str | None = None) -> str:
    rows = matrix_rows(model, framework)
    figures = [c for c in coverage(model) if framework is None or c.framework == framework]
    if fmt == "json":
        return json.dumps({"version": 1, "coverage": [c.as_dict() for c in figures],
                           "controls": rows}, indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow(["; ".join(v) if isinstance(v, list) else v
                             for v in (row[c] for c in COLUMNS)])
        return out.getvalue()
    if fmt == "md":
        return _markdown(rows, figures)
    raise ValueError(f"unknown matrix format {fmt!r}")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _markdown(rows: list[dict[str, Any]], figures: list[Coverage]) -> str:
    lines = ["| Framework | Controls | Mapped | Tested | Policy | Accepted risk | Covered |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for c in figures:
        lines.append(f"| {_cell(c.name)} | {c.total} | {c.mapped} | {c.tested} | {c.policy} | "
                     f"{c.accepted} | {c.percent_covered:.0f}% |")
    lines += ["", "| Control | Title | Layer | Status | Options | Tests | Policy / risk |",
              "|---|---|---|---|---|---|---|"]
    for row in rows:
        options = ", ".join(f"`{o}`" for o in row["options"])
        if row["missing_options"]:
            options += " (missing: " + ", ".join(f"`{o}`" for o in row["missing_options"]) + ")"
        lines.append(f"| {row['framework']}/{_cell(row['control'])} | {_cell(row['title'])} | "
                     f"{row['layer']} | {row['status']} | {_cell(options)} | "
                     f"{', '.join(row['tests'])} | "
                     f"{_cell(', '.join(row['policies'] + row['risks']))} |")
    return "\n".join(lines) + "\n"
