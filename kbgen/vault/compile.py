"""Load, parse, resolve and graph the vault: the one direction data flows in.

``compile_vault`` is called once per run; every check and the site read its result.
Parsing is CPU-bound pure Python, so a large vault is parsed by a pool of worker
processes, each reading and parsing its own share of files.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.reduction import ForkingPickler
from pathlib import Path
from types import MappingProxyType

from kbgen.config import Config
from kbgen.vault.files import FileProblem, discover, read_note
from kbgen.vault.graph import build_graph
from kbgen.vault.model import ResolvedLink, Target, Vault
from kbgen.vault.parse import parse_note
from kbgen.vault.records import Note
from kbgen.vault.resolve import Resolver

#: Below this many notes a process pool costs more than it saves.
PARALLEL_THRESHOLD = 1500



def _read_only(mapping: dict) -> MappingProxyType:
    return MappingProxyType(mapping)


# Notes carry their frontmatter as a read-only mapping; let worker processes send it.
ForkingPickler.register(MappingProxyType, lambda proxy: (_read_only, (dict(proxy),)))


def compile_vault(config: Config, *, extra_targets: Iterable[tuple[str, Target]] = (),
                  jobs: int | None = None) -> Vault:
    root = config.vault_root
    files = discover(root, config.exclude)
    notes, problems = _parse_all(root, files.notes, jobs)
    notes_map = MappingProxyType({note.path: note for note in notes})
    resolver = Resolver(notes_map, files.attachments, files.folders,
                        index_name=config.index_name, extra_targets=extra_targets)
    links = tuple(
        ResolvedLink(note.path, link, resolver.resolve(link, note))
        for note in notes for link in note.links
    )
    graph = build_graph(notes_map, links)
    return Vault(config=config, root=root, notes=notes_map, attachments=files.attachments,
                 folders=files.folders, file_problems=files.problems + tuple(problems),
                 links=links, graph=graph)


def _parse_all(root: Path, paths: tuple[str, ...],
               jobs: int | None) -> tuple[list[Note], list[FileProblem]]:
    workers = jobs if jobs is not None else (os.cpu_count() or 1)
    if workers > 1 and len(paths) >= PARALLEL_THRESHOLD:
        chunk = max(64, len(paths) // (workers * 4))
        batches = [paths[i:i + chunk] for i in range(0, len(paths), chunk)]
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(_parse_batch, [root] * len(batches), batches))
    else:
        results = [_parse_batch(root, paths)]
    notes = [note for batch_notes, _ in results for note in batch_notes]
    problems = [problem for _, batch_problems in results for problem in batch_problems]
    return notes, problems


def _parse_batch(root: Path, paths: tuple[str, ...]) -> tuple[list[Note], list[FileProblem]]:
    notes, problems = [], []
    for path in paths:
        data, problem = read_note(root, path)
        if problem is not None:
            problems.append(problem)
        if data is not None:
            notes.append(parse_note(path, data))
    return notes, problems
