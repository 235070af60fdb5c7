"""cross_check: Nix's own parser over the same files."""

import shutil
from pathlib import Path

import pytest

from kbgen.nix import cross_check, nix_instantiate_available

FIXTURES = Path(__file__).parent / "fixtures"

pytestmark = pytest.mark.skipif(
    not nix_instantiate_available(), reason="nix-instantiate is not on PATH (install nix-bin)"
)


def write(root: Path, name: str, text: str | bytes) -> Path:
    path = root / "flake" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_valid_files_have_no_errors(tmp_path: Path):
    files = []
    for name in ("def_config_forms.nix", "decl_submodules.nix", "compliance_test_ssh.nix"):
        files.append(write(tmp_path, name, (FIXTURES / name).read_bytes()))
    assert cross_check(files, tmp_path) == []


def test_errors_from_several_files_in_one_batch(tmp_path: Path):
    files = [
        write(tmp_path, "a-ok.nix", "{ a = 1; }"),
        write(tmp_path, "b-syntax.nix", "{ a = 1;\n  b = ;\n}\n"),
        write(tmp_path, "c-ok.nix", "{ c = 3; }"),
        write(tmp_path, "d-undefined.nix", "{ a = foo; }"),
        write(tmp_path, "e-duplicate.nix", "{ a = 1;\n a = 2; }"),
        write(tmp_path, "f-ok.nix", "{ }"),
    ]
    errors = cross_check(files, tmp_path)
    got = [(e.pos.file, e.pos.line, e.pos.column, e.source) for e in errors]
    assert got == [
        ("flake/b-syntax.nix", 2, 7, "nix-instantiate"),
        ("flake/d-undefined.nix", 1, 7, "nix-instantiate"),
        ("flake/e-duplicate.nix", 2, 2, "nix-instantiate"),
    ]
    assert errors[0].message == "syntax error, unexpected ';'"
    assert errors[1].message == "undefined variable 'foo'"
    # Other positions in a message are made project-relative too.
    assert errors[2].message == "attribute 'a' already defined at flake/e-duplicate.nix:1:3"


def test_columns_are_characters(tmp_path: Path):
    path = write(tmp_path, "utf.nix", '{ a = "é"; b = ;\n}\n')
    (error,) = cross_check([path], tmp_path)
    assert (error.pos.line, error.pos.column) == (1, 16)


def test_relative_paths_and_missing_files(tmp_path: Path):
    write(tmp_path, "ok.nix", "{ }")
    errors = cross_check([Path("flake/ok.nix"), Path("flake/missing.nix")], tmp_path)
    assert [(e.pos.file, e.pos.line) for e in errors] == [("flake/missing.nix", 1)]


def test_agrees_with_tree_sitter_on_the_broken_fixture(tmp_path: Path):
    path = write(tmp_path, "broken.nix", (FIXTURES / "parse_error_recovers.nix").read_bytes())
    (error,) = cross_check([path], tmp_path)
    assert error.pos.line == 4


def test_unavailable_raises(monkeypatch, tmp_path: Path):
    from kbgen.nix import NixInstantiateUnavailable

    monkeypatch.setattr(shutil, "which", lambda _name: None)
    with pytest.raises(NixInstantiateUnavailable):
        cross_check([tmp_path / "x.nix"], tmp_path)
