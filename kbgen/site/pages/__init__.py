"""Generated pages: frameworks, controls, options, tests, sources, registers, dashboard,
findings, graph and the section landing pages.

Each generator takes the :class:`~kbgen.site.render.PageContext` and returns
``{page path: Markdown}``; :mod:`kbgen.site.build` calls them in turn.
"""

from kbgen.site.pages.common import badge
from kbgen.site.pages.controls import control_pages
from kbgen.site.pages.flake import option_pages, source_pages, test_pages
from kbgen.site.pages.frameworks import dashboard_page, framework_pages, status_pages
from kbgen.site.pages.navigation import findings_page, graph_data, graph_page, section_indexes
from kbgen.site.pages.registers import settings_page
from kbgen.site.pages.risks import risk_pages
from kbgen.site.pages.tags import tag_pages

__all__ = [
    "badge",
    "control_pages",
    "dashboard_page",
    "findings_page",
    "framework_pages",
    "graph_data",
    "graph_page",
    "option_pages",
    "risk_pages",
    "section_indexes",
    "settings_page",
    "source_pages",
    "status_pages",
    "tag_pages",
    "test_pages",
]
