"""Locate the project, read its configuration, and run the audit pipeline as library calls."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from kbgen.build_cache import BuildCache
from kbgen.config import PROJECT_PATHS, Config, check_resolved_roots, find_pyproject, load_config
from kbgen.errors import KbgenError
from kbgen.evidence import NO_EVIDENCE, load_evidence
from kbgen.nix.flake import index_flake
from kbgen.nix.model import FlakeIndex
from kbgen.nix.nixparse import cross_check as nix_cross_check
from kbgen.nix.nixparse import nix_instantiate_available
from kbgen.nix.upstream import load_upstream
from kbgen.rules.base import Finding, Rule
from kbgen.rules.context import Context, ProjectFiles
from kbgen.rules.engine import run_rules, select_rules
from kbgen.trace.controls import extract_controls
from kbgen.trace.frameworks import FRAMEWORKS
from kbgen.trace.model import TraceModel, control_targets, risk_targets
from kbgen.trace.registers import extract_risks, read_settings
from kbgen.vault.compile import link_vault, load_notes
from kbgen.vault.model import Vault
from kbgen.vault.sources import configured_outside


def open_config(
    vault_arg: str | None = None, config_arg: str | None = None, isolated: bool = False
) -> Config:
    """Configuration for a run.

    ``vault_arg`` (a folder given on the command line) replaces the configured vault.
    The project root is the folder of the ``pyproject.toml`` that configures kbgen, or,
    without one, the vault's parent folder (or the working directory).
    """
    cwd = Path.cwd()
    vault_path = Path(vault_arg).resolve() if vault_arg else None
    if vault_path is not None and not vault_path.is_dir():
        raise KbgenError("vault folder not found", vault_arg)
    if isolated:
        config = Config(project_root=(vault_path.parent if vault_path else cwd).resolve())
    elif config_arg:
        path = Path(config_arg)
        if not path.is_file():
            raise KbgenError("configuration file not found", config_arg)
        config = load_config(path.resolve())
    else:
        found = find_pyproject(vault_path or cwd)
        if found is None:
            config = Config(project_root=(vault_path.parent if vault_path else cwd).resolve())
        else:
            config = load_config(found)
    if vault_path is not None:
        root = config.project_root
        if not vault_path.is_relative_to(root):
            # A vault outside the configured project is its own project.
            config = config.with_overrides(project_root=vault_path.parent)
            root = vault_path.parent
        config = config.with_overrides(vault=Path(os.path.relpath(vault_path, root)).as_posix())
    # A vault named on the command line may live anywhere; configured paths may not.
    check_resolved_roots(
        config, tuple(k for k in PROJECT_PATHS if not (k == "vault" and vault_path is not None))
    )
    return config


def source_roots(config: Config) -> list[Path]:
    """Every folder or file the content and the flake are read from (what a server
    watches): the vaults, the flake, and what the configuration names outside the vaults."""
    root = config.project_root
    found = [config.vault_root, *(root / v for v in config.more_vaults), config.flake_root]
    return list(dict.fromkeys([*found, *configured_outside(config)]))


@dataclass
class Run:
    """One compiled project and the findings of the rules that ran over it."""

    vault: Vault
    trace: TraceModel | None
    rules: list[Rule]
    findings: list[Finding]


def compile_project(
    config: Config,
    *,
    jobs: int | None = None,
    cache: bool = True,
    flake: bool = True,
    cross_check: bool = False,
    memo: BuildCache | None = None,
) -> tuple[Vault, TraceModel]:
    """Load, parse, find controls and registers, resolve links, index the flake.

    Controls and register rows are link targets, so they are extracted from the parsed
    notes before links are resolved; nothing is read twice.
    """
    loaded = load_notes(config, jobs=jobs, cache=cache, memo=memo)
    controls = extract_controls(loaded.notes, config)
    risks = extract_risks(loaded.notes.get(config.residual_risks), config.residual_risks)
    vault = link_vault(
        config,
        loaded,
        [*control_targets(controls), *risk_targets(risks)],
        prefix_nouns=dict.fromkeys(FRAMEWORKS, "control"),
    )
    flake_index = FlakeIndex(files=())
    errors: tuple = ()
    if flake and config.flake_root.exists():
        flake_index = index_flake(config.flake_root, config.project_root)
        if cross_check and nix_instantiate_available():
            paths = [config.project_root / f.path for f in flake_index.files]
            errors = tuple(nix_cross_check(paths, config.project_root))
    settings = read_settings(loaded.sources, config.resolved_settings)
    evidence = load_evidence(config) if flake else NO_EVIDENCE
    options_file = config.nixos_options_path if flake else None
    upstream = load_upstream(options_file, config.nixos_options) if options_file else None
    trace = TraceModel(
        config, vault, controls, risks, settings, flake_index, evidence, errors, upstream
    )
    return vault, trace


def run(
    config: Config,
    *,
    commands: tuple[str, ...],
    select: tuple[str, ...] = (),
    ignore: tuple[str, ...] = (),
    jobs: int | None = None,
    cache: bool = True,
    cross_check: bool = False,
    memo: BuildCache | None = None,
) -> Run:
    """Compile the project and run the rules of ``commands`` (audit, trace or both).

    ``memo`` is the :class:`BuildCache` of a long-lived process (``kbgen serve``)."""
    rules = select_rules(config, commands=commands, select=select, ignore=ignore)
    needs_flake = "trace" in commands
    vault, trace = compile_project(
        config,
        jobs=jobs,
        cache=cache,
        flake=needs_flake,
        cross_check=cross_check and needs_flake,
        memo=memo,
    )
    ctx = Context(vault=vault, config=config, files=ProjectFiles(config.project_root), trace=trace)
    return Run(vault, trace, rules, run_rules(ctx, rules))


def audit(
    config: Config,
    *,
    select: tuple[str, ...] = (),
    ignore: tuple[str, ...] = (),
    jobs: int | None = None,
    cache: bool = True,
) -> Run:
    """Compile the vault and run the selected audit rules over it."""
    return run(config, commands=("audit",), select=select, ignore=ignore, jobs=jobs, cache=cache)
