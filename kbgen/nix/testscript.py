"""Counting the checks in a NixOS test script (Python source inside ``testScript``)."""

from __future__ import annotations

import re

#: Test-driver methods that fail the test when their condition does not hold.
#: ``execute``, ``start``, ``shutdown``, ``sleep``, ``screenshot`` and friends
#: are deliberately absent: they run things but check nothing.
ASSERTION_METHODS: tuple[str, ...] = (
    "succeed",
    "fail",
    "wait_for_unit",
    "wait_for_open_port",
    "wait_for_closed_port",
    "wait_until_succeeds",
    "wait_until_fails",
    "wait_for_file",
    "wait_for_console_text",
    "wait_for_open_unix_socket",
    "require_unit_state",
)

_CALL = re.compile(r"\.\s*(" + "|".join(ASSERTION_METHODS) + r")\s*\(")
# ``t`` is the unittest.TestCase the driver exposes: t.assertEqual(...), t.assertIn(...).
_UNITTEST = re.compile(r"\.\s*assert[A-Z]\w*\s*\(")
# An assert statement starts a logical line, or follows ``;`` or ``:``
# (``if x: assert y``).
_ASSERT = re.compile(r"(?:^|[;:])[ \t]*assert\b", re.MULTILINE)
# Strings and comments in one alternation, so that whichever starts first wins:
# a ``#`` inside a string is not a comment, a quote inside a comment no string.
_STRING_OR_COMMENT = re.compile(
    r"('''.*?'''|\"\"\".*?\"\"\"|'(?:\\.|[^'\\\n])*'|\"(?:\\.|[^\"\\\n])*\")|#[^\n]*",
    re.DOTALL,
)


def count_assertions(script: str) -> int:
    """Count the checks in a test script.

    What counts, each occurrence once:

    * a call of one of :data:`ASSERTION_METHODS` on any object
      (``machine.succeed(...)``, ``server.wait_for_unit(...)``, ``m.fail(...)``);
    * an ``assert`` statement;
    * a ``unittest`` assertion method call, ``t.assertEqual(...)`` and the like.

    Python comments and the contents of Python string literals are ignored,
    so ``machine.succeed("... machine.fail(x) ...")`` is one check, and a
    commented-out call is none.  Nix interpolations should be replaced by a
    placeholder by the caller (the indexer passes only the literal parts).
    A loop body counts once, however many times it runs.
    """
    code = _STRING_OR_COMMENT.sub(lambda m: _blank(m.group(1)) if m.group(1) else "", script)
    return len(_CALL.findall(code)) + len(_UNITTEST.findall(code)) + len(_ASSERT.findall(code))


def _blank(literal: str) -> str:
    # Keep the quotes and the newlines so that line structure (and therefore
    # what starts a line) is unchanged.
    return '""' + "\n" * literal.count("\n")


# ``with subtest("name"):`` or ``with subtest("name", controls=["fw/ID", ...]):`` (the call
# may span lines)
# (the flake's mkComplianceTest records each such block as an assertion of the evidence).
_SUBTEST = re.compile(
    r"""\bwith\s+subtest\(\s*(?P<q>["'])(?P<name>(?:\\.|(?!(?P=q)).)*)(?P=q)"""
    r"""(?:\s*,\s*controls\s*=\s*\[(?P<controls>[^\]]*)\])?"""
)
_QUOTED = re.compile(r"""(["'])((?:\\.|(?!\1).)*)\1""")


def find_subtests(script: str) -> list[tuple[str, tuple[str, ...] | None, int]]:
    """The subtests a script opens: (name, controls or None, offset of ``with``)."""
    found = []
    for match in _SUBTEST.finditer(script):
        controls = match.group("controls")
        tags = None if controls is None else tuple(m.group(2) for m in _QUOTED.finditer(controls))
        found.append((match.group("name"), tags, match.start()))
    return found
