"""The vault as a networkx graph, and free functions that query it.

Nodes are keyed ``note:<path>``, ``attachment:<path>`` (and, once traceability is
compiled, ``control:...``, ``option:...`` and so on); a folder link lands on the
folder's index note. The graph is a ``DiGraph``: one edge per ordered pair, whose
``kinds`` attribute holds every relation between the two (a note may both link to
and embed another). :data:`INVERSE` names each kind read backwards.
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


def build_graph(notes: Iterable[str], links: Iterable[ResolvedLink]) -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_nodes_from((note_node(path), {"kind": "note", "path": path}) for path in notes)
    kinds: dict[tuple[str, str], set[str]] = {}
    for resolved in links:
        target = resolved.resolution.target
        if target is None or not resolved.resolution.ok:
            continue
        pair = (note_node(resolved.source), node_id(target))
        kinds.setdefault(pair, set()).add("embeds" if resolved.link.is_embed else "links-to")
    for _source, target in kinds:
        if target not in graph:
            kind, _, key = target.partition(":")
            graph.add_node(target, kind=kind, path=key)
    graph.add_edges_from((s, t, {"kinds": frozenset(k)}) for (s, t), k in kinds.items())
    return graph


def embed_graph(links: Iterable[ResolvedLink]) -> nx.DiGraph:
    """The ``embeds`` edges between notes (and folder indexes) alone."""
    graph = nx.DiGraph()
    for resolved in links:
        target = resolved.resolution.target
        if resolved.link.is_embed and resolved.resolution.ok and target is not None:
            node = node_id(target)
            if node.startswith("note:"):
                graph.add_edge(note_node(resolved.source), node, kinds=frozenset({"embeds"}))
    return graph


def embed_cycles(embeds: nx.DiGraph) -> Iterator[list[str]]:
    """Every elementary cycle of a graph of embeds (see :func:`embed_graph`)."""
    # Cycles of one node (a note embedding itself) are included by simple_cycles.
    yield from nx.simple_cycles(embeds)
