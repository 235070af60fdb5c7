"""Typed configuration from ``[tool.kbgen]`` in ``pyproject.toml``.

Every key is declared once in :class:`Config` with its type and default; the
TOML table is validated against those declarations so a typo is an error with
the file name, not a silently ignored setting.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kbgen.errors import ConfigError

SEVERITIES = ("info", "warning", "error")


@dataclass(frozen=True)
class Config:
    """Settings for one project. Paths are relative to :attr:`project_root`."""

    project_root: Path = Path(".")
    #: Where the configuration came from, for messages (None: built-in defaults).
    source: Path | None = None

    vault: str = "vault"
    flake: str = "flake"
    #: Globs (vault-relative) of files that are not loaded at all.
    exclude: tuple[str, ...] = ()
    #: Rule codes or names to run; empty means every rule.
    select: tuple[str, ...] = ()
    #: Rule codes or names never to run.
    ignore: tuple[str, ...] = ()
    #: Vault-relative glob -> rule codes or names ignored for matching notes.
    per_path_ignores: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: Rule code or name -> severity that replaces the rule's default.
    severity: dict[str, str] = field(default_factory=dict)
    #: Lowest severity that makes the run exit 1.
    fail_on: str = "warning"

    #: Vault-relative glob -> headings every matching note must have.
    #: Index notes (``_index.md``, the master index, the home page) are exempt.
    required_sections: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: {"wiki/**": ("Key Takeaways",)}
    )
    topics_root: str = "wiki"
    master_index: str = "wiki/_master-index.md"
    home: str = "index.md"
    raw_dir: str = "raw"
    index_name: str = "_index.md"
    #: Folder (project-relative) for kbgen's caches.
    cache_dir: str = ".kbgen"

    # -- traceability (vault-relative unless said otherwise) --
    prd_dir: str = "prd"
    policies_dir: str = "policies"
    residual_risks: str = "registers/residual-risks.md"
    resolved_settings: str = "registers/resolved-settings.yaml"
    #: Project-relative module whose option declarations are the canonical values.
    canonical_module: str = "flake/modules/canonical/default.nix"
    #: Project-relative folder of the compliance tests.
    tests_dir: str = "flake/tests"
    #: Control-table column -> header names that mean it (compared ignoring case).
    columns: dict[str, tuple[str, ...]] = field(default_factory=lambda: {
        "control": ("Control", "Control ID", "Requirement ID", "Rule", "STIG ID"),
        "title": ("Title", "Name"),
        "layer": ("Layer",),
        "requirement": ("Requirement", "Implementation", "Description"),
        "options": ("Nix options", "Nix option", "Options", "Implementation options"),
        "policy": ("Policy / risk", "Policy", "Residual risk", "Policy / residual risk"),
        "tests": ("Tests", "Test"),
    })
    #: Backticked option paths in notes starting with these must exist in the flake.
    option_prefixes: tuple[str, ...] = ("compliance.",)
    #: First folders of backticked paths that ``stale-file-reference`` checks.
    file_reference_roots: tuple[str, ...] = ("flake", "kbgen", "vault", "tests", "benchmarks",
                                             "site-overrides", "docs")

    @property
    def vault_root(self) -> Path:
        return (self.project_root / self.vault).resolve()

    @property
    def flake_root(self) -> Path:
        return (self.project_root / self.flake).resolve()

    def with_overrides(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **changes)


def _toml_key(name: str) -> str:
    return name.replace("_", "-")


_FIELDS = {_toml_key(f.name): f for f in dataclasses.fields(Config)
           if f.name not in ("project_root", "source")}


def find_pyproject(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` at or above ``start`` that has ``[tool.kbgen]``."""
    start = start.resolve()
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            try:
                data = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                continue
            if "kbgen" in data.get("tool", {}):
                return candidate
    return None


def load_config(pyproject: Path | None) -> Config:
    """Read ``[tool.kbgen]`` from ``pyproject``; defaults when it is None."""
    if pyproject is None:
        return Config(project_root=Path.cwd().resolve())
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", str(pyproject)) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError("not valid UTF-8", str(pyproject)) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", str(pyproject)) from exc
    table = data.get("tool", {}).get("kbgen", {})
    return config_from_table(table, project_root=pyproject.parent.resolve(), source=pyproject)


def config_from_table(table: dict[str, Any], *, project_root: Path,
                      source: Path | None = None) -> Config:
    where = str(source) if source else "[tool.kbgen]"
    values: dict[str, Any] = {}
    for key, raw in table.items():
        spec = _FIELDS.get(key)
        if spec is None:
            known = ", ".join(sorted(_FIELDS))
            raise ConfigError(f"[tool.kbgen] unknown key {key!r} (known: {known})", where)
        values[spec.name] = _coerce(key, raw, spec.type, where)
    if "fail_on" in values and values["fail_on"] not in SEVERITIES:
        raise ConfigError(f"[tool.kbgen] fail-on must be one of {', '.join(SEVERITIES)}", where)
    for rule, level in values.get("severity", {}).items():
        if level not in SEVERITIES:
            raise ConfigError(
                f"[tool.kbgen.severity] {rule} = {level!r}: use one of {', '.join(SEVERITIES)}",
                where)
    return Config(project_root=project_root, source=source, **values)


def _coerce(key: str, raw: Any, annotation: str, where: str) -> Any:
    def fail(expected: str) -> ConfigError:
        return ConfigError(f"[tool.kbgen] {key} must be {expected}, got {raw!r}", where)

    def strings(value: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            return (value,)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise fail("a string or a list of strings")

    if annotation == "str":
        if not isinstance(raw, str):
            raise fail("a string")
        return raw
    if annotation == "tuple[str, ...]":
        return strings(raw)
    if annotation == "dict[str, tuple[str, ...]]":
        if not isinstance(raw, dict):
            raise fail("a table")
        return {str(k): strings(v) for k, v in raw.items()}
    if annotation == "dict[str, str]":
        if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
            raise fail("a table of strings")
        return dict(raw)
    raise fail(annotation)  # pragma: no cover - every field type is handled above
