"""The flake index: what the Nix sources of the project declare, define and test.

``index_flake(flake_root, project_root)`` parses every ``*.nix`` file with
tree-sitter-nix and returns a :class:`FlakeIndex`; ``cross_check`` runs Nix's
own parser over the same files when ``nix-instantiate`` is installed.
``docs/nix-index.md`` specifies what is recognised and what deliberately is not.
"""

from .flake import index_flake
from .index import index_nix_source
from .model import (
    LIST_WILDCARD,
    NAME_WILDCARD,
    Comment,
    ComplianceTest,
    FlakeIndex,
    NixFile,
    NixParseError,
    OptionDecl,
    OptionDef,
    Pos,
    StringLiteral,
    StringSegment,
    join_path,
    render_segment,
    split_path,
)
from .modules import MODULE_NAMESPACES
from .nixparse import NixInstantiateUnavailable, cross_check, nix_instantiate_available
from .testscript import ASSERTION_METHODS, count_assertions

__all__ = [
    "ASSERTION_METHODS",
    "LIST_WILDCARD",
    "MODULE_NAMESPACES",
    "NAME_WILDCARD",
    "Comment",
    "ComplianceTest",
    "FlakeIndex",
    "NixFile",
    "NixInstantiateUnavailable",
    "NixParseError",
    "OptionDecl",
    "OptionDef",
    "Pos",
    "StringLiteral",
    "StringSegment",
    "count_assertions",
    "cross_check",
    "index_flake",
    "index_nix_source",
    "join_path",
    "nix_instantiate_available",
    "render_segment",
    "split_path",
]
