"""Locate the project, read its configuration, and run the audit pipeline as library calls."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from kbgen.config import Config, find_pyproject, load_config
from kbgen.errors import KbgenError
from kbgen.rules.base import Finding, Rule
from kbgen.rules.context import Context, ProjectFiles
from kbgen.rules.engine import run_rules, select_rules
from kbgen.vault.compile import compile_vault
from kbgen.vault.model import Vault


def open_config(vault_arg: str | None = None, config_arg: str | None = None,
                isolated: bool = False) -> Config:
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
    return config


@dataclass
class AuditRun:
    vault: Vault
    rules: list[Rule]
    findings: list[Finding]


def audit(config: Config, *, select: tuple[str, ...] = (),
          ignore: tuple[str, ...] = (), jobs: int | None = None,
          cache: bool = True) -> AuditRun:
    """Compile the vault and run the selected audit rules over it."""
    rules = select_rules(config, select=select, ignore=ignore)
    vault = compile_vault(config, jobs=jobs, cache=cache)
    ctx = Context(vault=vault, config=config, files=ProjectFiles(config.project_root))
    return AuditRun(vault, rules, run_rules(ctx, rules))
