"""NixOS's own option set, read from the ``options.json`` that NixOS writes.

The file is what ``pkgs.nixosOptionsDoc { options = host.options; }``'s ``optionsJSON``
builds (``share/doc/nixos/options.json``; the NixOS manual's is the same format): an
object keyed by option path, each value with ``type`` (the type's description, such as
``"boolean"`` or ``"attribute set of (submodule)"``), ``default`` and ``example``
(plain JSON or ``{"_type": "literalExpression", "text": ...}``), ``description``,
``declarations`` (files, ``nixos/modules/...nix`` for nixpkgs), ``loc`` and
``readOnly``. Placeholders appear as path segments: ``<name>`` for an ``attrsOf``
element (``attrsWith`` may name it otherwise, ``<user>``), ``*`` for a ``listOf`` one.

Options made by ``mkRenamedOptionModule``/``mkAliasOptionModule`` are invisible and
so only in a file built with invisible options (the flake's ``nixos-options`` output
is): their description is ``Alias of {option}`new.path`.``. Those of
``mkRemovedOptionModule`` have no description and the type ``unspecified value`` (the
replacement instructions live in a ``throw`` that no file can hold); those of
``mkChangedOptionModule``/``mkMergedOptionModule`` have the default
``"_mkMergedOptionModule"``. A description that itself says an option was removed or
renamed (``... can no longer be used since it's been removed. Use ...``) is shown.

Reading is ``json.loads`` and a shape check; the segment trie that answers queries is
built on the first query.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from kbgen.errors import KbgenError
from kbgen.nix.model import LIST_WILDCARD, NAME_WILDCARD, FlakeIndex, join_path, split_path

#: Type descriptions under which any attribute name is accepted (freeform settings,
#: ``attrsOf`` of a non-submodule, ``types.attrs``, format types, untyped options).
_FREEFORM = re.compile(r"attribute set|open submodule|\bvalue\)?$|^anything$")
_ALIAS = re.compile(r"^Alias of (?:\{option\}`([^`]+)`|<option>([^<]+)</option>)\.?\s*$")
_REMOVED_TEXT = re.compile(
    r"(?:has been|been) removed|no longer (?:be used|has any effect)|"
    r"renamed to",
    re.I,
)
_MERGED = "_mkMergedOptionModule"


def is_placeholder(segment: str) -> bool:
    """``<name>``-like (any attribute name) or ``*`` (any list element)."""
    return segment == LIST_WILDCARD or (segment.startswith("<") and segment.endswith(">"))


@dataclass(frozen=True, slots=True)
class UpstreamOption:
    """One entry of the file, with the parts kbgen shows and checks."""

    path: str
    type: str
    description: str
    default: str | None
    declarations: tuple[str, ...]
    read_only: bool

    @property
    def renamed_to(self) -> str | None:
        """The new path of a renamed (aliased) option."""
        match = _ALIAS.match(self.description.strip())
        return (match.group(1) or match.group(2)) if match else None

    @property
    def replacement(self) -> str | None:
        """What became of an option NixOS renamed, removed or changed, completing
        "..., which ..."; ``None`` for a live option."""
        renamed = self.renamed_to
        if renamed:
            return f"NixOS renamed to {renamed}"
        text = " ".join(self.description.split())
        if text and _REMOVED_TEXT.search(text):
            return f"NixOS no longer has: {text}"
        if self.default == json.dumps(_MERGED):
            return (
                "NixOS replaced (mkChangedOptionModule or mkMergedOptionModule; see "
                f"{', '.join(self.declarations) or 'its declaration'})"
            )
        if not text and self.type == "unspecified value":
            where = f" (see {self.declarations[0]})" if self.declarations else ""
            return f"NixOS removed{where}"
        return None

    @property
    def freeform(self) -> bool:
        """Whether any attribute below it is accepted (when no declared one matches)."""
        return bool(_FREEFORM.search(self.type))


@dataclass(frozen=True, slots=True)
class Match:
    """How a path matched: ``option`` (exactly, maybe through placeholders),
    ``namespace`` (a prefix of options), ``freeform`` (below a freeform option), or
    ``missing``. ``option`` is the matched option (the freeform parent for ``freeform``)."""

    kind: str
    option: UpstreamOption | None = None


class _Node:
    __slots__ = ("children", "key")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.key: str | None = None  # the options.json key of the option at this node


class UpstreamOptions:
    """The options of one ``options.json``; queries build a segment trie on first use."""

    def __init__(self, entries: dict[str, dict], source: str) -> None:
        self.source = source
        self._entries = entries
        self._root: _Node | None = None
        self._options: dict[str, UpstreamOption] = {}

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def paths(self) -> list[str]:
        return list(self._entries)

    @property
    def namespaces(self) -> frozenset[str]:
        """The first segments of every option (``services``, ``boot`` ...)."""
        return frozenset(self._trie().children)

    def option(self, key: str) -> UpstreamOption:
        """The option at exactly this key of the file."""
        known = self._options.get(key)
        if known is None:
            known = self._options[key] = _option(key, self._entries[key])
        return known

    def _trie(self) -> _Node:
        if self._root is None:
            root = _Node()
            for key in self._entries:
                node = root
                for seg in _segments(key):
                    if is_placeholder(seg):
                        seg = NAME_WILDCARD if seg != LIST_WILDCARD else LIST_WILDCARD
                    nxt = node.children.get(seg)
                    if nxt is None:
                        nxt = node.children[seg] = _Node()
                    node = nxt
                node.key = key
            self._root = root
        return self._root

    def lookup(self, path: str) -> Match:
        """Match a dotted option path (quoted segments, ``<name>``/``*`` allowed)."""
        segs = split_path(path)
        if not segs:
            return Match("missing")
        frontier = [self._trie()]
        freeform: UpstreamOption | None = None
        for seg in segs:
            nxt: list[_Node] = []
            for node in frontier:
                children = _matching(node, seg)
                if not children and node.key is not None and freeform is None:
                    option = self.option(node.key)
                    if option.freeform:
                        freeform = option
                nxt += children
            if not nxt:
                return Match("freeform", freeform) if freeform else Match("missing")
            frontier = nxt
        exact = next((n for n in frontier if n.key is not None), None)
        if exact is not None and exact.key is not None:
            return Match("option", self.option(exact.key))
        return Match("namespace")

    def suggestions(self, path: str, n: int = 3) -> list[str]:
        """The closest existing paths, among those that share the first segments; their
        placeholders read as the path's own segments (``environment.etc.issue.text``)."""
        segs = split_path(path)
        for keep in range(min(len(segs) - 1, 3), -1, -1):
            prefix = join_path(segs[:keep]) + "." if keep else ""
            pool = [k for k in self._entries if k.startswith(prefix)]
            if not pool or len(pool) > 5000:
                continue
            shown = {_instantiate(k, segs): k for k in pool}
            found = difflib.get_close_matches(path, list(shown), n=n, cutoff=0.75)
            if found:
                return found
        return []


def _instantiate(key: str, segs: tuple[str, ...]) -> str:
    """An option key with its placeholders replaced by the query's segments there."""
    own = _segments(key)
    return join_path(
        [
            segs[i]
            if is_placeholder(seg) and i < len(segs) and not is_placeholder(segs[i])
            else seg
            for i, seg in enumerate(own)
        ]
    )


_INTEGER = re.compile(
    r"^(?:(?:signed|unsigned|positive) )?integer\b|^\d+ bit (?:un)?signed "
    r"integer\b|^integer between\b"
)
_STRING = re.compile(r"^(?:non-empty |single-line )?string\b|^strings concatenated with\b")
_ENUM = re.compile(r'^one of ((?:"(?:[^"\\]|\\.)*"(?:, |$))+)$')


def type_mismatch(type_text: str, value: object) -> str | None:
    """What a literal value should have been when NixOS's simple type (boolean, an
    integer, a string, an enum of strings, each maybe ``null or``) rejects it; ``None``
    when it fits or the type is not one of these."""
    nullable = type_text.startswith("null or ")
    base = type_text[len("null or ") :] if nullable else type_text
    if base.startswith("(") and base.endswith(")"):
        base = base[1:-1]
    enum = _ENUM.match(base)
    if value is None:
        simple = base == "boolean" or _INTEGER.match(base) or _STRING.match(base) or enum
        return None if nullable or not simple else f"not null ({type_text})"
    if enum:
        choices = [json.loads(c) for c in re.findall(r'"(?:[^"\\]|\\.)*"', enum.group(1))]
        if isinstance(value, str) and value in choices:
            return None
        return f"one of {', '.join(json.dumps(c) for c in choices)}"
    if " or " in base or (" of " in base and not _STRING.match(base)):
        return None
    if base == "boolean":
        return None if isinstance(value, bool) else "a boolean"
    if _INTEGER.match(base):
        return (
            None
            if isinstance(value, int) and not isinstance(value, bool)
            else f"an integer ({type_text})"
        )
    if _STRING.match(base):
        return None if isinstance(value, str) else f"a string ({type_text})"
    return None


def _matching(node: _Node, seg: str) -> list[_Node]:
    """The children of ``node`` that one query segment can stand for."""
    if is_placeholder(seg):
        return list(node.children.values())
    return [
        child
        for key in (seg, NAME_WILDCARD, LIST_WILDCARD)
        if (child := node.children.get(key)) is not None
    ]


def _segments(key: str) -> tuple[str, ...]:
    return tuple(key.split(".")) if '"' not in key else split_path(key)


def _option(key: str, raw: dict) -> UpstreamOption:
    declarations = []
    for d in raw.get("declarations") or ():
        if isinstance(d, str):
            declarations.append(d)
        elif isinstance(d, dict) and isinstance(d.get("name"), str):
            declarations.append(d["name"])
    description = raw.get("description")
    if isinstance(description, dict):  # older files: {"_type": "mdDoc", "text": ...}
        description = description.get("text")
    return UpstreamOption(
        key,
        str(raw.get("type") or "unspecified value"),
        description if isinstance(description, str) else "",
        render_default(raw["default"]) if "default" in raw else None,
        tuple(declarations),
        bool(raw.get("readOnly")),
    )


def render_default(value: object) -> str:
    """A default as NixOS shows it: the text of a literal expression, else JSON."""
    if (
        isinstance(value, dict)
        and value.get("_type")
        in ("literalExpression", "literalExample", "literalMD", "literalDocBook")
        and isinstance(value.get("text"), str)
    ):
        return value["text"]
    return json.dumps(value, ensure_ascii=False)


def load_upstream(path: Path, shown: str | None = None) -> UpstreamOptions:
    """Read an ``options.json``; one :class:`KbgenError` naming the file when it cannot
    be read, is not JSON, or is not an object of option objects."""
    where = shown or str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise KbgenError(
            "nixos-options file not found (build it with `nix build "
            ".#nixos-options`, see flake/README.md)",
            where,
        ) from exc
    except OSError as exc:
        raise KbgenError(f"cannot read nixos-options file: {exc.strerror or exc}", where) from exc
    try:
        entries = json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise KbgenError(f"nixos-options file is not JSON: {exc}", where) from exc
    if not isinstance(entries, dict) or not entries:
        raise KbgenError(
            "nixos-options file must be a non-empty JSON object keyed by option "
            "path (NixOS's options.json)",
            where,
        )
    for key, value in entries.items():
        if (
            not isinstance(value, dict)
            or not isinstance(value.get("type", ""), str)
            or not isinstance(value.get("declarations", []), list)
        ):
            raise KbgenError(
                f"nixos-options file: entry {key!r} is not an option object "
                "(with a string type and a list of declarations)",
                where,
            )
    return UpstreamOptions(entries, where)


_NIXPKGS_URL = re.compile(r"^github:NixOS/nixpkgs/([A-Za-z0-9._-]+)$", re.I)
NIXPKGS_BLOB = "https://github.com/NixOS/nixpkgs/blob/"


def nixpkgs_revision(index: FlakeIndex, flake_file: str) -> str | None:
    """The nixpkgs revision (or branch) ``flake.nix`` pins in ``inputs.nixpkgs.url``."""
    nix = index.file(flake_file)
    for string in nix.strings if nix else ():
        match = _NIXPKGS_URL.match(string.text)
        if match and string.context == "url":
            return match.group(1)
    return None


def nixpkgs_file(declaration: str) -> str | None:
    """The nixpkgs-relative file of a declaration (``nixos/modules/...nix``), also from a
    store path (``/nix/store/...-source/nixos/...``); None for other flakes' modules."""
    match = re.search(r"(?:^|/)((?:nixos|pkgs|lib)/[^\s]+\.nix)$", declaration)
    if match is None or (declaration.startswith("/") and "-source/" not in declaration):
        return None
    return match.group(1)
