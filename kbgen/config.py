"""Typed configuration from ``[tool.kbgen]`` in ``pyproject.toml``, or from a
``kbgen.toml`` (the same keys at top level) in a project without a pyproject.

Every key is declared once in :class:`Config` with its type and default; the
TOML table is validated against those declarations so a typo is an error with
the file name, not a silently ignored setting.

Paths of content (PRDs, policies, registers, the home page, ...) are *content paths*:
relative to the (first) vault for a file inside it, else relative to the project root,
so a project can keep its PRDs and registers outside the vault (``docs/prd/*.md``). A
path written from the project root into the first vault (``compliance-vault/wiki``)
means the same as the vault-relative one.
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kbgen.errors import ConfigError

SEVERITIES = ("info", "warning", "error")
NOTE_HTML = ("render", "escape")


@dataclass(frozen=True)
class Config:
    """Settings for one project. Paths are relative to :attr:`project_root`."""

    project_root: Path = Path(".")
    #: Where the configuration came from, for messages (None: built-in defaults).
    source: Path | None = None

    #: The (first) vault; ``vault = ["a", "b"]`` in TOML also sets :attr:`more_vaults`.
    vault: str = "vault"
    #: Further vault roots (project-relative). Their notes' content paths are
    #: project-relative (``team-notes/wiki/x.md``), and links resolve across all vaults.
    more_vaults: tuple[str, ...] = ()
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
    #: Raw HTML written in notes: ``render`` it (as Obsidian does), or ``escape`` it so it
    #: shows as text (for sites that publish notes from people they do not trust).
    note_html: str = "render"
    #: Folder (project-relative) of supplied test results; missing means none supplied.
    evidence: str = "evidence"
    #: Every host or hybrid control must be ``verified`` (``check --require-evidence``).
    require_evidence: bool = False
    #: Base URL of the project's files in a repository browser (e.g.
    #: ``https://github.com/org/repo/blob/main``): notes link to their source. None: no links.
    repo_url: str = ""
    #: Project-relative NixOS ``options.json`` (the flake's ``nixos-options`` output) that
    #: upstream option paths are checked against; empty: not checked (an info finding).
    nixos_options: str = ""

    # -- traceability (content paths: see the module's docstring) --
    #: Globs of PRD notes (``*`` crosses folders), inside a vault or outside it.
    prd: tuple[str, ...] = ("prd/*.md",)
    #: PRD glob -> framework id, for PRDs whose frontmatter does not name their framework
    #: (without either, a PRD's file name may: ``prd-pci-dss.md``).
    prd_frameworks: dict[str, str] = field(default_factory=dict)
    policies_dir: str = "policies"
    residual_risks: str = "registers/residual-risks.md"
    resolved_settings: str = "registers/resolved-settings.yaml"
    #: Project-relative module whose option declarations are the canonical values.
    canonical_module: str = "flake/modules/canonical/default.nix"
    #: Control-table column -> header names that mean it (compared ignoring case).
    columns: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: {
            "control": ("Control", "Control ID", "Requirement ID", "Rule", "STIG ID"),
            "title": ("Title", "Name"),
            "layer": ("Layer",),
            "requirement": ("Requirement", "Implementation", "Description"),
            "options": ("Nix options", "Nix option", "Options", "Implementation options"),
            "policy": ("Policy / risk", "Policy", "Residual risk", "Policy / residual risk"),
            "tests": ("Tests", "Test"),
        }
    )
    #: Backticked option paths in notes starting with these must exist in the flake.
    option_prefixes: tuple[str, ...] = ("compliance.",)
    #: First folders of backticked paths that ``stale-file-reference`` checks.
    file_reference_roots: tuple[str, ...] = (
        "flake",
        "kbgen",
        "vault",
        "tests",
        "benchmarks",
        "site-overrides",
        "docs",
    )

    @property
    def vault_root(self) -> Path:
        return (self.project_root / self.vault).resolve()

    @property
    def flake_root(self) -> Path:
        return (self.project_root / self.flake).resolve()

    @property
    def nixos_options_path(self) -> Path | None:
        """The configured ``options.json``, or None when upstream options are not checked."""
        return (self.project_root / self.nixos_options).resolve() if self.nixos_options else None

    @property
    def evidence_root(self) -> Path:
        return (self.project_root / self.evidence).resolve()

    def content_path(self, value: str) -> str:
        """A configured content path or glob, without the first vault's folder when it was
        written from the project root (``compliance-vault/wiki`` -> ``wiki``)."""
        normal = posixpath.normpath(value.replace("\\", "/"))
        vault = posixpath.normpath(self.vault.replace("\\", "/"))
        if vault != "." and (normal == vault or normal.startswith(vault + "/")):
            normal = normal[len(vault) + 1 :]
        return "" if normal == "." else normal

    def with_overrides(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **changes)


def _toml_key(name: str) -> str:
    return name.replace("_", "-")


_FIELDS = {
    _toml_key(f.name): f
    for f in dataclasses.fields(Config)
    if f.name not in ("project_root", "source", "more_vaults")
}


#: Keys that name a path below the project root, and below the vault.
PROJECT_PATHS = ("vault", "flake", "cache_dir", "canonical_module", "evidence", "nixos_options")
#: Path keys whose empty value means "not configured".
_OPTIONAL_PATHS = ("nixos_options",)
#: Keys that name a content path (see the module's docstring).
VAULT_PATHS = (
    "master_index",
    "home",
    "raw_dir",
    "topics_root",
    "policies_dir",
    "residual_risks",
    "resolved_settings",
)
#: The name of kbgen's own configuration file (keys at top level, no ``[tool.kbgen]``).
KBGEN_TOML = "kbgen.toml"
_TOML_WHERE = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")


def _read_toml(path: Path) -> dict[str, Any]:
    """The parsed file, or a :class:`ConfigError` that names it (and the line)."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", str(path)) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not valid UTF-8 (byte {exc.start})", str(path)) from exc
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        where = _TOML_WHERE.search(message)
        if where is None:
            raise ConfigError(f"invalid TOML: {message}", str(path)) from exc
        raise ConfigError(
            f"invalid TOML: {message[: where.start()]} (column {where.group(2)})",
            str(path),
            int(where.group(1)),
        ) from exc
    except (RecursionError, MemoryError) as exc:
        raise ConfigError("invalid TOML: nested too deeply to read", str(path)) from exc


def _kbgen_table(data: dict[str, Any], path: Path) -> dict[str, Any] | None:
    """``[tool.kbgen]`` of a parsed pyproject (None when absent); an error when not a table."""
    tool = data.get("tool")
    if tool is None:
        return None
    if not isinstance(tool, dict):
        raise ConfigError(f"[tool] must be a table, got {type(tool).__name__}", str(path))
    table = tool.get("kbgen")
    if table is not None and not isinstance(table, dict):
        raise ConfigError(
            f"[tool.kbgen] must be a table, got {type(table).__name__} {table!r}", str(path)
        )
    return table


def find_pyproject(start: Path) -> Path | None:
    """The nearest configuration at or above ``start``: a ``kbgen.toml``, or a
    ``pyproject.toml`` that has ``[tool.kbgen]`` (in one folder, ``kbgen.toml`` wins).

    A ``pyproject.toml`` on the way that cannot be read or parsed is an error: kbgen
    cannot tell whether it was meant to configure this run, and must not silently fall
    back to a parent's configuration or the defaults.
    """
    start = start.resolve()
    for directory in (start, *start.parents):
        own = directory / KBGEN_TOML
        if own.is_file():
            return own
        candidate = directory / "pyproject.toml"
        if candidate.is_file() and _kbgen_table(_read_toml(candidate), candidate) is not None:
            return candidate
    return None


def load_config(path: Path | None) -> Config:
    """Read ``[tool.kbgen]`` from a ``pyproject.toml``, or a whole ``kbgen.toml``;
    defaults when ``path`` is None."""
    if path is None:
        return Config(project_root=Path.cwd().resolve())
    if path.name == KBGEN_TOML:
        table = _read_toml(path)
    else:
        table = _kbgen_table(_read_toml(path), path) or {}
    return config_from_table(table, project_root=path.parent.resolve(), source=path)


def config_from_table(
    table: dict[str, Any], *, project_root: Path, source: Path | None = None
) -> Config:
    where = str(source) if source else "[tool.kbgen]"
    values: dict[str, Any] = {}
    for key, raw in table.items():
        spec = _FIELDS.get(key)
        if spec is None:
            known = ", ".join(sorted(_FIELDS))
            raise ConfigError(f"[tool.kbgen] unknown key {key!r} (known: {known})", where)
        if key == "vault" and isinstance(raw, list):
            vaults = _coerce(key, raw, "tuple[str, ...]", where)
            if not vaults:
                raise ConfigError("[tool.kbgen] vault must name at least one folder", where)
            values["vault"], values["more_vaults"] = vaults[0], vaults[1:]
            continue
        values[spec.name] = _coerce(key, raw, spec.type, where)
    if "columns" in values:
        # A table lists only the columns it renames; the others keep their header names.
        values["columns"] = {**Config().columns, **values["columns"]}
    if values.get("note_html", "render") not in NOTE_HTML:
        raise ConfigError(f"[tool.kbgen] note-html must be one of {', '.join(NOTE_HTML)}", where)
    if "fail_on" in values and values["fail_on"] not in SEVERITIES:
        raise ConfigError(f"[tool.kbgen] fail-on must be one of {', '.join(SEVERITIES)}", where)
    for rule, level in values.get("severity", {}).items():
        if level not in SEVERITIES:
            raise ConfigError(
                f"[tool.kbgen.severity] {rule} = {level!r}: use one of {', '.join(SEVERITIES)}",
                where,
            )
    _check_rules(values, where)
    _check_paths(values, where)
    _check_frameworks(values, where)
    config = Config(project_root=project_root, source=source, **values)
    # Content paths written from the project root into the first vault mean the same as
    # vault-relative ones; from here on they are vault-relative.
    return config.with_overrides(
        **{name: config.content_path(getattr(config, name)) for name in VAULT_PATHS},
        prd=tuple(config.content_path(glob) for glob in config.prd),
        prd_frameworks={config.content_path(k): v for k, v in config.prd_frameworks.items()},
    )


def _check_frameworks(values: dict[str, Any], where: str) -> None:
    """``prd-frameworks`` values must be framework ids kbgen knows."""
    from kbgen.trace.frameworks import FRAMEWORKS  # the trace stage imports this module

    for glob, framework in values.get("prd_frameworks", {}).items():
        if framework not in FRAMEWORKS:
            raise ConfigError(
                f"[tool.kbgen.prd-frameworks] {glob!r} = {framework!r}: not a framework id "
                f"(one of: {', '.join(FRAMEWORKS)})",
                where,
            )


def _check_rules(values: dict[str, Any], where: str) -> None:
    """Severity keys must name a rule exactly; per-path ignores must select some rule."""
    from kbgen.rules import REGISTRY  # the rules import this module

    names = {r.name for r in REGISTRY.values()}
    for key in values.get("severity", {}):
        if key not in REGISTRY and key not in names:
            raise ConfigError(
                f"[tool.kbgen.severity] unknown rule {key!r} (a code such as "
                "KB101 or a name such as broken-wikilink; see 'kbgen rules')",
                where,
            )
    for glob, selectors in values.get("per_path_ignores", {}).items():
        for selector in selectors:
            if not selector or not any(
                selector == r.name or r.code.startswith(selector.upper()) for r in REGISTRY.values()
            ):
                raise ConfigError(
                    f"[tool.kbgen.per-path-ignores] {glob!r}: unknown rule "
                    f"{selector!r} (see 'kbgen rules')",
                    where,
                )


def _check_paths(values: dict[str, Any], where: str) -> None:
    """Every configured path stays below its root: relative, no ``..`` climbing out."""
    for name in (*PROJECT_PATHS, *VAULT_PATHS):
        if name in values and not (name in _OPTIONAL_PATHS and values[name] == ""):
            root = "project root" if name in PROJECT_PATHS else "vault"
            _check_relative(_toml_key(name), values[name], root, where)
    for name in ("file_reference_roots", "more_vaults"):
        for value in values.get(name, ()):
            _check_relative(
                "vault" if name == "more_vaults" else _toml_key(name), value, "project root", where
            )
    for value in (*values.get("prd", ()), *values.get("prd_frameworks", {})):
        _check_relative("prd", value, "project root", where)
    if "index_name" in values:
        index = values["index_name"]
        if (
            not index.strip()
            or "/" in index
            or "\\" in index
            or index in (".", "..")
            or any(ord(c) < 32 for c in index)
        ):
            raise ConfigError(f"[tool.kbgen] index-name must be a file name, got {index!r}", where)


def check_resolved_roots(config: Config, keys: tuple[str, ...] = PROJECT_PATHS) -> None:
    """The configured project paths, symlinks followed, must still be inside the project."""
    root = config.project_root.resolve()
    named = [(name, getattr(config, name)) for name in keys]
    named += [("vault", value) for value in config.more_vaults]
    for name, value in named:
        try:
            real = (root / value).resolve()
        except (OSError, RuntimeError) as exc:  # a symlink loop
            raise ConfigError(
                f"[tool.kbgen] {_toml_key(name)} = {value!r}: cannot resolve: {exc}",
                str(config.source or root),
            ) from exc
        if not real.is_relative_to(root):
            raise ConfigError(
                f"[tool.kbgen] {_toml_key(name)} = {value!r} resolves to {real}, "
                "outside the project (a symlink?); kbgen reads and writes only "
                "inside the project",
                str(config.source or root),
            )


def _check_relative(key: str, value: str, root: str, where: str) -> None:
    def fail(why: str) -> ConfigError:
        return ConfigError(
            f"[tool.kbgen] {key} = {value!r}: {why}; it must be a path relative "
            f"to the {root} that stays inside it",
            where,
        )

    if not value.strip():
        raise fail("empty")
    if any(ord(c) < 32 for c in value):
        raise fail("control character in a path")
    posix = value.replace("\\", "/")
    if posix.startswith("/") or re.match(r"[A-Za-z]:", posix):
        raise fail("absolute path")
    if posixpath.normpath(posix).split("/")[0] == "..":
        raise fail("climbs out with '..'")


def _coerce(key: str, raw: Any, annotation: str, where: str) -> Any:
    def fail(expected: str) -> ConfigError:
        return ConfigError(f"[tool.kbgen] {key} must be {expected}, got {raw!r}", where)

    def strings(value: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            return (value,)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise fail("a string or a list of strings")

    if annotation == "bool":
        if not isinstance(raw, bool):
            raise fail("true or false")
        return raw
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
