"""tree-sitter-nix: the parser, and small questions about syntax nodes.

Nothing here knows about modules or options; these helpers only take apart
the node kinds of the grammar (function applications, bindings, formals).
"""

from __future__ import annotations

import threading

import tree_sitter
import tree_sitter_nix
from tree_sitter import Node

#: Attribute set node kinds (``{ ... }`` and ``rec { ... }``).
ATTRSETS = frozenset({"attrset_expression", "rec_attrset_expression"})
#: Path-like literal node kinds, and the :attr:`StringLiteral.kind` each is recorded as.
PATHS = {
    "path_expression": "path",
    "hpath_expression": "path",
    "spath_expression": "path",
    "uri_expression": "uri",
}
STRINGS = frozenset({"string_expression", "indented_string_expression"})
# Kinds of the entries of a set or ``let``: ``a = v;``, ``inherit a;``, ``inherit (s) a;``.
_BINDING_KINDS = ("binding", "inherit", "inherit_from")

_local = threading.local()


def parser() -> tree_sitter.Parser:
    """This thread's tree-sitter-nix parser (a Parser is not safe to share between threads)."""
    found = getattr(_local, "parser", None)
    if found is None:
        found = tree_sitter.Parser(tree_sitter.Language(tree_sitter_nix.language()))
        _local.parser = found
    return found


def unparen(node: Node | None) -> Node | None:
    """``((x))`` → ``x``."""
    while node is not None and node.type == "parenthesized_expression":
        node = node.child_by_field_name("expression")
    return node


def apply_chain(node: Node) -> tuple[Node | None, list[Node]]:
    """``f a b`` → ``(f, [a, b])``; parentheses around the function are peeled."""
    args: list[Node] = []
    current: Node | None = node
    while current is not None and current.type == "apply_expression":
        arg = current.child_by_field_name("argument")
        if arg is not None:
            args.append(arg)
        current = unparen(current.child_by_field_name("function"))
    args.reverse()
    return current, args


def head_name(head: Node | None) -> str | None:
    """The name a function is called by: ``mkIf``, ``lib.mkIf`` → ``mkIf``."""
    if head is None:
        return None
    if head.type == "variable_expression":
        return variable_name(head)
    if head.type == "select_expression" and head.child_by_field_name("default") is None:
        path = head.child_by_field_name("attrpath")
        if path is not None and path.named_child_count:
            last = path.named_children[-1]
            if last.type == "identifier" and last.text:
                return last.text.decode()
    return None


def call_name(node: Node) -> tuple[str | None, list[Node]]:
    """``lib.mkIf c v`` → ``("mkIf", [c, v])``."""
    head, args = apply_chain(node)
    return head_name(head), args


def variable_name(node: Node | None) -> str | None:
    """The name of a variable reference, ``None`` for anything else."""
    if node is not None and node.type == "variable_expression":
        name = node.child_by_field_name("name")
        if name is not None and name.text:
            return name.text.decode()
    return None


def bindings(node: Node) -> list[Node]:
    """Binding nodes of an attribute set or let (an ERROR node's too, to salvage broken files)."""
    found: list[Node] = []
    for child in node.children:
        kind = child.type
        if kind == "binding_set":
            found.extend(c for c in child.children if c.type in _BINDING_KINDS)
        elif kind in _BINDING_KINDS:
            found.append(child)
    return found


def is_attrset(node: Node | None) -> bool:
    """An attribute set, or the ERROR node tree-sitter wraps a broken top-level set in."""
    if node is None:
        return False
    if node.type in ATTRSETS:
        return True
    return node.type == "ERROR" and any(c.type in ("binding", "binding_set") for c in node.children)


def formal_names(function: Node) -> list[str]:
    """Names a function binds: ``args@{ a, b ? 1, ... }:`` → ``[args, a, b]``."""
    names: list[str] = []
    universal = function.child_by_field_name("universal")
    if universal is not None and universal.text:
        names.append(universal.text.decode())
    formals = function.child_by_field_name("formals")
    if formals is not None:
        for formal in formals.children:
            if formal.type == "formal":
                name = formal.child_by_field_name("name")
                if name is not None and name.text:
                    names.append(name.text.decode())
    return names


def list_items(node: Node | None) -> list[Node]:
    """The elements of a list literal (comments left out); ``[]`` for anything else."""
    if node is None or node.type != "list_expression":
        return []
    return [el for el in node.named_children if el.type != "comment"]
