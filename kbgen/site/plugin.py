"""The thin MkDocs plugin: compile the vault and flake, point MkDocs at the tree.

Registered as the ``kbgen`` plugin (entry point ``mkdocs.plugins``). It only calls
into kbgen: ``mkdocs build`` and ``mkdocs serve`` then behave like ``kbgen build``
and ``kbgen serve``. The compiled Markdown does not need this plugin; any renderer
can take ``build/docs``.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from mkdocs.config import config_options as c
from mkdocs.config.base import Config
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin

from kbgen.errors import KbgenError
from kbgen.output import FORMATS, Report
from kbgen.project import open_config, run
from kbgen.site import state
from kbgen.site.build import TREE, compile_tree, gate

log = logging.getLogger("mkdocs.plugins.kbgen")


class KbgenConfig(Config):
    #: Fail on warnings too, like ``kbgen build --strict``.
    strict = c.Type(bool, default=False)


class KbgenPlugin(BasePlugin[KbgenConfig]):
    def on_config(self, config):
        root = Path(config.config_file_path).parent
        try:
            settings = open_config(None, str(root / "pyproject.toml"))
        except KbgenError as exc:
            raise PluginError(str(exc)) from exc
        if state.CURRENT is None or not os.environ.get("KBGEN_TREE_READY"):
            start = time.perf_counter()
            result = run(settings, commands=("audit", "trace"))
            checked = time.perf_counter()
            blocking = gate(result, self.config.strict)
            if blocking:
                report = Report("check", tuple(blocking), tuple(result.rules))
                raise PluginError("kbgen check failed:\n" + FORMATS["concise"](report))
            state.TREE = compile_tree(result, root / TREE)
            state.CURRENT = result
            log.info("kbgen: checked in %.2f s, compiled %d pages in %.2f s",
                     checked - start, len(state.TREE.pages), time.perf_counter() - checked)
        config.docs_dir = str(root / TREE)
        self._watch = [settings.vault_root, settings.flake_root]
        return config

    def on_nav(self, nav, config, files):
        """Name each section after its index page instead of its folder ("kb" -> ...)."""
        titles = state.TREE.section_titles if state.TREE is not None else {}

        def visit(items) -> None:
            for item in items:
                if getattr(item, "children", None) is None:
                    continue
                first = next((c for c in item.children if getattr(c, "file", None)), None)
                folder = first.file.src_uri.rsplit("/", 1)[0] if first else None
                if titles.get(folder):
                    item.title = titles[folder]
                visit(item.children)

        visit(nav.items)
        return nav

    def on_serve(self, server, config, builder):
        # Watch the sources, not the compiled tree: kbgen writes the tree on every rebuild,
        # and watching it would trigger a second rebuild each time.
        server.unwatch(config.docs_dir)
        root = Path(config.config_file_path).parent
        for path in (*self._watch, root / "site-overrides"):
            if path.exists():
                server.watch(str(path))
        return server
