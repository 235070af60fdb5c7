"""The shape of the package, as docs/architecture.md describes it, checked on the source.

* no import circle between kbgen's modules (imports inside functions and under
  ``TYPE_CHECKING`` are deliberate late bindings and do not count);
* small rooms: no module over 600 lines, no function over 80;
* no module-level mutable state: a module-level container bound to a lower-case or
  private name is state that outlives a run (caches belong in
  :class:`kbgen.build_cache.BuildCache`, owned by whoever runs the builds);
* every package has an ``__init__.py``;
* data flows one way: lower stages never import higher ones.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).parent.parent / "kbgen"
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80
#: Stages in the order data flows through them; a module may import only from its own
#: stage or an earlier one (the shared foundation modules come first).
STAGES = (
    ("kbgen", "kbgen.errors", "kbgen.config", "kbgen.fileio", "kbgen.names", "kbgen.build_cache"),
    ("kbgen.vault",),
    ("kbgen.nix",),
    ("kbgen.evidence",),
    ("kbgen.trace",),
    ("kbgen.oscal",),
    ("kbgen.init",),
    ("kbgen.rules", "kbgen.output", "kbgen.fix"),
    ("kbgen.project",),
    ("kbgen.site",),
    ("kbgen.cli", "kbgen.__main__"),
)


def _modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 1 else parts)
        found[name] = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return found


MODULES = _modules()


def _top_level_imports(name: str, tree: ast.Module) -> set[str]:
    """Modules of kbgen that ``name`` imports when it is imported."""
    imported: set[str] = set()
    package = (
        name
        if (PACKAGE.parent / name.replace(".", "/") / "__init__.py").exists()
        else name.rpartition(".")[0]
    )
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for child in [node] if not isinstance(node, ast.If | ast.Try) else ast.walk(node):
            if isinstance(child, ast.Import):
                imported.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - child.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                imported.add(base)
                imported.update(f"{base}.{a.name}" for a in child.names)
    return {m for m in imported if m in MODULES and m != name}


def test_no_import_circle():
    graph = nx.DiGraph()
    for name, tree in MODULES.items():
        graph.add_node(name)
        graph.add_edges_from((name, other) for other in _top_level_imports(name, tree))
    # A package importing its own submodules (re-exports) is not a circle of concerns.
    graph.remove_edges_from([(a, b) for a, b in graph.edges if b.startswith(a + ".")])
    cycles = list(nx.simple_cycles(graph))
    assert not cycles, "import circles: " + "; ".join(" -> ".join(c) for c in cycles)


def _stage(name: str) -> int:
    for index, prefixes in enumerate(STAGES):
        # The foundation (stage 0) is modules; later stages are whole packages.
        if any(name == p or (index and name.startswith(p + ".")) for p in prefixes):
            return index
    raise AssertionError(f"{name} belongs to no stage of docs/architecture.md")


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_flow_one_way(name):
    late = [
        other for other in _top_level_imports(name, MODULES[name]) if _stage(other) > _stage(name)
    ]
    assert not late, f"{name} imports a later stage: {late}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_and_functions_are_small(name):
    tree = MODULES[name]
    lines = max((getattr(n, "end_lineno", 0) or 0 for n in ast.walk(tree)), default=0)
    assert lines <= MAX_MODULE_LINES, f"{name} has {lines} lines"
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = node.end_lineno - node.lineno + 1
            assert length <= MAX_FUNCTION_LINES, f"{name}.{node.name} has {length} lines"


_MUTABLE_CALLS = {"dict", "list", "set", "defaultdict", "OrderedDict", "deque", "Counter"}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_level_mutable_state(name):
    for node in MODULES[name].body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign) and node.value
            else []
        )
        value = getattr(node, "value", None)
        mutable = isinstance(
            value, ast.Dict | ast.List | ast.Set | ast.DictComp | ast.ListComp | ast.SetComp
        ) or (
            isinstance(value, ast.Call)
            and isinstance(value.func, ast.Name)
            and value.func.id in _MUTABLE_CALLS
        )
        for target in targets:
            if (
                mutable
                and isinstance(target, ast.Name)
                and not target.id.isupper()
                and target.id != "__all__"
            ):
                pytest.fail(f"{name}:{node.lineno}: module-level mutable {target.id!r}")


def test_every_package_has_an_init():
    for folder in [PACKAGE, *(p for p in PACKAGE.rglob("*") if p.is_dir())]:
        if folder.name != "__pycache__":
            assert (folder / "__init__.py").is_file(), f"{folder} has no __init__.py"
