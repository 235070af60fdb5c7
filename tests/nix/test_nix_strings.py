"""String literals: decoded text, interpolations, context, per-line segments; comments."""

import json
import os
import random
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kbgen.nix import StringLiteral, index_nix_source, nix_instantiate_available

FIXTURES = Path(__file__).parent / "fixtures"


def strings(name: str) -> list[StringLiteral]:
    return list(index_nix_source((FIXTURES / name).read_bytes(), name).strings)


def by_text(items: list[StringLiteral], text: str) -> StringLiteral:
    found = [s for s in items if s.text == text and s.kind != "attr_name"]
    assert len(found) == 1, [s.text for s in items]
    return found[0]


def test_context_is_the_function_or_binding_name():
    items = strings("strings_context.nix")
    assert by_text(items, "hunter2-not-a-real-token").context == "apiToken"  # let name
    assert by_text(items, "abc123").context == "apiToken"  # through mkDefault
    assert by_text(items, "Authorised use only").context == "text"
    assert by_text(items, "motd").context == "writeText"
    assert by_text(items, "hello\tworld\n").context == "writeText"
    assert by_text(items, "bar-start").context == "writeShellScript"
    assert by_text(items, "x.conf").context == "toFile"
    assert by_text(items, "key=value").context == "toFile"  # through toString
    assert by_text(items, "127.0.0.1 a").context == "extraHosts"  # list via concatStringsSep


def test_interpolation_is_recorded_with_its_source():
    s = by_text(strings("strings_context.nix"), "${pkgs.foo}/bin/foo --flag")
    assert s.has_interpolation
    assert [(seg.text, seg.interpolation) for seg in s.segments] == [
        ("pkgs.foo", True),
        ("/bin/foo --flag", False),
    ]
    assert s.context == "ExecStart"


def test_indented_string_is_stripped_and_segmented_per_line():
    items = strings("strings_context.nix")
    script = next(s for s in items if s.kind == "indented")
    assert script.text == (
        "exec /usr/bin/env bar   # kbgen: allow-fhs legacy wrapper\n"
        '  --indented "${config.networking.hostName}"\n'
    )
    first = script.segments[0]
    assert first.text.startswith("exec /usr/bin/env")
    assert (first.pos.line, first.pos.column) == (10, 5)
    assert [seg.pos.line for seg in script.segments] == [10, 11, 11, 11]


def test_paths_uris_and_attribute_names_have_their_own_kinds():
    items = strings("strings_context.nix")
    assert by_text(items, "/bin/bash").kind == "path"
    assert by_text(items, "https://example.org/docs").kind == "uri"
    assert [s.text for s in items if s.kind == "attr_name"] == ["issue", "motd", "x"]


def test_escapes_are_decoded():
    nix = index_nix_source(r'{ a = "q\"\\\n\t\${x}$$y"; }', "m.nix")
    (s,) = nix.strings
    assert s.text == 'q"\\\n\t${x}$$y'
    assert not s.has_interpolation


def test_columns_count_characters_not_bytes():
    nix = index_nix_source('{ a = "é"; b = "x"; }', "m.nix")
    assert [(s.text, s.pos.column) for s in nix.strings] == [("é", 7), ("x", 16)]


def test_comments_with_positions():
    nix = index_nix_source((FIXTURES / "comments.nix").read_bytes(), "comments.nix")
    assert [(c.text, c.pos.line, c.pos.column) for c in nix.comments] == [
        ("# A file-level comment.", 1, 1),
        ("/* A block comment\n     over two lines. */", 4, 3),
        ("# trailing comment", 6, 31),
        ("# kbgen: allow-fhs vendor path", 7, 39),
    ]
    # Comments are not strings.
    assert [s.text for s in nix.strings] == ["/usr/bin/bar"]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_input_never_raises(data):
    nix = index_nix_source(data, "fuzz.nix")
    for s in nix.strings:
        assert s.pos.line >= 1 and s.pos.column >= 1


# Pieces that cannot merge into a different token with their neighbours: each
# escape is followed by a letter, lone quotes and dollars sit between letters.
_PIECES = [
    " ",
    "  ",
    "    ",
    "\n",
    "\n  ",
    "a",
    "b c",
    "\t",
    "''$a",
    "'''a",
    "''\\na",
    "''\\ta",
    "x$y",
    "x'y",
    '${"I"}',
    "x$$y",
]


def _random_indented(rng: random.Random) -> str:
    return "''" + "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 14))) + "''"


@pytest.mark.skipif(not nix_instantiate_available(), reason="nix-instantiate is not on PATH")
def test_indented_string_semantics_match_nix():
    """Our decoding of ''...'' strings agrees with Nix's on a few hundred random strings."""
    rng = random.Random(20240601)
    literals = [_random_indented(rng) for _ in range(300)]
    source = "[\n" + "\n".join(literals) + "\n]\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "strings.nix"
        path.write_text(source)
        env = dict(os.environ)
        # nix-instantiate wants a writable state directory even to evaluate a literal.
        env.update(NIX_STATE_DIR=f"{tmp}/state", NIX_LOG_DIR=f"{tmp}/log", NIX_REMOTE="")
        proc = subprocess.run(
            ["nix-instantiate", "--eval", "--strict", "--json", str(path)],
            capture_output=True,
            env=env,
            check=False,
        )
    assert proc.returncode == 0, proc.stderr.decode()
    expected = json.loads(proc.stdout)
    ours = [
        "".join("I" if seg.interpolation else seg.text for seg in s.segments)
        for s in index_nix_source(source, "strings.nix").strings
        if s.kind == "indented"
    ]
    assert len(ours) == len(expected)
    for literal, mine, theirs in zip(literals, ours, expected, strict=True):
        assert mine == theirs, literal


def test_strings_returned_by_a_lambda_take_the_context_of_its_caller():
    nix = index_nix_source(
        '{ lib, ... }: { boot.extraModprobeConfig = lib.concatMapStrings (m: "install ${m} x")'
        ' [ "a" ]; helper = y: "s"; }',
        "m.nix",
    )
    assert [(s.text, s.context) for s in nix.strings] == [
        ("install ${m} x", "concatMapStrings"),
        ("a", "concatMapStrings"),
        ("s", "helper"),
    ]
