"""Compliance tests: ``mkComplianceTest { name; controls; nodes; testScript; }`` calls.

The ``nodes`` are read as modules; their definitions are file definitions too,
tagged with the test's name.  The plain NixOS test functions (``nixosTest``
and friends) have their nodes read the same way, untagged.
"""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING

from tree_sitter import Node

from .model import ComplianceTest, Pos, Subtest
from .scope import DefinitionSink, Scope, WalkState
from .strings import string_chunks
from .syntax import ATTRSETS, STRINGS, apply_chain, bindings, list_items
from .testscript import count_assertions, find_subtests

if TYPE_CHECKING:
    from .modules import ModuleReader

#: Called by a name ending in one of these (``lib.mkComplianceTest``), a call is a compliance test.
TEST_CALLS = frozenset({"mkComplianceTest"})
#: NixOS test functions whose ``nodes`` are modules (but which are not compliance tests).
OTHER_TEST_CALLS = frozenset({"nixosTest", "runNixOSTest", "makeTest", "makeNixOSTest"})


class ComplianceTestReader:
    """Records compliance tests, and reads the nodes of any NixOS test."""

    def __init__(self, reader: ModuleReader) -> None:
        self.reader = reader
        self.source = reader.source

    def read(self, call: Node, argument: Node, scope: Scope) -> None:
        """Record the test ``call`` (``mkComplianceTest argument``) and its nodes' definitions."""
        reader, source = self.reader, self.source
        node, scope = reader.peel(argument, scope)
        attrs = reader.simple_attrs(node, scope) if node is not None else {}
        name = self._name(attrs.get("name"))
        sink = DefinitionSink(test=name)
        node_names = self.read_nodes(node, WalkState(scope, sink)) if node is not None else []
        reader.findings.sink.definitions.extend(sink.definitions)
        head, _ = apply_chain(call)
        reader.findings.tests.append(
            ComplianceTest(
                name=name,
                controls=tuple(self._controls(attrs.get("controls"), scope)),
                options_set=tuple(dict.fromkeys(d.path for d in sink.definitions)),
                assertions=self._assertions(attrs.get("testScript"), scope),
                pos=source.node_pos(head if head is not None else call),
                node_names=tuple(node_names),
                subtests=self._subtests(attrs.get("testScript"), scope),
            )
        )

    def _name(self, node: Node | None) -> str:
        """The test's name: the literal string, else its source text."""
        if node is None:
            return ""
        name = self.source.literal_string(node)
        return self.source.text(node) if name is None else name

    def _controls(self, node: Node | None, scope: Scope) -> list[str]:
        """The literal strings of the ``controls`` list."""
        items, _ = self.reader.peel(node, scope)
        controls = (self.source.literal_string(item) for item in list_items(items))
        return [control for control in controls if control is not None]

    def _script_chunks(self, node: Node | None, scope: Scope) -> list | None:
        """The chunks of a literal ``testScript`` (also ``{ nodes, ... }: ''...''``)."""
        script, _ = self.reader.peel(node, scope)
        while script is not None and script.type == "function_expression":
            script, _ = self.reader.peel(script.child_by_field_name("body"), scope)
        if script is None or script.type not in STRINGS:
            return None
        return string_chunks(script, self.source.src)

    def _subtests(self, node: Node | None, scope: Scope) -> tuple[Subtest, ...]:
        """The ``with subtest(...)`` blocks of a literal script, with their positions (a
        call may span lines: the script is scanned whole, then mapped back to chunks)."""
        chunks = self._script_chunks(node, scope) or []
        starts, parts, offset = [], [], 0
        for chunk in chunks:
            text = "_" if chunk.interpolation else chunk.text
            starts.append(offset)
            parts.append(text)
            offset += len(text)
        found = []
        for name, controls, at in find_subtests("".join(parts)):
            index = bisect.bisect_right(starts, at) - 1
            chunk = chunks[index]
            line = self.source.pos(chunk.start).line + parts[index].count(
                "\n", 0, at - starts[index]
            )
            found.append(Subtest(name, controls, Pos(self.source.path, line, 1)))
        return tuple(found)

    def _assertions(self, node: Node | None, scope: Scope) -> int:
        """Checks in a literal ``testScript`` (also ``{ nodes, ... }: ''...''``); else 0."""
        chunks = self._script_chunks(node, scope)
        if chunks is None:
            return 0
        # Interpolations become a neutral name so that their Nix source is not
        # mistaken for Python calls.
        return count_assertions("".join("_" if c.interpolation else c.text for c in chunks))

    def read_nodes(self, argument: Node | None, state: WalkState) -> list[str]:
        """Read the ``nodes`` of a test's argument set as modules; return the node names.

        ``nodes = { a = ...; }``, ``nodes.a = ...`` and ``nodes.a.services.x = ...``
        (a definition in node ``a``) are all understood.
        """
        node, scope = self.reader.peel(argument, state.scope)
        names: list[str] = []
        if node is None or node.type not in ATTRSETS:
            return names
        attr_segments = self.source.attr_segments
        for entry in bindings(node):
            if entry.type != "binding":
                continue
            segments = attr_segments(entry.child_by_field_name("attrpath"))
            if not segments or segments[0] != "nodes":
                continue
            if len(segments) > 1:
                names.append(self._node(segments[1:], entry, WalkState(scope, state.sink)))
                continue
            nodes, nodes_scope = self.reader.peel(entry.child_by_field_name("expression"), scope)
            if nodes is None or nodes.type not in ATTRSETS:
                continue
            for node_entry in bindings(nodes):
                if node_entry.type != "binding":
                    continue
                node_segments = attr_segments(node_entry.child_by_field_name("attrpath"))
                if node_segments:
                    names.append(
                        self._node(node_segments, node_entry, WalkState(nodes_scope, state.sink))
                    )
        return list(dict.fromkeys(names))

    def _node(self, segments: list[str], binding: Node, state: WalkState) -> str:
        """``name = module;`` or ``name.a.b = value;`` in ``nodes``; returns the node's name."""
        value = binding.child_by_field_name("expression")
        if len(segments) == 1:
            self.reader.module(value, state)
        else:
            self.reader.definitions.read(value, state.at(tuple(segments[1:]), binding))
        return segments[0]
