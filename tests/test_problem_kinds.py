"""Problems found while reading files reach the user through exactly one rule each,
and the engine's final pass judges suppressions.

Every member of :class:`NoteProblemKind`, :class:`FileProblemKind` and
:class:`TraceProblemKind` must be declared (``@rule(..., reports=...)``) by exactly one
rule, so a new kind without a rule fails here instead of being dropped silently. The
declarations are checked against what the rules really do: a probe problem of every
kind is planted everywhere problems live, and each rule must report exactly the kinds
it declares.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from enum import StrEnum
from types import MappingProxyType

import pytest

from kbgen.evidence import Evidence, EvidenceProblem, EvidenceProblemKind
from kbgen.project import compile_project, open_config
from kbgen.rules import all_rules
from kbgen.rules.context import Context, ProjectFiles
from kbgen.rules.engine import run_rules
from kbgen.trace.controls import TraceProblem, TraceProblemKind
from kbgen.vault.files import FileProblem, FileProblemKind
from kbgen.vault.parse import parse_note
from kbgen.vault.records import NoteProblemKind, Problem
from tests.helpers import note, write_files
from tests.test_trace_rules import project

KIND_ENUMS: tuple[type[StrEnum], ...] = (
    NoteProblemKind,
    FileProblemKind,
    TraceProblemKind,
    EvidenceProblemKind,
)


def _probe(kind: StrEnum) -> str:
    return f"probe {type(kind).__name__}.{kind.name}"


def test_every_problem_kind_is_reported_by_exactly_one_rule():
    owners: dict[StrEnum, list[str]] = defaultdict(list)
    for rule in all_rules():
        for kind in rule.reports:
            assert isinstance(kind, KIND_ENUMS), f"{rule.code} reports {kind!r}, not a kind"
            owners[kind].append(rule.code)
    for enum in KIND_ENUMS:
        for kind in enum:
            assert len(owners[kind]) == 1, f"{enum.__name__}.{kind.name}: {owners[kind]}"


def test_each_rule_reports_exactly_the_kinds_it_declares(tmp_path):
    root = project(tmp_path)
    config = open_config(str(root / "vault"), str(root / "pyproject.toml"))
    vault, trace = compile_project(config, jobs=1, cache=False, flake=False)
    path = next(p for p, n in vault.notes.items() if not n.suppressions)
    notes = dict(vault.notes)
    notes[path] = replace(
        notes[path], problems=tuple(Problem(k, _probe(k)) for k in NoteProblemKind)
    )
    vault = replace(
        vault,
        notes=MappingProxyType(notes),
        file_problems=tuple(FileProblem(path, k, _probe(k)) for k in FileProblemKind),
    )
    # Every trace kind in every list: a rule must pick its own kinds from its own list.
    planted = tuple(TraceProblem(k, _probe(k), path, 1) for k in TraceProblemKind)
    trace = replace(
        trace,
        vault=vault,
        controls=replace(trace.controls, problems=planted),
        risks=replace(trace.risks, problems=planted),
        settings=replace(trace.settings, problems=planted),
        evidence=Evidence(
            "evidence",
            problems=tuple(
                EvidenceProblem(k, _probe(k), "evidence/x.json") for k in EvidenceProblemKind
            ),
        ),
    )
    ctx = Context(vault, config, ProjectFiles(config.project_root), trace)

    reported: dict[str, set[str]] = defaultdict(set)
    for finding in run_rules(ctx, all_rules()):
        if finding.message.startswith("probe "):
            reported[finding.code].add(finding.message)
    for rule in all_rules():
        assert reported[rule.code] == {_probe(k) for k in rule.reports}, rule.code


def test_problem_kinds_are_typed_and_read_back_from_plain_strings():
    assert parse_note("n.md", b"\x00binary").problems[0].kind is NoteProblemKind.BINARY
    # The cache stores the plain string; reading it back gives the kind again.
    problem = Problem._make(("too-deep", "nested", 3, 1))
    assert problem.kind is NoteProblemKind.TOO_DEEP
    assert problem == ("too-deep", "nested", 3, 1)
    with pytest.raises(ValueError):
        Problem._make(("too-deeep", "nested", 3, 1))


def test_a_trace_rule_without_the_trace_model_is_an_error():
    ctx = Context(vault=None, config=None, files=None)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="traceability model"):
        _ = ctx.trace_model


# -- the final pass: unused suppressions --------------------------------------------------


def _audit(tmp_path, kbgen, monkeypatch, files: dict[str, str], select: str) -> list[str]:
    write_files(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    _code, out, _ = kbgen("audit", "--isolated", "--select", select, "vault")
    return [line for line in out.splitlines() if ": KB" in line]


UNUSED = {
    "vault/a.md": note("A", "<!-- kbgen-ignore KB101: later -->\nSee [[b]]."),
    "vault/b.md": note("B", "[[a]]"),
}


def test_only_suppressions_of_rules_that_ran_are_judged(tmp_path, kbgen, monkeypatch):
    assert _audit(tmp_path, kbgen, monkeypatch, UNUSED, "KB901") == []
    assert _audit(tmp_path, kbgen, monkeypatch, UNUSED, "KB101,KB901") == [
        "vault/a.md:5:1: KB901 suppression of KB101 is unused"
    ]


def test_a_suppression_by_rule_name_is_used(tmp_path, kbgen, monkeypatch):
    files = {
        **UNUSED,
        "vault/a.md": note("A", "<!-- kbgen-ignore broken-wikilink: later -->\nSee [[nowhere]]."),
    }
    assert _audit(tmp_path, kbgen, monkeypatch, files, "KB101,KB901") == []


def test_unused_suppression_findings_can_be_suppressed(tmp_path, kbgen, monkeypatch):
    # The file-wide KB901 suppression hides the report about the KB101 one; hiding a
    # KB901 finding does not count as use, but it covers its own report too.
    body = (
        "<!-- kbgen-ignore-file KB901: reviewed -->\n\n"
        "<!-- kbgen-ignore KB101: later -->\nSee [[b]]."
    )
    files = {**UNUSED, "vault/a.md": note("A", body)}
    assert _audit(tmp_path, kbgen, monkeypatch, files, "KB101,KB901") == []
