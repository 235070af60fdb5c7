"""The text ``kbgen init`` writes (a ``kbgen.toml``) and prints (the report), from a
:class:`~kbgen.init.discover.Layout`. Pure functions: nothing here reads or writes."""

from __future__ import annotations

from kbgen.config import Config
from kbgen.init.discover import Layout, glob_escape

_DEFAULTS = Config()

_REGISTERS = (
    ("policies-dir", "policies_dir", "policies"),
    ("residual-risks", "residual_risks", "residual-risk register"),
    ("resolved-settings", "resolved_settings", "resolved settings"),
    ("canonical-module", "canonical_module", "canonical module"),
)


def _toml_string(text: str) -> str:
    escaped = "".join(
        "\\" + c if c in '"\\' else f"\\u{ord(c):04x}" if ord(c) < 32 or ord(c) == 127 else c
        for c in text
    )
    return f'"{escaped}"'


def _toml_list(values: tuple[str, ...]) -> str:
    if len(values) == 1:
        return _toml_string(values[0])
    return "[\n" + "".join(f"  {_toml_string(v)},\n" for v in values) + "]"


def _clean(text: str) -> str:
    return "".join("?" if ord(c) < 32 or ord(c) == 127 else c for c in text)


def _is_default(layout: Layout, attribute: str, path: str) -> bool:
    """Whether a found register is where kbgen looks for it anyway."""
    if attribute == "canonical_module":
        return path == _DEFAULTS.canonical_module
    if not layout.vaults:
        return False
    content = Config(vault=layout.vaults[0].path).content_path(path)
    return content == getattr(_DEFAULTS, attribute)


def _framework_lines(layout: Layout) -> list[str]:
    """``[prd-frameworks]``: an entry per PRD whose framework came from its ids, a comment
    for the others whose frontmatter does not name one."""
    lines = []
    for prd in layout.prds:
        key = _toml_string(glob_escape(prd.path))
        if prd.source == "frontmatter":
            continue
        if prd.needs_mapping:
            lines += [f"# {_clean(prd.path)}: {_clean(prd.framework_why)}"]
            lines += [f"{key} = {_toml_string(prd.framework or '')}"]
        elif prd.framework:
            lines += [f"# {_clean(prd.path)}: {prd.framework}, {prd.framework_why}"]
        else:
            lines += [f"# {_clean(prd.path)}: framework not known: {_clean(prd.framework_why)}"]
            lines += [f'# {key} = "<framework id>"']
    return lines


def render_config(layout: Layout) -> str:
    """The text of a ``kbgen.toml`` for ``layout``: keys at top level, each with a comment
    saying what was found; what was not found is a comment too."""
    lines = [
        "# kbgen configuration, written by `kbgen init` from what it found in this repository.",
        "# Every key is optional; paths are relative to this file's folder. Check it, then run",
        "# `kbgen check`.",
    ]

    def key(name: str, value: str, comment: str) -> None:
        lines.extend(["", f"# {_clean(comment)}", f"{name} = {value}"])

    def note(comment: str) -> None:
        lines.extend(["", f"# {_clean(comment)}"])

    if layout.vaults:
        found = "; ".join(f"{v.path} ({v.why})" for v in layout.vaults)
        key("vault", _toml_list(tuple(v.path for v in layout.vaults)), f"Obsidian vault: {found}")
    else:
        note("No Obsidian vault found (no folder with .obsidian/, no vault/ folder): set vault.")
    if layout.flake:
        key("flake", _toml_string(layout.flake.path), f"NixOS flake: {layout.flake.why}")
    else:
        note("No flake.nix found: set flake to the folder of the NixOS flake.")
    if layout.prds:
        count = len(layout.prds)
        comment = f"PRDs: {count} Markdown file{'s' if count != 1 else ''} with a control table"
        key("prd", _toml_list(layout.prd_globs), comment)
    else:
        note("No PRD found (no Markdown table with a Control and a Layer column).")
    if layout.not_prds:
        lines.append("# Not taken as PRDs:")
        lines += [f"#   {_clean(n.path)}: {_clean(n.why)}" for n in layout.not_prds]
    for name, attribute, what in _REGISTERS:
        item = getattr(layout, attribute)
        if item is None:
            note(f"No {what} found.")
        elif _is_default(layout, attribute, item.path):
            note(f"The {what}: {item.path} ({item.why}), where kbgen looks by default.")
        else:
            key(name, _toml_string(item.path), f"The {what}: {item.path} ({item.why})")
    if layout.option_prefixes:
        prefixes = tuple(layout.option_prefixes.path.split(", "))
        key(
            "option-prefixes",
            _toml_list(prefixes),
            f"Option paths named in notes under {layout.option_prefixes.path} must exist "
            f"(TR208): the {layout.option_prefixes.why}",
        )
    if any(prd.source != "frontmatter" for prd in layout.prds):
        lines += ["", "# The framework of each PRD whose frontmatter does not name it.", ""]
        lines += ["[prd-frameworks]", *_framework_lines(layout)]
    if layout.columns:
        lines += [
            "",
            "# Control-table headers that are not kbgen's own names (added after them).",
            "",
        ]
        lines += [
            "[columns]",
            *(f"# {_clean(n.path)}: {_clean(n.why)}" for n in layout.column_notes),
        ]
        lines += [f"{column} = {_toml_list(names)}" for column, names in layout.columns]
    return "\n".join(lines) + "\n"


def _found_rows(layout: Layout) -> list[tuple[str, str, str]]:
    rows = [("vault", v.path, v.why) for v in layout.vaults]
    for prd in layout.prds:
        framework = (
            f"framework {prd.framework} {prd.framework_why}"
            if prd.framework
            else f"framework not known: {prd.framework_why}"
        )
        table = (
            f"{prd.tables} control tables with {prd.rows} rows"
            if prd.tables > 1
            else f"control table with {prd.rows} row{'s' if prd.rows != 1 else ''}"
        )
        rows.append(("PRD", prd.path, f"{table}; {framework}"))
    if layout.glob_extras:
        extras = layout.glob_extras
        names = ", ".join(extras[:3]) + (f" and {len(extras) - 3} more" if len(extras) > 3 else "")
        why = f"also take in {names}: vault notes kbgen cannot take for PRDs"
        rows.append(("PRD globs", ", ".join(layout.prd_globs), why))
    rows += [("columns", n.path, n.why) for n in layout.column_notes]
    if layout.flake:
        rows.append(("flake", layout.flake.path, layout.flake.why))
    if layout.option_prefixes:
        rows.append(("option namespaces", layout.option_prefixes.path, layout.option_prefixes.why))
    for _, attribute, what in _REGISTERS:
        item = getattr(layout, attribute)
        if item is not None:
            rows.append((what, item.path, item.why))
    return rows


def _missing(layout: Layout) -> list[str]:
    missing = []
    if not layout.vaults:
        missing.append("an Obsidian vault (no folder with .obsidian/, no vault/ folder)")
    if not layout.prds:
        missing.append("PRDs (no Markdown table with a Control and a Layer column)")
    if not layout.flake:
        missing.append("a NixOS flake (no flake.nix)")
    missing += [what for _, attr, what in _REGISTERS if getattr(layout, attr) is None]
    return missing


def render_report(layout: Layout, *, limit: int = 10) -> str:
    """What was found (path and why), what was not, and what was skipped."""
    rows = _found_rows(layout)
    width = max((len(what) for what, _, _ in rows), default=0)
    lines = ["Found:" if rows else "Found nothing kbgen reads."]
    lines += [f"  {what:<{width}}  {path}  ({why})" for what, path, why in rows]
    if layout.not_prds:
        lines += ["Not taken as PRDs:", *(f"  {n.path}  ({n.why})" for n in layout.not_prds)]
    missing = _missing(layout)
    if missing:
        lines += ["Not found:", *(f"  {what}" for what in missing)]
    if layout.skipped:
        lines.append("Skipped:")
        lines += [f"  {s.path}  ({s.why})" for s in layout.skipped[:limit]]
        if len(layout.skipped) > limit:
            lines.append(f"  ... and {len(layout.skipped) - limit} more")
    return "\n".join(_clean(line) for line in lines) + "\n"
