"""The residual-risk register (a Markdown table) and the resolved settings (YAML).

The register is an append-only table: rows ``RR-01``, ``RR-02``, ... in order,
never renumbered or deleted; a superseded row keeps its number and has its risk
struck through. Resolved settings pin each cross-framework value to an option of
the canonical module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kbgen.trace.controls import TraceProblem
from kbgen.vault.metadata import MAX_EXPANDED_NODES, expanded_size
from kbgen.vault.records import Note

RISK_FIELDS = ("Risk", "Source", "Why infrastructure cannot fully mitigate",
               "What would change the answer", "Acceptance / mitigation")
RISK_ID = re.compile(r"RR-(\d{2,3})")


@dataclass(frozen=True, slots=True)
class RiskRow:
    id: str
    number: int
    title: str
    superseded: bool
    #: (field name, text) for each of :data:`RISK_FIELDS`.
    fields: tuple[tuple[str, str], ...]
    #: Indexes into the register note's ``links`` of the links in the row.
    links: tuple[int, ...]
    note: str
    line: int

    @property
    def anchor(self) -> str:
        return self.id.casefold()


@dataclass(frozen=True)
class RiskRegister:
    path: str
    exists: bool
    rows: tuple[RiskRow, ...]
    problems: tuple[TraceProblem, ...]


def extract_risks(note: Note | None, path: str) -> RiskRegister:
    if note is None:
        return RiskRegister(path, False, (), ())
    problems: list[TraceProblem] = []
    table = next((t for t in note.tables
                  if {c.text.strip().casefold() for c in t.header} >= {"id", "risk"}), None)
    if table is None:
        problems.append(TraceProblem("risk-register", "no table with 'ID' and 'Risk' columns",
                                     path, note.body_line))
        return RiskRegister(path, True, (), tuple(problems))
    columns = {c.text.strip().casefold(): i for i, c in enumerate(table.header)}
    missing = [f for f in RISK_FIELDS if f.casefold() not in columns]
    if missing:
        problems.append(TraceProblem("risk-register", "register table lacks the column(s) "
                                     + ", ".join(repr(m) for m in missing), path, table.line))
    rows: list[RiskRow] = []
    expected = 1
    for row in table.rows:
        id_cell = row[columns["id"]]
        match = RISK_ID.fullmatch(id_cell.text.strip().strip("*"))
        if not match:
            problems.append(TraceProblem("risk-row", f"row id {id_cell.text.strip()!r} is not "
                                         "of the form RR-01", path, id_cell.line))
            continue
        number = int(match.group(1))
        if number != expected:
            problems.append(TraceProblem(
                "risk-numbering", f"{match.group(0)} follows RR-{expected - 1:02d}: rows are "
                f"numbered in order and never removed (expected RR-{expected:02d})", path,
                id_cell.line))
        expected = number + 1
        fields = tuple((name, row[columns[name.casefold()]].text.strip())
                       for name in RISK_FIELDS if name.casefold() in columns)
        risk_text = dict(fields).get("Risk", "")
        superseded = risk_text.startswith("~~")
        for name, text in fields:
            if not text.strip("~ "):
                problems.append(TraceProblem("risk-row", f"{match.group(0)}: '{name}' is empty",
                                             path, id_cell.line))
        rows.append(RiskRow(match.group(0), number, risk_text.strip("~ "), superseded, fields,
                            tuple(i for cell in row for i in cell.links), path, id_cell.line))
    return RiskRegister(path, True, tuple(rows), tuple(problems))


@dataclass(frozen=True, slots=True)
class Setting:
    id: str
    title: str
    value: Any
    canonical_path: str
    frameworks: tuple[str, ...]
    rejected: tuple[tuple[Any, str], ...]
    line: int


@dataclass(frozen=True)
class ResolvedSettings:
    path: str
    exists: bool
    settings: tuple[Setting, ...]
    problems: tuple[TraceProblem, ...]


def read_settings(vault_root: Path, rel: str) -> ResolvedSettings:
    """Read the resolved-settings YAML (inside the vault only)."""
    path = vault_root / rel
    shown = f"{rel}"
    try:
        if not path.resolve().is_relative_to(vault_root.resolve()):
            raise PermissionError("outside the vault")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ResolvedSettings(shown, False, (), ())
    except (OSError, UnicodeDecodeError) as exc:
        return ResolvedSettings(shown, True, (), (TraceProblem(
            "settings-file", f"cannot read resolved settings: {exc}", shown, 1),))
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            if node is not None and expanded_size(node, {}) > MAX_EXPANDED_NODES:
                raise yaml.YAMLError("the document expands past the alias limit")
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        return ResolvedSettings(shown, True, (), (TraceProblem(
            "settings-file", f"invalid YAML: {exc.problem}", shown,
            (mark.line + 1) if mark else 1),))
    except yaml.YAMLError as exc:
        return ResolvedSettings(shown, True, (), (TraceProblem(
            "settings-file", f"invalid YAML: {exc}", shown, 1),))
    rows = data.get("settings") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        return ResolvedSettings(shown, True, (), (TraceProblem(
            "settings-file", "expected a mapping with a 'settings' list", shown, 1),))
    lines = [item.start_mark.line + 1 for item in _settings_nodes(node)]
    settings, problems = [], []
    for index, row in enumerate(rows):
        line = lines[index] if index < len(lines) else 1
        if not isinstance(row, dict):
            problems.append(TraceProblem("settings-row", "a setting must be a mapping", shown,
                                         line))
            continue
        missing = [k for k in ("id", "value", "canonical_path") if k not in row]
        if missing:
            problems.append(TraceProblem("settings-row", f"setting lacks {', '.join(missing)}",
                                         shown, line))
            continue
        rejected = tuple((r.get("value"), str(r.get("reason", "")))
                         for r in row.get("rejected") or () if isinstance(r, dict))
        settings.append(Setting(str(row["id"]), str(row.get("title", row["id"])), row["value"],
                                str(row["canonical_path"]),
                                tuple(str(f) for f in row.get("frameworks") or ()),
                                rejected, line))
    return ResolvedSettings(shown, True, tuple(settings), tuple(problems))


def _settings_nodes(root: yaml.Node) -> list[yaml.Node]:
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if getattr(key, "value", None) == "settings" and isinstance(value, yaml.SequenceNode):
                return list(value.value)
    return []
