"""Read the result files of an evidence folder: kbgen's JSON, and JUnit XML.

Nothing here raises on content: a file that is not what it should be becomes an
:class:`EvidenceProblem` with its file and line, and the rest is still read. Only
regular files inside the project are opened (no symlink leads out of it).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from defusedxml import ElementTree as SafeElementTree
from defusedxml.common import DefusedXmlException

from kbgen.evidence.records import (
    AssertionResult,
    EvidenceProblem,
    EvidenceProblemKind,
    Outcome,
    TestRun,
)
from kbgen.fileio import inside

#: The version of the JSON format this reader understands (``kbgen_evidence``).
FORMAT = 1
#: A result file larger than this is refused (a run with thousands of assertions is
#: a few hundred KB).
MAX_BYTES = 16 * 2**20
_REQUIRED = ("test", "result", "flake_rev")
_SUITE_TAG = re.compile(r"<testsuite[\s>/]")


class _Invalid(ValueError):
    """A field of a result file is missing or wrong; carries the line to report."""

    def __init__(self, message: str, line: int = 1) -> None:
        super().__init__(message)
        self.line = line


def read_folder(folder: Path, project_root: Path) -> tuple[list[TestRun], list[EvidenceProblem]]:
    """Every ``*.json`` and ``*.xml`` result below ``folder``, in path order."""
    runs: list[TestRun] = []
    problems: list[EvidenceProblem] = []
    for path in sorted(folder.rglob("*")):
        if path.suffix not in (".json", ".xml"):
            continue
        shown = (
            path.relative_to(project_root).as_posix()
            if path.is_relative_to(project_root)
            else str(path)
        )
        if path.is_symlink() and not (inside(path, folder) or inside(path, project_root)):
            problems.append(
                _problem(
                    shown, "a link that leads out of the evidence folder and the project: not read"
                )
            )
            continue
        if not path.is_file():  # a folder named *.json, a FIFO, a dangling link
            continue
        try:
            if path.stat().st_size > MAX_BYTES:
                problems.append(_problem(shown, f"larger than {MAX_BYTES >> 20} MiB: not read"))
                continue
            data = path.read_bytes()
        except OSError as exc:
            problems.append(_problem(shown, f"cannot read: {exc.strerror}"))
            continue
        reader = _json_runs if path.suffix == ".json" else _junit_runs
        found, found_problems = reader(data, shown)
        runs.extend(found)
        problems.extend(found_problems)
    return runs, problems


def _problem(path: str, message: str, line: int = 1) -> EvidenceProblem:
    return EvidenceProblem(EvidenceProblemKind.MALFORMED, message, path, line)


# -- kbgen's JSON ------------------------------------------------------------------------


def _json_runs(data: bytes, path: str) -> tuple[list[TestRun], list[EvidenceProblem]]:
    try:
        text = data.decode("utf-8")
        document = json.loads(text)
    except UnicodeDecodeError:
        return [], [_problem(path, "not UTF-8")]
    except json.JSONDecodeError as exc:
        return [], [_problem(path, f"invalid JSON: {exc.msg}", exc.lineno)]
    except RecursionError:
        return [], [_problem(path, "JSON nested too deeply")]
    documents = document if isinstance(document, list) else [document]
    runs, problems = [], []
    for index, item in enumerate(documents):
        line = _line_of(text, '"kbgen_evidence"', index)
        try:
            runs.append(_run(item, path, line, text))
        except _Invalid as exc:
            problems.append(_problem(path, str(exc), exc.line))
    return runs, problems


def _run(item: Any, path: str, line: int, text: str) -> TestRun:
    if not isinstance(item, dict):
        raise _Invalid("a result must be a JSON object", line)
    if item.get("kbgen_evidence") != FORMAT:
        raise _Invalid(
            f'not a kbgen evidence record (need "kbgen_evidence": {FORMAT}, got '
            f"{item.get('kbgen_evidence')!r})",
            line,
        )
    missing = [key for key in _REQUIRED if key not in item]
    if missing:
        raise _Invalid(f"result lacks {', '.join(repr(m) for m in missing)}", line)
    test, rev = _string(item, "test", text, line), _string(item, "flake_rev", text, line)
    assertions = item.get("assertions", [])
    if not isinstance(assertions, list):
        raise _Invalid("'assertions' must be a list", _line_of(text, '"assertions"') or line)
    return TestRun(
        test=test,
        result=_outcome(item, text, line),
        flake_rev=rev,
        system=str(item.get("system", "")),
        started=_time(item, "started", text, line),
        finished=_time(item, "finished", text, line),
        assertions=tuple(_assertion(a, text, line) for a in assertions),
        path=path,
        line=line,
        error=_optional_string(item, "error", text, line),
    )


def _assertion(item: Any, text: str, line: int) -> AssertionResult:
    if not isinstance(item, dict) or "name" not in item or "result" not in item:
        raise _Invalid("an assertion must be an object with 'name' and 'result'", line)
    name = _string(item, "name", text, line)
    where = _line_of(text, json.dumps(name)) or line
    controls = item.get("controls")
    if controls is not None and (
        not isinstance(controls, list) or not all(isinstance(c, str) for c in controls)
    ):
        raise _Invalid(f"assertion {name!r}: 'controls' must be a list of strings", where)
    return AssertionResult(
        name,
        _outcome(item, text, where),
        tuple(controls) if controls is not None else None,
        _optional_string(item, "error", text, where),
    )


def _string(item: dict, key: str, text: str, line: int) -> str:
    value = item[key]
    if not isinstance(value, str) or not value.strip():
        raise _Invalid(f"'{key}' must be a non-empty string", _line_of(text, f'"{key}"') or line)
    return value


def _optional_string(item: dict, key: str, text: str, line: int) -> str | None:
    return _string(item, key, text, line) if item.get(key) is not None else None


def _outcome(item: dict, text: str, line: int) -> Outcome:
    value = item["result"]
    try:
        return Outcome(value)
    except ValueError:
        raise _Invalid(
            f'\'result\' must be "passed" or "failed", got {value!r}',
            _line_of(text, '"result"') or line,
        ) from None


def _time(item: dict, key: str, text: str, line: int) -> datetime | None:
    value = item.get(key)
    if value is None:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise _Invalid(
            f"'{key}' must be an ISO 8601 time such as 2026-12-01T10:00:00Z, got {value!r}",
            _line_of(text, f'"{key}"') or line,
        ) from None


def _line_of(text: str, needle: str, occurrence: int = 0) -> int:
    """1-based line of the ``occurrence``-th ``needle`` in ``text`` (0 when absent)."""
    start = -1
    for _ in range(occurrence + 1):
        start = text.find(needle, start + 1)
        if start < 0:
            return 0
    return text.count("\n", 0, start) + 1


# -- JUnit XML ---------------------------------------------------------------------------
#
# A ``testsuite`` named after a compliance test is one run; its ``testcase``s are its
# assertions; a ``controls`` property (comma- or space-separated) on a test case or the
# suite narrows the controls; ``flake_rev`` and ``system`` are suite properties.


def _junit_runs(data: bytes, path: str) -> tuple[list[TestRun], list[EvidenceProblem]]:
    try:
        root = SafeElementTree.fromstring(data)
    except SafeElementTree.ParseError as exc:
        return [], [_problem(path, f"invalid XML: {exc}", exc.position[0])]
    except DefusedXmlException as exc:
        return [], [_problem(path, f"refused XML: {type(exc).__name__}")]
    if root.tag not in ("testsuite", "testsuites"):
        return [], [_problem(path, f"not JUnit XML (root element <{root.tag}>)")]
    text = data.decode("utf-8", "replace")
    elements = [root] if root.tag == "testsuite" else root.findall("testsuite")
    starts = [text.count("\n", 0, m.start()) + 1 for m in _SUITE_TAG.finditer(text)]
    runs, problems = [], []
    for index, element in enumerate(elements):
        line = starts[index] if index < len(starts) else 1
        try:
            runs.append(_suite_run(element, path, line))
        except _Invalid as exc:
            problems.append(_problem(path, str(exc), exc.line))
    return runs, problems


def _suite_run(element: Any, path: str, line: int) -> TestRun:
    from junitparser import TestCase, TestSuite  # the maintained model of the format

    suite = TestSuite.fromelem(element)
    if not suite.name:
        raise _Invalid("a testsuite needs the name of its compliance test", line)
    properties = {p.name: p.value for p in suite.properties()}
    if not properties.get("flake_rev"):
        raise _Invalid(f"testsuite {suite.name!r} lacks the property flake_rev", line)
    assertions = []
    for case_element in element.findall("testcase"):
        case = TestCase.fromelem(case_element)
        outcome = Outcome.PASSED if case.is_passed or case.is_skipped else Outcome.FAILED
        errors = [r.message for r in case.result if getattr(r, "message", None)]
        assertions.append(
            AssertionResult(
                case.name or "",
                outcome,
                _case_controls(case_element),
                "; ".join(errors) if errors else None,
            )
        )
    failed = any(a.result is Outcome.FAILED for a in assertions)
    return TestRun(
        test=suite.name,
        result=Outcome.FAILED if failed else Outcome.PASSED,
        flake_rev=properties["flake_rev"],
        system=properties.get("system", ""),
        started=_suite_time(suite.timestamp),
        finished=None,
        assertions=tuple(assertions),
        path=path,
        line=line,
    )


def _case_controls(element: Any) -> tuple[str, ...] | None:
    """The ``controls`` property of a test case (JUnit allows properties there too)."""
    for prop in element.iter("property"):
        if prop.get("name") == "controls":
            return tuple(c for c in re.split(r"[,\s]+", prop.get("value") or "") if c)
    return None


def _suite_time(stamp: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else None
    except ValueError:
        return None
