"""The site configuration of a project that has no ``mkdocs.yml`` of its own.

A repository that adopts kbgen needs no site configuration: kbgen renders its tree with
the configuration and theme overrides it uses for its own bundled site (``mkdocs.yml``
and ``site-overrides/`` of its source tree, or the copies a wheel installs under
``share/kbgen/``), with the project's name as the site's name and absolute paths into
the project. The result is written to ``build/mkdocs.yml`` (kbgen's output folder), so
MkDocs, the plugin and Zensical read it like any configuration file.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from kbgen.errors import KbgenError
from kbgen.fileio import atomic_write

#: Where a project without a site configuration gets one written.
DEFAULT_CONFIG = "build/mkdocs.yml"
#: The theme overrides' folder name, in kbgen's source tree and under ``share/kbgen``.
THEME = "site-overrides"


def kbgen_share() -> Path:
    """The folder that holds kbgen's own ``mkdocs.yml`` and theme overrides: the source
    tree kbgen runs from, else what the wheel installed under ``<prefix>/share/kbgen``."""
    source_tree = Path(__file__).resolve().parents[2]
    for candidate in (source_tree, Path(sys.prefix) / "share" / "kbgen"):
        if (candidate / "mkdocs.yml").is_file() and (candidate / THEME).is_dir():
            return candidate
    raise KbgenError(
        "kbgen's site theme is not installed (no mkdocs.yml and site-overrides/ next to "
        "the kbgen package or under share/kbgen); add an mkdocs.yml to the project"
    )


def mkdocs_config_file(project_root: Path) -> Path:
    """The project's ``mkdocs.yml``, or kbgen's default written for it."""
    own = project_root / "mkdocs.yml"
    if own.is_file():
        return own
    share = kbgen_share()
    config = yaml.safe_load((share / "mkdocs.yml").read_text(encoding="utf-8"))
    config["site_name"] = f"{project_root.resolve().name} — compliance knowledge base"
    config.pop("site_description", None)
    config["docs_dir"] = str((project_root / "build" / "docs").resolve())
    config["site_dir"] = str((project_root / "site").resolve())
    config["theme"] = {**config["theme"], "custom_dir": str(share / THEME)}
    target = project_root / DEFAULT_CONFIG
    text = (
        "# Written by kbgen: this project has no mkdocs.yml of its own. Copy it to the\n"
        "# project's root to change the site's name, theme or features.\n"
        + yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.is_file() or target.read_text(encoding="utf-8") != text:
        atomic_write(target, text.encode("utf-8"))
    return target
