"""Reads of config.*, with let-aliases resolved."""

from pathlib import Path

from kbgen.nix import index_nix_source

FIXTURES = Path(__file__).parent / "fixtures"


def reads(name: str) -> list[tuple[str, int]]:
    nix = index_nix_source((FIXTURES / name).read_bytes(), name)
    return [(r.path, r.pos.line) for r in nix.reads]


def test_config_selects_and_aliases():
    assert reads("reads_config_and_aliases.nix") == [
        ("compliance.ssh", 3),  # the alias binding itself reads the subtree
        ("compliance.canonical", 4),
        ("compliance.canonical.ssh", 5),  # alias of an alias
        ("sops.secrets", 6),
        ("compliance.ssh.enable", 9),
        ("compliance.canonical.ssh.maxAuthTries", 10),
        ("compliance.ssh.port", 11),
        ("sops.secrets.api-token.path", 12),
        ("sops.secrets.<name>.path", 13),  # dynamic attribute
        ("compliance.ssh.keyName", 13),
        ("compliance.ssh.banner", 15),  # inherit (cfg) banner
        ("compliance.canonical.ssh.timeout", 16),  # with an `or` default
    ]


def test_shadowed_config_is_not_a_read():
    nix = index_nix_source(
        "{ config, ... }: { a = let config = { x = 1; }; in config.x;"
        " b = (config: config.y) 1; c = config.z; }",
        "m.nix",
    )
    assert [r.path for r in nix.reads] == ["z"]


def test_reads_outside_modules_count_too():
    nix = index_nix_source(
        '{ config, pkgs }: pkgs.writeText "x" config.networking.hostName', "pkg.nix"
    )
    assert not nix.is_module
    assert [r.path for r in nix.reads] == ["networking.hostName"]


def test_other_variables_are_not_reads():
    nix = index_nix_source(
        "{ config, lib, pkgs, ... }: let cfg = pkgs.foo; in { x = cfg.bar; y = lib.z; }",
        "m.nix",
    )
    assert nix.reads == ()


def test_self_referencing_let_terminates():
    nix = index_nix_source("let a = b.x; b = a.y; in { z = a.q; }", "m.nix")
    assert nix.reads == ()
