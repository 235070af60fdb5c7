"""Nix string literal semantics on top of tree-sitter-nix string nodes.

tree-sitter gives the raw pieces of a string (fragments, escapes, ``${...}``);
Nix itself decodes escapes and, for ``''...''`` strings, strips the common
indentation.  The rules below follow Nix's own lexer and ``stripIndentation``
(src/libexpr/parser.y) so that the text we report is the value Nix builds:

* the opening ``''`` swallows spaces up to and including the first newline;
* the minimum indentation is taken over lines with content; whitespace-only
  lines do not count, and an escape or interpolation counts as content;
* that many leading spaces are removed from every line (tabs are content);
* a final line made only of spaces is dropped (when the string ends in text).

The result is split into :class:`Chunk` pieces that never cross a source line,
which is what lets a check point at the exact line of a forbidden path.
"""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Node

# Escapes after ``\`` (double-quoted) or ``''\`` (indented): these three become
# control characters, every other character stands for itself.
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t"}

_STRING_PIECES = frozenset({"string_fragment", "escape_sequence", "dollar_escape", "interpolation"})


@dataclass(slots=True)
class Chunk:
    """Part of a decoded string: ``text`` starts at source byte ``start``."""

    text: str
    start: int
    interpolation: bool
    ends_line: bool = False  # the raw source line ends inside this chunk


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def _escape_value(raw: str, indented: bool) -> str:
    if indented:
        if raw == "'''":
            return "''"
        body = raw[3:] if raw.startswith("''\\") else raw[2:]
    else:
        body = raw[1:]
    return _ESCAPES.get(body, body)


def _pieces(node: Node, src: bytes, indented: bool) -> list[tuple[str, object, int]]:
    """Flatten a string node into ``(kind, payload, start_byte)`` pieces.

    Kinds: ``lit`` (raw bytes, subject to indentation stripping), ``esc``
    (decoded text) and ``interp`` (source text of the inner expression).
    """
    pieces: list[tuple[str, object, int]] = []
    strip_dollar = False
    for child in node.children:
        kind = child.type
        if kind not in _STRING_PIECES:
            continue
        start, end = child.start_byte, child.end_byte
        if kind == "string_fragment":
            raw = src[start:end]
            if strip_dollar and raw.startswith(b"$"):
                # tree-sitter splits ``\$`` / ``''$`` into the escape marker and
                # a ``$`` fragment; the ``$`` already went into the escape.
                raw, start = raw[1:], start + 1
            strip_dollar = False
            if raw:
                pieces.append(("lit", raw, start))
        elif kind == "dollar_escape":
            pieces.append(("esc", "$", start))
            strip_dollar = True
        elif kind == "escape_sequence":
            strip_dollar = False
            pieces.append(("esc", _escape_value(_decode(src[start:end]), indented), start))
        else:  # interpolation
            strip_dollar = False
            inner = child.child_by_field_name("expression")
            text = _decode(src[inner.start_byte : inner.end_byte]) if inner is not None else ""
            pieces.append(("interp", text, start))
    return pieces


def _plain_chunks(pieces: list[tuple[str, object, int]]) -> list[Chunk]:
    chunks: list[Chunk] = []
    for kind, payload, start in pieces:
        if kind == "lit":
            assert isinstance(payload, bytes)
            lines = payload.split(b"\n")
            off = 0
            last = len(lines) - 1
            for i, line in enumerate(lines):
                text = _decode(line) + ("\n" if i < last else "")
                if text:
                    chunks.append(Chunk(text, start + off, False, i < last))
                off += len(line) + 1
        else:
            assert isinstance(payload, str)
            chunks.append(Chunk(payload, start, kind == "interp"))
    return chunks


def _min_indent(pieces: list[tuple[str, object, int]]) -> int:
    at_start = True
    cur = 0
    best = 1_000_000  # Nix's own "no content" sentinel
    for kind, payload, _ in pieces:
        if kind != "lit":
            if at_start:
                at_start = False
                best = min(best, cur)
            continue
        assert isinstance(payload, bytes)
        for i, line in enumerate(payload.split(b"\n")):
            if i:
                at_start, cur = True, 0
            if not at_start:
                continue
            spaces = len(line) - len(line.lstrip(b" "))
            cur += spaces
            if spaces < len(line):
                at_start = False
                best = min(best, cur)
    return best


def _skip_first_line(pieces: list[tuple[str, object, int]]) -> list[tuple[str, object, int]]:
    """The opening ``''`` swallows spaces up to and including the first newline."""
    if pieces and pieces[0][0] == "lit":
        raw = pieces[0][1]
        assert isinstance(raw, bytes)
        head = raw.lstrip(b" ")
        if head.startswith(b"\n"):
            cut = len(raw) - len(head) + 1
            rest = raw[cut:]
            return ([("lit", rest, pieces[0][2] + cut)] if rest else []) + pieces[1:]
    return pieces


class _Dedent:
    """Nix's ``stripIndentation``, applied to the pieces of a string in order."""

    __slots__ = ("at_start", "dropped", "indent")

    def __init__(self, indent: int) -> None:
        self.indent = indent
        self.at_start = True  # at the start of a line, still in its indentation
        self.dropped = 0  # spaces of the current line's indentation seen so far

    def interpolation(self) -> None:
        self.at_start, self.dropped = False, 0

    def escape(self, text: str) -> str:
        """An escape's text; Nix runs escapes through the same trimming loop as text."""
        out = []
        for ch in text:
            if not self.at_start:
                out.append(ch)
                if ch == "\n":
                    self.at_start = True
            elif ch == " ":
                if self.dropped >= self.indent:
                    out.append(ch)
                self.dropped += 1
            else:
                if ch == "\n":
                    self.dropped = 0
                else:
                    self.at_start, self.dropped = False, 0
                out.append(ch)
        return "".join(out)

    def text(self, raw: bytes, start: int, final: bool) -> list[Chunk]:
        """A literal piece, one chunk per source line, indentation removed."""
        lines = raw.split(b"\n")
        last = len(lines) - 1
        offset = 0
        chunks: list[Chunk] = []
        for i, line in enumerate(lines):
            if i:
                self.at_start, self.dropped = True, 0
            drop = 0
            if self.at_start:
                spaces = len(line) - len(line.lstrip(b" "))
                drop = min(spaces, max(0, self.indent - self.dropped))
                self.dropped += spaces
                if spaces < len(line):
                    self.at_start, self.dropped = False, 0
            text = _decode(line[drop:]) + ("\n" if i < last else "")
            chunks.append(Chunk(text, start + offset + drop, False, i < last))
            offset += len(line) + 1
        if final and last > 0 and not chunks[-1].text.strip(" "):
            # Nix drops a trailing spaces-only line of the final text piece.
            chunks.pop()
        return [c for c in chunks if c.text]


def _indented_chunks(pieces: list[tuple[str, object, int]]) -> list[Chunk]:
    pieces = _skip_first_line(pieces)
    dedent = _Dedent(_min_indent(pieces))
    chunks: list[Chunk] = []
    last_piece = len(pieces) - 1
    for index, (kind, payload, start) in enumerate(pieces):
        if kind == "interp":
            assert isinstance(payload, str)
            dedent.interpolation()
            chunks.append(Chunk(payload, start, True))
        elif kind == "esc":
            assert isinstance(payload, str)
            text = dedent.escape(payload)
            if text:
                chunks.append(Chunk(text, start, False))
        else:
            assert isinstance(payload, bytes)
            chunks.extend(dedent.text(payload, start, index == last_piece))
    return chunks


def string_chunks(node: Node, src: bytes) -> list[Chunk]:
    """Decode a ``string_expression`` or ``indented_string_expression`` into chunks."""
    indented = node.type == "indented_string_expression"
    pieces = _pieces(node, src, indented)
    return _indented_chunks(pieces) if indented else _plain_chunks(pieces)


def chunks_text(chunks: list[Chunk]) -> str:
    """The decoded string with interpolations written back as ``${source}``."""
    return "".join("${" + c.text + "}" if c.interpolation else c.text for c in chunks)


def merge_line_chunks(chunks: list[Chunk]) -> list[Chunk]:
    """Merge neighbouring literal chunks that sit on the same source line."""
    merged: list[Chunk] = []
    for c in chunks:
        prev = merged[-1] if merged else None
        if (
            prev is not None
            and not c.interpolation
            and not prev.interpolation
            and not prev.ends_line
        ):
            merged[-1] = Chunk(prev.text + c.text, prev.start, False, c.ends_line)
        else:
            merged.append(Chunk(c.text, c.start, c.interpolation, c.ends_line))
    return merged
