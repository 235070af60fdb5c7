"""Indexing Nix sources with tree-sitter-nix.

Each file is parsed once and read in two passes:

1. **Module pass** (structural, recursive over the few node kinds that make
   up modules): option declarations, configuration definitions, module
   imports and ``mkComplianceTest`` calls.  It follows ``let`` bindings, so
   ``config = mkIf cfg.enable (mkMerge [ sshConfig auditConfig ]);`` with
   ``sshConfig = { ... };`` in a ``let`` yields the definitions inside
   ``sshConfig``, and ``types.submodule userOpts`` finds ``userOpts``.
2. **Generic pass** (every node once, iterative): comments, string
   literals with their context, ``config.*`` reads with let-aliases
   resolved, and tree-sitter ERROR/MISSING nodes.

What is a module
----------------
The top-level expression, after peeling function headers, ``let``, ``with``,
``assert`` and parentheses, is read as a module when it is a plain attribute
set and any of these holds:

* a function header binds ``config``, ``options`` or ``modulesPath``;
* it has a top-level ``options``, ``config`` or ``imports`` attribute;
* every top-level attribute starts with a known NixOS option namespace
  (``services``, ``boot``, ``networking``, ``compliance``, … see
  :data:`MODULE_NAMESPACES`), which catches shorthand modules like
  ``{ pkgs, ... }: { environment.systemPackages = [ pkgs.git ]; }``.

A top-level set with ``inputs`` or ``outputs`` is a flake, never a module.
Files that are not modules (flake.nix, library files, package expressions,
test files) are searched for embedded modules instead: the ``modules`` list
of ``nixosSystem``/``evalModules`` calls, ``nixosModules.*`` values, and the
``nodes`` of ``mkComplianceTest``/``nixosTest``/``runNixOSTest``/``makeTest``.

Module attributes follow ``lib.modules.unifyModuleSyntax``: with a top-level
``options`` or ``config`` attribute the module is in explicit form and only
``options`` (declarations), ``config`` and ``meta`` (definitions) and
``imports`` count; anything else would be an evaluation error and is
ignored.  Otherwise (shorthand form) every attribute is a definition except
``imports``/``require`` (imports) and ``_file``, ``key``, ``_class``,
``disabledModules``, ``freeformType`` (bookkeeping).  ``meta`` and
``_module`` are definitions in both forms, as in NixOS.

Definitions
-----------
A definition is recorded at each leaf: the deepest attribute path whose value
is not an attribute set, looking through ``mkIf``, ``mkMerge``,
``optionalAttrs``, ``//``, ``let``/``with``, ``mkBefore``/``mkAfter``/``mkOrder``
and the priority wrappers (``mkDefault``, ``mkForce``, ``mkOverride N``,
``mkOptionDefault``, ``mkVMOverride``, ``mkImageMediaOverride``), whose name is
kept in :attr:`OptionDef.priority`.  An empty set ``{ }`` is itself a leaf.
Intermediate paths are not recorded; :meth:`FlakeIndex.is_defined_or_declared`
answers prefix queries instead.  ``let`` bindings and function arguments are
never definitions (though a ``let``-bound set used as a module value is read
where it is used).  ``inherit x;`` in a config set defines ``x``.

Declarations
------------
``mkOption``, ``mkEnableOption`` and ``mkPackageOption`` (and
``mkPackageOptionMD``) under ``options``, however nested.  Submodule types are
descended: ``attrsOf``/``lazyAttrsOf`` add a ``<name>`` segment, ``listOf``
adds ``*``; ``nullOr``, ``uniq``, ``unique``, ``either``, ``oneOf``,
``coercedTo``, ``addCheck`` are looked through; ``submodule M`` and
``submoduleWith { modules = [ M ]; }`` read ``M`` as a module at that path.

Compliance tests
----------------
``mkComplianceTest { ... }`` called by any name ending in it
(``complianceLib.mkComplianceTest``, ``lib.mkComplianceTest``), found anywhere
in a non-module file or as a value in a module-looking one.  Its ``nodes``
(``nodes.machine = ...``, ``nodes = { a = ...; b = ...; }`` or
``nodes.machine.services.x = ...``) are read as modules; their definitions are
also file definitions, tagged with :attr:`OptionDef.test`.

Reads
-----
Every ``config.a.b`` select, where ``config`` is free or bound by a module's
``{ config, ... }:`` header (inside a submodule it means the submodule, so the
read is prefixed with the submodule's option path), plus selects on
``let`` aliases of such paths (``cfg = config.compliance.x;`` then
``cfg.enable``, chains of aliases too) and ``inherit (cfg) a;``.  A ``let`` or
lambda that rebinds ``config`` hides it.  Dynamic attributes
(``config.sops.secrets.${n}.path``) read ``<name>``.

Strings
-------
Every ``"..."`` and ``''...''`` literal, path, URI and quoted attribute name;
see :class:`~kbgen.nix.model.StringLiteral` for the fields.

Limits
------
Nesting deeper than :data:`_MAX_DEPTH` (nested sets, ``mkMerge`` layers,
literal lists) is not followed; a file that still exhausts Python's stack gets
a :class:`NixParseError` and keeps what was indexed.

Not recognised, deliberately: options produced by user helper functions
(``mkOpt = ...; options.x = mkOpt ...``), ``mkRenamedOptionModule`` and
friends, definitions inside ``if``/``then``/``else`` (recorded as one leaf),
modules chosen at evaluation time (``map`` over a list of paths), ``options``
reads (``options.x.y.default``), and compliance tests inside module files'
``let`` bindings.
"""

from __future__ import annotations

import bisect
import hashlib
import os
import posixpath
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import tree_sitter
import tree_sitter_nix
from tree_sitter import Node

from .model import (
    LIST_WILDCARD,
    NAME_WILDCARD,
    Comment,
    ComplianceTest,
    ConfigRead,
    FlakeIndex,
    NixFile,
    NixParseError,
    OptionDecl,
    OptionDef,
    Pos,
    StringLiteral,
    StringSegment,
    render_segment,
)
from .strings import Chunk, chunks_text, merge_line_chunks, string_chunks
from .testscript import count_assertions

__all__ = ["MODULE_NAMESPACES", "index_flake", "index_nix_source"]

#: Top-level attributes that mark an attribute set as a shorthand NixOS module.
MODULE_NAMESPACES = frozenset(
    {
        "appstream", "assertions", "boot", "compliance", "console", "containers",
        "documentation", "environment", "fileSystems", "fonts", "gtk", "hardware",
        "home-manager", "i18n", "location", "meta", "networking", "nix", "nixpkgs",
        "powerManagement", "programs", "qt", "security", "services", "sops", "sound",
        "specialisation", "swapDevices", "system", "systemd", "time", "users",
        "virtualisation", "warnings", "xdg", "zramSwap", "_module",
    }
)  # fmt: skip

_MODULE_BOOKKEEPING = frozenset({"_file", "key", "_class", "disabledModules", "freeformType"})
_IMPORT_KEYS = frozenset({"imports", "require"})

_PRIORITIES = {
    "mkDefault": 1000,
    "mkForce": 50,
    "mkOptionDefault": 1500,
    "mkVMOverride": 10,
    "mkImageMediaOverride": 60,
}
_ORDERING = frozenset({"mkBefore", "mkAfter"})
_CONDITIONAL = frozenset({"mkIf", "optionalAttrs"})
# Values reached through a let-bound variable are only followed when they look
# like module structure; a plain value stays a leaf at the variable.
_STRUCTURAL_CALLS = frozenset(
    {*_PRIORITIES, *_ORDERING, *_CONDITIONAL, "mkMerge", "mkOverride", "mkOrder"}
)

_DECL_KINDS = {
    "mkOption": "mkOption",
    "mkEnableOption": "mkEnableOption",
    "mkPackageOption": "mkPackageOption",
    "mkPackageOptionMD": "mkPackageOption",
}
_DESCRIPTION_WRAPPERS = frozenset({"mdDoc", "literalMD"})

_TEST_CALLS = frozenset({"mkComplianceTest"})
_OTHER_TEST_CALLS = frozenset({"nixosTest", "runNixOSTest", "makeTest", "makeNixOSTest"})
_SYSTEM_CALLS = frozenset({"nixosSystem", "evalModules", "darwinSystem"})

# Functions that only pass a string through: a string given to them takes its
# context from further out (``apiToken = mkDefault "x"`` → ``apiToken``).
_STRING_TRANSPARENT = frozenset(
    {
        *_PRIORITIES, *_ORDERING, *_CONDITIONAL, "mkMerge", "mkOverride", "mkOrder",
        "optional", "optionals", "optionalString", "toString", "mdDoc", "literalMD",
        "concatStrings", "concatStringsSep", "concatLines", "escapeShellArg",
        "escapeShellArgs", "mkAfter", "mkBefore",
    }
)  # fmt: skip
_CONTEXT_PASSTHROUGH = frozenset(
    {"parenthesized_expression", "list_expression", "if_expression", "let_expression",
     "with_expression", "assert_expression"}
)  # fmt: skip
_PASSTHROUGH_FIELDS = {
    "if_expression": frozenset({"consequence", "alternative"}),
    "let_expression": frozenset({"body"}),
    "with_expression": frozenset({"body"}),
    "assert_expression": frozenset({"body"}),
}
# Node kinds the generic pass has nothing to collect from, at or below them.
_LEAVES = frozenset(
    {"identifier", "integer_expression", "float_expression", "ellipses", "variable_expression"}
)
_ATTRSETS = frozenset({"attrset_expression", "rec_attrset_expression"})
_PATHS = {
    "path_expression": "path",
    "hpath_expression": "path",
    "spath_expression": "path",
    "uri_expression": "uri",
}

# How deeply the recursive parts of the module pass descend (nested sets,
# mkMerge/mkIf layers, literal lists).  Real modules stay far below it.
_MAX_DEPTH = 200

_local = threading.local()


def _parser() -> tree_sitter.Parser:
    # A Parser is not safe to share between threads; one per thread, reused.
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_nix.language()))
        _local.parser = parser
    return parser


# --------------------------------------------------------------------------
# Syntax helpers


def _unparen(node: Node | None) -> Node | None:
    while node is not None and node.type == "parenthesized_expression":
        node = node.child_by_field_name("expression")
    return node


def _apply_chain(node: Node) -> tuple[Node | None, list[Node]]:
    """``f a b`` → ``(f, [a, b])``; parentheses around the function are peeled."""
    args: list[Node] = []
    cur: Node | None = node
    while cur is not None and cur.type == "apply_expression":
        arg = cur.child_by_field_name("argument")
        if arg is not None:
            args.append(arg)
        cur = _unparen(cur.child_by_field_name("function"))
    args.reverse()
    return cur, args


def _head_name(head: Node | None) -> str | None:
    """The name a function is called by: ``mkIf``, ``lib.mkIf`` → ``mkIf``."""
    if head is None:
        return None
    if head.type == "variable_expression":
        name = head.child_by_field_name("name")
        return name.text.decode() if name is not None and name.text else None
    if head.type == "select_expression" and head.child_by_field_name("default") is None:
        path = head.child_by_field_name("attrpath")
        if path is not None and path.named_child_count:
            last = path.named_children[-1]
            if last.type == "identifier" and last.text:
                return last.text.decode()
    return None


def _call_name(node: Node) -> tuple[str | None, list[Node]]:
    head, args = _apply_chain(node)
    return _head_name(head), args


def _var_name(node: Node | None) -> str | None:
    if node is not None and node.type == "variable_expression":
        name = node.child_by_field_name("name")
        if name is not None and name.text:
            return name.text.decode()
    return None


def _bindings(node: Node) -> list[Node]:
    """Binding nodes of an attribute set or let (an ERROR node's too, to salvage broken files)."""
    out: list[Node] = []
    for child in node.children:
        if child.type == "binding_set":
            out.extend(
                c for c in child.children if c.type in ("binding", "inherit", "inherit_from")
            )
        elif child.type in ("binding", "inherit", "inherit_from"):
            out.append(child)
    return out


def _is_attrset(node: Node | None) -> bool:
    if node is None:
        return False
    if node.type in _ATTRSETS:
        return True
    # tree-sitter wraps a broken top-level set in ERROR with the bindings inside.
    return node.type == "ERROR" and any(c.type in ("binding", "binding_set") for c in node.children)


def _formal_names(fn: Node) -> list[str]:
    names: list[str] = []
    universal = fn.child_by_field_name("universal")
    if universal is not None and universal.text:
        names.append(universal.text.decode())
    formals = fn.child_by_field_name("formals")
    if formals is not None:
        for formal in formals.children:
            if formal.type == "formal":
                name = formal.child_by_field_name("name")
                if name is not None and name.text:
                    names.append(name.text.decode())
    return names


# --------------------------------------------------------------------------
# Scopes (for let-bound values and shadowing by function arguments)


@dataclass(slots=True)
class _Scope:
    """One lexical frame: a let (name → value node) or a function (name → None)."""

    names: dict[str, Node | None]
    parent: _Scope | None
    config_prefix: str | None = None  # set on functions binding ``config``

    def lookup(self, name: str) -> tuple[Node | None, _Scope] | None:
        scope: _Scope | None = self
        while scope is not None:
            if name in scope.names:
                return scope.names[name], scope
            scope = scope.parent
        return None


_ROOT = _Scope({}, None)


def _let_scope(node: Node, parent: _Scope) -> _Scope:
    names: dict[str, Node | None] = {}
    for b in _bindings(node):
        if b.type == "binding":
            path = b.child_by_field_name("attrpath")
            if path is not None and path.named_child_count == 1:
                attr = path.named_children[0]
                if attr.type == "identifier" and attr.text:
                    names[attr.text.decode()] = b.child_by_field_name("expression")
        else:
            attrs = b.child_by_field_name("attrs")
            if attrs is not None:
                for a in attrs.named_children:
                    if a.text:
                        names[a.text.decode()] = None
    return _Scope(names, parent)


def _fn_scope(fn: Node, parent: _Scope, config_prefix: str | None = None) -> _Scope:
    names = _formal_names(fn)
    # Only ``{ config, ... }:`` is the module system's config; a plain
    # ``config: ...`` lambda merely shadows the name.
    universal = fn.child_by_field_name("universal")
    binds_config = "config" in names and not (
        universal is not None and universal.text == b"config" and names.count("config") == 1
    )
    return _Scope(dict.fromkeys(names), parent, config_prefix if binds_config else None)


# --------------------------------------------------------------------------
# Per-file state


@dataclass(slots=True)
class _Sink:
    """Where the module pass puts what it finds (a file, or one compliance test)."""

    defs: list[OptionDef] = field(default_factory=list)
    imports: list[str] = field(default_factory=list)
    test: str | None = None


class _File:
    """Source, position arithmetic and collected results for one file."""

    def __init__(self, src: bytes, path: str) -> None:
        self.src = src
        self.path = path
        self.dir = posixpath.dirname(path)
        self.ascii = src.isascii()
        self._line_starts: list[int] | None = None
        self.decls: list[OptionDecl] = []
        self.reads: list[ConfigRead] = []
        self.strings: list[StringLiteral] = []
        self.comments: list[Comment] = []
        self.tests: list[ComplianceTest] = []
        self.errors: list[NixParseError] = []
        self.sink = _Sink()
        # Function nodes read as submodules → option path their ``config`` means.
        self.submodule_fns: dict[int, str] = {}
        self.active: set[int] = set()  # let values being expanded (cycle guard)

    @property
    def line_starts(self) -> list[int]:
        if self._line_starts is None:
            starts = [0]
            find = self.src.find
            i = find(b"\n")
            while i >= 0:
                starts.append(i + 1)
                i = find(b"\n", i + 1)
            self._line_starts = starts
        return self._line_starts

    def pos(self, byte: int) -> Pos:
        starts = self.line_starts
        row = bisect.bisect_right(starts, byte) - 1
        line_start = starts[row]
        col = byte - line_start
        if col and not self.ascii:
            col = len(self.src[line_start:byte].decode("utf-8", errors="replace"))
        return Pos(self.path, row + 1, col + 1)

    def node_pos(self, node: Node) -> Pos:
        row, col = node.start_point
        if col and not self.ascii:
            start = node.start_byte
            col = len(self.src[start - col : start].decode("utf-8", errors="replace"))
        return Pos(self.path, row + 1, col + 1)

    def text(self, node: Node) -> str:
        return self.src[node.start_byte : node.end_byte].decode("utf-8", errors="replace")

    # -- values ------------------------------------------------------------

    def attr_segments(self, attrpath: Node | None) -> list[str]:
        """Rendered segments of an attrpath; dynamic ``${...}`` parts become ``<name>``."""
        if attrpath is None:
            return []
        segs: list[str] = []
        for attr in attrpath.named_children:
            if attr.type == "identifier":
                segs.append(self.text(attr))  # the grammar only admits Nix identifiers
            elif attr.type == "string_expression":
                chunks = string_chunks(attr, self.src)
                if any(c.interpolation for c in chunks):
                    segs.append(NAME_WILDCARD)
                else:
                    segs.append(render_segment("".join(c.text for c in chunks)))
            elif attr.type == "interpolation":
                inner = _unparen(attr.child_by_field_name("expression"))
                if inner is not None and inner.type == "string_expression":
                    chunks = string_chunks(inner, self.src)
                    if not any(c.interpolation for c in chunks):
                        segs.append(render_segment("".join(c.text for c in chunks)))
                        continue
                segs.append(NAME_WILDCARD)
        return segs

    def literal(self, node: Node | None, depth: int = 0) -> tuple[bool, object]:
        """``(True, value)`` when ``node`` is a literal Nix value, else ``(False, None)``.

        Values nested deeper than :data:`_MAX_DEPTH` are not literal: the
        limit keeps pathological inputs from exhausting Python's stack.
        """
        node = _unparen(node)
        if node is None or depth > _MAX_DEPTH:
            return False, None
        t = node.type
        if t == "integer_expression":
            try:
                return True, int(self.text(node))
            except ValueError:
                return False, None
        if t == "float_expression":
            try:
                return True, float(self.text(node))
            except ValueError:
                return False, None
        if t in ("string_expression", "indented_string_expression"):
            chunks = string_chunks(node, self.src)
            if any(c.interpolation for c in chunks):
                return False, None
            return True, "".join(c.text for c in chunks)
        if t == "variable_expression":
            name = _var_name(node)
            if name in ("true", "false"):
                return True, name == "true"
            if name == "null":
                return True, None
            return False, None
        if t == "unary_expression":
            op = node.child_by_field_name("operator")
            ok, value = self.literal(node.child_by_field_name("argument"), depth + 1)
            if (
                ok
                and op is not None
                and op.type == "-"
                and isinstance(value, int | float)
                and not isinstance(value, bool)
            ):
                return True, -value
            return False, None
        if t == "list_expression":
            items = []
            for el in node.named_children:
                if el.type == "comment":
                    continue
                ok, value = self.literal(el, depth + 1)
                if not ok:
                    return False, None
                items.append(value)
            return True, items
        if t == "attrset_expression":
            result: dict[str, object] = {}
            for b in _bindings(node):
                if b.type != "binding":
                    return False, None
                segs = self._plain_segments(b.child_by_field_name("attrpath"))
                ok, value = self.literal(b.child_by_field_name("expression"), depth + 1)
                if segs is None or not ok or not _dict_insert(result, segs, value):
                    return False, None
            return True, result
        return False, None

    def _plain_segments(self, attrpath: Node | None) -> list[str] | None:
        # Raw attribute names (not rendered) for building Python dicts.
        if attrpath is None:
            return None
        out: list[str] = []
        for attr in attrpath.named_children:
            if attr.type == "identifier":
                out.append(self.text(attr))
            elif attr.type == "string_expression":
                chunks = string_chunks(attr, self.src)
                if any(c.interpolation for c in chunks):
                    return None
                out.append("".join(c.text for c in chunks))
            else:
                return None
        return out

    def literal_string(self, node: Node | None) -> str | None:
        node = _unparen(node)
        if node is not None and node.type == "apply_expression":
            name, args = _call_name(node)
            if name in _DESCRIPTION_WRAPPERS and len(args) == 1:
                node = _unparen(args[0])
        ok, value = self.literal(node)
        return value if ok and isinstance(value, str) else None

    def import_target(self, node: Node) -> str:
        """A relative path literal as a project-relative path; anything else as source text."""
        text = self.text(node)
        relative = text.startswith("./") or text.startswith("../")
        if relative and node.type == "path_expression" and len(node.named_children) == 1:
            return posixpath.normpath(posixpath.join(self.dir, text))
        return text


def _dict_insert(target: dict[str, object], segs: list[str], value: object) -> bool:
    cur = target
    for seg in segs[:-1]:
        nxt = cur.setdefault(seg, {})
        if not isinstance(nxt, dict):
            return False
        cur = nxt
    last = segs[-1]
    if last in cur:
        existing = cur[last]
        if isinstance(existing, dict) and isinstance(value, dict):
            # ``a.b = 1; a = { c = 2; };`` merges, as in Nix.
            return all(_dict_insert(existing, [k], v) for k, v in value.items())
        return False
    cur[last] = value
    return True


def _join(segs: Iterable[str]) -> str:
    return ".".join(segs)


# --------------------------------------------------------------------------
# Module pass


class _ModuleWalker:
    def __init__(self, f: _File) -> None:
        self.f = f

    # -- variables ---------------------------------------------------------

    def _resolve(self, node: Node, scope: _Scope) -> tuple[Node, _Scope] | None:
        """Follow a variable to its let-bound value, with the scope it was bound in."""
        name = _var_name(node)
        if name is None:
            return None
        found = scope.lookup(name)
        if found is None or found[0] is None:
            return None
        value, frame = found
        if value.id in self.f.active:
            return None
        return value, frame

    def _peel(
        self, node: Node | None, scope: _Scope, follow_vars: bool = True
    ) -> tuple[Node | None, _Scope]:
        """Strip parentheses, let, with and assert (and optionally variables)."""
        seen = 0
        while node is not None and seen < 64:
            seen += 1
            t = node.type
            if t == "parenthesized_expression":
                node = node.child_by_field_name("expression")
            elif t == "let_expression":
                scope = _let_scope(node, scope)
                node = node.child_by_field_name("body")
            elif t in ("with_expression", "assert_expression"):
                node = node.child_by_field_name("body")
            elif t == "variable_expression" and follow_vars:
                resolved = self._resolve(node, scope)
                if resolved is None:
                    return node, scope
                node, scope = resolved
            else:
                break
        return node, scope

    # -- modules -----------------------------------------------------------

    def module(
        self,
        node: Node | None,
        scope: _Scope,
        sink: _Sink,
        decl_prefix: tuple[str, ...] = (),
        submodule: bool = False,
    ) -> None:
        """Read ``node`` as a module: a path, ``import path``, function or attribute set."""
        formals_seen = 0
        while node is not None and formals_seen < 16:
            node, scope = self._peel(node, scope)
            if node is None:
                return
            if node.type == "function_expression":
                formals_seen += 1
                prefix = _join(decl_prefix) if submodule else ""
                if submodule:
                    self.f.submodule_fns[node.id] = prefix
                scope = _fn_scope(node, scope, prefix)
                node = node.child_by_field_name("body")
                continue
            break
        if node is None:
            return
        if node.type in _PATHS:
            sink.imports.append(self.f.import_target(node))
            return
        if node.type == "apply_expression":
            name, args = _call_name(node)
            if name == "import" and args:
                target = _unparen(args[0])
                if target is not None:
                    sink.imports.append(self.f.import_target(target))
            return
        if node.type == "variable_expression" or node.type == "select_expression":
            # A module we cannot see into, like inputs.sops-nix.nixosModules.sops.
            sink.imports.append(self.f.text(node))
            return
        if not _is_attrset(node):
            return
        self._module_attrs(node, scope, sink, decl_prefix)

    def _module_attrs(
        self, node: Node, scope: _Scope, sink: _Sink, decl_prefix: tuple[str, ...]
    ) -> None:
        f = self.f
        if node.type == "rec_attrset_expression":
            scope = _let_scope(node, scope)
        bindings = _bindings(node)
        parsed: list[tuple[Node, list[str]]] = []
        explicit = False
        for b in bindings:
            segs = f.attr_segments(b.child_by_field_name("attrpath")) if b.type == "binding" else []
            parsed.append((b, segs))
            if segs and segs[0] in ("config", "options"):
                explicit = True
        def_prefix = decl_prefix
        for b, segs in parsed:
            if b.type != "binding":
                if not explicit:
                    self._inherit_defs(b, def_prefix, sink)
                continue
            value = b.child_by_field_name("expression")
            head = segs[0] if segs else None
            if head is None:
                continue
            if head in _IMPORT_KEYS and len(segs) == 1:
                self.imports(value, scope, sink)
            elif head in _MODULE_BOOKKEEPING:
                continue
            elif explicit:
                if head == "options":
                    self.decls(value, scope, sink, decl_prefix + tuple(segs[1:]), b)
                elif head == "config":
                    self.defs(value, scope, sink, def_prefix + tuple(segs[1:]), b)
                elif head == "meta":
                    self.defs(value, scope, sink, def_prefix + tuple(segs), b)
            else:
                self.defs(value, scope, sink, def_prefix + tuple(segs), b)

    def imports(self, node: Node | None, scope: _Scope, sink: _Sink) -> None:
        """Read an ``imports`` (or ``modules``) list: ``[ ... ] ++ optionals c [ ... ]``."""
        # Iterative: a long ``a ++ b ++ c ...`` chain nests as deep as it is long.
        pending: list[tuple[Node | None, _Scope]] = [(node, scope)]
        while pending:
            item, iscope = pending.pop()
            item, iscope = self._peel(item, iscope)
            if item is None:
                continue
            if item.type == "list_expression":
                for el in item.named_children:
                    if el.type != "comment":
                        self.module(el, iscope, sink)
            elif item.type == "binary_expression":
                pending.append((item.child_by_field_name("right"), iscope))
                pending.append((item.child_by_field_name("left"), iscope))
            elif item.type == "apply_expression":
                name, args = _call_name(item)
                if name == "optional" and args:
                    self.module(args[-1], iscope, sink)
                elif name == "optionals" and args:
                    pending.append((args[-1], iscope))

    # -- definitions -------------------------------------------------------

    def defs(
        self,
        node: Node | None,
        scope: _Scope,
        sink: _Sink,
        prefix: tuple[str, ...],
        binding: Node | None,
        priority: str | None = None,
        priority_value: int | None = None,
        depth: int = 0,
    ) -> None:
        if node is None or depth > _MAX_DEPTH:
            return
        node, scope = self._peel(node, scope, follow_vars=False)
        if node is None:
            return
        t = node.type
        if t == "variable_expression":
            resolved = self._resolve(node, scope)
            if resolved is not None and self._structural(resolved[0], resolved[1]):
                value, vscope = resolved
                self.f.active.add(value.id)
                try:
                    self.defs(
                        value, vscope, sink, prefix, binding, priority, priority_value, depth + 1
                    )
                finally:
                    self.f.active.discard(value.id)
                return
        elif t == "apply_expression":
            name, args = _call_name(node)
            if name in _CONDITIONAL and len(args) == 2:
                self.defs(
                    args[1], scope, sink, prefix, binding, priority, priority_value, depth + 1
                )
                return
            if name == "mkMerge" and len(args) == 1:
                items, iscope = self._peel(args[0], scope)
                if items is not None and items.type == "list_expression":
                    for el in items.named_children:
                        if el.type != "comment":
                            self.defs(
                                el,
                                iscope,
                                sink,
                                prefix,
                                binding,
                                priority,
                                priority_value,
                                depth + 1,
                            )
                    return
            elif name in _PRIORITIES and len(args) == 1:
                self.defs(args[0], scope, sink, prefix, binding, name, _PRIORITIES[name], depth + 1)
                return
            elif name == "mkOverride" and len(args) == 2:
                ok, level = self.f.literal(args[0])
                level_int = (
                    level if ok and isinstance(level, int) and not isinstance(level, bool) else None
                )
                self.defs(args[1], scope, sink, prefix, binding, "mkOverride", level_int, depth + 1)
                return
            elif name in _ORDERING and len(args) == 1:
                self.defs(
                    args[0], scope, sink, prefix, binding, priority, priority_value, depth + 1
                )
                return
            elif name == "mkOrder" and len(args) == 2:
                self.defs(
                    args[1], scope, sink, prefix, binding, priority, priority_value, depth + 1
                )
                return
        elif t == "binary_expression":
            op = node.child_by_field_name("operator")
            if op is not None and op.type == "//":
                self.defs(
                    node.child_by_field_name("left"),
                    scope,
                    sink,
                    prefix,
                    binding,
                    priority,
                    priority_value,
                    depth + 1,
                )
                self.defs(
                    node.child_by_field_name("right"),
                    scope,
                    sink,
                    prefix,
                    binding,
                    priority,
                    priority_value,
                    depth + 1,
                )
                return
        elif t in _ATTRSETS:
            bindings = _bindings(node)
            if bindings:
                if t == "rec_attrset_expression":
                    scope = _let_scope(node, scope)
                for b in bindings:
                    if b.type == "binding":
                        segs = self.f.attr_segments(b.child_by_field_name("attrpath"))
                        if segs:
                            self.defs(
                                b.child_by_field_name("expression"),
                                scope,
                                sink,
                                prefix + tuple(segs),
                                b,
                                priority,
                                priority_value,
                                depth + 1,
                            )
                    else:
                        self._inherit_defs(b, prefix, sink)
                return
        self._leaf(node, scope, sink, prefix, binding, priority, priority_value)

    def _structural(self, node: Node, scope: _Scope) -> bool:
        node2, _ = self._peel(node, scope, follow_vars=False)
        if node2 is None:
            return False
        if node2.type in _ATTRSETS:
            return True
        if node2.type == "apply_expression":
            return _call_name(node2)[0] in _STRUCTURAL_CALLS
        return False

    def _leaf(
        self,
        node: Node,
        scope: _Scope,
        sink: _Sink,
        prefix: tuple[str, ...],
        binding: Node | None,
        priority: str | None,
        priority_value: int | None,
    ) -> None:
        if not prefix or node.is_missing or node.start_byte == node.end_byte:
            return  # nothing to record, or a value tree-sitter had to invent
        if node.type == "apply_expression":
            name, args = _call_name(node)
            if name in _TEST_CALLS and args and sink.test is None:
                # ``{ security = mkComplianceTest { ... }; }`` looks like a module
                # by its keys; the value says it is a test, not configuration.
                self.compliance_test(node, args[0], scope)
                return
        f = self.f
        ok, value = f.literal(node)
        anchor = binding if binding is not None else node
        sink.defs.append(
            OptionDef(
                path=_join(prefix),
                value_text=f.text(node),
                value=value if ok else None,
                value_is_literal=ok,
                priority=priority,
                pos=f.node_pos(anchor),
                priority_value=priority_value,
                test=sink.test,
            )
        )

    def _inherit_defs(self, b: Node, prefix: tuple[str, ...], sink: _Sink) -> None:
        f = self.f
        attrs = b.child_by_field_name("attrs")
        if attrs is None:
            return
        source = b.child_by_field_name("expression") if b.type == "inherit_from" else None
        for a in attrs.named_children:
            if a.type != "identifier":
                continue
            name = f.text(a)
            text = f"{f.text(source)}.{name}" if source is not None else name
            sink.defs.append(
                OptionDef(
                    path=_join((*prefix, render_segment(name))),
                    value_text=text,
                    value=None,
                    value_is_literal=False,
                    priority=None,
                    pos=f.node_pos(a),
                    test=sink.test,
                )
            )

    # -- declarations ------------------------------------------------------

    def decls(
        self,
        node: Node | None,
        scope: _Scope,
        sink: _Sink,
        prefix: tuple[str, ...],
        binding: Node | None,
        depth: int = 0,
    ) -> None:
        if node is None or depth > _MAX_DEPTH:
            return
        node, scope = self._peel(node, scope)
        if node is None:
            return
        if node.type == "apply_expression":
            name, args = _call_name(node)
            kind = _DECL_KINDS.get(name or "")
            if kind is not None and prefix:
                self._declare(kind, args, scope, sink, prefix, binding or node)
            elif name == "mkMerge" and len(args) == 1:
                items, iscope = self._peel(args[0], scope)
                if items is not None and items.type == "list_expression":
                    for el in items.named_children:
                        self.decls(el, iscope, sink, prefix, binding, depth + 1)
            return
        if node.type in _ATTRSETS:
            for b in _bindings(node):
                if b.type == "binding":
                    segs = self.f.attr_segments(b.child_by_field_name("attrpath"))
                    if segs:
                        self.decls(
                            b.child_by_field_name("expression"),
                            scope,
                            sink,
                            prefix + tuple(segs),
                            b,
                            depth + 1,
                        )

    def _declare(
        self,
        kind: str,
        args: list[Node],
        scope: _Scope,
        sink: _Sink,
        prefix: tuple[str, ...],
        anchor: Node,
    ) -> None:
        f = self.f
        type_text = default_text = description = None
        has_default = default_is_literal = False
        default: object = None
        if kind == "mkOption":
            attrs = self._simple_attrs(args[0], scope) if args else {}
            type_node = attrs.get("type")
            if type_node is not None:
                type_text = f.text(type_node)
                self.types(type_node, scope, sink, prefix)
            if "default" in attrs:
                has_default = True
                default_text = f.text(attrs["default"])
                default_is_literal, default = f.literal(attrs["default"])
            description = f.literal_string(attrs.get("description"))
        elif kind == "mkEnableOption":
            has_default = default_is_literal = True
            default = False
            description = f.literal_string(args[0]) if args else None
        else:  # mkPackageOption pkgs name { default = ...; }
            has_default = True
            extra = self._simple_attrs(args[2], scope) if len(args) > 2 else {}
            if "default" in extra:
                default_text = f.text(extra["default"])
            elif len(args) > 1:
                default_text = f.text(args[1])
        default_value = default if default_is_literal else None
        f.decls.append(
            OptionDecl(
                path=_join(prefix),
                kind=kind,
                type_text=type_text,
                has_default=has_default,
                default=default_value,
                default_is_literal=default_is_literal,
                default_text=default_text,
                description=description,
                pos=f.node_pos(anchor),
            )
        )

    def _simple_attrs(self, node: Node | None, scope: _Scope) -> dict[str, Node]:
        node, _ = self._peel(node, scope)
        out: dict[str, Node] = {}
        if node is None or node.type not in _ATTRSETS:
            return out
        for b in _bindings(node):
            if b.type == "binding":
                path = b.child_by_field_name("attrpath")
                value = b.child_by_field_name("expression")
                if path is not None and value is not None and path.named_child_count == 1:
                    out[self.f.text(path.named_children[0])] = value
        return out

    def types(
        self, node: Node | None, scope: _Scope, sink: _Sink, prefix: tuple[str, ...], depth: int = 0
    ) -> None:
        """Find submodules inside a type expression and read them as modules at ``prefix``."""
        if node is None or depth > 32:
            return
        node, scope = self._peel(node, scope)
        if node is None or node.type != "apply_expression":
            return
        name, args = _call_name(node)
        if not args:
            return
        if name in ("attrsOf", "lazyAttrsOf"):
            self.types(args[-1], scope, sink, (*prefix, NAME_WILDCARD), depth + 1)
        elif name == "listOf":
            self.types(args[-1], scope, sink, (*prefix, LIST_WILDCARD), depth + 1)
        elif name in ("nullOr", "uniq", "addCheck"):
            self.types(args[0], scope, sink, prefix, depth + 1)
        elif name in ("unique", "coercedTo"):
            self.types(args[-1], scope, sink, prefix, depth + 1)
        elif name == "either":
            for a in args:
                self.types(a, scope, sink, prefix, depth + 1)
        elif name == "oneOf":
            items, iscope = self._peel(args[0], scope)
            if items is not None and items.type == "list_expression":
                for el in items.named_children:
                    self.types(el, iscope, sink, prefix, depth + 1)
        elif name == "submodule":
            self.module(args[0], scope, sink, prefix, submodule=True)
        elif name == "submoduleWith":
            mods = self._simple_attrs(args[0], scope).get("modules")
            items, iscope = self._peel(mods, scope)
            if items is not None and items.type == "list_expression":
                for el in items.named_children:
                    self.module(el, iscope, sink, prefix, submodule=True)

    # -- files that are not modules ---------------------------------------

    def search(self, root: Node) -> None:
        """Find modules embedded in a non-module file (flake outputs, tests, system calls)."""
        stack: list[tuple[Node, _Scope]] = [(root, _ROOT)]
        while stack:
            node, scope = stack.pop()
            t = node.type
            if t == "let_expression":
                scope = _let_scope(node, scope)
            elif t == "function_expression":
                scope = _fn_scope(node, scope)
            elif t == "rec_attrset_expression":
                scope = _let_scope(node, scope)
            elif t == "apply_expression":
                name, args = _call_name(node)
                if name in _TEST_CALLS and args:
                    self.compliance_test(node, args[0], scope)
                    continue
                if name in _OTHER_TEST_CALLS and args:
                    self._nodes_of(args[0], scope, self.f.sink)
                    continue
                if name in _SYSTEM_CALLS and args:
                    modules = self._simple_attrs(args[0], scope).get("modules")
                    if modules is not None:
                        self.imports(modules, scope, self.f.sink)
                        continue
            elif t == "binding":
                segs = self.f.attr_segments(node.child_by_field_name("attrpath"))
                if "nixosModules" in segs:
                    rest = segs[segs.index("nixosModules") + 1 :]
                    value = node.child_by_field_name("expression")
                    if rest:
                        self.module(value, scope, self.f.sink)
                        continue
                    modules, mscope = self._peel(value, scope)
                    if modules is not None and modules.type in _ATTRSETS:
                        for b in _bindings(modules):
                            if b.type == "binding":
                                self.module(
                                    b.child_by_field_name("expression"), mscope, self.f.sink
                                )
                    continue
            elif t in ("string_expression", "indented_string_expression", "comment"):
                continue
            stack.extend((c, scope) for c in reversed(node.named_children))

    def _nodes_of(self, arg: Node, scope: _Scope, sink: _Sink) -> list[str]:
        """Read the ``nodes`` of a test's argument set as modules; return the node names."""
        node, scope = self._peel(arg, scope)
        names: list[str] = []
        if node is None or node.type not in _ATTRSETS:
            return names
        for b in _bindings(node):
            if b.type != "binding":
                continue
            segs = self.f.attr_segments(b.child_by_field_name("attrpath"))
            if not segs or segs[0] != "nodes":
                continue
            value = b.child_by_field_name("expression")
            if len(segs) == 1:
                inner, iscope = self._peel(value, scope)
                if inner is not None and inner.type in _ATTRSETS:
                    for nb in _bindings(inner):
                        if nb.type == "binding":
                            nsegs = self.f.attr_segments(nb.child_by_field_name("attrpath"))
                            if not nsegs:
                                continue
                            names.append(nsegs[0])
                            nvalue = nb.child_by_field_name("expression")
                            if len(nsegs) == 1:
                                self.module(nvalue, iscope, sink)
                            else:
                                self.defs(nvalue, iscope, sink, tuple(nsegs[1:]), nb)
            elif len(segs) == 2:
                names.append(segs[1])
                self.module(value, scope, sink)
            else:
                # nodes.machine.services.x = ...; is a definition in that node.
                names.append(segs[1])
                self.defs(value, scope, sink, tuple(segs[2:]), b)
        return list(dict.fromkeys(names))

    def compliance_test(self, call: Node, arg: Node, scope: _Scope) -> None:
        f = self.f
        node, ascope = self._peel(arg, scope)
        attrs = self._simple_attrs(node, ascope) if node is not None else {}
        name_node = attrs.get("name")
        name = f.literal_string(name_node) if name_node is not None else None
        if name is None:
            name = f.text(name_node) if name_node is not None else ""
        controls: list[str] = []
        items, _ = self._peel(attrs.get("controls"), ascope)
        if items is not None and items.type == "list_expression":
            for el in items.named_children:
                value = f.literal_string(el)
                if value is not None:
                    controls.append(value)
        sink = _Sink(test=name)
        node_names = self._nodes_of(node, ascope, sink) if node is not None else []
        f.sink.defs.extend(sink.defs)
        script_node, _ = self._peel(attrs.get("testScript"), ascope)
        while script_node is not None and script_node.type == "function_expression":
            script_node, _ = self._peel(script_node.child_by_field_name("body"), ascope)
        literal_script = script_node is not None and script_node.type in (
            "string_expression",
            "indented_string_expression",
        )
        assertions = 0
        if literal_script and script_node is not None:
            chunks = string_chunks(script_node, f.src)
            # Interpolations become a neutral name so their Nix source is not
            # mistaken for Python calls.
            assertions = count_assertions(
                "".join("_" if c.interpolation else c.text for c in chunks)
            )
        head, _ = _apply_chain(call)
        f.tests.append(
            ComplianceTest(
                name=name,
                controls=tuple(controls),
                options_set=tuple(dict.fromkeys(d.path for d in sink.defs)),
                modules_imported=tuple(dict.fromkeys(sink.imports)),
                assertions=assertions,
                pos=f.node_pos(head if head is not None else call),
                node_names=tuple(node_names),
                script_is_literal=literal_script,
            )
        )


def _is_module(root_expr: Node | None, f: _File) -> bool:
    node = root_expr
    binds_module_args = False
    for _ in range(64):
        if node is None:
            return False
        t = node.type
        if t == "function_expression":
            if {"config", "options", "modulesPath"} & set(_formal_names(node)):
                binds_module_args = True
            node = node.child_by_field_name("body")
        elif t == "parenthesized_expression":
            node = node.child_by_field_name("expression")
        elif t in ("let_expression", "with_expression", "assert_expression"):
            node = node.child_by_field_name("body")
        else:
            break
    if node is None or not (
        node.type == "attrset_expression" or (node.type == "ERROR" and _is_attrset(node))
    ):
        return False
    keys: set[str] = set()
    for b in _bindings(node):
        if b.type == "binding":
            path = b.child_by_field_name("attrpath")
            if path is not None and path.named_child_count:
                keys.add(f.text(path.named_children[0]))
        else:
            attrs = b.child_by_field_name("attrs")
            if attrs is not None:
                keys.update(f.text(a) for a in attrs.named_children)
    if keys & {"inputs", "outputs"}:
        return False
    if binds_module_args or keys & {"options", "config", "imports"}:
        return True
    return bool(keys) and keys <= MODULE_NAMESPACES | _MODULE_BOOKKEEPING | _IMPORT_KEYS


# --------------------------------------------------------------------------
# Generic pass


class _GenericWalker:
    def __init__(self, f: _File, check_errors: bool) -> None:
        self.f = f
        self.check_errors = check_errors
        self._alias: dict[int, str | None] = {}

    # -- config reads ------------------------------------------------------

    def _var_path(self, name: str, scope: _Scope) -> str | None:
        found = scope.lookup(name)
        if found is None:
            return "" if name == "config" else None
        value, frame = found
        if value is None:
            return frame.config_prefix if name == "config" else None
        return self._expr_path(value, frame)

    def _expr_path(self, node: Node, scope: _Scope) -> str | None:
        key = node.id
        if key in self._alias:
            return self._alias[key]
        self._alias[key] = None  # cycle guard: a self-referencing let is no alias
        result: str | None = None
        inner = _unparen(node)
        if inner is not None:
            if inner.type == "variable_expression":
                name = _var_name(inner)
                result = self._var_path(name, scope) if name else None
            elif inner.type == "select_expression":
                base = _unparen(inner.child_by_field_name("expression"))
                name = _var_name(base)
                if name is not None:
                    root = self._var_path(name, scope)
                    if root is not None:
                        segs = self.f.attr_segments(inner.child_by_field_name("attrpath"))
                        result = _join([root, *segs] if root else segs)
        self._alias[key] = result
        return result

    # -- the walk ----------------------------------------------------------

    def walk(self, root: Node) -> None:
        f = self.f
        # (node, string context, scope, inside an ERROR node)
        stack: list[tuple[Node, str | None, _Scope, bool]] = [(root, None, _ROOT, False)]
        push = stack.append
        check_errors = self.check_errors

        def kids(n: Node) -> list[Node]:
            # Anonymous tokens matter only as possible MISSING nodes.
            return n.children if check_errors else n.named_children

        while stack:
            node, ctx, scope, in_error = stack.pop()
            t = node.type
            if check_errors:
                if node.is_missing:
                    f.errors.append(
                        NixParseError(f.node_pos(node), f"syntax error: missing {t}", "tree-sitter")
                    )
                    continue
                if t == "ERROR":
                    if not in_error:
                        snippet = f.text(node).strip().split("\n", 1)[0][:40]
                        f.errors.append(
                            NixParseError(
                                f.node_pos(node), f"syntax error near {snippet!r}", "tree-sitter"
                            )
                        )
                    in_error = True
            if t in _LEAVES and not check_errors:
                continue
            if t == "comment":
                f.comments.append(Comment(f.text(node), f.node_pos(node)))
            elif t == "string_expression" or t == "indented_string_expression":
                self._string(node, ctx, "string" if t == "string_expression" else "indented")
                for c in node.children:
                    if c.type == "interpolation" or (
                        check_errors and (c.is_missing or c.type == "ERROR")
                    ):
                        push((c, None, scope, in_error))
            elif t in _PATHS:
                self._path(node, _PATHS[t])
                for c in node.named_children:
                    if c.type == "interpolation":
                        push((c, None, scope, in_error))
            elif t == "attrpath":
                for attr in node.named_children:
                    if attr.type == "string_expression":
                        self._string(attr, None, "attr_name")
                        for c in attr.named_children:
                            if c.type == "interpolation":
                                push((c, None, scope, in_error))
                    elif attr.type != "identifier":
                        push((attr, None, scope, in_error))
            elif t == "binding":
                path = node.child_by_field_name("attrpath")
                value = node.child_by_field_name("expression")
                if value is not None:
                    push((value, self._binding_name(path), scope, in_error))
                if path is not None:
                    push((path, None, scope, in_error))
                if check_errors:
                    for c in node.children:
                        if c.is_missing or c.type == "ERROR":
                            push((c, None, scope, in_error))
            elif t == "apply_expression":
                fn = node.child_by_field_name("function")
                arg = node.child_by_field_name("argument")
                hname = _head_name(_apply_chain(node)[0])
                arg_ctx = ctx if hname in _STRING_TRANSPARENT else hname
                fn_id = fn.id if fn is not None else -1
                arg_id = arg.id if arg is not None else -1
                for c in kids(node):
                    cid = c.id
                    if cid == arg_id:
                        push((c, arg_ctx, scope, in_error))
                    elif cid == fn_id and c.type == "apply_expression":
                        # An inner apply of the same chain shares the argument context.
                        push((c, ctx, scope, in_error))
                    else:
                        push((c, None, scope, in_error))
            elif t == "select_expression":
                base = node.child_by_field_name("expression")
                name = _var_name(base)
                root_path = self._var_path(name, scope) if name is not None else None
                if root_path is not None:
                    segs = f.attr_segments(node.child_by_field_name("attrpath"))
                    path = _join([root_path, *segs] if root_path else segs)
                    f.reads.append(ConfigRead(path, f.node_pos(node)))
                for c in kids(node):
                    push((c, None, scope, in_error))
            elif t == "inherit_from":
                source = node.child_by_field_name("expression")
                root_path = self._expr_path(source, scope) if source is not None else None
                attrs = node.child_by_field_name("attrs")
                if root_path is not None and attrs is not None:
                    for a in attrs.named_children:
                        if a.type == "identifier":
                            seg = render_segment(f.text(a))
                            path = f"{root_path}.{seg}" if root_path else seg
                            f.reads.append(ConfigRead(path, f.node_pos(a)))
                for c in kids(node):
                    push((c, None, scope, in_error))
            elif t == "formal":
                default = node.child_by_field_name("default")
                if default is not None:
                    name_node = node.child_by_field_name("name")
                    name = f.text(name_node) if name_node is not None else None
                    push((default, name, scope, in_error))
            elif t == "binary_expression":
                op = node.child_by_field_name("operator")
                keep = op is not None and op.type in ("+", "++")
                for c in kids(node):
                    push((c, ctx if keep else None, scope, in_error))
            elif t in _CONTEXT_PASSTHROUGH:
                if t == "let_expression":
                    scope = _let_scope(node, scope)
                fields = _PASSTHROUGH_FIELDS.get(t)
                if fields is None:
                    for c in kids(node):
                        push((c, ctx, scope, in_error))
                else:
                    children = node.children
                    for i, c in enumerate(children):
                        if c.is_named or check_errors:
                            keep = node.field_name_for_child(i) in fields
                            push((c, ctx if keep else None, scope, in_error))
            elif t == "function_expression":
                scope = _fn_scope(node, scope, f.submodule_fns.get(node.id, ""))
                # A string a function returns keeps the context the function
                # has: ``concatMapStrings (m: "install ${m} ...")``.
                body = node.child_by_field_name("body")
                body_id = body.id if body is not None else -1
                for c in kids(node):
                    push((c, ctx if c.id == body_id else None, scope, in_error))
            else:
                for c in kids(node):
                    push((c, None, scope, in_error))

    def _binding_name(self, attrpath: Node | None) -> str | None:
        """The name a value is bound to: the last attribute of the binding's path."""
        if attrpath is None:
            return None
        children = attrpath.named_children
        if not children:
            return None
        last = children[-1]
        if last.type == "identifier":
            return self.f.text(last)
        if last.type == "string_expression":
            ok, value = self.f.literal(last)
            return value if ok and isinstance(value, str) else None
        return None

    def _string(self, node: Node, ctx: str | None, kind: str) -> None:
        f = self.f
        if kind != "indented":
            parts = node.named_children
            if len(parts) == 1 and parts[0].type == "string_fragment":
                # The common case, "plain text" on one line: no decoding needed.
                frag = parts[0]
                raw = f.src[frag.start_byte : frag.end_byte]
                if b"\n" not in raw:
                    text = raw.decode("utf-8", errors="replace")
                    segment = StringSegment(text, f.node_pos(frag), False)
                    f.strings.append(
                        StringLiteral(text, f.node_pos(node), ctx, kind, segments=(segment,))
                    )
                    return
        self._record(node, string_chunks(node, f.src), ctx, kind)

    def _record(self, node: Node, chunks: list[Chunk], ctx: str | None, kind: str) -> None:
        """Append the literal made of ``chunks`` (text and interpolations) to the file."""
        f = self.f
        interpolations = tuple(c.text for c in chunks if c.interpolation)
        f.strings.append(
            StringLiteral(
                text=chunks_text(chunks),
                pos=f.node_pos(node),
                context=ctx,
                kind=kind,
                has_interpolation=bool(interpolations),
                interpolations=interpolations,
                segments=self._segments(merge_line_chunks(chunks)),
            )
        )

    def _segments(self, chunks: list[Chunk]) -> tuple[StringSegment, ...]:
        pos = self.f.pos
        return tuple(StringSegment(c.text, pos(c.start), c.interpolation) for c in chunks)

    def _path(self, node: Node, kind: str) -> None:
        f = self.f
        chunks: list[Chunk] = []
        for c in node.children:
            if c.type == "interpolation":
                inner = c.child_by_field_name("expression")
                chunks.append(Chunk(f.text(inner) if inner is not None else "", c.start_byte, True))
            elif c.is_named:
                chunks.append(Chunk(f.text(c), c.start_byte, False))
        if not chunks:  # spath/uri are single tokens
            chunks.append(Chunk(f.text(node), node.start_byte, False))
        self._record(node, chunks, None, kind)


# --------------------------------------------------------------------------
# Entry points


def index_nix_source(text: bytes | str, path: str) -> NixFile:
    """Index one Nix source.  ``path`` is the project-relative posix path used in positions.

    Never raises for bad input: syntax errors and invalid UTF-8 become
    :class:`NixParseError` entries and the rest of the file is still indexed.
    """
    src = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    f = _File(src, path)
    try:
        src.decode("utf-8")
    except UnicodeDecodeError as exc:
        f.errors.append(
            NixParseError(f.pos(exc.start), f"invalid UTF-8: {exc.reason}", "tree-sitter")
        )
    tree = _parser().parse(src)
    root = tree.root_node
    top = root.child_by_field_name("expression")
    if top is None:
        # A broken file may leave the expression in an ERROR child.
        top = next((c for c in root.named_children if c.type != "comment"), None)
    walker = _ModuleWalker(f)
    is_module = _is_module(top, f)
    try:
        if is_module:
            walker.module(top, _ROOT, f.sink)
        elif top is not None:
            walker.search(top)
    except RecursionError:
        # Depth limits cover each recursive step, but not every pathological
        # combination of them; keep what was found and say the rest is missing.
        f.errors.append(
            NixParseError(f.pos(0), "expression nested too deeply to index fully", "tree-sitter")
        )
    _GenericWalker(f, root.has_error).walk(root)
    # The walk is depth-first with a stack; report in source order.
    by_pos = lambda item: (item.pos.line, item.pos.column)  # noqa: E731
    for items in (f.errors, f.reads, f.strings, f.comments, f.decls, f.sink.defs):
        items.sort(key=by_pos)  # type: ignore[attr-defined]
    return NixFile(
        path=path,
        declarations=tuple(f.decls),
        definitions=tuple(f.sink.defs),
        reads=tuple(f.reads),
        strings=tuple(f.strings),
        comments=tuple(f.comments),
        tests=tuple(f.tests),
        errors=tuple(f.errors),
        is_module=is_module,
        imports=tuple(dict.fromkeys(f.sink.imports)),
        line_count=len(f.line_starts) - (1 if src.endswith(b"\n") else 0),
    )


def _inside(real: str, root: str) -> bool:
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def _collect(flake_root: str, project_root: str) -> tuple[list[str], list[str]]:
    """Every ``*.nix`` file under ``flake_root``; symlinks leaving the project are skipped.

    Only symlinks can make the walk revisit a directory, so only their targets
    are resolved and remembered; that keeps the common case free of syscalls.
    """
    found: list[str] = []
    skipped: list[str] = []
    entered = {flake_root}
    stack = [flake_root]
    while stack:
        directory = stack.pop()
        try:
            with os.scandir(directory) as it:
                entries = list(it)
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            try:
                if entry.is_symlink():
                    real = os.path.realpath(entry.path)
                    is_dir = os.path.isdir(real)
                    if not _inside(real, project_root):
                        if is_dir or name.endswith(".nix"):
                            skipped.append(entry.path)
                    elif is_dir:
                        if real not in entered and name != ".git":
                            entered.add(real)
                            stack.append(entry.path)
                    elif name.endswith(".nix"):
                        found.append(entry.path)  # a dangling link is reported on read
                elif entry.is_dir(follow_symlinks=False):
                    if name != ".git":
                        stack.append(entry.path)
                elif name.endswith(".nix") and entry.is_file(follow_symlinks=False):
                    found.append(entry.path)  # not sockets or FIFOs: reading those could block
            except OSError:
                if name.endswith(".nix"):
                    found.append(entry.path)
    return found, skipped


def index_flake(flake_root: Path, project_root: Path) -> FlakeIndex:
    """Index every ``*.nix`` file under ``flake_root``, sorted by path.

    Paths are reported relative to ``project_root`` (which must contain
    ``flake_root``).  Symlinks, to files or directories, are followed only
    while they resolve inside ``project_root``; the others are listed in
    :attr:`FlakeIndex.skipped`.  A file that cannot be read is indexed as
    empty with a :class:`NixParseError`.
    """
    root = os.path.realpath(project_root)
    # Resolved, so that paths are reported as the project sees them even when
    # flake_root was given through a symlink.
    flake = os.path.realpath(flake_root)
    if not _inside(flake, root):
        raise ValueError(f"{flake_root} is not inside {project_root}")
    found, skipped = _collect(flake, root)

    def rel(p: str) -> str:
        return Path(os.path.relpath(p, root)).as_posix()

    files: list[NixFile] = []
    for path, p in sorted((rel(p), p) for p in found):
        try:
            with open(p, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            error = NixParseError(
                Pos(path, 1, 1), f"cannot read file: {exc.strerror or exc}", "tree-sitter"
            )
            files.append(NixFile(path, (), (), (), (), (), (), (error,)))
            continue
        # A long-running process (``kbgen serve``) indexes the flake on every change of
        # any note; files whose bytes did not change keep their record.
        key = (path, hashlib.sha256(data).digest())
        record = _INDEXED.get(key)
        if record is None:
            record = _INDEXED[key] = index_nix_source(data, path)
        files.append(record)
    return FlakeIndex(files=tuple(files), skipped=tuple(sorted(rel(p) for p in skipped)))


#: (path, SHA-256 of the bytes) -> the file's index; records are immutable.
_INDEXED: dict[tuple[str, bytes], NixFile] = {}
