"""index_flake over a directory tree, and the FlakeIndex lookups."""

import os
import shutil
from pathlib import Path

import pytest

from kbgen.errors import KbgenError
from kbgen.nix import FlakeIndex, index_flake, join_path, split_path
from tests.helpers import note, write_files

FIXTURES = Path(__file__).parent / "fixtures"


def make_project(tmp_path: Path) -> Path:
    """A small project: flake.nix, two modules, a host, a compliance test."""
    flake = tmp_path / "proj" / "flake"
    layout = {
        "flake.nix": "flake_inline_modules.nix",
        "modules/stig-baseline/default.nix": "def_config_forms.nix",
        "modules/canonical/default.nix": "decl_option_paths.nix",
        "modules/firewall/default.nix": "decl_submodules.nix",
        "hosts/ai-server/default.nix": "def_shorthand_module.nix",
        "tests/ssh-hardening.nix": "compliance_test_ssh.nix",
        "lib/default.nix": "lib_not_a_module.nix",
    }
    for dest, src in layout.items():
        target = flake / dest
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FIXTURES / src, target)
    (flake / "README.md").write_text("not nix")
    return tmp_path / "proj"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path)


@pytest.fixture
def index(project: Path) -> FlakeIndex:
    return index_flake(project / "flake", project)


def test_files_are_sorted_and_project_relative(index: FlakeIndex):
    assert [f.path for f in index.files] == [
        "flake/flake.nix",
        "flake/hosts/ai-server/default.nix",
        "flake/lib/default.nix",
        "flake/modules/canonical/default.nix",
        "flake/modules/firewall/default.nix",
        "flake/modules/stig-baseline/default.nix",
        "flake/tests/ssh-hardening.nix",
    ]
    assert index.errors == ()
    assert all(d.pos.file.startswith("flake/") for d in index.declarations)


def test_declared_and_defined_lookups(index: FlakeIndex):
    (decl,) = index.declared("compliance.canonical.ssh.maxAuthTries")
    assert decl.default == 3
    assert decl.pos.file == "flake/modules/canonical/default.nix"
    (definition,) = index.defined("services.openssh.settings.PermitRootLogin")[:1]
    assert definition.value == "no"
    assert len(index.defined("services.openssh.settings.PermitRootLogin")) == 2  # module + test
    assert index.declared("nope") == [] and index.defined("nope") == []
    assert "compliance.canonical.ssh.maxAuthTries" in index.option_paths
    assert "services.openssh.enable" in index.option_paths


@pytest.mark.parametrize(
    "path",
    [
        "services.openssh.settings.PermitRootLogin",
        "services.openssh.enable",
        "services.openssh",  # a prefix of defined paths
        "services",
        "compliance.canonical.ssh.maxAuthTries",
        "compliance.firewall.users.<name>.shell",
        "compliance.firewall.users.alice.shell",  # concrete name against <name>
        "compliance.firewall.rules.*.port",
        'boot.kernel.sysctl."kernel.kptr_restrict"',
        "compliance.stigBaseline.enable",
    ],
)
def test_is_defined_or_declared(index: FlakeIndex, path: str):
    assert index.is_defined_or_declared(path)


@pytest.mark.parametrize(
    "path",
    ["services.openssh.settings.PasswordAuthentication", "compliance.nothing", "", "servic"],
)
def test_is_not_defined_or_declared(index: FlakeIndex, path: str):
    assert not index.is_defined_or_declared(path)


def test_test_only_definitions_can_be_excluded(tmp_path: Path):
    project = tmp_path / "p"
    (project / "flake" / "tests").mkdir(parents=True)
    shutil.copyfile(FIXTURES / "compliance_test_ssh.nix", project / "flake/tests/ssh.nix")
    index = index_flake(project / "flake", project)
    assert index.is_defined_or_declared("services.openssh.settings.PermitRootLogin")
    assert not index.is_defined_or_declared(
        "services.openssh.settings.PermitRootLogin", include_tests=False
    )


def test_tests_and_file_lookup(index: FlakeIndex):
    (test,) = index.tests
    assert test.name == "ssh-hardening"
    assert test.pos.file == "flake/tests/ssh-hardening.nix"
    assert index.file("flake/flake.nix") is not None
    assert index.file("flake/nowhere.nix") is None


def test_symlinks_leaving_the_project_are_not_followed(project: Path, tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.nix").write_text("{ services.outside.enable = true; }")
    flake = project / "flake"
    os.symlink(outside, flake / "escape")
    os.symlink(outside / "secret.nix", flake / "escape-file.nix")
    # Links that stay inside the project are fine, loops are not followed forever.
    os.symlink(flake / "modules", flake / "alias")
    os.symlink(flake, flake / "modules" / "loop")
    index = index_flake(flake, project)
    paths = [f.path for f in index.files]
    assert not any("escape" in p for p in paths)
    assert index.skipped == ("flake/escape", "flake/escape-file.nix")
    assert "flake/alias/canonical/default.nix" in paths
    assert not index.is_defined_or_declared("services.outside.enable")


def test_unreadable_and_invalid_files_become_errors(project: Path):
    flake = project / "flake"
    (flake / "bad-utf8.nix").write_bytes(b'{ a = "\xc3\x28"; }')
    os.symlink(flake / "does-not-exist.nix", flake / "dangling.nix")
    index = index_flake(flake, project)
    errors = {e.pos.file: e for e in index.errors}
    assert "UTF-8" in errors["flake/bad-utf8.nix"].message
    assert errors["flake/dangling.nix"].message.startswith("cannot read file")


def test_permission_denied_is_an_error(project: Path, monkeypatch):
    # Root reads anything, so simulate the failure rather than chmod the file.
    import kbgen.nix.flake as flake_module

    real_open = open

    def guarded_open(path, *args, **kwargs):
        if str(path).endswith("locked.nix"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    (project / "flake" / "locked.nix").write_text("{ }")
    monkeypatch.setattr(flake_module, "open", guarded_open, raising=False)
    index = index_flake(project / "flake", project)
    (error,) = [e for e in index.errors if e.pos.file == "flake/locked.nix"]
    assert error.message == "cannot read file: Permission denied"
    assert index.file("flake/locked.nix") is not None


def test_flake_root_must_be_inside_the_project(tmp_path: Path):
    (tmp_path / "other").mkdir()
    (tmp_path / "proj").mkdir()
    with pytest.raises(KbgenError) as caught:
        index_flake(tmp_path / "other", tmp_path / "proj")
    assert str(caught.value).startswith(
        f"[tool.kbgen] flake = '../other' resolves to {tmp_path / 'other'}, "
        f"outside the project root {tmp_path / 'proj'}"
    )


def test_flake_root_must_be_a_folder(tmp_path: Path):
    (tmp_path / "flake").write_text("{ }")
    with pytest.raises(KbgenError, match=r"^\[tool.kbgen\] flake = 'flake': .* is not a folder$"):
        index_flake(tmp_path / "flake", tmp_path)
    with pytest.raises(KbgenError, match=r"^\[tool.kbgen\] flake = 'nix': .* does not exist$"):
        index_flake(tmp_path / "nix", tmp_path)


def _unreadable(monkeypatch, folder: Path) -> None:
    """Make ``os.scandir`` fail on ``folder`` (root reads anything, so chmod would not do)."""
    real_scandir = os.scandir
    denied = os.path.realpath(folder)

    def scandir(path=".", *args, **kwargs):
        if os.fspath(path) == denied:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path, *args, **kwargs)

    monkeypatch.setattr(os, "scandir", scandir)


def test_unreadable_flake_root_is_an_error(project: Path, monkeypatch):
    _unreadable(monkeypatch, project / "flake")
    with pytest.raises(KbgenError) as caught:
        index_flake(project / "flake", project)
    assert str(caught.value) == (
        f"[tool.kbgen] flake = 'flake': cannot read the folder "
        f"{os.path.realpath(project / 'flake')}: Permission denied"
    )


def test_unreadable_folder_below_the_flake_root_is_passed_over(project: Path, monkeypatch):
    _unreadable(monkeypatch, project / "flake" / "modules")
    index = index_flake(project / "flake", project)
    assert index.file("flake/flake.nix") is not None
    assert not any(f.path.startswith("flake/modules/") for f in index.files)


def _cli_project(tmp_path: Path, flake: str) -> Path:
    project = write_files(
        tmp_path / "proj",
        {
            "pyproject.toml": f'[tool.kbgen]\nflake = "{flake}"\n',
            "vault/a.md": note("A", "# A"),
        },
    )
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "m.nix").write_text("{ services.other.enable = true; }")
    return project


@pytest.mark.parametrize("command", ["check", "trace"])
def test_cli_flake_outside_the_project_is_a_configuration_error(
    tmp_path: Path, kbgen, monkeypatch, command: str
):
    monkeypatch.chdir(_cli_project(tmp_path, "../other"))
    code, _, err = kbgen(command)
    assert code == 2
    assert "internal error" not in err
    assert "[tool.kbgen] flake = '../other'" in err
    assert "it must be a path relative to the project root that stays inside it" in err


def test_cli_flake_symlinked_outside_the_project_is_a_configuration_error(
    tmp_path: Path, kbgen, monkeypatch
):
    project = _cli_project(tmp_path, "nix")
    os.symlink(tmp_path / "other", project / "nix")
    monkeypatch.chdir(project)
    code, _, err = kbgen("check")
    assert code == 2
    assert "internal error" not in err
    assert "[tool.kbgen] flake = 'nix' resolves to" in err and "outside the project" in err


def test_cli_unreadable_flake_folder_is_an_error_not_a_crash(tmp_path: Path, kbgen, monkeypatch):
    project = _cli_project(tmp_path, "nix")
    (project / "nix").mkdir()
    _unreadable(monkeypatch, project / "nix")
    monkeypatch.chdir(project)
    code, _, err = kbgen("check")
    assert code == 2
    assert "internal error" not in err
    assert "[tool.kbgen] flake = 'nix': cannot read the folder" in err
    assert "Permission denied" in err


@pytest.mark.parametrize(
    ("path", "segments"),
    [
        ("a.b.c", ("a", "b", "c")),
        (
            'environment.etc."ssh/ssh_config".text',
            ("environment", "etc", '"ssh/ssh_config"', "text"),
        ),
        ('a."b.c".d', ("a", '"b.c"', "d")),
        ('services."openssh".enable', ("services", "openssh", "enable")),
        ("users.users.<name>.shell", ("users", "users", "<name>", "shell")),
        ("", ()),
    ],
)
def test_split_path(path: str, segments: tuple[str, ...]):
    assert split_path(path) == segments
    if path and '"openssh"' not in path:
        assert join_path(split_path(path)) == path
