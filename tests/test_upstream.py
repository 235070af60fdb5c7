"""NixOS's options.json: the reader, the matching, bad input, and the wiring (config key,
``--nixos-options``). The rule findings themselves are pinned by the TR209–TR211
fixtures in ``tests/fixtures/trace``; the file is ``tests/fixtures/upstream/options.json``,
written by hand in the format ``nixosOptionsDoc``'s ``optionsJSON`` produces."""

from __future__ import annotations

import json
import shutil

import pytest

from kbgen.config import config_from_table
from kbgen.errors import ConfigError, KbgenError
from kbgen.nix.upstream import load_upstream, type_mismatch
from tests.helpers import FIXTURES
from tests.test_trace_rules import TRACE, findings, project

OPTIONS = FIXTURES / "upstream" / "options.json"


@pytest.fixture(scope="module")
def upstream():
    return load_upstream(OPTIONS)


@pytest.mark.parametrize(
    ("path", "kind", "option"),
    [
        ("services.openssh.enable", "option", "services.openssh.enable"),
        ('environment.etc."security/pwquality.conf".text', "option", "environment.etc.<name>.text"),
        ("users.users.<name>.isNormalUser", "option", "users.users.<name>.isNormalUser"),
        (
            "networking.interfaces.eth0.ipv4.addresses.*.address",
            "option",
            "networking.interfaces.<name>.ipv4.addresses.*.address",
        ),
        ("services.openssh.settings.MaxAuthTries", "freeform", "services.openssh.settings"),
        (
            "systemd.services.sshd.serviceConfig.ProtectSystem",
            "freeform",
            "systemd.services.<name>.serviceConfig",
        ),
        ('boot.kernel.sysctl."kernel.kptr_restrict"', "freeform", "boot.kernel.sysctl"),
        # The file declares this key below the freeform parent: its own entry wins.
        (
            'boot.kernel.sysctl."net.core.rmem_max"',
            "option",
            'boot.kernel.sysctl."net.core.rmem_max"',
        ),
        ("services.openssh", "namespace", None),
        ("environment.etc.issue.bogus", "missing", None),
        ("services.openssh.enabled", "missing", None),
        ("nosuch.option", "missing", None),
    ],
)
def test_lookup(upstream, path, kind, option):
    match = upstream.lookup(path)
    assert match.kind == kind
    assert (match.option.path if match.option else None) == option


def test_renamed_and_removed(upstream):
    renamed = upstream.lookup("services.openssh.permitRootLogin").option
    assert renamed.renamed_to == "services.openssh.settings.PermitRootLogin"
    assert renamed.replacement == "NixOS renamed to services.openssh.settings.PermitRootLogin"
    removed = upstream.lookup("services.journald.extraConfig").option
    assert removed.replacement.startswith("NixOS removed")
    assert upstream.lookup("services.openssh.enable").option.replacement is None


def test_suggestions_read_placeholders_as_the_path(upstream):
    assert upstream.suggestions("environment.etc.issue.txt")[0] == "environment.etc.issue.text"
    assert upstream.suggestions("services.openssh.enabled")[0] == "services.openssh.enable"


def test_defaults_and_descriptions(upstream):
    option = upstream.option("services.openssh.settings.PermitRootLogin")
    assert option.default == '"prohibit-password"'
    assert option.declarations == ("nixos/modules/services/networking/ssh/sshd.nix",)
    example = upstream.option("boot.kernel.sysctl")
    assert example.default == "{}"


@pytest.mark.parametrize(
    ("type_text", "value", "wrong"),
    [
        ("boolean", True, False),
        ("boolean", "yes", True),
        ("boolean", None, True),
        ("null or signed integer", None, False),
        ("null or signed integer", "1", True),
        ("16 bit unsigned integer; between 0 and 65535 (both inclusive)", 22, False),
        ("signed integer", True, True),
        ("string", 3, True),
        ("string", "x", False),
        ('null or one of "yes", "no"', "no", False),
        ('null or one of "yes", "no"', "never", True),
        ("list of string", 3, False),
        ("string or signed integer", 3.5, False),
        ("null or (unsigned integer, meaning >=0)", "big", True),
    ],
)
def test_type_mismatch(type_text, value, wrong):
    assert (type_mismatch(type_text, value) is not None) == wrong


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not found"),
        (b"{not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[]", "non-empty JSON object"),
        (b"{}", "non-empty JSON object"),
        (b'{"a.b": 3}', "not an option object"),
        (b'{"a.b": {"type": 1}}', "not an option object"),
    ],
)
def test_bad_input_is_one_error_with_the_path(tmp_path, content, message):
    path = tmp_path / "options.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(KbgenError) as caught:
        load_upstream(path, "nixos-options.json")
    assert message in str(caught.value)
    assert str(caught.value).startswith("nixos-options.json: ")


def test_unreadable_file(tmp_path):
    with pytest.raises(KbgenError, match="cannot read"):
        load_upstream(tmp_path, "dir")  # a folder: read_bytes fails with an OSError


def test_cli_reports_bad_input_with_exit_2(tmp_path, kbgen, monkeypatch):
    root = project(tmp_path)
    (root / "broken.json").write_text("{")
    monkeypatch.chdir(root)
    code, _, err = kbgen("check", "--no-nix-parse", "--nixos-options", "broken.json")
    assert code == 2
    assert "broken.json" in err and "not JSON" in err


def test_config_key(tmp_path, kbgen, monkeypatch):
    root = project(tmp_path)
    shutil.copy(OPTIONS, root / "options.json")
    (root / "pyproject.toml").write_text('[tool.kbgen]\nnixos-options = "options.json"\n')
    monkeypatch.chdir(root)
    code, out, _ = kbgen("check", "--no-nix-parse", "--fail-on", "info")
    assert findings(out) == [] and code == 0
    (root / "pyproject.toml").write_text('[tool.kbgen]\nnixos-options = "missing.json"\n')
    code, _, err = kbgen("trace")
    assert code == 2 and "missing.json" in err


def test_config_key_stays_in_the_project(tmp_path):
    with pytest.raises(ConfigError, match="nixos-options"):
        config_from_table({"nixos-options": "../options.json"}, project_root=tmp_path)
    assert (
        config_from_table({"nixos-options": ""}, project_root=tmp_path).nixos_options_path is None
    )


def test_override_on_build_and_trace(tmp_path, kbgen, monkeypatch):
    overlay = TRACE / "TR209-unknown-upstream-option" / "trigger"
    root = project(tmp_path, overlay)
    (root / "pyproject.toml").write_text("[tool.kbgen]\n")
    monkeypatch.chdir(root)
    code, out, _ = kbgen("trace", "--select", "TR209,TR211", "--nixos-options", str(OPTIONS))
    assert code == 1
    assert len(findings(out)) == len(
        (TRACE / overlay.parent / "expected.txt").read_text().splitlines()
    )
    code, _, _ = kbgen("build", "--markdown-only", "--nixos-options", str(OPTIONS))
    assert code == 1  # the TR209 errors stop the build


def test_generated_file_of_real_size_shape(tmp_path):
    """Entries with every field NixOS writes (example, relatedPackages, readOnly) load."""
    entries = json.loads(OPTIONS.read_text())
    entries["x.y"] = {
        **entries["services.openssh.enable"],
        "relatedPackages": "<p/>",
        "example": {"_type": "literalMD", "text": "*x*"},
    }
    path = tmp_path / "o.json"
    path.write_text(json.dumps(entries))
    assert load_upstream(path).lookup("x.y").kind == "option"
