"""mkComplianceTest calls and assertion counting."""

from pathlib import Path

import pytest

from kbgen.nix import ASSERTION_METHODS, ComplianceTest, count_assertions, index_nix_source

FIXTURES = Path(__file__).parent / "fixtures"


def only_test(name: str, path: str) -> ComplianceTest:
    nix = index_nix_source((FIXTURES / name).read_bytes(), path)
    (test,) = nix.tests
    return test


def test_compliance_test_fields():
    t = only_test("compliance_test_ssh.nix", "flake/tests/ssh-hardening.nix")
    assert t.name == "ssh-hardening"
    assert t.controls == ("nist-800-53/AC-17", "disa-stig/V-268089")
    assert t.options_set == (
        "compliance.stigBaseline.enable",
        "services.openssh.settings.PermitRootLogin",
    )
    assert t.node_names == ("machine",)
    assert (t.pos.file, t.pos.line, t.pos.column) == ("flake/tests/ssh-hardening.nix", 2, 1)
    # wait_for_unit, wait_for_open_port, succeed, assert + its succeed, fail;
    # not the commented-out succeed, not execute.
    assert t.assertions == 6


def test_node_definitions_are_file_definitions_tagged_with_the_test():
    nix = index_nix_source(
        (FIXTURES / "compliance_test_ssh.nix").read_bytes(), "flake/tests/ssh-hardening.nix"
    )
    assert {(d.path, d.test) for d in nix.definitions} == {
        ("compliance.stigBaseline.enable", "ssh-hardening"),
        ("services.openssh.settings.PermitRootLogin", "ssh-hardening"),
    }


def test_several_nodes_let_bound_node_and_script_function():
    t = only_test("compliance_test_variants.nix", "flake/tests/audit.nix")
    assert t.name == "audit-two-nodes"
    assert t.controls == ("nist-800-53/AU-2",)
    assert t.node_names == ("server", "client")
    assert set(t.options_set) == {"compliance.audit.enable", "services.audit.enable"}
    # wait_until_succeeds, wait_for_file, succeed (in a loop, once), assertEqual,
    # wait_for_console_text; the Nix interpolation is not Python.
    assert t.assertions == 5


def test_non_literal_script_counts_nothing():
    nix = index_nix_source(
        '{ mkComplianceTest, ... }: mkComplianceTest { name = "x"; controls = [ ];'
        " nodes.m = { }; testScript = builtins.readFile ./x.py; }",
        "t.nix",
    )
    (t,) = nix.tests
    assert t.assertions == 0
    assert t.node_names == ("m",)


def test_dotted_node_definitions():
    nix = index_nix_source(
        '{ lib, ... }: lib.mkComplianceTest { name = "y"; controls = [ "hipaa/x" ];'
        " nodes.m.services.foo.enable = true; testScript = \"m.succeed('true')\"; }",
        "t.nix",
    )
    (t,) = nix.tests
    assert t.options_set == ("services.foo.enable",)
    assert t.assertions == 1


@pytest.mark.parametrize(
    ("script", "count"),
    [
        ("machine.succeed('a')\nmachine.fail('b')", 2),
        *[(f"m.{method}(x)", 1) for method in ASSERTION_METHODS],
        ("assert x == 1", 1),
        ("if ok: assert x", 1),
        ("x = 1; assert x", 1),
        ("t.assertIn('a', out)", 1),
        ("machine.execute('true')\nstart_all()\nmachine.sleep(1)", 0),
        ("# machine.succeed('commented')", 0),
        ("machine.succeed('contains machine.fail(x) in a string')", 1),
        ('print("# not a comment"); machine.succeed("x")', 1),
        ("machine.succeed(\n  'multi-line'\n)", 1),
        ("msg = '''\nmachine.succeed('in a docstring')\n'''", 0),
        ("assertion = 1\nmachine.succeeded = 2", 0),
    ],
)
def test_count_assertions(script, count):
    assert count_assertions(script) == count
