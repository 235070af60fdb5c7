"""The parse cache: unchanged notes are not parsed again; changed ones are."""

from __future__ import annotations

import os

import pytest

from kbgen.vault import compile as compile_module
from tests.helpers import write_files


@pytest.fixture
def cached(monkeypatch, tmp_path):
    monkeypatch.delenv("KBGEN_NO_CACHE")
    write_files(tmp_path, {"vault/a.md": "[[b]] [[missing]]\n", "vault/b.md": "[[a]]\n"})
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_second_run_reuses_the_parse(cached, kbgen, monkeypatch):
    first = kbgen("audit", "--isolated", "vault")
    assert (cached / ".kbgen" / ".gitignore").read_text() == "# kbgen's cache\n*\n"

    def refuse(*_args):
        raise AssertionError("parsed again")

    monkeypatch.setattr(compile_module, "parse_note", refuse)
    assert kbgen("audit", "--isolated", "vault") == first


def test_a_changed_note_is_parsed_again(cached, kbgen):
    kbgen("audit", "--isolated", "vault")
    note = cached / "vault" / "a.md"
    note.write_text("[[b]] [[other-missing]]\n")
    os.utime(note, ns=(1, 1))  # a different mtime even on coarse clocks
    _, out, _ = kbgen("audit", "--isolated", "vault")
    assert "other-missing" in out and "[[missing]]" not in out


def test_no_cache_flag_writes_nothing(cached, kbgen):
    kbgen("audit", "--isolated", "--no-cache", "vault")
    assert not (cached / ".kbgen").exists()


def test_a_corrupt_cache_is_ignored(cached, kbgen):
    first = kbgen("audit", "--isolated", "vault")
    for path in (cached / ".kbgen").glob("notes-*.json"):
        path.write_bytes(b"not json")
    assert kbgen("audit", "--isolated", "vault") == first
