"""The generic pass: every node once, for comments, strings, paths and syntax errors.

Each string is recorded with its *context*: the function it is an argument of
(``writeText``) or, failing that, the attribute or let name it is bound to
(``apiToken``).  Wrappers that only pass a string through (``mkDefault``,
``toString``, the branches of ``if``, ``let`` bodies ...) keep the context
from further out.

It is also recorded with its *scope*: every name its value flows through on the way
out, outermost first (see :attr:`~kbgen.nix.model.StringLiteral.scope`), so that
``assertions = [ { message = "..."; } ]`` can be told from any other ``message``.
"""

from __future__ import annotations

from collections.abc import Callable

from tree_sitter import Node

from .definitions import CONDITIONAL, ORDERING, PRIORITIES
from .model import Comment, NixParseError, StringLiteral, StringSegment
from .source import SourceFile
from .strings import Chunk, chunks_text, merge_line_chunks, string_chunks
from .syntax import PATHS, apply_chain, head_name

# Functions that only pass a string through: a string given to them takes its
# context from further out (``apiToken = mkDefault "x"`` → ``apiToken``).
_STRING_TRANSPARENT = frozenset(
    {
        *PRIORITIES, *ORDERING, *CONDITIONAL, "mkMerge", "mkOverride", "mkOrder",
        "optional", "optionals", "optionalString", "toString", "mdDoc", "literalMD",
        "concatStrings", "concatStringsSep", "concatLines", "escapeShellArg",
        "escapeShellArgs",
    }
)  # fmt: skip
# Expressions whose value is (part of) a child's value: the child keeps the
# context, through the fields named here (every named child when absent).
_CONTEXT_FIELDS: dict[str, frozenset[str] | None] = {
    "parenthesized_expression": None,
    "list_expression": None,
    "if_expression": frozenset({"consequence", "alternative"}),
    "let_expression": frozenset({"body"}),
    "with_expression": frozenset({"body"}),
    "assert_expression": frozenset({"body"}),
}
# Node kinds the pass has nothing to collect from, at or below them.
_LEAVES = frozenset(
    {"identifier", "integer_expression", "float_expression", "ellipses", "variable_expression"}
)

#: Node kinds whose children are part of their value and bound in place: the scope
#: goes on through them (any other kind without a handler starts a new scope).
_SCOPE_KEEPING = frozenset(
    {"attrset_expression", "rec_attrset_expression", "binding_set", "interpolation"}
)
#: The scope of a literal whose value flows nowhere known (``if`` conditions, operands of
#: ``==``, ``let`` bindings, ...).
_NO_SCOPE: tuple[str, ...] = ()

#: What :attr:`~kbgen.nix.model.StringLiteral.scope` holds.
Scope = tuple[str, ...]
#: A stack entry: a node, its string context, whether it is inside an ERROR node, and
#: its scope (see :attr:`~kbgen.nix.model.StringLiteral.scope`).
_Entry = tuple[Node, "str | None", bool, tuple[str, ...]]


class GenericPass:
    """Collects :attr:`comments`, :attr:`strings` and :attr:`errors` of one syntax tree.

    With ``check_errors`` (the tree has errors) anonymous tokens are visited
    too, since only they can be MISSING nodes.
    """

    def __init__(self, source: SourceFile, check_errors: bool) -> None:
        self.source = source
        self.check_errors = check_errors
        self.comments: list[Comment] = []
        self.strings: list[StringLiteral] = []
        self.errors: list[NixParseError] = []
        self._stack: list[_Entry] = []

    def walk(self, root: Node) -> None:
        """Visit every node below ``root`` (iteratively: nesting depth does not matter)."""
        stack = self._stack
        stack.append((root, None, False, _NO_SCOPE))
        push, pop = stack.append, stack.pop
        handlers = _HANDLERS
        check_errors = self.check_errors
        while stack:
            node, context, in_error, scope = pop()
            kind = node.type
            if check_errors:
                if node.is_missing:
                    self._error(node, f"syntax error: missing {kind}")
                    continue
                if kind == "ERROR":
                    if not in_error:
                        snippet = self.source.text(node).strip().split("\n", 1)[0][:40]
                        self._error(node, f"syntax error near {snippet!r}")
                    in_error = True
            elif kind in _LEAVES:
                continue
            handler = handlers.get(kind)
            if handler is not None:
                handler(self, node, context, in_error, scope)
            else:
                child_scope = scope if kind in _SCOPE_KEEPING else _NO_SCOPE
                for child in node.children if check_errors else node.named_children:
                    push((child, None, in_error, child_scope))

    def _error(self, node: Node, message: str) -> None:
        self.errors.append(NixParseError(self.source.node_pos(node), message, "tree-sitter"))

    def _children(self, node: Node) -> list[Node]:
        # Anonymous tokens matter only as possible MISSING nodes.
        return node.children if self.check_errors else node.named_children

    def _is_broken(self, node: Node) -> bool:
        return self.check_errors and (node.is_missing or node.type == "ERROR")

    # -- node kinds ----------------------------------------------------------

    def _comment(self, node: Node, _context: str | None, _in_error: bool, _scope: Scope) -> None:
        self.comments.append(Comment(self.source.text(node), self.source.node_pos(node)))

    def _string_node(self, node: Node, context: str | None, in_error: bool, scope: Scope) -> None:
        kind = "string" if node.type == "string_expression" else "indented"
        self._string(node, context, kind, scope)
        push = self._stack.append
        for child in node.children:
            # An interpolated value is part of the string: it keeps the scope.
            if child.type == "interpolation":
                push((child, None, in_error, scope))
            elif self._is_broken(child):
                push((child, None, in_error, _NO_SCOPE))

    def _path_node(self, node: Node, _context: str | None, in_error: bool, scope: Scope) -> None:
        self._path(node, PATHS[node.type], scope)
        push = self._stack.append
        for child in node.named_children:
            if child.type == "interpolation":
                push((child, None, in_error, scope))

    def _attrpath(self, node: Node, _context: str | None, in_error: bool, _scope: Scope) -> None:
        push = self._stack.append
        for attr in node.named_children:
            if attr.type == "string_expression":
                self._string(attr, None, "attr_name", _NO_SCOPE)
                for child in attr.named_children:
                    if child.type == "interpolation":
                        push((child, None, in_error, _NO_SCOPE))
            elif attr.type != "identifier":
                push((attr, None, in_error, _NO_SCOPE))

    def _binding(self, node: Node, _context: str | None, in_error: bool, scope: Scope) -> None:
        """The value of ``a.b = v;`` has context ``b``; its scope goes on with ``a``, ``b``.

        A ``let`` binding's scope starts afresh: its value flows wherever the name is used.
        """
        push = self._stack.append
        path = node.child_by_field_name("attrpath")
        value = node.child_by_field_name("expression")
        if value is not None:
            segments = self.source.attr_segments(path)
            last = path.named_children[-1] if path is not None and segments else None
            # An identifier's segment is its name; a quoted one is decoded from source.
            if last is not None and last.type == "identifier":
                name: str | None = segments[-1]
            else:
                name = self._binding_name(path)
            push((value, name, in_error, scope + tuple(segments)))
        if path is not None:
            push((path, None, in_error, _NO_SCOPE))
        if self.check_errors:
            for child in node.children:
                if self._is_broken(child):
                    push((child, None, in_error, _NO_SCOPE))

    def _apply(self, node: Node, context: str | None, in_error: bool, scope: Scope) -> None:
        """The argument of ``f x`` has context ``f``, unless ``f`` passes strings through.

        Its scope goes on with ``f(N)``, ``N`` the argument's place in the call
        (``lib.warnIf cond "msg" v``: ``"msg"`` is in ``warnIf(2)``); a pass-through
        wrapper adds nothing, and a call whose function has no name starts a new scope.
        """
        function = node.child_by_field_name("function")
        argument = node.child_by_field_name("argument")
        head, arguments = apply_chain(node)
        name = head_name(head)
        if name in _STRING_TRANSPARENT:
            argument_context, argument_scope = context, scope
        elif name is None:
            argument_context, argument_scope = None, _NO_SCOPE
        else:
            argument_context = name
            argument_scope = (*scope, f"{name}({len(arguments)})")
        function_id = function.id if function is not None else -1
        argument_id = argument.id if argument is not None else -1
        push = self._stack.append
        for child in self._children(node):
            child_id = child.id
            if child_id == argument_id:
                push((child, argument_context, in_error, argument_scope))
            elif child_id == function_id and child.type == "apply_expression":
                # An inner apply of the same chain shares the argument context.
                push((child, context, in_error, scope))
            else:
                push((child, None, in_error, _NO_SCOPE))

    def _formal(self, node: Node, _context: str | None, in_error: bool, _scope: Scope) -> None:
        """A default in ``{ name ? "x" }:`` has the argument's name as context and scope."""
        default = node.child_by_field_name("default")
        if default is not None:
            name = node.child_by_field_name("name")
            context = self.source.text(name) if name is not None else None
            self._stack.append((default, context, in_error, (context,) if context else ()))

    def _binary(self, node: Node, context: str | None, in_error: bool, scope: Scope) -> None:
        """``a + b`` and ``a ++ b`` keep the context and scope; other operators do not."""
        operator = node.child_by_field_name("operator")
        keep = operator is not None and operator.type in ("+", "++")
        child_context = context if keep else None
        child_scope = scope if keep else _NO_SCOPE
        push = self._stack.append
        for child in self._children(node):
            push((child, child_context, in_error, child_scope))

    def _passthrough(self, node: Node, context: str | None, in_error: bool, scope: Scope) -> None:
        push = self._stack.append
        fields = _CONTEXT_FIELDS[node.type]
        if fields is None:
            for child in self._children(node):
                push((child, context, in_error, scope))
            return
        check_errors = self.check_errors
        for i, child in enumerate(node.children):
            if child.is_named or check_errors:
                if node.field_name_for_child(i) in fields:
                    push((child, context, in_error, scope))
                else:
                    push((child, None, in_error, _NO_SCOPE))

    def _function(self, node: Node, context: str | None, in_error: bool, scope: Scope) -> None:
        """A string a function returns keeps the function's context and scope.

        ``concatMapStrings (m: "install ${m} ...")``: the string is in ``concatMapStrings``.
        """
        body = node.child_by_field_name("body")
        body_id = body.id if body is not None else -1
        push = self._stack.append
        for child in self._children(node):
            if child.id == body_id:
                push((child, context, in_error, scope))
            else:
                push((child, None, in_error, _NO_SCOPE))

    # -- records ---------------------------------------------------------------

    def _binding_name(self, attrpath: Node | None) -> str | None:
        """The name a value is bound to: the last attribute of the binding's path."""
        if attrpath is None:
            return None
        children = attrpath.named_children
        if not children:
            return None
        last = children[-1]
        if last.type == "identifier":
            return self.source.text(last)
        if last.type == "string_expression":
            ok, value = self.source.literal(last)
            return value if ok and isinstance(value, str) else None
        return None

    def _string(self, node: Node, context: str | None, kind: str, scope: Scope) -> None:
        source = self.source
        if kind != "indented":
            parts = node.named_children
            if len(parts) == 1 and parts[0].type == "string_fragment":
                # The common case, "plain text" on one line: no decoding needed.
                fragment = parts[0]
                raw = source.src[fragment.start_byte : fragment.end_byte]
                if b"\n" not in raw:
                    text = raw.decode("utf-8", errors="replace")
                    segments = (StringSegment(text, source.node_pos(fragment), False),)
                    pos = source.node_pos(node)
                    self.strings.append(
                        StringLiteral(text, pos, context, kind, segments=segments, scope=scope)
                    )
                    return
        self._record(node, string_chunks(node, source.src), context, kind, scope)

    def _record(
        self, node: Node, chunks: list[Chunk], context: str | None, kind: str, scope: Scope
    ) -> None:
        """Append the literal made of ``chunks`` (text and interpolations)."""
        pos = self.source.pos
        segments = tuple(
            StringSegment(c.text, pos(c.start), c.interpolation) for c in merge_line_chunks(chunks)
        )
        self.strings.append(
            StringLiteral(
                text=chunks_text(chunks),
                pos=self.source.node_pos(node),
                context=context,
                kind=kind,
                has_interpolation=any(c.interpolation for c in chunks),
                segments=segments,
                scope=scope,
            )
        )

    def _path(self, node: Node, kind: str, scope: Scope) -> None:
        source = self.source
        chunks: list[Chunk] = []
        for child in node.children:
            if child.type == "interpolation":
                inner = child.child_by_field_name("expression")
                text = source.text(inner) if inner is not None else ""
                chunks.append(Chunk(text, child.start_byte, True))
            elif child.is_named:
                chunks.append(Chunk(source.text(child), child.start_byte, False))
        if not chunks:  # spath/uri are single tokens
            chunks.append(Chunk(source.text(node), node.start_byte, False))
        self._record(node, chunks, None, kind, scope)


# What the walk does at each node kind; any other kind just visits its children.
_HANDLERS: dict[str, Callable[[GenericPass, Node, str | None, bool, Scope], None]] = {
    "comment": GenericPass._comment,
    "string_expression": GenericPass._string_node,
    "indented_string_expression": GenericPass._string_node,
    **dict.fromkeys(PATHS, GenericPass._path_node),
    "attrpath": GenericPass._attrpath,
    "binding": GenericPass._binding,
    "apply_expression": GenericPass._apply,
    "formal": GenericPass._formal,
    "binary_expression": GenericPass._binary,
    **dict.fromkeys(_CONTEXT_FIELDS, GenericPass._passthrough),
    "function_expression": GenericPass._function,
}
