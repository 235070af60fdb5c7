"""The thin MkDocs plugin: point MkDocs at the compiled tree, name its sections.

Registered as the ``kbgen`` plugin (entry point ``mkdocs.plugins``). Its hooks only
look things up in a build made by :func:`kbgen.site.build.build`, the one build path:
``kbgen build`` and ``kbgen serve`` hand the plugin their build (``prepared``) before
MkDocs runs; a plain ``mkdocs build`` or ``mkdocs serve`` makes the plugin call
:func:`~kbgen.site.build.build` itself. The run is kept on the plugin instance, as
mkdocs-material's plugins keep their state. The compiled Markdown does not need this
plugin: any renderer can take ``build/docs``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from mkdocs.config import config_options as c
from mkdocs.config.base import Config
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin

from kbgen.build_cache import BuildCache
from kbgen.config import find_pyproject
from kbgen.errors import KbgenError
from kbgen.output import FORMATS, Report
from kbgen.project import open_config, source_roots
from kbgen.site.build import TREE_DIR, SiteBuild, build, compact_navigation

log = logging.getLogger("mkdocs.plugins.kbgen")


class KbgenConfig(Config):
    #: Fail on warnings too, like ``kbgen build --strict``.
    strict = c.Type(bool, default=False)


class KbgenPlugin(BasePlugin[KbgenConfig]):
    def __init__(self) -> None:
        super().__init__()
        #: A build made before MkDocs ran (by ``kbgen build`` or ``kbgen serve``).
        self.prepared: SiteBuild | None = None
        #: The build this run renders.
        self.site: SiteBuild | None = None
        #: Kept across rebuilds of ``mkdocs serve`` (the plugin lives as long as it).
        self.cache: BuildCache | None = None
        #: Set by ``kbgen serve``: pages load its build-status script.
        self.serving = False
        self._watch: list[Path] = []

    def on_startup(self, *, command: str, dirty: bool) -> None:
        # Defining on_startup keeps this instance across the rebuilds of ``mkdocs serve``.
        if command == "serve":
            self.cache = BuildCache()

    def on_config(self, config):
        # The configuration is the project's mkdocs.yml, or kbgen's default written to
        # build/mkdocs.yml: either way the project's own configuration is found upwards.
        folder = Path(config.config_file_path).parent
        try:
            found = find_pyproject(folder)
            settings = open_config(None, str(found) if found else None)
        except KbgenError as exc:
            raise PluginError(str(exc)) from exc
        root = settings.project_root
        self._watch = [*source_roots(settings), root / "site-overrides"]
        site, self.prepared = self.prepared, None
        if site is None:
            start = time.perf_counter()
            try:
                site = build(settings, strict=self.config.strict, memo=self.cache)
            except KbgenError as exc:
                raise PluginError(f"kbgen: {exc}") from exc
            if site.tree is None:
                report = Report("check", tuple(site.blocking), tuple(site.checked.rules))
                raise PluginError("kbgen check failed:\n" + FORMATS["concise"](report))
            log.info(
                "kbgen: checked and compiled %d pages in %.2f s",
                len(site.tree.pages),
                time.perf_counter() - start,
            )
        self.site = site
        config.docs_dir = str(root / TREE_DIR)
        if self.serving:
            from kbgen.site.serve import STATUS_SCRIPT

            config.extra_javascript.append(STATUS_SCRIPT)
        return config

    def on_nav(self, nav, config, files):
        """Name each section after its index page instead of its folder ("kb" -> ...)."""
        tree = self.site.tree if self.site is not None else None
        titles = tree.section_titles if tree is not None else {}

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

    def on_post_page(self, output: str, *, page, config) -> str:
        """Drop the template indentation of the navigation (half its bytes on every page)."""
        return compact_navigation(output)

    def on_serve(self, server, config, builder):
        # Watch the sources, not the compiled tree: kbgen writes the tree on every rebuild,
        # and watching it would trigger a second rebuild each time.
        server.unwatch(config.docs_dir)
        for path in self._watch:
            if path.exists():
                server.watch(str(path))
        return server
