"""Which files make up the content, and where each one lives.

Most projects keep everything in one vault, and then a note's *content path* is its path
in the vault. Others keep their PRDs and registers outside it (``docs/prd/*.md``) or have
several vaults; kbgen reads those files too and gives them their project-relative path as
content path. So every note has one content path, and :class:`Sources` says which root
it is below: the first vault's, or the project's.

Only what the configuration names is read from outside the vaults: the notes matched by
the ``prd`` globs, the ``policies-dir`` folder, and the ``residual-risks`` and
``resolved-settings`` files, each only when the first vault has no such path. Nothing
outside the project is ever read.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

from kbgen.config import Config
from kbgen.errors import ConfigError
from kbgen.fileio import inside
from kbgen.vault.files import VaultFiles, discover, matches

#: Folders never searched for PRDs outside the vaults (tools' caches and outputs).
_NEVER_SEARCHED = tuple(
    pattern
    for name in (".venv", "node_modules", "__pycache__", "result", ".direnv")
    for pattern in (name, f"**/{name}")
)
_GLOB_CHARS = re.compile(r"[*?\[]")
_DEFAULTS = Config()


@dataclass(frozen=True, slots=True)
class Sources:
    """Where the file of each content path lives (cheap to send to worker processes)."""

    vault_root: Path
    project_root: Path
    #: Content paths whose file is below the project root rather than the first vault.
    external: frozenset[str] = frozenset()

    def root_of(self, path: str) -> Path:
        """The root that ``path`` (a content path) is relative to."""
        return self.project_root if path in self.external else self.vault_root

    def file(self, path: str) -> Path:
        return self.root_of(path) / path

    def display_path(self, path: str) -> str:
        """A content path as the user sees it: relative to the project root."""
        if path in self.external:
            return path
        try:
            prefix = self.vault_root.relative_to(self.project_root).as_posix()
        except ValueError:
            prefix = self.vault_root.as_posix()
        return path if prefix == "." else f"{prefix}/{path}"


def single_vault(config: Config) -> Sources:
    return Sources(config.vault_root, config.project_root.resolve())


def discover_sources(config: Config) -> tuple[VaultFiles, Sources]:
    """Every note, attachment and folder of the content, and where each one lives."""
    first = discover(config.vault_root, config.exclude)
    notes = set(first.notes)
    attachments = set(first.attachments)
    folders = set(first.folders)
    problems = list(first.problems)
    external: set[str] = set()
    project = config.project_root.resolve()

    def mount(found: VaultFiles, prefix: str, what: str) -> None:
        # ``exclude`` globs are content paths: matched after the prefix is added.
        for path in found.notes:
            if not matches(f"{prefix}{path}", config.exclude):
                _claim(f"{prefix}{path}", notes, external, what, config)
        for path in found.attachments:
            if not matches(f"{prefix}{path}", config.exclude):
                _claim(f"{prefix}{path}", attachments, external, what, config)
        folders.update(f"{prefix}{path}" for path in found.folders)
        folders.update(_parents(prefix.rstrip("/")))
        problems.extend(type(p)(f"{prefix}{p.path}", p.kind, p.message) for p in found.problems)

    for vault in config.more_vaults:
        prefix = _normal(vault)
        mount(discover(project / prefix), f"{prefix}/", f"vault {vault!r}")
    for base, wanted in _outside_searches(config, first, project):
        # A glob with no fixed folder (``**/prd-*.md``) searches the whole project.
        skipped = _NEVER_SEARCHED if base else _skip_at_root(config)
        found = discover(project / base, skipped)
        prefix = f"{base}/" if base else ""
        kept = tuple(p for p in found.notes if matches(f"{prefix}{p}", wanted))
        mount(
            VaultFiles(found.root, kept, frozenset(), frozenset(), found.problems),
            prefix,
            "a PRD or register",
        )
    for name, into, what in (
        ("residual_risks", notes, "the residual-risk register"),
        ("resolved_settings", attachments, "the resolved settings"),
    ):
        path = getattr(config, name)
        if _is_default(config, name) or path in first.notes or path in first.attachments:
            continue
        full = project / path
        if full.is_file() and inside(full, project):
            _claim(path, into, external, what, config)
        else:
            external.add(path)  # missing: the rule that says so names it from the project root
    return (
        VaultFiles(
            first.root,
            tuple(sorted(notes)),
            frozenset(attachments),
            frozenset(folders),
            tuple(problems),
        ),
        Sources(config.vault_root, project, frozenset(external)),
    )


def configured_outside(config: Config) -> list[Path]:
    """The folders and files below the project root that the configuration names outside
    the vaults (the fixed folder of each ``prd`` glob, the policies folder, the registers);
    what :func:`discover_sources` searches there, for a server to watch."""
    project = config.project_root.resolve()
    vaults = [config.vault_root, *((project / v).resolve() for v in config.more_vaults)]
    named = [] if _is_default(config, "prd") else [_glob_base(glob) for glob in config.prd]
    named += [
        getattr(config, name)
        for name in ("policies_dir", "residual_risks", "resolved_settings")
        if not _is_default(config, name)
    ]
    found = []
    for rel in dict.fromkeys(named):
        path = project / rel
        if rel and path.exists() and not any(path.resolve().is_relative_to(v) for v in vaults):
            found.append(path)
    return found


def _claim(path: str, into: set[str], external: set[str], what: str, config: Config) -> None:
    """Add an outside file's content path, which must not be a path of the first vault."""
    if path in into and path not in external:
        raise ConfigError(
            f"{what}: {path} is also a path in the vault {config.vault!r}; every file of "
            "the content needs its own path (move one, or exclude one)",
            str(config.source or config.project_root),
        )
    into.add(path)
    external.add(path)


def _outside_searches(
    config: Config, first: VaultFiles, project: Path
) -> list[tuple[str, tuple[str, ...]]]:
    """(folder below the project, globs) for every PRD glob and the policies folder that
    do not point into the first vault."""
    vault_dirs = {_normal(v) for v in (config.vault, *config.more_vaults)}
    searches: dict[str, list[str]] = {}
    for glob in () if _is_default(config, "prd") else config.prd:
        base = _glob_base(glob)
        if base in first.folders or any(_below(base, v) for v in vault_dirs):
            continue  # inside a vault: its notes are loaded already
        if base and not (project / base).is_dir():
            continue
        searches.setdefault(base, []).append(glob)
    policies = config.policies_dir.rstrip("/")
    outside = not _is_default(config, "policies_dir") and not any(
        _below(policies, v) for v in vault_dirs
    )
    if outside and policies not in first.folders and (project / policies).is_dir():
        searches.setdefault(policies, []).append(f"{policies}/**")
    return [(base, tuple(globs)) for base, globs in searches.items()]


def _is_default(config: Config, name: str) -> bool:
    """Default paths point into the vault: only configured ones are looked for outside."""
    return getattr(config, name) == getattr(_DEFAULTS, name)


def _skip_at_root(config: Config) -> tuple[str, ...]:
    """Searching the whole project: leave out the vaults, the flake and kbgen's outputs."""
    skipped = [_normal(v) for v in (config.vault, *config.more_vaults)]
    skipped += [_normal(config.cache_dir), "build", "site"]
    return (*skipped, *_NEVER_SEARCHED)


def _glob_base(glob: str) -> str:
    """The folders of a glob before its first wildcard: ``docs/prd`` of ``docs/prd/*.md``."""
    parts = glob.split("/")
    fixed = []
    for part in parts[:-1]:
        if _GLOB_CHARS.search(part):
            break
        fixed.append(part)
    return "/".join(fixed)


def _normal(path: str) -> str:
    normal = posixpath.normpath(path.replace("\\", "/"))
    return "" if normal == "." else normal


def _below(path: str, folder: str) -> bool:
    return folder == "" or path == folder or path.startswith(folder + "/")


def _parents(path: str) -> list[str]:
    parts = path.split("/") if path else []
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]
