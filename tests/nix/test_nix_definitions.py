"""Configuration definitions, module forms and module detection."""

from pathlib import Path

from kbgen.nix import NixFile, OptionDef, index_nix_source

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str, path: str | None = None) -> NixFile:
    return index_nix_source((FIXTURES / name).read_bytes(), path or f"flake/hosts/x/{name}")


def defs(nix: NixFile) -> dict[str, OptionDef]:
    return {d.path: d for d in nix.definitions}


def test_mkIf_mkMerge_and_nested_sets():
    by_path = defs(load("def_config_forms.nix"))
    assert set(by_path) == {
        "services.openssh.enable",
        "services.openssh.settings.PermitRootLogin",
        "services.openssh.settings.MaxAuthTries",
        "security.sudo.wheelNeedsPassword",
        'boot.kernel.sysctl."kernel.kptr_restrict"',
        "services.journald.extraConfig",
        "networking.firewall.enable",
        "environment.etc",
        "users.mutableUsers",
        "users.allowNoPasswordLogin",
    }
    root_login = by_path["services.openssh.settings.PermitRootLogin"]
    assert root_login.value == "no" and root_login.value_is_literal
    assert root_login.value_text == '"no"'
    assert root_login.priority is None
    assert (root_login.pos.line, root_login.pos.column) == (12, 9)
    max_tries = by_path["services.openssh.settings.MaxAuthTries"]
    assert not max_tries.value_is_literal
    assert max_tries.value_text == "config.compliance.canonical.ssh.maxAuthTries"


def test_priority_wrappers_are_unwrapped_and_named():
    by_path = defs(load("def_config_forms.nix"))
    forced = by_path["security.sudo.wheelNeedsPassword"]
    assert (forced.priority, forced.priority_value, forced.value) == ("mkForce", 50, True)
    default = by_path['boot.kernel.sysctl."kernel.kptr_restrict"']
    assert (default.priority, default.priority_value, default.value) == ("mkDefault", 1000, 2)
    override = by_path["services.journald.extraConfig"]
    assert (override.priority, override.priority_value) == ("mkOverride", 900)
    assert override.value == "Storage=persistent\n"
    assert override.value_text.startswith("''")


def test_empty_set_is_a_leaf():
    d = defs(load("def_config_forms.nix"))["environment.etc"]
    assert d.value == {} and d.value_is_literal


def test_shorthand_module_every_attribute_is_a_definition():
    nix = load("def_shorthand_module.nix", "flake/hosts/ai-server/default.nix")
    assert set(defs(nix)) == {
        "networking.hostName",
        "services.foo.enable",
        "environment.systemPackages",
        "meta.maintainers",
        "_module.args.flavour",
    }


def test_explicit_module_ignores_attributes_nixos_would_reject():
    nix = load("def_explicit_module_ignores_extra.nix")
    assert set(defs(nix)) == {"services.x.enable", "meta.doc"}
    assert [d.path for d in nix.declarations] == ["compliance.x.enable"]


def test_let_bindings_and_function_arguments_are_not_definitions():
    nix = load("def_let_and_args_not_definitions.nix")
    assert set(defs(nix)) == {"services.openssh.ports", "networking.hostName"}
    assert defs(nix)["networking.hostName"].value_text == "hostName"


def test_let_bound_sets_used_as_config_are_followed():
    by_path = defs(load("def_let_bound_config_sets.nix"))
    assert set(by_path) == {
        "security.auditd.enable",
        "security.audit.rules",
        "services.journald.storage",
    }
    # Reported where they are written: inside the let.
    assert by_path["security.auditd.enable"].pos.line == 5


def test_inherit_in_config_defines_the_name():
    nix = index_nix_source(
        '{ config, lib, ... }: let hostName = "h"; in'
        " { config.networking = { inherit hostName; inherit (lib) domain; }; }",
        "m.nix",
    )
    assert [(d.path, d.value_text) for d in nix.definitions] == [
        ("networking.hostName", "hostName"),
        ("networking.domain", "lib.domain"),
    ]


def test_plain_value_through_let_stays_a_leaf_at_the_use():
    nix = index_nix_source("{ ... }: let port = 22; in { services.openssh.ports = port; }", "m.nix")
    assert [(d.path, d.value_text, d.value_is_literal) for d in nix.definitions] == [
        ("services.openssh.ports", "port", False)
    ]


def test_plain_attrset_with_nixos_namespaces_is_a_module():
    nix = index_nix_source("{ boot.loader.grub.enable = false; }", "hardware.nix")
    assert [d.path for d in nix.definitions] == ["boot.loader.grub.enable"]


def test_library_and_package_files_are_not_modules():
    lib = load("lib_not_a_module.nix")
    assert lib.definitions == ()
    package = load("package_not_a_module.nix")
    assert package.definitions == ()


def test_flake_inline_modules_are_indexed():
    nix = load("flake_inline_modules.nix", "flake/flake.nix")
    by_path = defs(nix)
    assert set(by_path) == {
        "services.inlineModule.enable",
        "time.timeZone",
        "networking.hostName",
        "services.openssh.enable",
    }
    # The flake's own attributes are not configuration.
    assert "description" not in by_path and "inputs.nixpkgs.url" not in by_path


def test_quoted_and_dynamic_attribute_names():
    nix = index_nix_source(
        '{ name, ... }: { environment.etc."ssh/ssh_config".text = "x";'
        ' users.users.${name}.isNormalUser = true; services."plain".enable = true; }',
        "m.nix",
    )
    assert [d.path for d in nix.definitions] == [
        'environment.etc."ssh/ssh_config".text',
        "users.users.<name>.isNormalUser",
        "services.plain.enable",
    ]


def test_inline_modules_in_imports_lists_are_read():
    nix = index_nix_source(
        "{ config, lib, inputs, ... }: { imports = [ ./a.nix ] ++ lib.optionals true [ ../b ]"
        " ++ [ (import ./c.nix) inputs.sops-nix.nixosModules.sops"
        " ({ ... }: { services.inline.enable = true; }) ]; }",
        "flake/hosts/h/default.nix",
    )
    assert [d.path for d in nix.definitions] == ["services.inline.enable"]


def test_nodes_of_plain_nixos_tests_are_modules_but_not_compliance_tests():
    nix = index_nix_source(
        '{ pkgs, ... }: pkgs.nixosTest { name = "t";'
        ' nodes.m = { services.plain.enable = true; }; testScript = ""; }',
        "flake/tests/plain.nix",
    )
    assert nix.tests == ()
    assert [(d.path, d.test) for d in nix.definitions] == [("services.plain.enable", None)]


def test_compliance_test_in_a_file_that_looks_like_a_module():
    nix = index_nix_source(
        "{ complianceLib, ... }: { security = complianceLib.mkComplianceTest {"
        ' name = "s"; controls = [ "a/b" ]; nodes.m.services.x.enable = true;'
        ' testScript = "m.succeed(1)"; }; }',
        "flake/tests/default.nix",
    )
    assert [t.name for t in nix.tests] == ["s"]
    assert [(d.path, d.test) for d in nix.definitions] == [("services.x.enable", "s")]
