"""Lexical scopes, and the state the module pass carries down the tree.

A :class:`Scope` lets the module pass follow a variable to the value a ``let``
(or ``rec`` set) bound it to, and stop at a function argument of that name.
A :class:`WalkState` is everything a step of the walk needs besides the node:
where definitions go, the option path so far, the priority wrapper looked
through, and how deep the walk is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tree_sitter import Node

from .model import OptionDef
from .syntax import bindings, formal_names


@dataclass(slots=True)
class Scope:
    """One lexical frame: a let (name → value node) or a function (name → None)."""

    names: dict[str, Node | None]
    parent: Scope | None

    def lookup(self, name: str) -> tuple[Node | None, Scope] | None:
        """The value bound to ``name`` and the frame binding it; ``None`` when free."""
        scope: Scope | None = self
        while scope is not None:
            if name in scope.names:
                return scope.names[name], scope
            scope = scope.parent
        return None


#: The empty scope a file starts in.
ROOT_SCOPE = Scope({}, None)


def let_scope(node: Node, parent: Scope) -> Scope:
    """The frame of a ``let`` or ``rec { }``: ``x = v;`` binds ``x`` to ``v``; inherits hide."""
    names: dict[str, Node | None] = {}
    for binding in bindings(node):
        if binding.type == "binding":
            path = binding.child_by_field_name("attrpath")
            if path is not None and path.named_child_count == 1:
                attr = path.named_children[0]
                if attr.type == "identifier" and attr.text:
                    names[attr.text.decode()] = binding.child_by_field_name("expression")
        else:
            attrs = binding.child_by_field_name("attrs")
            if attrs is not None:
                for attr in attrs.named_children:
                    if attr.text:
                        names[attr.text.decode()] = None
    return Scope(names, parent)


def function_scope(function: Node, parent: Scope) -> Scope:
    """The frame of a function: its arguments hide outer bindings of the same names."""
    return Scope(dict.fromkeys(formal_names(function)), parent)


@dataclass(slots=True)
class DefinitionSink:
    """Where the module pass puts definitions: the file's list, or one compliance test's."""

    definitions: list[OptionDef] = field(default_factory=list)
    #: The compliance test whose ``nodes`` are being read (tags each definition).
    test: str | None = None


@dataclass(frozen=True, slots=True)
class WalkState:
    """What one step of the module pass knows besides the node it is at."""

    scope: Scope
    sink: DefinitionSink
    #: Option path segments above the node (rendered, see :func:`render_segment`).
    prefix: tuple[str, ...] = ()
    #: The binding whose value is being read; definitions are reported at it.
    binding: Node | None = None
    #: The priority wrapper looked through (``mkForce``) and its numeric priority.
    priority: str | None = None
    priority_value: int | None = None
    #: Nesting of the current descent (see :data:`kbgen.nix.source.MAX_DEPTH`).
    depth: int = 0

    @property
    def test(self) -> str | None:
        """The compliance test being read, ``None`` in an ordinary module."""
        return self.sink.test

    def deeper(self, scope: Scope | None = None) -> WalkState:
        """One level down, everything else kept (optionally in another scope)."""
        return WalkState(
            self.scope if scope is None else scope, self.sink, self.prefix, self.binding,
            self.priority, self.priority_value, self.depth + 1,
        )  # fmt: skip

    def with_scope(self, scope: Scope) -> WalkState:
        """The same step, in another scope."""
        if scope is self.scope:
            return self
        return WalkState(
            scope, self.sink, self.prefix, self.binding, self.priority, self.priority_value,
            self.depth,
        )  # fmt: skip

    def below(
        self, segments: list[str] | tuple[str, ...], binding: Node | None = None
    ) -> WalkState:
        """One level down, at ``segments`` below the path so far (the value of ``binding``)."""
        return WalkState(
            self.scope, self.sink, self.prefix + tuple(segments), binding, self.priority,
            self.priority_value, self.depth + 1,
        )  # fmt: skip

    def prioritised(self, priority: str, value: int | None) -> WalkState:
        """Into the argument of a priority wrapper such as ``mkForce``."""
        return WalkState(
            self.scope, self.sink, self.prefix, self.binding, priority, value, self.depth + 1
        )

    def at(self, prefix: tuple[str, ...], binding: Node | None = None) -> WalkState:
        """A fresh descent at option path ``prefix`` (same scope and sink)."""
        return WalkState(self.scope, self.sink, prefix, binding)
