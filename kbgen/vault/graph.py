"""The vault as a networkx graph, and free functions that query it.

Nodes are keyed ``note:<path>``, ``attachment:<path>``, ``folder:<path>`` (and,
once traceability is compiled, ``control:...``, ``option:...`` and so on). Each
edge has a ``kind``; :data:`INVERSE` names the same edge read backwards.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import networkx as nx

from kbgen.vault.model import ResolvedLink, Target

#: Edge kind -> its name when read from the other end.
INVERSE = {
    "links-to": "linked-from",
    "embeds": "embedded-in",
}


def node_id(target: Target) -> str:
    """Graph node of a link target; a folder link lands on the folder's index note."""
    if target.kind in ("note", "folder") and target.note:
        return note_node(target.note)
    return f"{target.kind}:{target.key}"


def note_node(path: str) -> str:
    return f"note:{path}"


def build_graph(notes: Iterable[str], links: Iterable[ResolvedLink]) -> nx.MultiDiGraph:
    graph = nx.MultiDiGraph()
    graph.add_nodes_from((note_node(path), {"kind": "note", "path": path}) for path in notes)
    edges = []
    for resolved in links:
        target = resolved.resolution.target
        if not resolved.resolution.ok or target is None:
            continue
        kind = "embeds" if resolved.link.is_embed else "links-to"
        edges.append((note_node(resolved.source), node_id(target), kind,
                      {"kind": kind, "line": resolved.link.line}))
    for _source, target, _key, _data in edges:
        if target not in graph:
            kind, _, key = target.partition(":")
            graph.add_node(target, kind=kind, path=key)
    graph.add_edges_from(edges)
    return graph


def backlinks(graph: nx.MultiDiGraph, node: str) -> list[str]:
    """Nodes with an edge into ``node``, sorted, without ``node`` itself."""
    return sorted({source for source, _ in graph.in_edges(node)} - {node})


def embed_cycles(graph: nx.MultiDiGraph) -> Iterator[list[str]]:
    """Every elementary cycle made of ``embeds`` edges between notes (and folder indexes)."""
    embeds = nx.DiGraph()
    for source, target, data in graph.edges(data=True):
        if data.get("kind") == "embeds" and graph.nodes[target].get("kind") == "note":
            embeds.add_edge(source, target)
    # Cycles of one node (a note embedding itself) are included by simple_cycles.
    yield from nx.simple_cycles(embeds)
