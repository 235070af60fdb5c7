"""TR501 fhs-path-leak: what is scanned and what is prose (issue 15).

Tables of Nix sources that must not be reported (documentation, messages, comments,
bare FHS directories named in a sentence) and of real leaks that must be; notes with
fenced blocks marked as examples and block-level suppressions over multi-line blocks.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kbgen.nix import index_nix_source
from kbgen.rules.flake import (
    FHS_PATH,
    is_descriptive,
    is_example_block,
    nix_fhs_leaks,
    note_fhs_leaks,
)
from kbgen.vault.parse import parse_note
from kbgen.vault.records import CodeBlock
from tests.helpers import FIXTURES, note, write_files


def leaks(source: str) -> list[str]:
    """The FHS paths TR501 reports in a Nix source."""
    return [path for _, _, path in nix_fhs_leaks(index_nix_source(source, "m.nix"))]


def module(body: str) -> str:
    return "{ config, lib, pkgs, ... }:\n{\n" + body + "\n}\n"


# -- Nix: documentation and messages are never scanned --------------------------------

DOCUMENTATION = {
    "option-description": """
      options.x = lib.mkOption {
        type = lib.types.str;
        description = "Path of the interpreter; the NixOS equivalent of /usr/bin/python3.";
      };""",
    "description-through-mdDoc": """
      options.x = lib.mkOption { description = lib.mdDoc "Never `/usr/bin/sudo`."; };""",
    "indented-description": """
      options.x = lib.mkOption {
        description = ''
          Replaces the FHS layout:
            /usr/bin/python3 -> ''${pkgs.python3}/bin/python3
        '';
      };""",
    "long-description-in-meta": """
      meta.longDescription = "Ships no /usr/lib/libfoo.so wrapper.";""",
    "meta-description": """
      meta.description = "Wraps /opt/vendor/bin/tool.";""",
    "unit-description": """
      systemd.services.x.description = "Replacement for /usr/sbin/vendor-agent";""",
    "mkEnableOption-text": """
      options.x.enable = lib.mkEnableOption "a /usr/bin/env shim for shebangs";""",
    "example-literalExpression": """
      options.x = lib.mkOption {
        example = lib.literalExpression ''"/usr/bin/python3"'';
      };""",
    "example-plain": """
      options.x = lib.mkOption { example = "/opt/agent/run.py"; };""",
    "example-literalMD": """
      options.x = lib.mkOption { example = lib.literalMD "`/usr/bin/foo`"; };""",
    "defaultText": """
      options.x = lib.mkOption { defaultText = "/usr/lib/x on other distributions"; };""",
    "mkPackageOption-extraDescription": """
      options.p = lib.mkPackageOption pkgs "python3" {
        extraDescription = "Used instead of /usr/bin/python3.";
      };""",
    "assertion-message": """
      config.assertions = [
        { assertion = config.x != null; message = "x must never be /usr/bin/python3"; }
      ];""",
    "assertion-message-built-by-map": """
      config.assertions = map (p: {
        assertion = !(lib.hasPrefix "/" p);
        message = "${p}: a path such as /usr/bin/foo does not exist on NixOS";
      }) config.paths;""",
    "warnings-entry": """
      config.warnings = lib.optional true "/usr/sbin/sendmail is not provided";""",
    "warnings-built-by-mapAttrsToList": """
      config.warnings = lib.mapAttrsToList (n: v: "${n}: /usr/bin/${n} is ignored") config.x;""",
    "throw-message": """
      x = if config.y then 1 else throw "no /usr/bin/python3 on NixOS";""",
    "abort-message": """
      x = builtins.abort "/opt/agent is not supported";""",
    "warn-message": """
      x = lib.warn "/usr/bin/foo is deprecated" 3;""",
    "warnIf-message": """
      x = lib.warnIf config.y "/usr/bin/foo is deprecated" "${pkgs.foo}/bin/foo";""",
    "throwIfNot-message": """
      x = lib.throwIfNot config.y "/usr/bin/foo is missing" 1;""",
    "assertMsg-message": """
      x = assert lib.asserts.assertMsg config.y "/usr/bin/foo is missing"; 1;""",
    # A let binding is judged by its own name: one called description is documentation.
    "let-bound-description": """
      meta.description = let description = "Runs without /usr/bin/python3."; in description;""",
    "mkRemovedOptionModule-message": """
      imports = [ (lib.mkRemovedOptionModule [ "x" ] "Use pkgs.foo, not /usr/bin/foo.") ];""",
}


@pytest.mark.parametrize("body", DOCUMENTATION.values(), ids=DOCUMENTATION.keys())
def test_documentation_is_not_scanned(body):
    source = module(body)
    assert FHS_PATH.search(source), "the case must mention an FHS path"
    assert leaks(source) == []


def test_comments_are_not_scanned():
    source = module(
        """
      # ExecStart = "/usr/bin/python3 /opt/agent/run.py";
      /* -w /usr/bin/sudo -p x
         /bin/bash */
      services.x.enable = true; # /usr/sbin/sendmail"""
    )
    nix = index_nix_source(source, "m.nix")
    assert len(nix.comments) == 3
    assert list(nix_fhs_leaks(nix)) == []


def test_allow_fhs_comment_still_allows_a_line():
    source = module(
        """
      environment.etc.x.text = "/usr/bin/env is provided"; # kbgen: allow-fhs NixOS ships it
      environment.etc.y.text = "/usr/bin/env is provided";"""
    )
    nix = index_nix_source(source, "m.nix")
    assert [(line, path) for line, _, path in nix_fhs_leaks(nix)] == [(5, "/usr/bin/env")]


# -- Nix: a bare directory named in a sentence ------------------------------------------

DESCRIPTIVE_LABELS = {
    "equivalent-of": 'label = "the NixOS equivalent of /usr/bin";',
    "must-never": 'label = "must never reference /usr/bin";',
    "no-on-nixos": 'label = "no /usr/bin on NixOS";',
    "does-not-exist": 'label = "/usr/bin does not exist on NixOS";',
    "instead-of-quoted": 'label = "binaries live in the store instead of `/usr/sbin`.";',
    "in-parentheses": 'label = "store paths (not /usr/lib)";',
    "trailing-slash": 'label = "nothing like /usr/local/bin/ here";',
    "interpolation-as-a-word": 'label = "${pkgs.hello.name} replaces /usr/share";',
    "let-bound": 'x = let hint = "there is no /usr/libexec here"; in hint;',
    "script-comment-line": """
      systemd.services.x.script = ''
        # there is no /usr/bin on NixOS
        exec ${pkgs.hello}/bin/hello
      '';""",
}


@pytest.mark.parametrize("body", DESCRIPTIVE_LABELS.values(), ids=DESCRIPTIVE_LABELS.keys())
def test_plainly_descriptive_labels_are_not_reported(body):
    assert leaks(module(body)) == []


# -- Nix: real leaks are still reported -------------------------------------------------

LEAKS = {
    "execstart": (
        'systemd.services.x.serviceConfig.ExecStart = "/usr/bin/python3 /opt/agent/run.py";',
        ["/usr/bin/python3", "/opt/agent"],
    ),
    "bin-sh": ("x.command = \"/bin/sh -c 'echo hi'\";", ["/bin/sh"]),
    "path-variable": ('environment.variables.PATH = "/usr/bin:/bin";', ["/usr/bin"]),
    "path-assignment": (
        'systemd.services.x.environment.X = "PATH=/usr/bin:/bin";',
        ["/usr/bin"],
    ),
    "source-string": ('environment.etc.x.source = "/usr/lib/x";', ["/usr/lib/x"]),
    "source-path-literal": ("environment.etc.x.source = /usr/lib/x;", ["/usr/lib/x"]),
    "option-default": (
        'options.x = lib.mkOption { default = "/usr/bin/foo"; description = "the tool"; };',
        ["/usr/bin/foo"],
    ),
    "example-outside-an-option": (
        'services.x.settings.example = "/usr/bin/foo";',
        ["/usr/bin/foo"],
    ),
    "message-outside-assertions": (
        'services.x.settings.message = "/usr/bin/foo";',
        ["/usr/bin/foo"],
    ),
    "warnIf-value": (
        'x.ExecStart = lib.warnIf config.y "no /usr/bin/foo" "/usr/bin/foo --run";',
        ["/usr/bin/foo"],
    ),
    "warn-value": ('x.ExecStart = lib.warn "deprecated" "/usr/sbin/x";', ["/usr/sbin/x"]),
    "script-in-a-description": (
        'x.description = "runs ${pkgs.writeShellScript "x" "/usr/bin/foo"}";',
        ["/usr/bin/foo"],
    ),
    "condition-in-a-description": (
        'x.description = if config.p == "/usr/bin/foo" then "a" else "b";',
        ["/usr/bin/foo"],
    ),
    "bare-directory-listed": ('x.script = "ls /usr/bin";', ["/usr/bin"]),
    "bare-directory-in-shell": ('x.script = "cd /usr/bin && ls";', ["/usr/bin"]),
    "bare-directory-option": ('x.ReadOnlyPaths = "/usr/bin";', ["/usr/bin"]),
    "bare-directory-audit-watch": ('x.rules = [ "-w /usr/bin -p x -k no" ];', ["/usr/bin"]),
    "bare-directory-pipe": ('x.script = "echo no /usr/bin | tee log";', ["/usr/bin"]),
    "bare-directory-path-list": ('x.label = "no /usr/bin:/bin";', ["/usr/bin"]),
    "bare-directory-without-cue": ('x.label = "programs live in /usr/bin";', ["/usr/bin"]),
    "file-in-a-sentence": (
        'x.label = "the NixOS equivalent of /usr/bin/python3";',
        ["/usr/bin/python3"],
    ),
    "script-line-after-a-comment": (
        """x.script = ''
          # not /usr/bin
          /usr/bin/env python3 run.py
        '';""",
        ["/usr/bin/env"],
    ),
    "escaped-newline-separates-lines": ('x.text = "no /usr/bin here\\nls /usr/bin";', ["/usr/bin"]),
}


@pytest.mark.parametrize(("body", "expected"), LEAKS.values(), ids=LEAKS.keys())
def test_real_leaks_are_reported(body, expected):
    assert leaks(module(body)) == expected


def test_a_reported_line_points_at_the_path():
    source = module(
        """
      x.script = ''
        # not /usr/bin
        /usr/bin/env python3 run.py
      '';"""
    )
    ((line, column, path),) = nix_fhs_leaks(index_nix_source(source, "m.nix"))
    assert (line, column, path) == (6, 9, "/usr/bin/env")


DESCRIPTIVE = [
    "the NixOS equivalent of /usr/bin",
    "must never reference /usr/bin",
    "no /usr/bin on NixOS",
    "There is no /usr/bin.",
    "/usr/sbin does not exist",
    "/usr/lib isn't there",
    "unlike '/usr/local'",
    "store paths, not /usr/libexec/",
]
NOT_DESCRIPTIVE = [
    "/usr/bin",
    "ls /usr/bin",
    "programs live in /usr/bin",
    "PATH=/usr/bin",
    "no /usr/bin:/bin",
    "no /usr/bin/python3",
    "cd /usr/bin && ls not",
    "-w /usr/bin -p x -k no",
    "find /usr/bin -name not",
    "[ -d /usr/bin ] || echo no",
    "not ${x}/usr/bin",
    "no /usr/bin; rm x",
    "#!/usr/bin not",
]


def _path_span(line: str) -> tuple[int, int]:
    match = FHS_PATH.search(line)
    assert match, line
    return match.start(), match.end()


@pytest.mark.parametrize("line", DESCRIPTIVE)
def test_descriptive(line):
    assert is_descriptive(line, *_path_span(line))


@pytest.mark.parametrize("line", NOT_DESCRIPTIVE)
def test_not_descriptive(line):
    if not FHS_PATH.search(line):
        return  # not even a candidate (for example after an interpolation)
    assert not is_descriptive(line, *_path_span(line))


# -- notes: example blocks ----------------------------------------------------------------

BLOCK = "-w /usr/bin/sudo -p x -k privileged\n"


@pytest.mark.parametrize(
    ("info", "example"),
    [
        ("text {.example}", True),
        ("bash {.example}", True),
        ("bash { .example }", True),
        ('bash {.example title="What not to do"}', True),
        ("{.bash .example}", True),
        ("{.example}", True),
        ("text", False),
        ("", False),
        ("text example", False),
        ("text {.examples}", False),
        ("text {#example}", False),
        ("text .example", False),
    ],
)
def test_example_marker(info, example):
    assert is_example_block(CodeBlock(info, BLOCK, 5, 7)) is example


def _note_leaks(body: str) -> list[tuple[int, int, str]]:
    return list(note_fhs_leaks(parse_note("n.md", note("N", body).encode())))


def test_a_fenced_example_is_not_scanned_and_other_blocks_are():
    body = (
        "Wrong, as copied from RHEL:\n\n"
        "```text {.example}\n-w /usr/bin/sudo -p x\n-a always,exit -F path=/usr/bin/passwd\n```\n\n"
        "~~~ {.bash .example}\n-w /usr/sbin/useradd -p x\n~~~\n\n"
        "Still checked:\n\n```text\n-w /usr/bin/su -p x\n```\n\nand `-F path=/bin/su`.\n"
    )
    # Code spans first, then blocks; only the unmarked block's line is reported.
    assert _note_leaks(body) == [(22, 5, "path=/bin/su"), (19, 1, "/usr/bin/su")]


def test_example_marker_renders_as_a_code_block_in_mkdocs():
    """The attribute block is what MkDocs' superfences accepts; a bare extra word is not:
    ```` ```text example ```` stops being a fence there."""
    markdown = pytest.importorskip("markdown")
    pytest.importorskip("pymdownx")
    md = markdown.Markdown(extensions=["attr_list", "pymdownx.highlight", "pymdownx.superfences"])
    html = md.convert(f"```text {{.example}}\n{BLOCK}```\n")
    assert "<pre" in html and "example" in html.split("<pre")[0]
    assert "<pre" not in md.reset().convert(f"```text example\n{BLOCK}```\n")


# -- notes and flake, end to end ------------------------------------------------------------


def _project(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "project"
    shutil.copytree(FIXTURES / "trace" / "base", root)
    (root / "pyproject.toml").write_text("[tool.kbgen]\n")
    return write_files(root, files)


def _findings(out: str) -> list[str]:
    return [line for line in out.splitlines() if ": TR" in line or ": KB" in line]


WRONG_RULES = (
    "```text\n-w /usr/bin/sudo -p x -k priv\n-w /etc/shadow -p wa\n-w /usr/bin/su -p x\n```\n"
)


def test_a_block_suppression_covers_a_whole_multi_line_block(tmp_path, kbgen, monkeypatch):
    body = (
        "<!-- kbgen-ignore TR501: quoted from a RHEL guide as what breaks -->\n"
        + WRONG_RULES
        + "\nAfter the block: `-w /usr/bin/passwd -p x`.\n"
    )
    monkeypatch.chdir(_project(tmp_path, {"vault/wiki/audit.md": note("Audit", body)}))
    _code, out, _ = kbgen("check", "--no-nix-parse", "--select", "TR501,KB901", "--fail-on", "info")
    # The block's lines 7 and 9 are covered; the paragraph after it is not.
    assert _findings(out) == [
        "vault/wiki/audit.md:12:18: TR501 audit rule watches /usr/bin/passwd, an FHS path "
        "that does not exist on NixOS"
    ]


def test_without_suppression_every_line_of_the_block_is_reported(tmp_path, kbgen, monkeypatch):
    monkeypatch.chdir(_project(tmp_path, {"vault/wiki/audit.md": note("Audit", WRONG_RULES)}))
    code, out, _ = kbgen("trace", "--select", "TR501")
    assert [f.split(": TR501")[0] for f in _findings(out)] == [
        "vault/wiki/audit.md:6:1",
        "vault/wiki/audit.md:8:1",
    ]
    assert code == 1


def test_an_example_block_needs_no_suppression(tmp_path, kbgen, monkeypatch):
    body = "What not to do:\n\n" + WRONG_RULES.replace("```text", "```text {.example}", 1)
    monkeypatch.chdir(_project(tmp_path, {"vault/wiki/audit.md": note("Audit", body)}))
    code, out, _ = kbgen("check", "--no-nix-parse", "--select", "TR501,KB901", "--fail-on", "info")
    assert _findings(out) == []
    assert code == 0


def test_flake_module_end_to_end(tmp_path, kbgen, monkeypatch):
    nix = module(
        """
      options.compliance.agent = {
        enable = lib.mkEnableOption "the agent (no /usr/bin/python3 needed)";
        interpreter = lib.mkOption {
          type = lib.types.str;
          default = "/usr/bin/python3";
          description = "Interpreter; must never be /usr/bin/python3 on NixOS.";
        };
      };
      config = {
        assertions = [ { assertion = true; message = "/opt/agent is not used"; } ];
        systemd.services.agent.description = "The NixOS equivalent of /opt/agent";
        systemd.services.agent.serviceConfig.ExecStart = "/usr/bin/python3 /opt/agent/run.py";
      };"""
    )
    monkeypatch.chdir(_project(tmp_path, {"flake/modules/agent/default.nix": nix}))
    code, out, _ = kbgen("trace", "--select", "TR501")
    assert [f.split(" does not")[0] for f in _findings(out)] == [
        "flake/modules/agent/default.nix:8:22: TR501 FHS path /usr/bin/python3",
        "flake/modules/agent/default.nix:15:59: TR501 FHS path /usr/bin/python3",
        "flake/modules/agent/default.nix:15:76: TR501 FHS path /opt/agent",
    ]
    assert code == 1
