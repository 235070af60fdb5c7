"""Module semantics: which files are NixOS modules, and reading a module's attributes.

:class:`ModuleReader` walks the few node kinds that make up modules and hands
``options`` to :mod:`~kbgen.nix.declarations`, configuration to
:mod:`~kbgen.nix.definitions` and ``mkComplianceTest`` calls to
:mod:`~kbgen.nix.compliance`.  In files that are not modules it searches for
embedded ones.  What counts as a module is specified in ``docs/nix-index.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tree_sitter import Node

from .compliance import OTHER_TEST_CALLS, TEST_CALLS, ComplianceTestReader
from .declarations import DeclarationReader
from .definitions import DefinitionReader
from .model import ComplianceTest, OptionDecl
from .scope import ROOT_SCOPE, DefinitionSink, Scope, WalkState, function_scope, let_scope
from .source import SourceFile
from .syntax import (
    ATTRSETS,
    STRINGS,
    bindings,
    call_name,
    formal_names,
    is_attrset,
    list_items,
    variable_name,
)

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
_MODULE_ARGUMENTS = frozenset({"config", "options", "modulesPath"})
_SYSTEM_CALLS = frozenset({"nixosSystem", "evalModules", "darwinSystem"})
_PEEL_LIMIT = 64  # layers of let/with/parentheses looked through
_HEADER_LIMIT = 16  # function headers looked through


@dataclass(slots=True)
class ModuleFindings:
    """What the module pass found in one file."""

    sink: DefinitionSink = field(default_factory=DefinitionSink)
    declarations: list[OptionDecl] = field(default_factory=list)
    tests: list[ComplianceTest] = field(default_factory=list)


class ModuleReader:
    """Reads the modules of one file into :attr:`findings`."""

    def __init__(self, source: SourceFile) -> None:
        self.source = source
        self.findings = ModuleFindings()
        #: Let-bound values being expanded (a guard against ``let a = a; in``).
        self.expanding: set[int] = set()
        self.definitions = DefinitionReader(self)
        self.declarations = DeclarationReader(self)
        self.compliance_tests = ComplianceTestReader(self)

    def read_file(self, top: Node | None) -> None:
        """Read a file's top-level expression: as a module, or searching it for modules."""
        if is_module(top, self.source):
            self.module(top, WalkState(ROOT_SCOPE, self.findings.sink))
        elif top is not None:
            self.search(top)

    # -- variables ---------------------------------------------------------

    def resolve(self, node: Node, scope: Scope) -> tuple[Node, Scope] | None:
        """Follow a variable to its let-bound value, with the scope it was bound in."""
        name = variable_name(node)
        if name is None:
            return None
        found = scope.lookup(name)
        if found is None or found[0] is None:
            return None
        value, frame = found
        if value.id in self.expanding:
            return None
        return value, frame

    def peel(
        self, node: Node | None, scope: Scope, follow_variables: bool = True
    ) -> tuple[Node | None, Scope]:
        """Strip parentheses, let, with and assert (and optionally variables)."""
        layers = 0
        while node is not None and layers < _PEEL_LIMIT:
            layers += 1
            kind = node.type
            if kind == "parenthesized_expression":
                node = node.child_by_field_name("expression")
            elif kind == "let_expression":
                scope = let_scope(node, scope)
                node = node.child_by_field_name("body")
            elif kind == "with_expression" or kind == "assert_expression":
                node = node.child_by_field_name("body")
            elif kind == "variable_expression" and follow_variables:
                resolved = self.resolve(node, scope)
                if resolved is None:
                    break
                node, scope = resolved
            else:
                break
        return node, scope

    def simple_attrs(self, node: Node | None, scope: Scope) -> dict[str, Node]:
        """``{ a = x; b = y; }`` → ``{"a": x, "b": y}`` (single-name bindings only)."""
        node, _ = self.peel(node, scope)
        found: dict[str, Node] = {}
        if node is None or node.type not in ATTRSETS:
            return found
        for binding in bindings(node):
            if binding.type == "binding":
                path = binding.child_by_field_name("attrpath")
                value = binding.child_by_field_name("expression")
                if path is not None and value is not None and path.named_child_count == 1:
                    found[self.source.text(path.named_children[0])] = value
        return found

    # -- modules -----------------------------------------------------------

    def module(self, node: Node | None, state: WalkState) -> None:
        """Read ``node`` as a module (a function returning a set, or a set) at ``state.prefix``.

        The prefix is a submodule's option path; for ordinary modules it is empty.
        Modules named by path or variable are not followed.
        """
        scope = state.scope
        for _ in range(_HEADER_LIMIT):
            node, scope = self.peel(node, scope)
            if node is None or node.type != "function_expression":
                break
            scope = function_scope(node, scope)
            node = node.child_by_field_name("body")
        if is_attrset(node):
            self._module_attrs(node, state.with_scope(scope))  # type: ignore[arg-type]

    def _module_attrs(self, node: Node, state: WalkState) -> None:
        source = self.source
        inner = state
        if node.type == "rec_attrset_expression":
            inner = state.with_scope(let_scope(node, state.scope))
        parsed: list[tuple[Node, list[str]]] = []
        explicit = False
        for binding in bindings(node):
            segments = (
                source.attr_segments(binding.child_by_field_name("attrpath"))
                if binding.type == "binding"
                else []
            )
            parsed.append((binding, segments))
            if segments and segments[0] in ("config", "options"):
                explicit = True
        for binding, segments in parsed:
            if binding.type != "binding":
                if not explicit:
                    self.definitions.inherit(binding, state.prefix, state.sink)
            elif segments:
                self._module_attribute(binding, segments, explicit, inner)

    def _module_attribute(
        self, binding: Node, segments: list[str], explicit: bool, state: WalkState
    ) -> None:
        """One ``name = value;`` of a module, read as the module system reads it."""
        head = segments[0]
        value = binding.child_by_field_name("expression")
        if head in _IMPORT_KEYS and len(segments) == 1:
            self.imports(value, state)
            return
        if head in _MODULE_BOOKKEEPING:
            return
        path, below_head = state.prefix + tuple(segments), state.prefix + tuple(segments[1:])
        if not explicit or head == "meta":
            self.definitions.read(value, state.at(path, binding))
        elif head == "options":
            self.declarations.read(value, state.at(below_head, binding))
        elif head == "config":
            self.definitions.read(value, state.at(below_head, binding))
        # Anything else in an explicit module is an evaluation error in NixOS: ignored.

    def imports(self, node: Node | None, state: WalkState) -> None:
        """Read an ``imports`` (or ``modules``) list: ``[ ... ] ++ optionals c [ ... ]``.

        Inline modules are read (at the top of the option tree); paths are not followed.
        """
        # Iterative: a long ``a ++ b ++ c ...`` chain nests as deep as it is long.
        pending: list[tuple[Node | None, Scope]] = [(node, state.scope)]
        while pending:
            item, scope = self.peel(*pending.pop())
            if item is None:
                continue
            if item.type == "list_expression":
                for element in list_items(item):
                    self.module(element, WalkState(scope, state.sink))
            elif item.type == "binary_expression":
                pending.append((item.child_by_field_name("right"), scope))
                pending.append((item.child_by_field_name("left"), scope))
            elif item.type == "apply_expression":
                name, args = call_name(item)
                if name == "optional" and args:
                    self.module(args[-1], WalkState(scope, state.sink))
                elif name == "optionals" and args:
                    pending.append((args[-1], scope))

    # -- files that are not modules ---------------------------------------

    def search(self, root: Node) -> None:
        """Find modules embedded in a non-module file (flake outputs, tests, system calls)."""
        stack: list[tuple[Node, Scope]] = [(root, ROOT_SCOPE)]
        while stack:
            node, scope = stack.pop()
            kind = node.type
            if kind in STRINGS or kind == "comment":
                continue
            if kind == "apply_expression":
                if self._embedded_call(node, scope):
                    continue
            elif kind == "binding":
                if self._nixos_modules(node, scope):
                    continue
            elif kind == "let_expression" or kind == "rec_attrset_expression":
                scope = let_scope(node, scope)
            elif kind == "function_expression":
                scope = function_scope(node, scope)
            stack.extend((c, scope) for c in reversed(node.named_children))

    def _embedded_call(self, node: Node, scope: Scope) -> bool:
        """Read a test or system call's modules; ``True`` when ``node`` was one."""
        name, args = call_name(node)
        if not args:
            return False
        if name in TEST_CALLS:
            self.compliance_tests.read(node, args[0], scope)
            return True
        if name in OTHER_TEST_CALLS:
            self.compliance_tests.read_nodes(args[0], WalkState(scope, self.findings.sink))
            return True
        if name in _SYSTEM_CALLS:
            modules = self.simple_attrs(args[0], scope).get("modules")
            if modules is not None:
                self.imports(modules, WalkState(scope, self.findings.sink))
                return True
        return False

    def _nixos_modules(self, binding: Node, scope: Scope) -> bool:
        """Read ``nixosModules.x = ...`` or ``nixosModules = { ... }``; ``True`` when it was."""
        segments = self.source.attr_segments(binding.child_by_field_name("attrpath"))
        if "nixosModules" not in segments:
            return False
        value = binding.child_by_field_name("expression")
        sink = self.findings.sink
        if segments[segments.index("nixosModules") + 1 :]:
            self.module(value, WalkState(scope, sink))
            return True
        modules, modules_scope = self.peel(value, scope)
        if modules is not None and modules.type in ATTRSETS:
            for entry in bindings(modules):
                if entry.type == "binding":
                    self.module(
                        entry.child_by_field_name("expression"), WalkState(modules_scope, sink)
                    )
        return True


def is_module(top: Node | None, source: SourceFile) -> bool:
    """Whether a file's top-level expression reads as a NixOS module."""
    node, binds_module_arguments = _module_body(top)
    if node is None or not (
        node.type == "attrset_expression" or (node.type == "ERROR" and is_attrset(node))
    ):
        return False
    keys = _top_level_keys(node, source)
    if keys & {"inputs", "outputs"}:
        return False  # a flake
    if binds_module_arguments or keys & {"options", "config", "imports"}:
        return True
    return bool(keys) and keys <= MODULE_NAMESPACES | _MODULE_BOOKKEEPING | _IMPORT_KEYS


def _module_body(node: Node | None) -> tuple[Node | None, bool]:
    """The expression under function headers, let, with, assert and parentheses.

    Also says whether a header binds one of the module system's arguments.
    """
    binds_module_arguments = False
    for _ in range(_PEEL_LIMIT):
        if node is None:
            return None, False
        kind = node.type
        if kind == "function_expression":
            if _MODULE_ARGUMENTS.intersection(formal_names(node)):
                binds_module_arguments = True
            node = node.child_by_field_name("body")
        elif kind == "parenthesized_expression":
            node = node.child_by_field_name("expression")
        elif kind in ("let_expression", "with_expression", "assert_expression"):
            node = node.child_by_field_name("body")
        else:
            break
    return node, binds_module_arguments


def _top_level_keys(node: Node, source: SourceFile) -> set[str]:
    keys: set[str] = set()
    for binding in bindings(node):
        if binding.type == "binding":
            path = binding.child_by_field_name("attrpath")
            if path is not None and path.named_child_count:
                keys.add(source.text(path.named_children[0]))
        else:
            attrs = binding.child_by_field_name("attrs")
            if attrs is not None:
                keys.update(source.text(a) for a in attrs.named_children)
    return keys
