"""Configuration definitions: the leaves of a module's ``config``.

A definition is recorded at the deepest attribute path whose value is not an
attribute set, looking through ``mkIf``, ``mkMerge``, ``//``, priority and
ordering wrappers and let-bound sets (``docs/nix-index.md`` has the details).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tree_sitter import Node

from .compliance import TEST_CALLS
from .model import OptionDef, join_path, render_segment
from .scope import DefinitionSink, Scope, WalkState, let_scope
from .source import MAX_DEPTH
from .syntax import ATTRSETS, bindings, call_name, list_items

if TYPE_CHECKING:
    from .modules import ModuleReader

#: Priority wrappers, and the priority each gives (``mkOverride N`` gives N).
PRIORITIES = {
    "mkDefault": 1000,
    "mkForce": 50,
    "mkOptionDefault": 1500,
    "mkVMOverride": 10,
    "mkImageMediaOverride": 60,
}
ORDERING = frozenset({"mkBefore", "mkAfter"})
CONDITIONAL = frozenset({"mkIf", "optionalAttrs"})
# Calls whose last argument is the value, as it is: the number of arguments they take.
_LOOKED_THROUGH = {**dict.fromkeys(CONDITIONAL, 2), **dict.fromkeys(ORDERING, 1), "mkOrder": 2}
# Values reached through a let-bound variable are only followed when they look
# like module structure; a plain value stays a leaf at the variable.
_STRUCTURAL_CALLS = frozenset(
    {*PRIORITIES, *ORDERING, *CONDITIONAL, "mkMerge", "mkOverride", "mkOrder"}
)


class DefinitionReader:
    """Records the definitions below a value of a module's configuration."""

    def __init__(self, reader: ModuleReader) -> None:
        self.reader = reader
        self.source = reader.source

    def read(self, node: Node | None, state: WalkState) -> None:
        """Record the definitions of ``node``, the value at option path ``state.prefix``."""
        if node is None or state.depth > MAX_DEPTH:
            return
        node, scope = self.reader.peel(node, state.scope, follow_variables=False)
        if node is None:
            return
        if scope is not state.scope:
            state = state.with_scope(scope)
        kind = node.type
        if kind == "variable_expression":
            handled = self._variable(node, state)
        elif kind == "apply_expression":
            handled = self._call(node, state)
        elif kind == "binary_expression":
            handled = self._update(node, state)
        elif kind in ATTRSETS:
            handled = self._attrset(node, state)
        else:
            handled = False
        if not handled:
            self._leaf(node, state)

    def _variable(self, node: Node, state: WalkState) -> bool:
        """A let-bound set (or ``mkIf``, ``mkMerge`` ...) is read where it is used."""
        reader = self.reader
        resolved = reader.resolve(node, state.scope)
        if resolved is None or not self._structural(*resolved):
            return False
        value, scope = resolved
        reader.expanding.add(value.id)
        try:
            self.read(value, state.deeper(scope))
        finally:
            reader.expanding.discard(value.id)
        return True

    def _structural(self, node: Node, scope: Scope) -> bool:
        node, _ = self.reader.peel(node, scope, follow_variables=False)
        if node is None:
            return False
        if node.type in ATTRSETS:
            return True
        return node.type == "apply_expression" and call_name(node)[0] in _STRUCTURAL_CALLS

    def _call(self, node: Node, state: WalkState) -> bool:
        """Look through ``mkIf c v``, ``mkForce v``, ``mkMerge [ ... ]`` and friends."""
        name, args = call_name(node)
        if name is None:
            return False
        arity = _LOOKED_THROUGH.get(name)
        if arity is not None and len(args) == arity:
            self.read(args[-1], state.deeper())
            return True
        if name in PRIORITIES and len(args) == 1:
            self.read(args[0], state.prioritised(name, PRIORITIES[name]))
            return True
        if name == "mkOverride" and len(args) == 2:
            ok, level = self.source.literal(args[0])
            is_int = ok and isinstance(level, int) and not isinstance(level, bool)
            self.read(args[1], state.prioritised(name, level if is_int else None))  # type: ignore[arg-type]
            return True
        if name == "mkMerge" and len(args) == 1:
            items, scope = self.reader.peel(args[0], state.scope)
            if items is None or items.type != "list_expression":
                return False
            for element in list_items(items):
                self.read(element, state.deeper(scope))
            return True
        return False

    def _update(self, node: Node, state: WalkState) -> bool:
        """``a // b``: the definitions of both sides."""
        operator = node.child_by_field_name("operator")
        if operator is None or operator.type != "//":
            return False
        self.read(node.child_by_field_name("left"), state.deeper())
        self.read(node.child_by_field_name("right"), state.deeper())
        return True

    def _attrset(self, node: Node, state: WalkState) -> bool:
        """A non-empty set: each binding one level deeper in the option path."""
        entries = bindings(node)
        if not entries:
            return False  # ``{ }`` is itself a value
        inner = state
        if node.type == "rec_attrset_expression":
            inner = state.with_scope(let_scope(node, state.scope))
        for entry in entries:
            if entry.type != "binding":
                self.inherit(entry, state.prefix, state.sink)
                continue
            segments = self.source.attr_segments(entry.child_by_field_name("attrpath"))
            if segments:
                self.read(entry.child_by_field_name("expression"), inner.below(segments, entry))
        return True

    def _leaf(self, node: Node, state: WalkState) -> None:
        if not state.prefix or node.is_missing or node.start_byte == node.end_byte:
            return  # nothing to record, or a value tree-sitter had to invent
        if node.type == "apply_expression" and state.test is None:
            name, args = call_name(node)
            if name in TEST_CALLS and args:
                # ``{ security = mkComplianceTest { ... }; }`` looks like a module
                # by its keys; the value says it is a test, not configuration.
                self.reader.compliance_tests.read(node, args[0], state.scope)
                return
        source = self.source
        ok, value = source.literal(node)
        anchor = state.binding if state.binding is not None else node
        state.sink.definitions.append(
            OptionDef(
                path=join_path(state.prefix),
                value_text=source.text(node),
                value=value if ok else None,
                value_is_literal=ok,
                priority=state.priority,
                pos=source.node_pos(anchor),
                priority_value=state.priority_value,
                test=state.test,
            )
        )

    def inherit(self, binding: Node, prefix: tuple[str, ...], sink: DefinitionSink) -> None:
        """``inherit x;`` or ``inherit (s) x;`` in a configuration set defines ``x``."""
        source = self.source
        attrs = binding.child_by_field_name("attrs")
        if attrs is None:
            return
        origin = None
        if binding.type == "inherit_from":
            origin = binding.child_by_field_name("expression")
        for attr in attrs.named_children:
            if attr.type != "identifier":
                continue
            name = source.text(attr)
            sink.definitions.append(
                OptionDef(
                    path=join_path((*prefix, render_segment(name))),
                    value_text=f"{source.text(origin)}.{name}" if origin is not None else name,
                    value=None,
                    value_is_literal=False,
                    priority=None,
                    pos=source.node_pos(attr),
                    test=sink.test,
                )
            )
