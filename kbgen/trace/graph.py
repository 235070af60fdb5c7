"""The traceability graph and its JSON export.

Nodes: ``note:<vault path>`` and ``attachment:<path>`` (from the vault's link graph),
``control:<framework>/<id>``, ``option:<path>``, ``file:<project path>``,
``test:<name>``, ``risk:<RR-nn>``, ``setting:<id>``.
Edges carry ``kinds``; :data:`EDGE_KINDS` names each kind in both
directions.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

import networkx as nx

from kbgen.vault.graph import INVERSE, build_graph, note_node

if TYPE_CHECKING:
    from kbgen.trace.model import TraceModel


#: Edge kinds of the traceability graph and their names read backwards (the vault's own
#: ``links-to`` and ``embeds`` edges are part of it).
EDGE_KINDS = {
    **INVERSE,
    "implemented-by": "implements",  # control -> option
    "declared-in": "declares",  # option -> file
    "defined-in": "defines",  # option -> file
    "verified-by": "verifies",  # control -> test
    "accepted-as": "accepts",  # control -> risk
    "governed-by": "governs",  # control -> policy note
    "mentions": "mentioned-by",  # note -> control (or risk)
    "pins": "pinned-by",  # setting -> option
    "defined-by": "defines-control",  # control -> PRD note
}


def build_trace_graph(model: TraceModel) -> nx.DiGraph:
    """The vault's link graph, extended with controls, options, files, tests, risks and
    settings: one graph for the whole project."""
    graph = build_graph(model.vault.notes, model.vault.links)
    kinds: dict[tuple[str, str], set[str]] = defaultdict(set)

    def node(name: str, **attrs: Any) -> str:
        graph.add_node(name, **attrs)  # adds, or completes what the link graph knew
        return name

    for control in model.controls.controls:
        c = node(
            f"control:{control.key}",
            kind="control",
            framework=control.framework,
            control=control.id,
            title=control.title,
            layer=control.layer,
            status=model.status(control),
        )
        kinds[(c, node(note_node(control.note), kind="note"))].add("defined-by")
        for option in control.options:
            o = node(
                f"option:{option.path}", kind="option", exists=model.option_exists(option.path)
            )
            kinds[(c, o)].add("implemented-by")
        for test in model.tests_by_control.get(control.key, ()):
            kinds[(c, node(f"test:{test.name}", kind="test", file=test.pos.file))].add(
                "verified-by"
            )
        for risk in model.risks_of(control):
            kinds[(c, node(f"risk:{risk}", kind="risk"))].add("accepted-as")
        for policy in model.policies_of(control):
            kinds[(c, node(note_node(policy), kind="note"))].add("governed-by")
    for declaration in model.flake.declarations:
        o = node(f"option:{declaration.path}", kind="option", exists=True)
        kinds[(o, node(f"file:{declaration.pos.file}", kind="file"))].add("declared-in")
    cited = {n for n in graph if n.startswith("option:")}
    for definition in model.flake.definitions:
        name = f"option:{definition.path}"
        if name in cited and definition.test is None:
            kinds[(name, node(f"file:{definition.pos.file}", kind="file"))].add("defined-in")
    for key, notes in model.mentions.items():
        target = f"control:{key}" if f"control:{key}" in graph else node(f"risk:{key}", kind="risk")
        for source in notes:
            kinds[(node(note_node(source), kind="note"), target)].add("mentions")
    for setting in model.settings.settings:
        s = node(f"setting:{setting.id}", kind="setting", title=setting.title)
        kinds[
            (
                s,
                node(
                    f"option:{setting.canonical_path}",
                    kind="option",
                    exists=model.option_exists(setting.canonical_path),
                ),
            )
        ].add("pins")
    for (source, target), new in kinds.items():
        old = graph.edges[source, target]["kinds"] if graph.has_edge(source, target) else set()
        graph.add_edge(source, target, kinds=frozenset(old) | frozenset(new))
    return graph


def graph_document(graph: nx.DiGraph) -> dict[str, Any]:
    """The graph as stable JSON: nodes and one edge per kind, sorted."""
    nodes = [
        {"id": name, **{k: v for k, v in sorted(data.items())}}
        for name, data in sorted(graph.nodes(data=True))
    ]
    edges = sorted(
        (
            {"source": s, "target": t, "kind": kind}
            for s, t, kinds in graph.edges(data="kinds")
            for kind in kinds
        ),
        key=lambda e: (e["source"], e["target"], e["kind"]),
    )
    return {"version": 1, "nodes": nodes, "edges": edges}
