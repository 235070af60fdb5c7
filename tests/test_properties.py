"""Property tests: the link parser never raises and reports positions inside the note."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kbgen.vault.parse import parse_note

# Text rich in the characters that matter to the parser.
ALPHABET = st.sampled_from(
    [*"[]!#^|`<>-*_\\/.:() \n\tab1~=", "[[", "]]", "![[", "<!--", "-->", "```", "---\n"]
)
MARKDOWNISH = st.lists(ALPHABET, max_size=200).map("".join)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.one_of(MARKDOWNISH, st.text(max_size=300)))
def test_parser_never_raises_and_positions_lie_inside_the_note(text):
    note = parse_note("n.md", text.encode("utf-8", "surrogatepass"))
    lines = note.lines
    for item in (*note.links, *note.code_spans, *note.tags, *note.block_ids):
        assert 1 <= item.line <= max(len(lines), 1)
        assert 1 <= item.column <= len(lines[item.line - 1]) + 1
    for heading in note.headings:
        assert 1 <= heading.line <= len(lines)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(data):
    parse_note("n.md", data)
