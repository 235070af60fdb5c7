"""``StringLiteral.scope``: every name a literal's value flows through, outermost first.

Bindings add their attribute path, calls add ``name(N)`` for argument N, pass-through
wrappers add nothing, and a literal whose value flows nowhere known starts afresh.
"""

from __future__ import annotations

import pytest

from kbgen.nix import StringLiteral, index_nix_source


def scope_of(source: str, text: str) -> tuple[str, ...]:
    found = [
        s
        for s in index_nix_source(source, "m.nix").strings
        if s.text == text and s.kind != "attr_name"
    ]
    assert len(found) == 1, found
    return found[0].scope


#: (source, the literal's text, its scope)
CASES = [
    pytest.param(
        '{ a.b = "x"; }',
        "x",
        ("a", "b"),
        id="attribute-path",
    ),
    pytest.param(
        '{ a = { b = [ { c = "x"; } ]; }; }',
        "x",
        ("a", "b", "c"),
        id="nested-sets-and-lists",
    ),
    pytest.param(
        '{ environment.etc."ssh/ssh_config".text = "x"; users.users.${n}.shell = "y"; }',
        "x",
        ("environment", "etc", '"ssh/ssh_config"', "text"),
        id="quoted-attribute-rendered",
    ),
    pytest.param(
        '{ users.users.${n}.description = "y"; }',
        "y",
        ("users", "users", "<name>", "description"),
        id="dynamic-attribute",
    ),
    pytest.param(
        '{ lib, ... }: { options.x = lib.mkOption { description = lib.mdDoc "x"; }; }',
        "x",
        ("options", "x", "mkOption(1)", "description"),
        id="option-description-through-mdDoc",
    ),
    pytest.param(
        '{ lib, ... }: { options.x = lib.mkEnableOption "x"; }',
        "x",
        ("options", "x", "mkEnableOption(1)"),
        id="mkEnableOption-text",
    ),
    pytest.param(
        '{ lib, ... }: { options.x = lib.mkOption { example = lib.literalExpression "x"; }; }',
        "x",
        ("options", "x", "mkOption(1)", "example", "literalExpression(1)"),
        id="literalExpression",
    ),
    pytest.param(
        '{ lib, pkgs, ... }: { options.p = lib.mkPackageOption pkgs "hello" { }; }',
        "hello",
        ("options", "p", "mkPackageOption(2)"),
        id="argument-number",
    ),
    pytest.param(
        '{ lib, c, ... }: { x = lib.warnIf c "m" "v"; }',
        "m",
        ("x", "warnIf(2)"),
        id="warnIf-message",
    ),
    pytest.param(
        '{ lib, c, ... }: { x = lib.warnIf c "m" "v"; }',
        "v",
        ("x", "warnIf(3)"),
        id="warnIf-value",
    ),
    pytest.param(
        '{ config, ... }: { config.assertions = [ { assertion = true; message = "m"; } ]; }',
        "m",
        ("config", "assertions", "message"),
        id="assertion-message",
    ),
    pytest.param(
        '{ lib, c, ... }: { config = lib.mkIf c { warnings = lib.optional c "w"; }; }',
        "w",
        ("config", "warnings"),
        id="pass-through-wrappers-add-nothing",
    ),
    pytest.param(
        '{ xs, ... }: { warnings = map (x: "w ${x}") xs; }',
        "w ${x}",
        ("warnings", "map(1)"),
        id="function-body",
    ),
    pytest.param(
        '{ c, ... }: { d = "a ${if c then "in" else "out"} b"; }',
        "in",
        ("d",),
        id="interpolation-and-if-branch",
    ),
    pytest.param(
        '{ d = "a" + "b"; }',
        "b",
        ("d",),
        id="plus",
    ),
    pytest.param(
        '{ d = let v = "x"; in v; }',
        "x",
        ("v",),
        id="let-binding-starts-afresh",
    ),
    pytest.param(
        '{ c, ... }: { d = if c == "x" then 1 else 2; }',
        "x",
        (),
        id="condition-starts-afresh",
    ),
    pytest.param(
        '{ d = (v: v) "x"; }',
        "x",
        (),
        id="unnamed-function-starts-afresh",
    ),
    pytest.param(
        '{ greeting ? "x", ... }: { }',
        "x",
        ("greeting",),
        id="argument-default",
    ),
    pytest.param(
        "{ d = /usr/lib/x; }",
        "/usr/lib/x",
        ("d",),
        id="path-literal",
    ),
]


@pytest.mark.parametrize(("source", "text", "scope"), CASES)
def test_scope(source, text, scope):
    assert scope_of(source, text) == scope


def test_attribute_names_have_no_scope():
    nix = index_nix_source('{ a."b".c = "x"; }', "m.nix")
    (name,) = [s for s in nix.strings if s.kind == "attr_name"]
    assert name.text == "b" and name.scope == ()


def test_scope_defaults_to_empty():
    # Records made elsewhere (tests, other tools) need not name one.
    assert (
        StringLiteral("x", index_nix_source('{ a = "x"; }', "m.nix").strings[0].pos, None).scope
        == ()
    )


def test_broken_source_still_records_scopes():
    nix = index_nix_source('{ a.b = "x"; c = ; d.e = "y"; }', "m.nix")
    assert {s.text: s.scope for s in nix.strings} == {"x": ("a", "b"), "y": ("d", "e")}
