"""The residual-risk register (a Markdown table) and the resolved settings (YAML).

The register is an append-only table: rows ``RR-01``, ``RR-02``, ... in order,
never renumbered or deleted; a superseded row keeps its number and has its risk
struck through. Resolved settings pin each cross-framework value to an option of
the canonical module.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import yaml

from kbgen.fileio import inside
from kbgen.names import slug
from kbgen.trace.controls import TraceProblem, TraceProblemKind
from kbgen.vault.files import read_note
from kbgen.vault.metadata import MAX_EXPANDED_NODES, expanded_size
from kbgen.vault.records import Note, Table, TableCell
from kbgen.vault.sources import Sources

RISK_FIELDS = (
    "Risk",
    "Source",
    "Why infrastructure cannot fully mitigate",
    "What would change the answer",
    "Acceptance / mitigation",
    "Owner",
    "Accepted on",
    "Review due",
    "Likelihood",
    "Impact",
)
#: The fields that hold an ISO date (``2026-06-30``).
RISK_DATES = ("Accepted on", "Review due")
#: The fields rated on :data:`RISK_SCALE`.
RISK_RATINGS = ("Likelihood", "Impact")
RISK_SCALE = ("low", "medium", "high")
RISK_ID = re.compile(r"RR-(\d{2,3})")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def today() -> date:
    """The date the register is reviewed against: ``SOURCE_DATE_EPOCH`` (seconds, UTC)
    when set, so that checks and tests repeat; otherwise the current UTC date."""
    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if raw.isdigit():
        return datetime.fromtimestamp(int(raw), tz=UTC).date()
    return datetime.now(tz=UTC).date()


def parse_date(text: str) -> date | None:
    """An ISO date (``2026-06-30``) written in a cell, or None."""
    text = text.strip()
    if not _ISO_DATE.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


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
    #: Where the row's id cell is (the site puts the row's anchor there).
    line: int
    column: int = 1
    #: The Risk cell as written (the site renders it like the register does).
    title_cell: TableCell | None = None

    @property
    def anchor(self) -> str:
        return slug(self.id)

    def field(self, name: str) -> str:
        return dict(self.fields).get(name, "")

    @property
    def owner(self) -> str:
        return self.field("Owner")

    @property
    def accepted_on(self) -> date | None:
        return parse_date(self.field("Accepted on"))

    @property
    def review_due(self) -> date | None:
        return parse_date(self.field("Review due"))

    @property
    def likelihood(self) -> str:
        return self.field("Likelihood").casefold()

    @property
    def impact(self) -> str:
        return self.field("Impact").casefold()


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
    table = next(
        (t for t in note.tables if {c.text.strip().casefold() for c in t.header} >= {"id", "risk"}),
        None,
    )
    if table is None:
        problems.append(
            TraceProblem(
                TraceProblemKind.RISK_REGISTER,
                "no table with 'ID' and 'Risk' columns",
                path,
                note.body_line,
            )
        )
        return RiskRegister(path, True, (), tuple(problems))
    columns = _register_columns(table, path, problems)
    rows: list[RiskRow] = []
    expected = 1
    for row in table.rows:
        id_cell = row[columns["id"]]
        match = RISK_ID.fullmatch(id_cell.text.strip().strip("*"))
        if not match:
            problems.append(
                TraceProblem(
                    TraceProblemKind.RISK_ROW,
                    f"row id {id_cell.text.strip()!r} is not of the form RR-01",
                    path,
                    id_cell.line,
                )
            )
            continue
        number = int(match.group(1))
        if number != expected:
            problems.append(
                TraceProblem(
                    TraceProblemKind.RISK_NUMBERING,
                    f"{match.group(0)} follows "
                    f"RR-{expected - 1:02d}: rows are numbered in order and never removed "
                    f"(expected RR-{expected:02d})",
                    path,
                    id_cell.line,
                )
            )
        expected = number + 1
        fields = tuple(
            (name, row[columns[name.casefold()]].text.strip())
            for name in RISK_FIELDS
            if name.casefold() in columns
        )
        risk_text = dict(fields).get("Risk", "")
        superseded = risk_text.startswith("~~")
        problems.extend(_field_problems(match.group(0), fields, path, id_cell.line))
        risk_cell = row[columns["risk"]] if columns["risk"] < len(row) else None
        rows.append(
            RiskRow(
                match.group(0),
                number,
                risk_text.strip("~ "),
                superseded,
                fields,
                tuple(i for cell in row for i in cell.links),
                path,
                id_cell.line,
                id_cell.column,
                risk_cell,
            )
        )
    return RiskRegister(path, True, tuple(rows), tuple(problems))


def _register_columns(table: Table, path: str, problems: list[TraceProblem]) -> dict[str, int]:
    """Column name (case-folded) -> index; a problem names the required ones missing."""
    columns = {c.text.strip().casefold(): i for i, c in enumerate(table.header)}
    missing = [f for f in RISK_FIELDS if f.casefold() not in columns]
    if missing:
        problems.append(
            TraceProblem(
                TraceProblemKind.RISK_REGISTER,
                "register table lacks the column(s) " + ", ".join(repr(m) for m in missing),
                path,
                table.line,
            )
        )
    return columns


def _field_problems(
    row_id: str, fields: tuple[tuple[str, str], ...], path: str, line: int
) -> list[TraceProblem]:
    """Empty fields, dates not in ISO form, ratings off the scale, a review due before
    the acceptance."""
    found = []

    def problem(message: str) -> None:
        found.append(TraceProblem(TraceProblemKind.RISK_ROW, f"{row_id}: {message}", path, line))

    values = dict(fields)
    for name, text in fields:
        if not text.strip("~ "):
            problem(f"'{name}' is empty")
        elif name in RISK_DATES and parse_date(text) is None:
            problem(f"'{name}' must be an ISO date such as 2026-06-30, not {text.strip()!r}")
        elif name in RISK_RATINGS and text.strip().casefold() not in RISK_SCALE:
            problem(f"'{name}' must be one of {', '.join(RISK_SCALE)}, not {text.strip()!r}")
    accepted = parse_date(values.get("Accepted on", ""))
    due = parse_date(values.get("Review due", ""))
    if accepted and due and due < accepted:
        problem(
            f"'Review due' ({due.isoformat()}) is before 'Accepted on' ({accepted.isoformat()})"
        )
    return found


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


#: Resolved settings nested deeper than this are refused (PyYAML's composer recurses per
#: level and would exhaust the stack at a few hundred).
MAX_SETTINGS_DEPTH = 32


def read_settings(sources: Sources, rel: str) -> ResolvedSettings:
    """Read the resolved-settings YAML (inside its root only, a regular file only).

    Values are plain data afterwards: YAML dates, sets and binary become text, so
    whatever reads a setting (a rule, a page) sees strings, numbers, booleans, null,
    lists and string-keyed mappings only.
    """
    root = sources.root_of(rel)
    path = root / rel
    shown = f"{rel}"

    def problem(message: str, line: int = 1) -> ResolvedSettings:
        return ResolvedSettings(
            shown, True, (), (TraceProblem(TraceProblemKind.SETTINGS_FILE, message, shown, line),)
        )

    try:
        if not inside(path, root):
            raise PermissionError("outside the project")
        if not path.exists():
            return ResolvedSettings(shown, False, (), ())
    except (OSError, RuntimeError) as exc:
        return problem(f"cannot read resolved settings: {exc}")
    data_bytes, unreadable = read_note(root, rel)
    if unreadable is not None or data_bytes is None:
        return problem(
            f"cannot read resolved settings: {unreadable.message if unreadable else 'unreadable'}"
        )
    try:
        text = data_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        return problem(f"cannot read resolved settings: {exc}")
    deep = _too_deep(text)
    if deep is not None:
        return problem(
            f"nested deeper than {MAX_SETTINGS_DEPTH} levels; refusing to read "
            "the resolved settings",
            deep,
        )
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
        return problem(f"invalid YAML: {exc.problem}", (mark.line + 1) if mark else 1)
    except yaml.YAMLError as exc:
        return problem(f"invalid YAML: {exc}")
    except RecursionError:  # pragma: no cover - _too_deep refuses such documents first
        return problem("invalid YAML: nested too deeply")
    rows = data.get("settings") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        return problem("expected a mapping with a 'settings' list")
    lines = [item.start_mark.line + 1 for item in _settings_nodes(node)]
    settings, problems = [], []
    for index, row in enumerate(rows):
        line = lines[index] if index < len(lines) else 1
        setting = _setting(row, shown, line, problems)
        if setting is not None:
            settings.append(setting)
    return ResolvedSettings(shown, True, tuple(settings), tuple(problems))


def _setting(row: Any, shown: str, line: int, problems: list[TraceProblem]) -> Setting | None:
    """One row of the settings list, or None (and a problem) when it is malformed."""
    if not isinstance(row, dict):
        problems.append(
            TraceProblem(TraceProblemKind.SETTINGS_ROW, "a setting must be a mapping", shown, line)
        )
        return None
    missing = [k for k in ("id", "value", "canonical_path") if k not in row]
    wrong = [
        k
        for k in ("frameworks", "rejected")
        if row.get(k) is not None and not isinstance(row[k], list)
    ]
    if missing or wrong:
        message = (
            f"setting lacks {', '.join(missing)}"
            if missing
            else f"{' and '.join(wrong)} must be a list"
        )
        problems.append(TraceProblem(TraceProblemKind.SETTINGS_ROW, message, shown, line))
        return None
    rejected = tuple(
        (_plain(r.get("value")), _text(r.get("reason", "")))
        for r in row.get("rejected") or ()
        if isinstance(r, dict)
    )
    return Setting(
        _text(row["id"]),
        _text(row.get("title", row["id"])),
        _plain(row["value"]),
        _text(row["canonical_path"]),
        tuple(_text(f) for f in row.get("frameworks") or ()),
        rejected,
        line,
    )


def _too_deep(text: str) -> int | None:
    """The line where the document first nests past :data:`MAX_SETTINGS_DEPTH`, else None.

    Reads the event stream (PyYAML's parser is not recursive); syntax errors are left
    for the loader to report with its own message.
    """
    depth = 0
    loader = yaml.SafeLoader(text)
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > MAX_SETTINGS_DEPTH:
                    return event.start_mark.line + 1
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
    except yaml.YAMLError:
        return None
    finally:
        loader.dispose()
    return None


def _text(value: Any) -> str:
    """A scalar as text: YAML dates as ISO dates, everything else as ``str`` does."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _plain(value: Any) -> Any:
    """``value`` as JSON-shaped data: non-JSON scalars (dates, binary) become text, sets
    sorted lists, mapping keys text. Depth is bounded by :func:`_too_deep`."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {_text(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_plain(v) for v in value), key=repr)
    return _text(value)


def _settings_nodes(root: yaml.Node) -> list[yaml.Node]:
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if getattr(key, "value", None) == "settings" and isinstance(value, yaml.SequenceNode):
                return list(value.value)
    return []
