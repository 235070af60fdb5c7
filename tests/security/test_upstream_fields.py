"""NixOS's options.json is data: a payload in an option's type, default, description or
declaration reaches its option page as text, never as markup, and a declaration's
link to nixpkgs cannot leave github.com (issue 16).

The project is the small trace project with a hostile ``options.json`` for the option
its PRD cites, built with ``--markdown-only``: the compiled Markdown is what every
renderer reads, so escaping there is escaping everywhere.
"""

from __future__ import annotations

import json
import re

from kbgen.site import escape
from tests.helpers import FIXTURES
from tests.test_trace_rules import project

SCRIPT = "<script>alert(1)</script>"
PAYLOADS = {
    "type": f"boolean {SCRIPT} | x",
    "default": {"_type": "literalExpression", "text": f"`{SCRIPT}` [a](javascript:alert(1))"},
    "description": f"Whether {SCRIPT} `<img src=x onerror=alert(1)>` {{{{ 7*7 }}}} [x](y)",
    "declarations": ["nixos/modules/a)[x](javascript:alert(1))<b>.nix", "/x/y <b>.nix"],
}


def test_upstream_fields_are_escaped(tmp_path, kbgen, monkeypatch):
    root = project(tmp_path)
    options = json.loads((FIXTURES / "upstream" / "options.json").read_text())
    options["services.openssh.enable"].update(PAYLOADS)
    (root / "options.json").write_text(json.dumps(options))
    (root / "vault" / "index.md").write_text("---\ntitle: Home\n---\n\n# Home\n\n[[nist]]\n")
    (root / "flake" / "flake.nix").write_text(
        '{\n  inputs.nixpkgs.url = "github:NixOS/nixpkgs/c508844df6c28fa6dabc1b6af70f3ccbd65c5201";'
        "\n  outputs = { self, nixpkgs }: { };\n}\n"
    )
    monkeypatch.chdir(root)
    # The payload type makes the literal `true` a type mismatch (TR210): not the point here.
    (root / "pyproject.toml").write_text('[tool.kbgen]\nignore = ["TR210"]\n')
    code, _, err = kbgen("build", "--markdown-only", "--nixos-options", "options.json")
    assert code == 0, err
    page = next((root / "build" / "docs").rglob("services-openssh-enable.md")).read_text()
    section = page[page.index("## In NixOS") : page.index("## Set in")]
    assert "<script" not in section and "<img" not in section and "<b>" not in section
    assert escape.text(PAYLOADS["type"]) in section
    assert escape.text("{{ 7*7 }}") in section
    links = re.findall(r"\]\(([^)\s]*)\)", section)
    assert links and all(
        url.startswith(
            "https://github.com/NixOS/nixpkgs/blob/c508844df6c28fa6dabc1b6af70f3ccbd65c5201/nixos/"
        )
        for url in links
    )
    assert "javascript:" not in "".join(links)
