"""One Nix file's bytes: positions, source text, attribute names and literal values."""

from __future__ import annotations

import bisect

from tree_sitter import Node

from .model import NAME_WILDCARD, Pos, render_segment
from .strings import string_chunks
from .syntax import STRINGS, bindings, call_name, unparen, variable_name

#: How deeply literal values (and the recursive parts of the module pass) are
#: followed.  Real modules stay far below it.
MAX_DEPTH = 200

#: Functions a description may be wrapped in; the text inside is the description.
_DESCRIPTION_WRAPPERS = frozenset({"mdDoc", "literalMD"})


class SourceFile:
    """The bytes of one file, with the arithmetic that turns nodes into positions and values."""

    def __init__(self, src: bytes, path: str) -> None:
        self.src = src
        #: Project-relative posix path, used in every position.
        self.path = path
        self._ascii = src.isascii()
        self._line_starts: list[int] | None = None

    @property
    def line_starts(self) -> list[int]:
        """Byte offset of the start of each line."""
        if self._line_starts is None:
            starts = [0]
            find = self.src.find
            i = find(b"\n")
            while i >= 0:
                starts.append(i + 1)
                i = find(b"\n", i + 1)
            self._line_starts = starts
        return self._line_starts

    @property
    def line_count(self) -> int:
        return len(self.line_starts) - (1 if self.src.endswith(b"\n") else 0)

    def pos(self, byte: int) -> Pos:
        """The position of a byte offset; columns count characters."""
        starts = self.line_starts
        row = bisect.bisect_right(starts, byte) - 1
        line_start = starts[row]
        column = byte - line_start
        if column and not self._ascii:
            column = len(self.src[line_start:byte].decode("utf-8", errors="replace"))
        return Pos(self.path, row + 1, column + 1)

    def node_pos(self, node: Node) -> Pos:
        """Where ``node`` starts."""
        row, column = node.start_point
        if column and not self._ascii:
            start = node.start_byte
            column = len(self.src[start - column : start].decode("utf-8", errors="replace"))
        return Pos(self.path, row + 1, column + 1)

    def text(self, node: Node) -> str:
        """The source text of ``node``."""
        return self.src[node.start_byte : node.end_byte].decode("utf-8", errors="replace")

    # -- attribute names ---------------------------------------------------

    def attr_segments(self, attrpath: Node | None) -> list[str]:
        """Rendered segments of an attrpath; dynamic ``${...}`` parts become ``<name>``."""
        if attrpath is None:
            return []
        segments: list[str] = []
        for attr in attrpath.named_children:
            kind = attr.type
            if kind == "identifier":
                segments.append(self.text(attr))  # the grammar only admits Nix identifiers
            elif kind == "string_expression" or kind == "interpolation":
                segments.append(self._quoted_segment(attr))
        return segments

    def _quoted_segment(self, attr: Node) -> str:
        """``"name"`` or ``${"name"}`` rendered; any other interpolation is ``<name>``."""
        if attr.type == "interpolation":
            inner = unparen(attr.child_by_field_name("expression"))
            if inner is None or inner.type != "string_expression":
                return NAME_WILDCARD
            attr = inner
        name = self._constant_string(attr)
        return NAME_WILDCARD if name is None else render_segment(name)

    def _constant_string(self, node: Node) -> str | None:
        """The text of a string node without interpolations, else ``None``."""
        if node.type == "string_expression":
            parts = node.named_children
            if len(parts) == 1 and parts[0].type == "string_fragment":
                # The common case, "plain text": no escapes to decode.
                fragment = parts[0]
                raw = self.src[fragment.start_byte : fragment.end_byte]
                return raw.decode("utf-8", errors="replace")
        chunks = string_chunks(node, self.src)
        if any(c.interpolation for c in chunks):
            return None
        return "".join(c.text for c in chunks)

    def _plain_segments(self, attrpath: Node | None) -> list[str] | None:
        """Raw (unrendered) attribute names, or ``None`` when one is not a constant."""
        if attrpath is None:
            return None
        names: list[str] = []
        for attr in attrpath.named_children:
            if attr.type == "identifier":
                names.append(self.text(attr))
                continue
            name = self._constant_string(attr) if attr.type == "string_expression" else None
            if name is None:
                return None
            names.append(name)
        return names

    # -- literal values ----------------------------------------------------

    def literal(self, node: Node | None, depth: int = 0) -> tuple[bool, object]:
        """``(True, value)`` when ``node`` is a literal Nix value, else ``(False, None)``.

        Values nested deeper than :data:`MAX_DEPTH` are not literal: the
        limit keeps pathological inputs from exhausting Python's stack.
        """
        node = unparen(node)
        if node is None or depth > MAX_DEPTH:
            return _NOT_LITERAL
        kind = node.type
        if kind in STRINGS:
            text = self._constant_string(node)
            return _NOT_LITERAL if text is None else (True, text)
        evaluate = _LITERALS.get(kind)
        return _NOT_LITERAL if evaluate is None else evaluate(self, node, depth)

    def _number(self, node: Node, _depth: int) -> tuple[bool, object]:
        convert = int if node.type == "integer_expression" else float
        try:
            return True, convert(self.text(node))
        except ValueError:
            return _NOT_LITERAL

    def _variable(self, node: Node, _depth: int) -> tuple[bool, object]:
        name = variable_name(node)
        if name in ("true", "false"):
            return True, name == "true"
        if name == "null":
            return True, None
        return _NOT_LITERAL

    def _negation(self, node: Node, depth: int) -> tuple[bool, object]:
        operator = node.child_by_field_name("operator")
        ok, value = self.literal(node.child_by_field_name("argument"), depth + 1)
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and operator is not None and operator.type == "-" and is_number:
            return True, -value  # type: ignore[operator]
        return _NOT_LITERAL

    def _list(self, node: Node, depth: int) -> tuple[bool, object]:
        items = []
        for element in node.named_children:
            if element.type == "comment":
                continue
            ok, value = self.literal(element, depth + 1)
            if not ok:
                return _NOT_LITERAL
            items.append(value)
        return True, items

    def _attrset(self, node: Node, depth: int) -> tuple[bool, object]:
        result: dict[str, object] = {}
        for binding in bindings(node):
            if binding.type != "binding":
                return _NOT_LITERAL
            names = self._plain_segments(binding.child_by_field_name("attrpath"))
            ok, value = self.literal(binding.child_by_field_name("expression"), depth + 1)
            if names is None or not ok or not _dict_insert(result, names, value):
                return _NOT_LITERAL
        return True, result

    def literal_string(self, node: Node | None) -> str | None:
        """A literal string, looking through ``mdDoc``/``literalMD``; else ``None``."""
        node = unparen(node)
        if node is not None and node.type == "apply_expression":
            name, args = call_name(node)
            if name in _DESCRIPTION_WRAPPERS and len(args) == 1:
                node = unparen(args[0])
        ok, value = self.literal(node)
        return value if ok and isinstance(value, str) else None


_NOT_LITERAL: tuple[bool, object] = (False, None)

_LITERALS = {
    "integer_expression": SourceFile._number,
    "float_expression": SourceFile._number,
    "variable_expression": SourceFile._variable,
    "unary_expression": SourceFile._negation,
    "list_expression": SourceFile._list,
    "attrset_expression": SourceFile._attrset,
}


def _dict_insert(target: dict[str, object], names: list[str], value: object) -> bool:
    """Set ``target[n1][n2]... = value``; ``False`` when Nix would reject the set."""
    current = target
    for name in names[:-1]:
        nested = current.setdefault(name, {})
        if not isinstance(nested, dict):
            return False
        current = nested
    last = names[-1]
    if last in current:
        existing = current[last]
        if isinstance(existing, dict) and isinstance(value, dict):
            # ``a.b = 1; a = { c = 2; };`` merges, as in Nix.
            return all(_dict_insert(existing, [k], v) for k, v in value.items())
        return False
    current[last] = value
    return True
