"""Frozen value types produced by the flake index.

Everything here is plain data: the indexer in :mod:`kbgen.nix.index` builds it,
the checks in other kbgen packages read it.  Option paths are rendered the way
NixOS renders them in error messages (``lib.showOption``): identifiers as they
are, anything else double-quoted, and the wildcards ``<name>`` (an ``attrsOf``
element or a dynamic ``${...}`` attribute) and ``*`` (a ``listOf`` element).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# The wildcard segments.  ``<name>`` stands for any attribute name of an
# attrsOf-typed option (and for attributes computed with ``${...}``), ``*``
# for any element of a listOf-typed option; NixOS documents options the same way.
NAME_WILDCARD = "<name>"
LIST_WILDCARD = "*"
WILDCARDS = frozenset({NAME_WILDCARD, LIST_WILDCARD})

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_'\-]*\Z")


def render_segment(name: str) -> str:
    """Render one attribute name as it appears in an option path."""
    if name in WILDCARDS or _IDENT.match(name):
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def join_path(segments: tuple[str, ...] | list[str]) -> str:
    """Join already-rendered segments into a dotted option path."""
    return ".".join(segments)


def split_path(path: str) -> tuple[str, ...]:
    """Split a dotted option path into rendered segments.

    Quoted segments may contain dots (``environment.etc."ssh/ssh_config".text``);
    the quotes are kept so that ``join_path(split_path(p)) == p`` and segments
    compare equal to what :func:`render_segment` produces.
    """
    segments: list[str] = []
    i, n = 0, len(path)
    while i < n:
        if path[i] == '"':
            j = i + 1
            while j < n and path[j] != '"':
                j += 2 if path[j] == "\\" else 1
            raw = path[i + 1 : j]
            # Re-render so that an unnecessarily quoted identifier ("enable")
            # matches its bare spelling.
            segments.append(render_segment(re.sub(r"\\(.)", r"\1", raw)))
            i = j + 1
            if i < n and path[i] == ".":
                i += 1
        else:
            j = path.find(".", i)
            if j < 0:
                j = n
            segments.append(path[i:j].strip())
            i = j + 1
    return tuple(s for s in segments if s)


@dataclass(frozen=True, slots=True)
class Pos:
    """A source position: project-relative posix path, 1-based line and column.

    Columns count characters (not bytes), so they match what an editor shows.
    """

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class OptionDecl:
    """An option declaration (``mkOption``, ``mkEnableOption``, ``mkPackageOption``).

    For ``mkEnableOption`` the default is the literal ``False`` (what NixOS
    gives it) with ``default_text`` ``None``, ``type_text`` ``None`` and
    ``description`` the argument as written.  For ``mkPackageOption`` the
    default is not literal and ``default_text`` is the source text of the
    ``default`` attribute of its third argument when present, else of the
    package-name argument (``"hello"``).
    """

    path: str
    kind: str
    type_text: str | None
    has_default: bool
    # Lists and dicts are not hashable, so the literal is kept out of __hash__.
    default: object | None = field(hash=False)
    default_is_literal: bool
    default_text: str | None
    description: str | None
    pos: Pos


@dataclass(frozen=True, slots=True)
class OptionDef:
    """A configuration definition at a leaf attribute path.

    ``priority`` is the name of the priority wrapper that was unwrapped:
    ``mkDefault``, ``mkForce``, ``mkOverride``, ``mkOptionDefault``,
    ``mkVMOverride`` or ``mkImageMediaOverride``; ``priority_value`` is its
    numeric priority when known (mkOverride's first argument must be an
    integer literal for that).  ``test`` is the name of the compliance test
    whose ``nodes`` set it, ``None`` for ordinary modules.
    """

    path: str
    value_text: str
    value: object | None = field(hash=False)
    value_is_literal: bool
    priority: str | None
    pos: Pos
    priority_value: int | None = None
    test: str | None = None


@dataclass(frozen=True, slots=True)
class StringSegment:
    """One piece of a string: literal text on a single source line, or an interpolation.

    A literal segment never spans a source line break, so ``pos.line`` is the
    line its text is written on (an escaped ``\\n`` stays on its line).  An
    interpolation segment's ``text`` is the source of the interpolated
    expression, without ``${`` and ``}``.
    """

    text: str
    pos: Pos
    interpolation: bool


@dataclass(frozen=True, slots=True)
class StringLiteral:
    """A string-like literal.

    ``kind`` is ``"string"`` (``"..."``), ``"indented"`` (``''...''``),
    ``"path"`` (``./x``, ``/abs``, ``~/x``, ``<nixpkgs>``), ``"uri"`` or
    ``"attr_name"`` (a quoted attribute name such as ``"ssh/ssh_config"``).
    ``text`` is the value Nix gives the literal (escapes decoded, indentation
    of indented strings stripped) with each interpolation written back as
    ``${source}``.  ``context`` is the function the string is an argument of
    (``writeText``) or, failing that, the attribute or let name it is bound to
    (``apiToken``); wrappers that only pass a value through (``mkDefault``,
    ``mkIf``'s body, ``toString``, ``optionalString`` …) are looked through.

    ``scope`` is every name the literal's value flows through on its way out,
    outermost first: the attribute names of each binding it is (part of) the value
    of, rendered as in option paths, and each function it is an argument of, as
    ``name(N)`` for argument ``N`` (1-based) of the call.  Pass-through wrappers
    add nothing; lists, attribute sets, ``+``, ``if`` branches, ``let``/``with``
    bodies, function bodies and interpolations keep the scope.  A literal whose
    value flows nowhere known (a ``let`` binding, an ``if`` condition, an operand
    of ``==``, a call of an unnamed function, an attribute name) starts afresh.
    ``config.assertions = [ { message = "m"; } ]`` gives ``"m"`` the scope
    ``("config", "assertions", "message")``; ``lib.warnIf c "m" v`` gives ``"m"``
    the scope ``("warnIf(2)",)``.
    """

    text: str
    pos: Pos
    context: str | None
    kind: str = "string"
    has_interpolation: bool = False
    segments: tuple[StringSegment, ...] = ()
    scope: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Comment:
    """A comment, with its markers (``# ...`` or ``/* ... */``) as written."""

    text: str
    pos: Pos


@dataclass(frozen=True, slots=True)
class NixParseError:
    """A syntax problem.  ``source`` is ``"tree-sitter"`` or ``"nix-instantiate"``.

    The indexer also uses ``"tree-sitter"`` for a file it could not read or
    decode, since those are found while loading the file for tree-sitter.
    """

    pos: Pos
    message: str
    source: str


@dataclass(frozen=True, slots=True)
class Subtest:
    """A ``with subtest("name", controls=[...]):`` block of a test script."""

    name: str
    #: The controls it is tagged with; None: every control of its test.
    controls: tuple[str, ...] | None
    pos: Pos


@dataclass(frozen=True, slots=True)
class ComplianceTest:
    """A ``mkComplianceTest { ... }`` call.

    ``assertions`` counts the checks in ``testScript``; see
    :func:`kbgen.nix.testscript.count_assertions` for exactly what counts.
    It is 0 when ``testScript`` is not a string literal (for example
    ``builtins.readFile ./x.py``).
    """

    name: str
    controls: tuple[str, ...]
    options_set: tuple[str, ...]
    assertions: int
    pos: Pos
    node_names: tuple[str, ...] = ()
    #: The script's subtests (its assertions as evidence names them), in order.
    subtests: tuple[Subtest, ...] = ()


@dataclass(frozen=True, slots=True)
class NixFile:
    """Everything indexed from one ``.nix`` file."""

    path: str
    declarations: tuple[OptionDecl, ...]
    definitions: tuple[OptionDef, ...]
    strings: tuple[StringLiteral, ...]
    comments: tuple[Comment, ...]
    tests: tuple[ComplianceTest, ...]
    errors: tuple[NixParseError, ...]
    line_count: int = 0


class _PathTrie:
    """Option paths split into segments, for prefix and wildcard queries."""

    __slots__ = ("children",)

    def __init__(self) -> None:
        self.children: dict[str, _PathTrie] = {}

    def add(self, segments: tuple[str, ...]) -> None:
        node = self
        for seg in segments:
            nxt = node.children.get(seg)
            if nxt is None:
                nxt = node.children[seg] = _PathTrie()
            node = nxt

    def has_prefix(self, segments: tuple[str, ...]) -> bool:
        # Iterative search; a wildcard on either side matches any one segment.
        frontier: list[_PathTrie] = [self]
        for seg in segments:
            nxt: list[_PathTrie] = []
            for node in frontier:
                if seg in WILDCARDS:
                    nxt.extend(node.children.values())
                    continue
                for key in (seg, NAME_WILDCARD, LIST_WILDCARD):
                    child = node.children.get(key)
                    if child is not None:
                        nxt.append(child)
            if not nxt:
                return False
            frontier = nxt
        return True


class _Lookups:
    """Maps and tries over a FlakeIndex's files."""

    __slots__ = ("by_path", "decls", "defs", "trie_all", "trie_no_tests")

    def __init__(self, files: tuple[NixFile, ...]) -> None:
        self.decls: dict[str, list[OptionDecl]] = {}
        self.defs: dict[str, list[OptionDef]] = {}
        outside_tests: set[str] = set()
        for f in files:
            for d in f.declarations:
                self.decls.setdefault(d.path, []).append(d)
            for o in f.definitions:
                self.defs.setdefault(o.path, []).append(o)
                if o.test is None:
                    outside_tests.add(o.path)
        self.by_path = {f.path: f for f in files}
        # Each distinct path is split once, however often it is defined.
        self.trie_all = _PathTrie()
        self.trie_no_tests = _PathTrie()
        for p in self.decls:
            segs = split_path(p)
            self.trie_all.add(segs)
            self.trie_no_tests.add(segs)
        for p in self.defs:
            segs = split_path(p)
            self.trie_all.add(segs)
            if p in outside_tests:
                self.trie_no_tests.add(segs)


@dataclass(frozen=True, slots=True)
class FlakeIndex:
    """The index of every ``.nix`` file of a flake.

    ``skipped`` lists project-relative paths that were not indexed because they
    are symlinks resolving outside the project root.
    """

    files: tuple[NixFile, ...]
    skipped: tuple[str, ...] = ()
    # Lookup tables, built on first use (an index that is only iterated over
    # never pays for them).  A one-slot list keeps the dataclass frozen.
    _lookups: list[_Lookups] = field(
        default_factory=list, init=False, repr=False, compare=False, hash=False
    )

    def _lk(self) -> _Lookups:
        if not self._lookups:
            self._lookups.append(_Lookups(self.files))
        return self._lookups[0]

    def declared(self, path: str) -> list[OptionDecl]:
        """Declarations whose path is exactly ``path``."""
        return list(self._lk().decls.get(path, ()))

    def defined(self, path: str) -> list[OptionDef]:
        """Definitions whose path is exactly ``path`` (test nodes included)."""
        return list(self._lk().defs.get(path, ()))

    @property
    def option_paths(self) -> frozenset[str]:
        """Every declared or defined (leaf) option path."""
        lk = self._lk()
        return frozenset(lk.decls) | frozenset(lk.defs)

    def is_defined_or_declared(self, path: str, *, include_tests: bool = True) -> bool:
        """Whether ``path`` or some path below it is declared or defined.

        ``services.openssh`` counts when ``services.openssh.enable`` is
        defined.  ``<name>`` and ``*`` segments, in the query or in the
        index, match any single segment, so ``users.users.<name>.isNormalUser``
        matches a definition of ``users.users.alice.isNormalUser`` and
        ``compliance.foo.alice.x`` matches a declaration of
        ``compliance.foo.<name>.x``.  With ``include_tests=False`` definitions
        made only inside compliance-test nodes do not count.
        """
        segs = split_path(path)
        if not segs:
            return False
        lk = self._lk()
        return (lk.trie_all if include_tests else lk.trie_no_tests).has_prefix(segs)

    def file(self, path: str) -> NixFile | None:
        """The indexed file with this project-relative path."""
        return self._lk().by_path.get(path)

    @property
    def declarations(self) -> tuple[OptionDecl, ...]:
        return tuple(d for f in self.files for d in f.declarations)

    @property
    def definitions(self) -> tuple[OptionDef, ...]:
        return tuple(d for f in self.files for d in f.definitions)

    @property
    def tests(self) -> tuple[ComplianceTest, ...]:
        return tuple(t for f in self.files for t in f.tests)

    @property
    def errors(self) -> tuple[NixParseError, ...]:
        return tuple(e for f in self.files for e in f.errors)
