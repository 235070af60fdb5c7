"""Option declarations: mkOption, mkEnableOption, mkPackageOption, submodules."""

from pathlib import Path

import pytest

from kbgen.nix import NixFile, OptionDecl, index_nix_source

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> NixFile:
    return index_nix_source((FIXTURES / name).read_bytes(), f"flake/modules/x/{name}")


def decls(name: str) -> dict[str, OptionDecl]:
    nix = load(name)
    by_path = {d.path: d for d in nix.declarations}
    assert len(by_path) == len(nix.declarations), "a path was declared twice"
    return by_path


def test_dotted_option_path_with_type_default_and_description():
    d = decls("decl_option_paths.nix")["compliance.canonical.ssh.maxAuthTries"]
    assert d.kind == "mkOption"
    assert d.type_text == "types.int"
    assert d.has_default and d.default_is_literal
    assert d.default == 3
    assert d.default_text == "3"
    assert d.description == "SSH authentication attempts per connection."
    assert (d.pos.file, d.pos.line, d.pos.column) == (
        "flake/modules/x/decl_option_paths.nix",
        7,
        3,
    )


def test_lib_mkOption_and_mdDoc_description():
    d = decls("decl_option_paths.nix")["compliance.canonical.ssh.ciphers"]
    assert d.type_text == "types.listOf types.str"
    assert d.default == ["aes256-gcm@openssh.com", "aes128-gcm@openssh.com"]
    assert d.description == "Allowed ciphers."


@pytest.mark.parametrize(
    ("leaf", "value"),
    [
        ("retentionDays", 365),
        ("ratio", 0.5),
        ("offset", -1),
        ("remote", None),
        ("enableRemote", False),
        ("labels", {"team": "sec", "tier": {"level": "1"}}),
    ],
)
def test_nested_option_sets_and_literal_defaults(leaf, value):
    d = decls("decl_option_paths.nix")[f"compliance.canonical.audit.{leaf}"]
    assert d.default_is_literal
    assert d.default == value
    assert type(d.default) is type(value)


def test_non_literal_defaults_keep_their_source_text():
    by_path = decls("decl_option_paths.nix")
    package = by_path["compliance.canonical.audit.package"]
    assert package.has_default and not package.default_is_literal
    assert package.default is None
    assert package.default_text == "pkgs.auditd"
    interpolated = by_path["compliance.canonical.audit.logDir"]
    assert not interpolated.default_is_literal
    assert interpolated.default_text == '"${config.users.home}/log"'


def test_option_without_default():
    d = decls("decl_option_paths.nix")["compliance.canonical.audit.noDefault"]
    assert not d.has_default
    assert d.default is None and d.default_text is None and not d.default_is_literal


def test_mkEnableOption_and_mkPackageOption():
    by_path = decls("decl_enable_and_package.nix")
    enable = by_path["compliance.foo.enable"]
    assert enable.kind == "mkEnableOption"
    assert enable.default is False and enable.default_is_literal
    assert enable.description == "the foo hardening"
    package = by_path["compliance.foo.package"]
    assert package.kind == "mkPackageOption"
    assert package.has_default and not package.default_is_literal
    assert package.default_text == '"hello"'
    tool = by_path["compliance.foo.tool"]
    assert tool.default_text == '[ "openssh_hpn" ]'


def test_submodule_options_get_wildcard_segments():
    by_path = decls("decl_submodules.nix")
    assert set(by_path) == {
        "compliance.firewall.users",
        "compliance.firewall.users.<name>.shell",
        "compliance.firewall.zones",
        "compliance.firewall.zones.<name>.interfaces",
        "compliance.firewall.rules",
        "compliance.firewall.rules.*.port",
        "compliance.firewall.rules.*.label",
        "compliance.firewall.maybe",
        "compliance.firewall.maybe.x",
        "compliance.firewall.nested",
        "compliance.firewall.nested.<name>.*.deep",
    }
    assert by_path["compliance.firewall.users.<name>.shell"].default == "bash"
    # A submodule bound in a let and referred to by name.
    assert by_path["compliance.firewall.rules.*.port"].default == 22
    assert by_path["compliance.firewall.rules.*.port"].pos.line == 7
    assert by_path["compliance.firewall.users"].type_text.startswith(
        "types.attrsOf (types.submodule"
    )


def test_submodule_config_is_a_definition_at_the_submodule_path():
    nix = load("decl_submodules.nix")
    assert [d.path for d in nix.definitions] == ["compliance.firewall.rules.*.label"]


def test_declarations_are_in_source_order():
    nix = load("decl_option_paths.nix")
    positions = [(d.pos.line, d.pos.column) for d in nix.declarations]
    assert positions == sorted(positions)


def test_options_made_by_unknown_helpers_are_not_guessed():
    nix = index_nix_source(
        "{ lib, ... }: let mkOpt = d: lib.mkOption { default = d; }; in { options.a.b = mkOpt 3; }",
        "m.nix",
    )
    assert nix.declarations == ()
