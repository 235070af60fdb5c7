"""Build a small but complete project (PRD, flake, registers, wiki with every link form)
to test the site on: the trace fixture base plus tests/fixtures/site."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).parent.parent
FIXTURES = REPO / "tests" / "fixtures"


def make_site_project(root: Path) -> Path:
    shutil.copytree(FIXTURES / "trace" / "base", root)
    shutil.copytree(FIXTURES / "site", root, dirs_exist_ok=True)
    shutil.copy(REPO / "mkdocs.yml", root / "mkdocs.yml")
    shutil.copytree(REPO / "site-overrides", root / "site-overrides")
    (root / "pyproject.toml").write_text("[tool.kbgen]\n")
    return root
