"""The compiled project of the current build, shared by the mkdocs plugin and the macros.

MkDocs instantiates plugins and the macros module separately; both run in one
process, so the plugin leaves the model here after compiling it once.
"""

from __future__ import annotations

from kbgen.project import Run

CURRENT: Run | None = None
#: The compiled tree of that build (its section titles name the navigation).
TREE = None
