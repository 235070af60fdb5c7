"""Controls, read from the control tables of PRD notes.

A PRD is a note matched by a ``prd`` glob that names its framework, in its frontmatter::

    framework: {id: nist-800-53, name: NIST SP 800-53 Rev. 5, version: "5.1.1"}

or, for PRDs written without kbgen in mind, by a ``prd-frameworks`` glob in the
configuration or by its file name (``prd-pci-dss.md``).

A table is a control table when its header has a control column and a layer column
(names configurable in ``[tool.kbgen] columns``). Every row becomes a
:class:`Control`; what is wrong with a row becomes a :class:`TraceProblem`, never an
exception. Everything comes from the already parsed note records: the PRD is not
read again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from kbgen.config import Config
from kbgen.names import slug
from kbgen.trace.frameworks import FRAMEWORKS
from kbgen.vault.files import matches
from kbgen.vault.metadata import key_line
from kbgen.vault.records import Note, Table, TableCell

LAYERS = ("host", "hybrid", "org")
#: What an option path looks like: dotted attribute names, ``<name>`` and quoted parts.
OPTION_PATH = re.compile(r'[A-Za-z_][\w\'-]*(\.([\w\'-]+|<name>|\*|"[^"]+"))+')


@dataclass(frozen=True, slots=True)
class OptionRef:
    path: str
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Control:
    framework: str
    id: str
    title: str
    layer: str
    requirement: str
    options: tuple[OptionRef, ...]
    #: Indexes into the PRD note's ``links`` of every link in the row.
    links: tuple[int, ...]
    note: str
    line: int
    column: int
    #: The id as written in the table.
    raw_id: str = ""
    #: The Title and Requirement cells as written (the site renders their links and code).
    title_cell: TableCell | None = None
    requirement_cell: TableCell | None = None

    @property
    def key(self) -> str:
        return f"{self.framework}/{self.id}"

    @property
    def anchor(self) -> str:
        """Stable anchor for the control (site pages, exports)."""
        return slug(self.key)


@dataclass(frozen=True, slots=True)
class Prd:
    note: str
    framework: str
    name: str
    version: str


class TraceProblemKind(StrEnum):
    """What a :class:`TraceProblem` is about. Each kind is reported by exactly one rule
    (the rule declares it with ``reports=``)."""

    # Control tables (kbgen.trace.controls).
    INVALID_ID = "invalid-id"
    DUPLICATE_ID = "duplicate-id"
    MALFORMED_ROW = "malformed-row"
    PRD_FRAMEWORK = "prd-framework"
    # The residual-risk register (kbgen.trace.registers).
    RISK_REGISTER = "risk-register"
    RISK_ROW = "risk-row"
    RISK_NUMBERING = "risk-numbering"
    # The resolved settings (kbgen.trace.registers).
    SETTINGS_FILE = "settings-file"
    SETTINGS_ROW = "settings-row"


@dataclass(frozen=True, slots=True)
class TraceProblem:
    """Something wrong in a PRD or register, reported by the trace rules."""

    kind: TraceProblemKind
    message: str
    #: Vault-relative note, or project-relative file with ``project=True``.
    path: str
    line: int
    column: int = 1
    project: bool = False


@dataclass(frozen=True)
class ControlSet:
    prds: tuple[Prd, ...]
    controls: tuple[Control, ...]
    problems: tuple[TraceProblem, ...]

    def by_key(self) -> dict[str, Control]:
        return {c.key: c for c in self.controls}


def _column_map(header: tuple[TableCell, ...], config: Config) -> dict[str, int]:
    names = {cell.text.strip().casefold(): i for i, cell in enumerate(header)}
    found = {}
    for column, aliases in config.columns.items():
        for alias in aliases:
            if alias.casefold() in names:
                found[column] = names[alias.casefold()]
                break
    return found


def is_prd(note: Note, config: Config) -> bool:
    return matches(note.path, config.prd)


def extract_controls(notes: Mapping[str, Note], config: Config) -> ControlSet:
    prds: list[Prd] = []
    controls: list[Control] = []
    problems: list[TraceProblem] = []
    seen: dict[str, Control] = {}
    for path, note in notes.items():
        if not is_prd(note, config):
            continue
        tables = [(t, _column_map(t.header, config)) for t in note.tables]
        tables = [(t, cols) for t, cols in tables if "control" in cols and "layer" in cols]
        prd = _prd_of(note, config, problems, bool(tables))
        if prd is None:
            if tables and "framework" not in note.frontmatter:
                problems.append(
                    TraceProblem(
                        TraceProblemKind.PRD_FRAMEWORK,
                        "PRD has control tables but names no framework: add 'framework' to "
                        "its frontmatter, or map it in [tool.kbgen.prd-frameworks]",
                        path,
                        1,
                    )
                )
            continue
        prds.append(prd)
        framework_id = prd.framework
        for table, columns in tables:
            for row, raw_count in zip(table.rows, table.raw_cell_counts, strict=False):
                control = _row(note, framework_id, table, row, raw_count, columns, problems)
                if control is None:
                    continue
                if control.key in seen:
                    first = seen[control.key]
                    problems.append(
                        TraceProblem(
                            TraceProblemKind.DUPLICATE_ID,
                            f"{control.key} is defined twice (first at {first.note}:{first.line})",
                            path,
                            control.line,
                            control.column,
                        )
                    )
                    continue
                seen[control.key] = control
                controls.append(control)
    return ControlSet(tuple(prds), tuple(controls), tuple(problems))


def _prd_of(
    note: Note, config: Config, problems: list[TraceProblem], has_tables: bool
) -> Prd | None:
    """The PRD a note is, when it names its framework: in its frontmatter, else by a
    ``prd-frameworks`` glob, else (when it has control tables) by its file name
    (``prd-pci-dss.md``)."""
    if "framework" in note.frontmatter:
        framework_id = _framework_of(note, problems)
        if framework_id is None:
            return None
        meta = note.frontmatter["framework"]
        name = str(meta.get("name") or FRAMEWORKS[framework_id].name)
        return Prd(note.path, framework_id, name, str(meta.get("version") or ""))
    framework_id = next(
        (fw for glob, fw in config.prd_frameworks.items() if matches(note.path, (glob,))),
        None,
    ) or (_framework_in_name(note.path) if has_tables else None)
    if framework_id is None:
        return None
    return Prd(note.path, framework_id, FRAMEWORKS[framework_id].name, "")


def _framework_in_name(path: str) -> str | None:
    """The framework id a PRD's file name contains (the longest, so ``nist-ai-rmf``
    is not taken for another id it shares a prefix with)."""
    stem = path.rsplit("/", 1)[-1].removesuffix(".md").casefold()
    named = [fw for fw in FRAMEWORKS if re.search(rf"(^|[^a-z0-9]){fw}($|[^a-z0-9])", stem)]
    return max(named, key=len) if named else None


def _framework_of(note: Note, problems: list[TraceProblem]) -> str | None:
    meta = note.frontmatter.get("framework")
    framework_id = meta.get("id") if isinstance(meta, dict) else None
    if not isinstance(framework_id, str) or framework_id not in FRAMEWORKS:
        known = ", ".join(FRAMEWORKS)
        problems.append(
            TraceProblem(
                TraceProblemKind.PRD_FRAMEWORK,
                f"frontmatter 'framework' must be a mapping whose id is one of: {known}",
                note.path,
                1 + key_line(note.lines[: note.body_line], "framework"),
            )
        )
        return None
    return framework_id


def _row(
    note: Note,
    framework_id: str,
    table: Table,
    row: tuple[TableCell, ...],
    raw_count: int,
    columns: dict[str, int],
    problems: list[TraceProblem],
) -> Control | None:
    id_cell = row[columns["control"]]
    line, column = id_cell.line, id_cell.column
    if raw_count != len(table.header):
        problems.append(
            TraceProblem(
                TraceProblemKind.MALFORMED_ROW,
                f"row has {raw_count} cells, the header has {len(table.header)}",
                note.path,
                line,
                1,
            )
        )
    raw_id = id_cell.text.strip()
    control_id = _control_id(note, framework_id, id_cell, problems)
    if control_id is None:
        return None

    def text(name: str) -> str:
        index = columns.get(name)
        return row[index].text.strip() if index is not None and index < len(row) else ""

    layer = text("layer").casefold()
    if layer not in LAYERS:
        problems.append(
            TraceProblem(
                TraceProblemKind.MALFORMED_ROW,
                f"{framework_id}/{control_id}: layer must be host, "
                f"hybrid or org, not {text('layer')!r}",
                note.path,
                line,
                row[columns["layer"]].column,
            )
        )
        layer = layer or "host"
    options = []
    if "options" in columns:
        # A prose column that also names the options ("Set `x.y` to `false`") holds
        # values too: there only spans that read as option paths are options.
        prose = columns["options"] == columns.get("requirement")
        cell = row[columns["options"]]
        for index in cell.code_spans:
            span = note.code_spans[index]
            path = span.text.strip()
            if prose:
                path = path.split("=", 1)[0].strip()
                if not OPTION_PATH.fullmatch(path):
                    continue
            options.append(OptionRef(path, span.line, span.column))
    links = tuple(i for cell in row for i in cell.links)

    def cell(name: str) -> TableCell | None:
        index = columns.get(name)
        return row[index] if index is not None and index < len(row) else None

    return Control(
        framework_id,
        control_id,
        text("title"),
        layer,
        text("requirement"),
        tuple(options),
        links,
        note.path,
        line,
        column,
        raw_id,
        cell("title"),
        cell("requirement"),
    )


def _control_id(
    note: Note, framework_id: str, id_cell: TableCell, problems: list[TraceProblem]
) -> str | None:
    """The canonical id of a row's id cell, or None (and a problem) when it has none."""
    raw_id = id_cell.text.strip()
    if not raw_id:
        problems.append(
            TraceProblem(
                TraceProblemKind.MALFORMED_ROW,
                "row has no control id",
                note.path,
                id_cell.line,
                id_cell.column,
            )
        )
        return None
    framework = FRAMEWORKS[framework_id]
    control_id = framework.canonical(_plain(raw_id))
    if control_id is None:
        problems.append(
            TraceProblem(
                TraceProblemKind.INVALID_ID,
                f"{raw_id!r} is not a {framework.name} id (expected "
                f"something like {framework.example})",
                note.path,
                id_cell.line,
                id_cell.column,
            )
        )
    return control_id


def _plain(text: str) -> str:
    """An id cell may carry Markdown emphasis or a code span: keep the id itself."""
    return text.strip().strip("*_`").strip()
