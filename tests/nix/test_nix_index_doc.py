"""One test per example in docs/nix-index.md.

The document is read with kbgen's own Markdown parser.  Each ```` ```nix ````
block is indexed with :func:`index_nix_source` and what the index records is
compared with the ```` ```index ```` block that follows it, so the
specification and the indexer cannot drift apart.  The line formats are
described in the document ("Reading the examples").
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kbgen.nix import NixFile, index_nix_source
from kbgen.vault.parse import parse_note

DOC = Path(__file__).parents[2] / "docs" / "nix-index.md"
#: Record kinds an example lists only when it is about them.
_STRING_KINDS = ("string", "indented", "path", "uri", "attr_name", "comment")


def _examples() -> list:
    doc = parse_note("nix-index.md", DOC.read_bytes())
    blocks = doc.code_blocks
    examples = []
    for i, block in enumerate(blocks):
        if block.info == "index":
            assert i and blocks[i - 1].info == "nix", f"line {block.line}: index block without nix"
        if block.info != "nix":
            continue
        assert i + 1 < len(blocks) and blocks[i + 1].info == "index", (
            f"docs/nix-index.md line {block.line}: a nix example needs an index block after it"
        )
        expected = [line for line in blocks[i + 1].text.splitlines() if line.strip()]
        examples.append(pytest.param(block.text, expected, id=f"line-{block.line}"))
    return examples


EXAMPLES = _examples()


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _declarations(nix: NixFile) -> list[str]:
    lines = []
    for d in nix.declarations:
        line = f"declare {d.path} {d.kind}"
        if d.default_is_literal:
            line += f" default {json.dumps(d.default)}"
        elif d.default_text is not None:
            line += f" default expr {_one_line(d.default_text)}"
        lines.append(line)
    return lines


def _definitions(nix: NixFile) -> list[str]:
    lines = []
    for d in nix.definitions:
        line = f"define {d.path} = {_one_line(d.value_text)}"
        if d.priority is not None:
            value = "" if d.priority_value is None else f" {d.priority_value}"
            line += f" ({d.priority}{value})"
        if d.test is not None:
            line += f" [test {d.test}]"
        lines.append(line)
    return lines


def _tests(nix: NixFile) -> list[str]:
    return [
        f"test {t.name} controls={','.join(t.controls)} nodes={','.join(t.node_names)}"
        f" assertions={t.assertions}"
        for t in nix.tests
    ]


def _strings(nix: NixFile) -> list[str]:
    lines = [f"comment {c.text}" for c in nix.comments]
    for s in nix.strings:
        line = f"{s.kind} {json.dumps(s.text, ensure_ascii=False)}"
        lines.append(line + (f" in {s.context}" if s.context else ""))
    return lines


def recorded(nix: NixFile, with_strings: bool) -> list[str]:
    """What the index holds for one file, one line per record (the document's notation)."""
    lines = [*_declarations(nix), *_definitions(nix), *_tests(nix)]
    if with_strings:
        lines += _strings(nix)
    lines += [f"error {e.pos.line}:{e.pos.column} {e.message}" for e in nix.errors]
    return lines or ["(nothing)"]


def test_the_document_has_examples_for_every_section():
    assert len(EXAMPLES) >= 25


@pytest.mark.parametrize(("source", "expected"), EXAMPLES)
def test_documented_example(source: str, expected: list[str]):
    with_strings = any(line.split(" ", 1)[0] in _STRING_KINDS for line in expected)
    got = recorded(index_nix_source(source, "example.nix"), with_strings)
    assert sorted(got) == sorted(expected)
