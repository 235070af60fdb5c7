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
from types import MappingProxyType

from kbgen.build_cache import BuildCache
from kbgen.config import Config
from kbgen.vault.cache import ParseCache
from kbgen.vault.files import FileProblem, VaultFiles, read_note
from kbgen.vault.model import ResolvedLink, Target, Vault
from kbgen.vault.packing import from_transfer, to_transfer
from kbgen.vault.parse import parse_note
from kbgen.vault.records import Note
from kbgen.vault.resolve import Resolver
from kbgen.vault.sources import Sources, discover_sources

#: Below this many notes a process pool costs more than it saves.
PARALLEL_THRESHOLD = 400


@dataclass(frozen=True)
class LoadedNotes:
    """Every note parsed, before links are resolved (controls are found in between)."""

    files: VaultFiles
    sources: Sources
    notes: MappingProxyType[str, Note]
    problems: tuple[FileProblem, ...]


def load_notes(
    config: Config, *, jobs: int | None = None, cache: bool = True, memo: BuildCache | None = None
) -> LoadedNotes:
    """Read and parse every note. ``cache`` uses the parse cache on disk; ``memo`` (a
    long-lived process's :class:`BuildCache`) keeps parsed notes in memory as well."""
    files, sources = discover_sources(config)
    parse_cache = (
        ParseCache(config.project_root / config.cache_dir, sources.vault_root) if cache else None
    )
    notes, problems = _parse_all(sources, files.notes, jobs, parse_cache, memo)
    if parse_cache is not None:
        parse_cache.save()
    return LoadedNotes(
        files, sources, MappingProxyType({note.path: note for note in notes}), tuple(problems)
    )


def link_vault(
    config: Config,
    loaded: LoadedNotes,
    extra_targets: Iterable[tuple[str, Target]] = (),
    prefix_nouns: Mapping[str, str] | None = None,
) -> Vault:
    """Resolve every link against the notes, attachments, folders and extra targets
    (controls, register rows); ``prefix_nouns`` names what a missing ``prefix/x`` is."""
    files, notes = loaded.files, loaded.notes
    resolver = Resolver(
        notes,
        files.attachments,
        files.folders,
        index_name=config.index_name,
        extra_targets=extra_targets,
        prefix_nouns=prefix_nouns,
    )
    links = tuple(
        ResolvedLink(note.path, link, resolver.resolve(link, note))
        for note in notes.values()
        for link in note.links
    )
    return Vault(
        config=config,
        root=files.root,
        sources=loaded.sources,
        notes=notes,
        attachments=files.attachments,
        folders=files.folders,
        file_problems=files.problems + loaded.problems,
        links=links,
    )


def compile_vault(
    config: Config,
    *,
    extra_targets: Iterable[tuple[str, Target]] = (),
    jobs: int | None = None,
    cache: bool = True,
) -> Vault:
    """Load and link in one go (no controls or registers: see ``kbgen.project``)."""
    return link_vault(config, load_notes(config, jobs=jobs, cache=cache), extra_targets)


def _parse_all(
    sources: Sources,
    paths: tuple[str, ...],
    jobs: int | None,
    cache: ParseCache | None,
    memo: BuildCache | None,
) -> tuple[list[Note], list[FileProblem]]:
    """Parse every note, taking unchanged ones from memory or the cache; keeps ``paths``
    order. Notes from worker processes arrive packed and are unpacked once."""
    parsed: dict[str, Note] = {}
    problems: list[FileProblem] = []
    todo: list[str] = []
    stats: dict[str, os.stat_result] = {}
    for rel in paths:
        try:
            stats[rel] = stat = sources.file(rel).stat()
        except OSError:
            todo.append(rel)  # read_note reports why
            continue
        known = memo.notes.get(rel) if memo is not None else None
        if known is not None and known[:2] == (stat.st_size, stat.st_mtime_ns):
            parsed[rel] = known[2]
        elif cache is not None and (hit := cache.get(rel, stat)) is not None:
            parsed[rel] = hit
        else:
            todo.append(rel)
    workers = jobs if jobs is not None else (os.cpu_count() or 1)
    if workers > 1 and len(todo) >= PARALLEL_THRESHOLD:
        # The main process parses a share itself while workers-1 helpers do the rest.
        share = len(todo) // workers
        batches = [tuple(todo[i * share : (i + 1) * share]) for i in range(1, workers - 1)]
        batches.append(tuple(todo[(workers - 1) * share :]))
        with ProcessPoolExecutor(max_workers=workers - 1) as pool:
            futures = [pool.submit(_parse_batch, sources, batch) for batch in batches]
            problems.extend(_parse_here(sources, todo[:share], parsed))
            for future in futures:
                batch_notes, batch_problems = future.result()
                problems.extend(batch_problems)
                parsed.update((path, from_transfer(sent)) for path, sent in batch_notes)
    else:
        problems.extend(_parse_here(sources, todo, parsed))
    notes = [parsed[rel] for rel in paths if rel in parsed]
    for note in notes:
        stat = stats.get(note.path)
        if stat is None:
            continue
        if cache is not None:
            cache.keep(note.path, stat, note)
        if memo is not None:
            memo.notes[note.path] = (stat.st_size, stat.st_mtime_ns, note)
    if memo is not None:
        memo.evict(memo.notes, parsed)
    return notes, problems


def _parse_here(sources: Sources, paths: list[str], into: dict[str, Note]) -> list[FileProblem]:
    problems = []
    for path in paths:
        data, problem = read_note(sources.root_of(path), path)
        if problem is not None:
            problems.append(problem)
        if data is not None:
            into[path] = parse_note(path, data)
    return problems


def _parse_batch(
    sources: Sources, paths: tuple[str, ...]
) -> tuple[list[tuple[str, tuple]], list[FileProblem]]:
    """Read and parse some notes in a worker; results are plain tuples (to_transfer) to travel
    cheaply between processes."""
    notes: dict[str, Note] = {}
    problems = _parse_here(sources, list(paths), notes)
    return [(path, to_transfer(note)) for path, note in notes.items()], problems
