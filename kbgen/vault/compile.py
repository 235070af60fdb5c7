"""Load, parse, resolve and graph the vault: the one direction data flows in.

``compile_vault`` is called once per run; every check and the site read its result.
Parsing is CPU-bound pure Python, so a large vault is parsed by a pool of worker
processes, each reading and parsing its own share of files, and unchanged notes
come from a cache of earlier runs (``kbgen.vault.cache``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from kbgen.config import Config
from kbgen.vault.cache import ParseCache
from kbgen.vault.files import FileProblem, VaultFiles, discover, read_note
from kbgen.vault.model import ResolvedLink, Target, Vault
from kbgen.vault.parse import parse_note
from kbgen.vault.records import Note, pack, unpack
from kbgen.vault.resolve import Resolver

#: Below this many notes a process pool costs more than it saves.
PARALLEL_THRESHOLD = 400



@dataclass(frozen=True)
class LoadedNotes:
    """Every note parsed, before links are resolved (controls are found in between)."""

    files: VaultFiles
    notes: MappingProxyType[str, Note]
    problems: tuple[FileProblem, ...]


def load_notes(config: Config, *, jobs: int | None = None, cache: bool = True) -> LoadedNotes:
    root = config.vault_root
    files = discover(root, config.exclude)
    parse_cache = ParseCache(config.project_root / config.cache_dir, root) if cache else None
    notes, problems = _parse_all(root, files.notes, jobs, parse_cache)
    if parse_cache is not None:
        parse_cache.save()
    return LoadedNotes(files, MappingProxyType({note.path: note for note in notes}),
                       tuple(problems))


def link_vault(config: Config, loaded: LoadedNotes,
               extra_targets: Iterable[tuple[str, Target]] = (),
               prefix_nouns: Mapping[str, str] | None = None) -> Vault:
    """Resolve every link against the notes, attachments, folders and extra targets
    (controls, register rows); ``prefix_nouns`` names what a missing ``prefix/x`` is."""
    files, notes = loaded.files, loaded.notes
    resolver = Resolver(notes, files.attachments, files.folders,
                        index_name=config.index_name, extra_targets=extra_targets,
                        prefix_nouns=prefix_nouns)
    links = tuple(
        ResolvedLink(note.path, link, resolver.resolve(link, note))
        for note in notes.values() for link in note.links
    )
    return Vault(config=config, root=files.root, notes=notes, attachments=files.attachments,
                 folders=files.folders, file_problems=files.problems + loaded.problems,
                 links=links)


def compile_vault(config: Config, *, extra_targets: Iterable[tuple[str, Target]] = (),
                  jobs: int | None = None, cache: bool = True) -> Vault:
    """Load and link in one go (no controls or registers: see ``kbgen.project``)."""
    return link_vault(config, load_notes(config, jobs=jobs, cache=cache), extra_targets)


def _parse_all(root: Path, paths: tuple[str, ...], jobs: int | None,
               cache: ParseCache | None) -> tuple[list[Note], list[FileProblem]]:
    """Parse every note, taking unchanged ones from the cache; keeps ``paths`` order.

    Notes parsed in this process stay objects; notes from worker processes and from the
    cache arrive packed and are unpacked once.
    """
    parsed: dict[str, Note] = {}
    packed: dict[str, tuple] = {}
    problems: list[FileProblem] = []
    todo: list[str] = []
    stats: dict[str, os.stat_result] = {}
    for rel in paths:
        try:
            stats[rel] = (root / rel).stat()
        except OSError:
            todo.append(rel)  # read_note reports why
            continue
        live = _LIVE.get((root, rel)) if cache else None
        if live is not None and live[:2] == (stats[rel].st_size, stats[rel].st_mtime_ns):
            parsed[rel] = live[2]
            if cache is not None:
                cache.get(rel, stats[rel])  # keeps the entry in the saved cache
            continue
        hit = cache.get(rel, stats[rel]) if cache else None
        if hit is not None:
            packed[rel] = hit
        else:
            todo.append(rel)
    workers = jobs if jobs is not None else (os.cpu_count() or 1)
    remote: list[tuple[list[tuple[str, tuple]], list[FileProblem]]] = []
    if workers > 1 and len(todo) >= PARALLEL_THRESHOLD:
        # The main process parses a share itself while workers-1 helpers do the rest.
        share = len(todo) // workers
        batches = [tuple(todo[i * share:(i + 1) * share]) for i in range(1, workers - 1)]
        batches.append(tuple(todo[(workers - 1) * share:]))
        with ProcessPoolExecutor(max_workers=workers - 1) as pool:
            futures = [pool.submit(_parse_batch, root, batch) for batch in batches]
            problems.extend(_parse_here(root, todo[:share], parsed))
            remote = [future.result() for future in futures]
    else:
        problems.extend(_parse_here(root, todo, parsed))
    for batch_packed, batch_problems in remote:
        problems.extend(batch_problems)
        packed.update(batch_packed)
    if cache is not None:
        for rel, note in parsed.items():
            if rel in stats and not cache.has(rel):
                cache.put(rel, stats[rel], pack(note))
        for rel, _ in (item for batch, _ in remote for item in batch):
            if rel in stats:
                cache.put(rel, stats[rel], packed[rel])
    notes = [parsed[rel] if rel in parsed else unpack(packed[rel])
             for rel in paths if rel in parsed or rel in packed]
    if cache is not None:
        for note in notes:
            if note.path in stats:
                stat = stats[note.path]
                _LIVE[(root, note.path)] = (stat.st_size, stat.st_mtime_ns, note)
    return notes, problems


#: Notes parsed earlier in this process, by (vault root, path): (size, mtime, note).
#: ``kbgen serve`` compiles on every change; this spares it even the cache's unpickling.
_LIVE: dict[tuple[Path, str], tuple[int, int, Note]] = {}


def _parse_here(root: Path, paths: list[str], into: dict[str, Note]) -> list[FileProblem]:
    problems = []
    for path in paths:
        data, problem = read_note(root, path)
        if problem is not None:
            problems.append(problem)
        if data is not None:
            into[path] = parse_note(path, data)
    return problems


def _parse_batch(root: Path, paths: tuple[str, ...]
                 ) -> tuple[list[tuple[str, tuple]], list[FileProblem]]:
    """Read and parse some notes in a worker; results are packed (plain tuples) to travel
    cheaply between processes."""
    notes: dict[str, Note] = {}
    problems = _parse_here(root, list(paths), notes)
    return [(path, pack(note)) for path, note in notes.items()], problems
