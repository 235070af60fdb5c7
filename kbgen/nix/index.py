"""Indexing one Nix source with tree-sitter-nix.

Each file is parsed once and read in two passes: the module pass
(:mod:`~kbgen.nix.modules`: declarations, definitions, compliance tests) and
the generic pass (:mod:`~kbgen.nix.generic`: strings, paths, comments,
syntax errors).  What is recognised, and what deliberately is not, is
specified with tested examples in ``docs/nix-index.md``.
"""

from __future__ import annotations

from typing import TypeVar

from .generic import GenericPass
from .model import Comment, NixFile, NixParseError, OptionDecl, OptionDef, StringLiteral
from .modules import MODULE_NAMESPACES, ModuleReader
from .source import SourceFile
from .syntax import parser

__all__ = ["MODULE_NAMESPACES", "index_nix_source"]


def index_nix_source(text: bytes | str, path: str) -> NixFile:
    """Index one Nix source.  ``path`` is the project-relative posix path used in positions.

    Never raises for bad input: syntax errors and invalid UTF-8 become
    :class:`NixParseError` entries and the rest of the file is still indexed.
    """
    src = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    source = SourceFile(src, path)
    errors: list[NixParseError] = []
    try:
        src.decode("utf-8")
    except UnicodeDecodeError as exc:
        errors.append(
            NixParseError(source.pos(exc.start), f"invalid UTF-8: {exc.reason}", "tree-sitter")
        )
    root = parser().parse(src).root_node
    top = root.child_by_field_name("expression")
    if top is None:
        # A broken file may leave the expression in an ERROR child.
        top = next((c for c in root.named_children if c.type != "comment"), None)
    modules = ModuleReader(source)
    try:
        modules.read_file(top)
    except RecursionError:
        # Depth limits cover each recursive step, but not every pathological
        # combination of them; keep what was found and say the rest is missing.
        errors.append(
            NixParseError(
                source.pos(0), "expression nested too deeply to index fully", "tree-sitter"
            )
        )
    generic = GenericPass(source, check_errors=root.has_error)
    generic.walk(root)
    errors.extend(generic.errors)
    found = modules.findings
    return NixFile(
        path=path,
        declarations=_in_source_order(found.declarations),
        definitions=_in_source_order(found.sink.definitions),
        strings=_in_source_order(generic.strings),
        comments=_in_source_order(generic.comments),
        tests=tuple(found.tests),
        errors=_in_source_order(errors),
        line_count=source.line_count,
    )


_Positioned = TypeVar("_Positioned", OptionDecl, OptionDef, StringLiteral, Comment, NixParseError)


def _in_source_order(items: list[_Positioned]) -> tuple[_Positioned, ...]:
    """The passes find things depth-first; report them in source order (stable)."""
    items.sort(key=lambda item: (item.pos.line, item.pos.column))
    return tuple(items)
