"""Notes as plain JSON values: for the parse cache on disk and for worker processes.

A packed note holds only lists, strings, numbers, booleans and ``None`` (frontmatter
values are tagged, see :func:`_encode`), so it can be written as JSON: reading the
cache can never run code, unlike a pickle. :func:`unpack` checks the shape and the
type of every field and raises :class:`PackError` on any mismatch, so a damaged or
planted cache entry is parsed afresh instead of trusted.
"""

from __future__ import annotations

import base64
import datetime as dt
from types import MappingProxyType
from typing import Any

from kbgen.vault.records import (
    BlockId,
    CodeBlock,
    CodeSpan,
    Heading,
    Link,
    Macro,
    Note,
    NoteProblemKind,
    Problem,
    RawHtml,
    Suppression,
    Table,
    TableCell,
    Tag,
)


class PackError(ValueError):
    """A packed note (from the cache or a worker) is not what :func:`pack` writes."""


# Field types of each record, in field order. ``OPT`` is "a string or None"; tuples of
# strings or ints are written as lists and read back as tuples.
OPT, STRS, INTS = "opt", "strs", "ints"
_SPECS: dict[type, tuple[Any, ...]] = {
    Heading: (int, str, str, int, int),
    BlockId: (str, int, int),
    Link: (str, str, str, STRS, OPT, OPT, OPT, int, int, str),
    CodeSpan: (str, int, int, int),
    CodeBlock: (str, str, int, int),
    Tag: (str, int, int),
    Suppression: (STRS, str, int, int, bool, int, int),
    Macro: (str, str, int, int),
    RawHtml: (str, int, int, int, bool),
    Problem: (str, str, int, int),
    TableCell: (str, int, int, INTS, INTS),
}
_SCALARS = ("path", "title", "body_line", "line_count", "newline", "digest")
_SCALAR_TYPES = (str, str, int, int, str, str)
_LISTS = (
    "headings",
    "block_ids",
    "links",
    "tags",
    "code_spans",
    "code_blocks",
    "suppressions",
    "macros",
    "html",
    "problems",
)
_LIST_TYPES = (
    Heading,
    BlockId,
    Link,
    Tag,
    CodeSpan,
    CodeBlock,
    Suppression,
    Macro,
    RawHtml,
    Problem,
)


def pack(note: Note) -> list:
    """``note`` as JSON values; :class:`TypeError` if its frontmatter holds a value YAML's
    safe loader does not produce (such a note is simply not cached)."""
    tables = [
        [
            [list(c) for c in t.header],
            [[list(c) for c in row] for row in t.rows],
            t.line,
            list(t.raw_cell_counts),
            t.section,
        ]
        for t in note.tables
    ]
    return [
        [getattr(note, name) for name in _SCALARS],
        _encode(dict(note.frontmatter)),
        *[[list(item) for item in getattr(note, name)] for name in _LISTS],
        tables,
        list(note.lines),
    ]


def unpack(packed: Any) -> Note:
    """The note :func:`pack` wrote; :class:`PackError` when ``packed`` is anything else."""
    try:
        scalars, front, *lists, tables, lines = _list(packed, 4 + len(_LISTS))
        values = dict(zip(_SCALARS, _row(scalars, _SCALAR_TYPES), strict=True))
        records = {
            name: tuple(_record(kind, row) for row in _list(rows))
            for name, kind, rows in zip(_LISTS, _LIST_TYPES, lists, strict=True)
        }
        frontmatter = _decode(front)
        if not isinstance(frontmatter, dict):
            raise PackError("frontmatter is not a mapping")
        return Note(
            **values,
            frontmatter=MappingProxyType(frontmatter),
            tables=tuple(_table(t) for t in _list(tables)),
            lines=_strings(lines),
            **records,
        )
    except PackError:
        raise
    except (TypeError, ValueError, KeyError, OverflowError, RecursionError) as exc:
        raise PackError(f"malformed packed note: {exc}") from None


def _list(value: Any, length: int | None = None) -> list | tuple:
    # JSON gives lists; a worker process's packed note still holds the records' tuples.
    if type(value) not in (list, tuple) or (length is not None and len(value) != length):
        raise PackError("expected a list" + (f" of {length}" if length is not None else ""))
    return value


def _allowed(kind: Any) -> frozenset[type]:
    """The Python types a field of ``kind`` may hold, packed (from JSON or a worker)."""
    if kind is OPT:
        return frozenset({str, type(None)})
    if kind is STRS or kind is INTS:
        return frozenset({list, tuple})
    if kind is str:
        return frozenset({str, NoteProblemKind})  # a worker's problems keep their kind
    return frozenset({kind})


#: Per record type: the allowed types of each field (checked at C speed with ``map``),
#: and the positions of its tuple fields with their item type.
_CHECKS = {
    kind: (
        tuple(_allowed(k) for k in spec),
        tuple((i, str if k is STRS else int) for i, k in enumerate(spec) if k in (STRS, INTS)),
    )
    for kind, spec in _SPECS.items()
}


def _row(values: Any, types: tuple[Any, ...]) -> tuple:
    row = _list(values, len(types))
    out = []
    for value, kind in zip(row, types, strict=True):
        if kind is OPT:
            if value is not None and type(value) is not str:
                raise PackError("expected a string or null")
        elif kind is STRS or kind is INTS:
            item = str if kind is STRS else int
            if any(type(v) is not item for v in _list(value)):
                raise PackError(f"expected a list of {item.__name__}")
            value = tuple(value)
        elif type(value) is not kind and not (kind is str and isinstance(value, str)):
            raise PackError(f"expected {kind.__name__}, got {type(value).__name__}")
        out.append(value)
    return tuple(out)


def _record(kind: type, values: Any) -> Any:
    """One record; every field's type is checked (a bool is no int, a list no string)."""
    allowed, sequences = _CHECKS[kind]
    if (
        type(values) not in (list, tuple)
        or len(values) != len(allowed)
        or not all(map(frozenset.__contains__, allowed, map(type, values)))
    ):
        raise PackError(f"malformed {kind.__name__} record")
    if sequences:
        values = list(values)
        for index, item in sequences:
            if not set(map(type, values[index])) <= {item}:
                raise PackError(f"malformed {kind.__name__} record")
            values[index] = tuple(values[index])
    return kind._make(values)


def _strings(values: Any) -> tuple[str, ...]:
    if not set(map(type, _list(values))) <= {str}:
        raise PackError("expected a list of strings")
    return tuple(values)


def _table(values: Any) -> Table:
    header, rows, line, counts, section = _list(values, 5)
    if type(line) is not int or (section is not None and type(section) is not str):
        raise PackError("malformed table")
    return Table(
        tuple(_record(TableCell, c) for c in _list(header)),
        tuple(tuple(_record(TableCell, c) for c in _list(row)) for row in _list(rows)),
        line,
        _row(counts, (int,) * len(_list(counts))),
        section,
    )


# -- frontmatter values ----------------------------------------------------------------
#
# Strings, numbers, booleans and None stand for themselves; every other value is a
# one-key object naming its type, so the two can never be confused.


def _encode(value: Any) -> Any:
    if value is None or type(value) in (str, int, float, bool):
        return value
    if isinstance(value, dict):
        return {"map": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, list | tuple):  # YAML's !!pairs loads as a list of tuples
        return {"list": [_encode(v) for v in value]}
    if isinstance(value, dt.datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    if isinstance(value, bytes):
        return {"bytes": base64.b64encode(value).decode("ascii")}
    if isinstance(value, set | frozenset):
        return {"set": [_encode(v) for v in value]}
    raise TypeError(f"frontmatter value of type {type(value).__name__} is not cached")


def _decode(value: Any) -> Any:
    if value is None or type(value) in (str, int, float, bool):
        return value
    if type(value) is not dict or len(value) != 1:
        raise PackError("malformed frontmatter value")
    ((tag, body),) = value.items()
    if tag == "map":
        return {_hashable(_decode(k)): _decode(v) for k, v in (_list(p, 2) for p in _list(body))}
    if tag == "list":
        return [_decode(v) for v in _list(body)]
    if tag == "set":
        return {_hashable(_decode(v)) for v in _list(body)}
    if type(body) is not str:
        raise PackError("malformed frontmatter value")
    if tag == "datetime":
        return dt.datetime.fromisoformat(body)
    if tag == "date":
        return dt.date.fromisoformat(body)
    if tag == "bytes":
        return base64.b64decode(body, validate=True)
    raise PackError(f"unknown frontmatter value type {tag!r}")


def _hashable(value: Any) -> Any:
    if isinstance(value, list | dict | set):
        raise PackError("unhashable frontmatter key")
    return value


# -- between processes -------------------------------------------------------------------
#
# A worker's parsed notes travel back through multiprocessing's own pickle, from a
# process kbgen started itself: nothing untrusted is read, so no check is needed and the
# records travel as plain tuples (pickle handles those in C, named tuples one call each).


def to_transfer(note: Note) -> tuple:
    """``note`` as plain tuples, for the way back from a worker process."""
    tables = tuple(
        (
            tuple(map(tuple, t.header)),
            tuple(tuple(map(tuple, r)) for r in t.rows),
            t.line,
            t.raw_cell_counts,
            t.section,
        )
        for t in note.tables
    )
    return (
        tuple(getattr(note, name) for name in _SCALARS),
        dict(note.frontmatter),
        tuple(tuple(map(tuple, getattr(note, name))) for name in _LISTS),
        tables,
        note.lines,
    )


def from_transfer(sent: tuple) -> Note:
    """The note :func:`to_transfer` sent."""
    scalars, front, lists, tables, lines = sent
    records = {
        name: tuple(map(kind._make, rows))
        for name, kind, rows in zip(_LISTS, _LIST_TYPES, lists, strict=True)
    }
    return Note(
        **dict(zip(_SCALARS, scalars, strict=True)),
        frontmatter=MappingProxyType(front),
        tables=tuple(
            Table(
                tuple(map(TableCell._make, header)),
                tuple(tuple(map(TableCell._make, row)) for row in rows),
                line,
                counts,
                section,
            )
            for header, rows, line, counts, section in tables
        ),
        lines=lines,
        **records,
    )
