"""Option declarations: ``mkOption``, ``mkEnableOption``, ``mkPackageOption`` under ``options``.

Submodule types are descended (``attrsOf`` adds ``<name>``, ``listOf`` adds
``*``) and the submodule is read as a module at the option's path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tree_sitter import Node

from .model import LIST_WILDCARD, NAME_WILDCARD, OptionDecl, Pos, join_path
from .scope import WalkState
from .source import MAX_DEPTH
from .syntax import ATTRSETS, bindings, call_name, list_items

if TYPE_CHECKING:
    from .modules import ModuleReader

#: Functions that declare an option, and the kind each is recorded as.
DECLARATION_KINDS = {
    "mkOption": "mkOption",
    "mkEnableOption": "mkEnableOption",
    "mkPackageOption": "mkPackageOption",
    "mkPackageOptionMD": "mkPackageOption",
}
# Type functions looked through to the element type: which argument is the
# element type, and the path segment an element adds (None: the same path).
_ELEMENT_TYPES: dict[str, tuple[int, str | None]] = {
    "attrsOf": (-1, NAME_WILDCARD),
    "lazyAttrsOf": (-1, NAME_WILDCARD),
    "listOf": (-1, LIST_WILDCARD),
    "nullOr": (0, None),
    "uniq": (0, None),
    "addCheck": (0, None),
    "unique": (-1, None),
    "coercedTo": (-1, None),
}
_MAX_TYPE_DEPTH = 32


class DeclarationReader:
    """Records the option declarations below a value of a module's ``options``."""

    def __init__(self, reader: ModuleReader) -> None:
        self.reader = reader
        self.source = reader.source

    def read(self, node: Node | None, state: WalkState) -> None:
        """Record the declarations of ``node``, the value at option path ``state.prefix``."""
        if node is None or state.depth > MAX_DEPTH:
            return
        node, scope = self.reader.peel(node, state.scope)
        if node is None:
            return
        if scope is not state.scope:
            state = state.with_scope(scope)
        if node.type == "apply_expression":
            name, args = call_name(node)
            kind = DECLARATION_KINDS.get(name or "")
            if kind is not None and state.prefix:
                self._declare(kind, args, state, state.binding or node)
            elif name == "mkMerge" and len(args) == 1:
                items, items_scope = self.reader.peel(args[0], scope)
                for element in list_items(items):
                    self.read(element, state.deeper(items_scope))
        elif node.type in ATTRSETS:
            for entry in bindings(node):
                if entry.type != "binding":
                    continue
                segments = self.source.attr_segments(entry.child_by_field_name("attrpath"))
                if segments:
                    self.read(entry.child_by_field_name("expression"), state.below(segments, entry))

    def _declare(self, kind: str, args: list[Node], state: WalkState, anchor: Node) -> None:
        path, pos = join_path(state.prefix), self.source.node_pos(anchor)
        if kind == "mkOption":
            declaration = self._mk_option(args, state, path, pos)
        elif kind == "mkEnableOption":
            declaration = self._mk_enable_option(args, path, pos)
        else:
            declaration = self._mk_package_option(args, state, path, pos)
        self.reader.findings.declarations.append(declaration)

    def _mk_option(self, args: list[Node], state: WalkState, path: str, pos: Pos) -> OptionDecl:
        """``mkOption { type = ...; default = ...; description = ...; }``."""
        source = self.source
        attrs = self.reader.simple_attrs(args[0], state.scope) if args else {}
        type_node = attrs.get("type")
        if type_node is not None:
            self.types(type_node, state.at(state.prefix))
        default = attrs.get("default")
        is_literal, value = source.literal(default) if default is not None else (False, None)
        return OptionDecl(
            path=path,
            kind="mkOption",
            type_text=source.text(type_node) if type_node is not None else None,
            has_default=default is not None,
            default=value if is_literal else None,
            default_is_literal=is_literal,
            default_text=source.text(default) if default is not None else None,
            description=source.literal_string(attrs.get("description")),
            pos=pos,
        )

    def _mk_enable_option(self, args: list[Node], path: str, pos: Pos) -> OptionDecl:
        """``mkEnableOption "name"``: a boolean defaulting to false."""
        return OptionDecl(
            path=path,
            kind="mkEnableOption",
            type_text=None,
            has_default=True,
            default=False,
            default_is_literal=True,
            default_text=None,
            description=self.source.literal_string(args[0]) if args else None,
            pos=pos,
        )

    def _mk_package_option(
        self, args: list[Node], state: WalkState, path: str, pos: Pos
    ) -> OptionDecl:
        """``mkPackageOption pkgs "name" { default = ...; }``: the default is never literal."""
        extra = self.reader.simple_attrs(args[2], state.scope) if len(args) > 2 else {}
        default = extra.get("default")
        if default is None and len(args) > 1:
            default = args[1]
        return OptionDecl(
            path=path,
            kind="mkPackageOption",
            type_text=None,
            has_default=True,
            default=None,
            default_is_literal=False,
            default_text=self.source.text(default) if default is not None else None,
            description=None,
            pos=pos,
        )

    def types(self, node: Node | None, state: WalkState) -> None:
        """Find submodules inside a type expression and read them as modules at ``state.prefix``."""
        if node is None or state.depth > _MAX_TYPE_DEPTH:
            return
        node, scope = self.reader.peel(node, state.scope)
        if node is None or node.type != "apply_expression":
            return
        name, args = call_name(node)
        if not args or name is None:
            return
        state = state.with_scope(scope)
        element = _ELEMENT_TYPES.get(name)
        if element is not None:
            index, segment = element
            self.types(args[index], state.below([segment]) if segment else state.deeper())
        elif name == "either":
            for arg in args:
                self.types(arg, state.deeper())
        elif name == "oneOf":
            items, items_scope = self.reader.peel(args[0], scope)
            for item in list_items(items):
                self.types(item, state.deeper(items_scope))
        elif name == "submodule":
            self.reader.module(args[0], state.at(state.prefix))
        elif name == "submoduleWith":
            modules = self.reader.simple_attrs(args[0], scope).get("modules")
            items, items_scope = self.reader.peel(modules, scope)
            for item in list_items(items):
                self.reader.module(item, WalkState(items_scope, state.sink, state.prefix))
