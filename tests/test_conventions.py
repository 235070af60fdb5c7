"""The authoring guide in the vault and the code must agree."""

from __future__ import annotations

import re
from pathlib import Path

from kbgen.config import Config
from kbgen.rules import all_rules
from kbgen.trace.frameworks import FRAMEWORKS
from kbgen.vault.parse import parse_note

GUIDE = Path(__file__).parent.parent / "vault" / "guide" / "authoring-conventions.md"


def guide():
    return parse_note("guide/authoring-conventions.md", GUIDE.read_bytes())


def test_every_trace_rule_is_described_in_the_guide():
    text = GUIDE.read_text(encoding="utf-8")
    named = set(re.findall(r"\[(TR\d{3})\]", text))
    assert named == {r.code for r in all_rules() if r.command == "trace"}


def test_framework_ids_in_the_guide_are_the_known_ones():
    text = GUIDE.read_text(encoding="utf-8")
    listed = text.split("Framework ids:", 1)[1].split("\n\n", 1)[0]
    assert set(re.findall(r"`([a-z0-9-]+)`", listed)) == set(FRAMEWORKS)


def test_every_example_id_in_the_column_table_is_valid():
    note = guide()
    table = next(t for t in note.tables if t.header[0].text == "Column")
    control_row = next(r for r in table.rows if r[0].text == "`Control`")
    examples = [note.code_spans[i].text for i in control_row[1].code_spans]
    valid = [e for e in examples if any(f.canonical(e) == e for f in FRAMEWORKS.values())]
    assert valid == examples


def test_documented_columns_are_recognised_by_default():
    note = guide()
    table = next(t for t in note.tables if t.header[0].text == "Column")
    columns = {note.code_spans[row[0].code_spans[0]].text for row in table.rows}
    defaults = {alias for aliases in Config().columns.values() for alias in aliases}
    assert columns <= defaults


def test_register_columns_in_the_guide_are_the_schema():
    from kbgen.trace.registers import RISK_FIELDS, RISK_SCALE

    note = guide()
    text = GUIDE.read_text(encoding="utf-8")
    listed = text.split("holds one table with the columns", 1)[1].split("\n", 2)[1]
    assert [c.strip() for c in listed.rstrip(".").strip("`").split("|")] == ["ID", *RISK_FIELDS]
    table = next(t for t in note.tables if t.header[0].text == "Field")
    documented = [note.code_spans[row[0].code_spans[0]].text for row in table.rows]
    assert documented == list(RISK_FIELDS[5:])
    scale = {note.code_spans[i].text for row in table.rows for i in row[1].code_spans}
    assert set(RISK_SCALE) <= scale
