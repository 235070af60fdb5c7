"""Parse errors are reported with positions; the rest of the file is still indexed."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kbgen.nix import index_nix_source

FIXTURES = Path(__file__).parent / "fixtures"


def test_missing_value_is_reported_and_the_rest_indexed():
    nix = index_nix_source(
        (FIXTURES / "parse_error_recovers.nix").read_bytes(), "parse_error_recovers.nix"
    )
    assert [(e.pos.line, e.source) for e in nix.errors] == [(4, "tree-sitter")]
    assert "missing" in nix.errors[0].message
    paths = {d.path for d in nix.definitions}
    assert {"services.before.enable", "services.after.enable", "comment.string"} <= paths
    # No invented definition for the broken binding.
    assert "services.broken.enable" not in paths
    assert [s.text for s in nix.strings] == ["still indexed"]


def test_unclosed_set_is_an_error_with_position():
    nix = index_nix_source("{ a = 1;\n  b = [ 1 2\n", "broken.nix")
    assert nix.errors
    assert all(e.pos.file == "broken.nix" and e.pos.line >= 1 for e in nix.errors)


def test_garbage_in_the_middle_keeps_later_bindings():
    nix = index_nix_source(
        "{ config, ... }:\n{\n  services.a.enable = true;\n  ) ( ;\n"
        "  services.b.enable = false;\n}\n",
        "m.nix",
    )
    assert nix.errors
    assert {"services.a.enable", "services.b.enable"} <= {d.path for d in nix.definitions}


def test_invalid_utf8_is_an_error_not_an_exception():
    nix = index_nix_source(b'{ a = "ok";\n  b = "\xff"; }', "bin.nix")
    assert [(e.pos.line, e.pos.column) for e in nix.errors] == [(2, 8)]
    assert "UTF-8" in nix.errors[0].message
    assert nix.strings[0].text == "ok"


def test_clean_file_has_no_errors():
    nix = index_nix_source((FIXTURES / "def_config_forms.nix").read_bytes(), "m.nix")
    assert nix.errors == ()


@pytest.mark.parametrize(
    "source",
    [
        "{ lib, ... }: { options.a = lib.mkOption { default = "
        + "[ " * 3000
        + "1"
        + " ]" * 3000
        + "; }; }",
        "{ config, ... }: { imports = " + " ++ ".join(["[ ./a.nix ]"] * 3000) + "; }",
        "{ config, ... }: { services.a = " + " + ".join(['"x"'] * 5000) + "; }",
        "{ lib, ... }: { options.a = "
        + "lib.mkOption { type = lib.types.submodule { options.b = " * 400
        + "lib.mkOption {}"
        + "; }; }" * 400
        + "; }",
        "{ outputs = x: " + "{ a = " * 3000 + "1" + "; }" * 3000 + "; }",
    ],
    ids=["deep-list", "long-imports-chain", "long-concat", "deep-submodules", "deep-sets"],
)
def test_pathological_nesting_does_not_raise(source):
    index_nix_source(source, "deep.nix")


_TOKENS = [
    "{", "}", "[", "]", "(", ")", ";", "=", ":", ",", ".", "...", "@", "?", "//", "++", "+",
    "let", "in", "with", "rec", "inherit", "if", "then", "else", "assert", "or",
    "config", "options", "lib", "mkIf", "mkMerge", "mkOption", "mkForce", "mkOverride",
    "imports", "services", "cfg", "types.submodule", "types.attrsOf", "mkComplianceTest",
    "nodes", "testScript", "x", "1", "-2", "3.5", "true", "null", '"s"', '"a${x}b"',
    "''\n  ind ${y}\n''", "./p.nix", "<nixpkgs>", "# c\n", "/* b */", "\n", " ",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_TOKENS), max_size=60))
def test_token_soup_never_raises(tokens):
    nix = index_nix_source(" ".join(tokens), "soup.nix")
    for item in (*nix.definitions, *nix.declarations, *nix.strings, *nix.errors):
        assert item.pos.line >= 1 and item.pos.column >= 1
