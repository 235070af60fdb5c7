"""Frontmatter: split with python-frontmatter's YAML handler, loaded safely.

Two hazards are handled here rather than downstream:

* YAML errors become a :class:`Problem` with the file line of the error.
* Alias bombs (``a: &a [x, x]`` / ``b: &b [*a, *a]`` / ...) load cheaply in
  PyYAML because aliases share objects, but explode in anything that walks the
  value. The composed node graph is measured first (memoised, so linear in the
  document) and a document that would expand past :data:`MAX_EXPANDED_NODES`
  is refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import MappingProxyType
from typing import Any

import yaml
from frontmatter.default_handlers import YAMLHandler

from kbgen.vault.records import NoteProblemKind, Problem

MAX_EXPANDED_NODES = 10_000

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_HANDLER = YAMLHandler()

#: Known keys and the Python types they must have; anything else is kept as is.
KNOWN_KEYS: dict[str, tuple[type, ...]] = {
    "title": (str,),
    "description": (str,),
    "tags": (list, str),
    "aliases": (list, str),
    "sources": (list,),
    "status": (str,),
}

EMPTY: MappingProxyType[str, Any] = MappingProxyType({})


def split(text: str) -> tuple[str | None, int]:
    """Return (frontmatter text, number of lines it occupies including both fences).

    ``(None, 0)`` when the note has no frontmatter block.
    """
    if not _HANDLER.detect(text):
        return None, 0
    try:
        fm, content = _HANDLER.split(text)
    except ValueError:
        return None, 0
    consumed = len(text) - len(content)
    return fm, text.count("\n", 0, consumed)


def load(fm: str, first_line: int) -> tuple[MappingProxyType[str, Any], list[Problem]]:
    """Parse frontmatter YAML whose first line is file line ``first_line``."""
    try:
        if "*" in fm:
            node = yaml.compose(fm, Loader=_Loader)
            size = expanded_size(node, {})
            if size > MAX_EXPANDED_NODES:
                return EMPTY, [
                    Problem(
                        NoteProblemKind.FRONTMATTER_YAML,
                        f"frontmatter expands to {size:,} YAML nodes through aliases "
                        f"(limit {MAX_EXPANDED_NODES:,}); refusing to load it",
                        first_line,
                        1,
                    )
                ]
        data = _HANDLER.load(fm, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = first_line + (mark.line if mark else 0)
        column = (mark.column + 1) if mark else 1
        reason = exc.problem or exc.context or "invalid YAML"
        return EMPTY, [
            Problem(
                NoteProblemKind.FRONTMATTER_YAML,
                f"invalid YAML in frontmatter: {reason}",
                line,
                column,
            )
        ]
    except yaml.YAMLError as exc:
        return EMPTY, [
            Problem(
                NoteProblemKind.FRONTMATTER_YAML,
                f"invalid YAML in frontmatter: {exc}",
                first_line,
                1,
            )
        ]
    except RecursionError:
        return EMPTY, [
            Problem(
                NoteProblemKind.FRONTMATTER_YAML,
                "frontmatter YAML is nested too deeply",
                first_line,
                1,
            )
        ]
    if data is None:
        return EMPTY, []
    if not isinstance(data, dict):
        return EMPTY, [
            Problem(
                NoteProblemKind.FRONTMATTER_TYPE,
                f"frontmatter must be a mapping, not a {type(data).__name__}",
                first_line,
                1,
            )
        ]
    problems = []
    for key, allowed in KNOWN_KEYS.items():
        if key in data and data[key] is not None and not isinstance(data[key], allowed):
            names = " or ".join("list" if t is list else "string" for t in allowed)
            problems.append(
                Problem(
                    NoteProblemKind.FRONTMATTER_TYPE,
                    f"frontmatter key '{key}' must be a {names}, not {_yaml_type(data[key])}",
                    first_line + key_line(fm.split("\n"), key),
                    1,
                )
            )
    return MappingProxyType({str(k): v for k, v in data.items()}), problems


def expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = 1  # guards against recursive aliases
    total = 1
    if isinstance(node, yaml.SequenceNode):
        total += sum(expanded_size(child, memo) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        total += sum(expanded_size(k, memo) + expanded_size(v, memo) for k, v in node.value)
    memo[key] = total
    return total


def _yaml_type(value: Any) -> str:
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)


def key_line(lines: Iterable[str], key: str) -> int:
    """0-based index of the line of ``lines`` (frontmatter) that starts ``key:``, 0 when
    there is none."""
    for index, line in enumerate(lines):
        if line.startswith(f"{key}:"):
            return index
    return 0


def as_strings(value: Any) -> tuple[str, ...]:
    """A frontmatter value that may be a string or a list of strings, as a tuple."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value if isinstance(v, (str, int, float)))
    return ()
