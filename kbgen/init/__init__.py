"""``kbgen init``: a starting configuration, written by looking at the repository.

:func:`~kbgen.init.discover.discover` walks the repository once and returns a
:class:`~kbgen.init.discover.Layout` (its docstring says what is recognised, and how);
:func:`~kbgen.init.render.render_config` turns it into the text of a ``kbgen.toml`` and
:func:`~kbgen.init.render.render_report` into the report. Only :func:`run_init` reads the
command line, prints and writes.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tomllib
from pathlib import Path

from kbgen.config import KBGEN_TOML, config_from_table
from kbgen.errors import KbgenError
from kbgen.fileio import atomic_write
from kbgen.init.discover import Found, Layout, PrdFound, discover, guess_framework
from kbgen.init.render import render_config, render_report

__all__ = [
    "Found",
    "Layout",
    "PrdFound",
    "add_init_parser",
    "discover",
    "guess_framework",
    "render_config",
    "render_report",
    "run_init",
]


def add_init_parser(commands) -> argparse.ArgumentParser:
    """``kbgen init [ROOT] [--stdout] [--force]`` on the CLI's subparsers."""
    parser = commands.add_parser(
        "init",
        help="write a starting kbgen.toml by looking at the repository",
        description="Look at the repository (vaults by .obsidian/, PRDs by their control "
        "tables, the flake by flake.nix, registers by name), print what was found and "
        "write kbgen.toml at its root. Exit 2 when a configuration exists already.",
    )
    parser.add_argument(
        "root", nargs="?", default=".", metavar="ROOT", help="the repository (default: .)"
    )
    parser.add_argument(
        "--stdout",
        action="store_true",
        help="print the configuration on stdout (the report on stderr); write nothing",
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing kbgen.toml")
    return parser


def _existing_config(root: Path, given: Path) -> str | None:
    """What configures kbgen in ``root`` already: ``kbgen.toml`` or ``pyproject.toml``."""
    if (root / KBGEN_TOML).exists() or (root / KBGEN_TOML).is_symlink():
        return KBGEN_TOML
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return None
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise KbgenError(
            f"cannot tell whether it configures kbgen: {exc}; fix it, or move it away first",
            (given / "pyproject.toml").as_posix(),
        ) from exc
    tool = data.get("tool")
    return "pyproject.toml" if isinstance(tool, dict) and "kbgen" in tool else None


def _checked(text: str, root: Path) -> None:
    """The configuration must load as kbgen reads it; a failure is a bug of ``init``."""
    try:
        config_from_table(tomllib.loads(text), project_root=root, source=root / KBGEN_TOML)
    except (KbgenError, tomllib.TOMLDecodeError) as exc:
        raise KbgenError(
            f"internal error: the configuration written would not load: {exc}"
        ) from exc


def run_init(args: argparse.Namespace) -> int:
    """Discover, report, and write (or print) the configuration. Returns the exit code."""
    given = Path(args.root)
    if not given.is_dir():
        raise KbgenError("not a folder", args.root)
    root = given.resolve()
    existing = _existing_config(root, given)
    notes = ""
    if existing and not args.stdout:
        if not args.force:
            message = (
                "exists already; use --force to overwrite it"
                if existing == KBGEN_TOML
                else f"its [tool.kbgen] configures kbgen here already; use --force to write "
                f"{KBGEN_TOML} anyway (it then takes precedence)"
            )
            raise KbgenError(
                f"{message}, or --stdout to print the configuration",
                (given / existing).as_posix(),
            )
        if existing != KBGEN_TOML:
            notes = f"{KBGEN_TOML} now takes precedence over [tool.kbgen] in pyproject.toml.\n"
    layout = discover(root)
    text = render_config(layout)
    _checked(text, root)
    report = render_report(layout)
    if args.stdout:
        sys.stderr.write(report)
        sys.stdout.write(text)
        return 0
    target = root / KBGEN_TOML
    if target.is_dir():
        raise KbgenError("is a folder; not overwritten", (given / KBGEN_TOML).as_posix())
    try:
        atomic_write(target, text.encode("utf-8"))
    except OSError as exc:
        raise KbgenError(
            f"cannot write: {exc.strerror or exc}", (given / KBGEN_TOML).as_posix()
        ) from exc
    if existing is None and (root / "pyproject.toml").is_file():
        notes += f"pyproject.toml has no [tool.kbgen]: the configuration is in {KBGEN_TOML}.\n"
    then = (
        "kbgen check"
        if root == Path.cwd().resolve()
        else f"cd {shlex.quote(args.root)} && kbgen check"
    )
    sys.stdout.write(f"{report}{notes}Wrote {(given / KBGEN_TOML).as_posix()}. Next: {then}\n")
    return 0
