"""What ``kbgen init`` finds in a repository: :func:`discover` walks it once and returns
a :class:`Layout`. Reads files, never writes or prints.

What is recognised, and how:

* **Vaults**: folders holding ``.obsidian/`` (a found vault is not searched for more
  vaults). None: a ``vault/`` folder if there is one. Several: the shallowest first.
* **PRDs**: Markdown files anywhere with a table whose header has a control column and
  a layer column under kbgen's default header names (``Control``, ``Control ID``,
  ``Layer``, ...), read with kbgen's own parser. Not PRDs: a file whose control column
  holds ids of no framework kbgen knows, and one whose controls all repeat those of a
  PRD that names its framework more surely (a wiki page quoting a PRD's rows). A table
  with a Layer column whose first column holds framework ids under another header
  (``Req ID``) is not mapped; the report points at it.
* **PRD globs**: per folder, ``folder/<common file-name prefix>*.md`` when the folder
  has several PRDs and the glob takes in no other Markdown file that would change what
  kbgen reads: one outside every vault (it would be loaded as a note) or one with a
  ``framework`` in its frontmatter or a control table. Otherwise the files are listed.
* **Frameworks**: the frontmatter's ``framework``, else the file name (as kbgen reads
  it), else the framework whose id grammar accepts most of the control column's ids
  (more than half of them; a tie names none): a ``[prd-frameworks]`` entry per file.
* **Columns**: a header cell of a PRD table that is no known header name but contains
  "requirement" or "implementation", in a table without a requirement column, becomes a
  ``requirement`` header name, and also an ``options`` one when the table has no options
  column (kbgen then takes the backticked option paths from the prose). New names are
  added after kbgen's defaults, so tables that use the defaults read as before.
* **Registers**: a Markdown file named ``*residual-risk*`` with ``RR-nn`` rows (or named
  ``residual-risks.md``), a YAML file named ``*resolved-settings*``, a ``policies``
  folder holding notes; vaults first, then the shallowest. Written only when not where
  kbgen looks by default.
* **Flake**: the folder of the shallowest ``flake.nix``; ``.nix`` files under it that
  declare options (``mkOption``) and that call ``mkComplianceTest`` are counted for the
  report; ``canonical*.nix`` or ``canonical/default.nix`` declaring options is the
  canonical module.

Never searched: hidden folders (``.git``, ``.venv``, ``.direnv``, ``.kbgen``, ...),
``node_modules``, ``__pycache__``, ``build/`` and ``site/`` at the root, test data
(``fixtures``, ``testdata``), folders with their own kbgen configuration, and symlinked
folders. Files over 2 MiB, unreadable ones and symlinks out of the repository are not
read (the report names them).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path

from kbgen.config import Config
from kbgen.errors import KbgenError
from kbgen.init.walk import Found, Tree, below, parse_markdown, read_file, shown, walk
from kbgen.nix.flake import index_flake
from kbgen.nix.modules import MODULE_NAMESPACES
from kbgen.trace.controls import _column_map, _framework_in_name, _plain
from kbgen.trace.frameworks import FRAMEWORKS
from kbgen.trace.registers import RISK_ID
from kbgen.vault.files import matches
from kbgen.vault.records import Note, Table

_DEFAULTS = Config()
_KNOWN_HEADERS = frozenset(a.casefold() for names in _DEFAULTS.columns.values() for a in names)
_DECLARES = re.compile(
    r"\bmkOption\s*[{(]|\bmkEnableOption\s*[\"'(]|\bmkPackageOption\s+[\w.]+\s*[\"'\[]"
)
_CALLS_TEST = re.compile(r"\bmkComplianceTest\s*[{(]")
_NIX_COMMENT = re.compile(r"/\*[\s\S]*?\*/|(?:^|(?<=\s))#.*$", re.MULTILINE)
_REGISTER_NAME = re.compile(r"residual-risks?(-register)?")
_GLOB_CHARS = re.compile(r"([*?\[])")


@dataclass(frozen=True)
class PrdFound:
    path: str
    rows: int
    #: The framework id, or None when it could not be told.
    framework: str | None
    #: Where the framework came from, or why there is none.
    framework_why: str
    #: Where the framework came from: frontmatter, file name, ids, or none.
    source: str = "ids"
    #: How many control tables the file has.
    tables: int = 1
    #: ``framework/ID`` of each row whose id is one of its framework's.
    keys: tuple[str, ...] = field(default=(), repr=False)

    @property
    def needs_mapping(self) -> bool:
        """The framework was told from the ids: it needs a ``[prd-frameworks]`` entry."""
        return self.source == "ids" and self.framework is not None


@dataclass(frozen=True)
class Layout:
    """What :func:`discover` found below ``root``."""

    root: Path
    vaults: tuple[Found, ...] = ()
    prds: tuple[PrdFound, ...] = ()
    prd_globs: tuple[str, ...] = ()
    #: Column -> header names to add after kbgen's defaults.
    columns: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: PRD path -> which of its headers were mapped, for the comments and the report.
    column_notes: tuple[Found, ...] = ()
    #: Markdown files a PRD glob also takes in (harmless: vault notes without a framework).
    glob_extras: tuple[str, ...] = ()
    #: Notes with control tables that are not PRDs, and tables that are almost control
    #: tables, with the reason.
    not_prds: tuple[Found, ...] = ()
    residual_risks: Found | None = None
    resolved_settings: Found | None = None
    policies_dir: Found | None = None
    flake: Found | None = None
    canonical_module: Found | None = None
    #: The flake's own option namespaces (``site.``), when not kbgen's default.
    option_prefixes: Found | None = None
    #: Folders not searched and files not read, with the reason.
    skipped: tuple[Found, ...] = ()


# -- PRDs ------------------------------------------------------------------------------


def _count_ids(ids: list[str]) -> tuple[str | None, str, int]:
    """:func:`guess_framework`, plus how many ids the best framework accepts."""
    plain = [_plain(i) for i in ids if i.strip()]
    if not plain:
        return None, "no ids to tell its framework by", 0
    counts = {
        fid: sum(1 for i in plain if framework.canonical(i) is not None)
        for fid, framework in FRAMEWORKS.items()
    }
    best = max(counts.values())
    winners = sorted(fid for fid, count in counts.items() if count == best)
    if best == 0:
        return None, "its ids are ids of no framework kbgen knows", 0
    if len(winners) > 1:
        return None, f"its ids fit {' and '.join(winners)} equally", best
    if best * 2 <= len(plain):
        return None, f"only {best} of {len(plain)} ids are {winners[0]} ids", best
    return winners[0], f"from its ids ({best} of {len(plain)} are {winners[0]} ids)", best


def guess_framework(ids: list[str]) -> tuple[str | None, str]:
    """The framework whose grammar accepts most of ``ids`` (more than half of them), and
    why; None and why not when there is no such framework or two accept as many."""
    framework, why, _ = _count_ids(ids)
    return framework, why


@dataclass(frozen=True)
class _ControlTable:
    table: Table
    columns: dict[str, int]

    def ids(self) -> list[str]:
        index = self.columns["control"]
        return [row[index].text for row in self.table.rows if index < len(row)]


def _tables(note: Note) -> tuple[list[_ControlTable], list[Found]]:
    """The note's control tables, and hints about tables that are almost control tables
    (a Layer column and a first column of framework ids under another header)."""
    found, hints = [], []
    for table in note.tables:
        columns = _column_map(table.header, _DEFAULTS)
        if "layer" not in columns or not table.header:
            continue
        if "control" in columns:
            found.append(_ControlTable(table, columns))
            continue
        first = " ".join(table.header[0].text.split())
        ids = [row[0].text for row in table.rows if row]
        if first and first.casefold() not in _KNOWN_HEADERS and guess_framework(ids)[0]:
            hints.append(
                Found(
                    note.path,
                    f'line {table.line}: a Layer column, and framework ids under "{first}", '
                    f'which is no control header; if this is a control table, add "{first}" '
                    "to [columns] control",
                )
            )
    return found, hints


def _prd_framework(note: Note, tables: list[_ControlTable]) -> PrdFound:
    rows = sum(len(t.table.rows) for t in tables)
    count = len(tables)
    ids = [i for t in tables for i in t.ids()]
    if "framework" in note.frontmatter:
        meta = note.frontmatter["framework"]
        framework = meta.get("id") if isinstance(meta, dict) else None
        if not (isinstance(framework, str) and framework in FRAMEWORKS):
            framework, why = None, "its frontmatter 'framework' names no framework kbgen knows"
        else:
            why = "from its frontmatter"
        keys = () if framework is None else _keys(framework, ids)
        return PrdFound(
            note.path, rows, framework, why, source="frontmatter", tables=count, keys=keys
        )
    named = _framework_in_name(note.path)
    framework, source = named, "file name"
    why = "from its file name"
    if framework is None:
        framework, why, best = _count_ids(ids)
        source = "ids" if best else "none"
    keys = () if framework is None else _keys(framework, ids)
    written = sum(1 for i in ids if i.strip())
    if source == "file name" and len(keys) * 2 <= written:
        framework, source = None, "none"
        why = f"only {len(keys)} of {written} ids are ids of {named}, which its file name names"
    return PrdFound(note.path, rows, framework, why, source=source, tables=count, keys=keys)


def _keys(framework: str, ids: list[str]) -> tuple[str, ...]:
    canonical = (FRAMEWORKS[framework].canonical(_plain(i)) for i in ids)
    return tuple(f"{framework}/{c}" for c in canonical if c)


def _select_prds(found: list[PrdFound]) -> tuple[list[PrdFound], list[Found]]:
    """The PRDs, and the notes with control tables that are not PRDs: tables of ids of no
    framework, and tables whose controls all repeat those of a PRD that names its
    framework more surely (frontmatter before file name before ids)."""
    strength = {"frontmatter": 0, "file name": 1, "ids": 2, "none": 3}
    kept: list[PrdFound] = []
    rejected: list[Found] = []
    defined: dict[str, str] = {}
    for prd in sorted(found, key=lambda p: (strength[p.source], p.path)):
        if prd.source == "none":
            rejected.append(Found(prd.path, f"a control table, but {prd.framework_why}"))
            continue
        if prd.source != "frontmatter" and prd.keys and all(k in defined for k in prd.keys):
            first = defined[prd.keys[0]]
            rejected.append(Found(prd.path, f"its {len(prd.keys)} controls repeat {first}'s"))
            continue
        kept.append(prd)
        for key in prd.keys:
            defined.setdefault(key, prd.path)
    return sorted(kept, key=lambda p: p.path), sorted(rejected, key=lambda f: f.path)


def _column_mapping(
    prds: dict[str, list[_ControlTable]],
) -> tuple[tuple[tuple[str, tuple[str, ...]], ...], tuple[Found, ...]]:
    """Header names to add to kbgen's defaults, and what each PRD's headers became."""
    extra: dict[str, list[str]] = {"requirement": [], "options": []}
    notes: list[Found] = []

    def add(column: str, header: str) -> None:
        if header not in extra[column]:
            extra[column].append(header)

    for path, tables in prds.items():
        for control_table in tables:
            columns = control_table.columns
            if "requirement" in columns:
                continue
            for index, cell in enumerate(control_table.table.header):
                text = " ".join(cell.text.split())
                folded = text.casefold()
                if index in columns.values() or not text or folded in _KNOWN_HEADERS:
                    continue
                if "requirement" in folded or "implementation" in folded:
                    add("requirement", text)
                    if "options" not in columns:
                        add("options", text)
                    both = " and the options (backticked in it)" if "options" not in columns else ""
                    notes.append(Found(path, f'"{text}" read as the requirement{both}'))
                    break
    mapping = tuple(
        (column, (*_DEFAULTS.columns[column], *names)) for column, names in extra.items() if names
    )
    return mapping, tuple(dict.fromkeys(notes))


def _common_prefix(names: list[str]) -> str:
    """The longest start all ``names`` share, cut back to a word (``prd-`` of
    ``prd-access.md`` and ``prd-audit.md``, not ``prd-a``)."""
    prefix = names[0]
    for name in names[1:]:
        while not name.startswith(prefix):
            prefix = prefix[:-1]
    return prefix[: max(prefix.rfind(c) for c in "-_. ") + 1]


def glob_escape(text: str) -> str:
    """A path as a glob that matches only itself."""
    return _GLOB_CHARS.sub(r"[\1]", text)


def _prd_globs(
    prds: list[str], markdown: list[str], notes: dict[str, Note], vaults: list[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The ``prd`` globs (see the module's docstring), and the other Markdown files they
    take in: only vault notes that kbgen cannot take for a PRD (no ``framework`` in
    their frontmatter, no control table)."""
    chosen = set(prds)

    def harmless(path: str) -> bool:
        note = notes.get(path)
        in_vault = any(below(path, v) for v in vaults)
        return in_vault and (
            note is None or ("framework" not in note.frontmatter and not _tables(note)[0])
        )

    by_folder: dict[str, list[str]] = {}
    for path in prds:
        by_folder.setdefault(posixpath.dirname(path), []).append(path)
    globs: list[str] = []
    covered: set[str] = set()
    extras: list[str] = []
    for folder, files in sorted(by_folder.items()):
        remaining = [f for f in files if f not in covered]
        if len(remaining) > 1:
            names = [posixpath.basename(f) for f in remaining]
            prefix = _common_prefix(names)
            glob = (f"{glob_escape(folder)}/" if folder else "") + f"{glob_escape(prefix)}*.md"
            taken = [m for m in markdown if matches(m, (glob,))]
            others = [m for m in taken if m not in chosen]
            if all(harmless(m) for m in others):
                globs.append(glob)
                covered.update(m for m in taken if m in chosen)
                extras.extend(others)
                continue
        globs.extend(glob_escape(f) for f in remaining)
        covered.update(remaining)
    return tuple(globs), tuple(dict.fromkeys(extras))


# -- registers and the flake ------------------------------------------------------------


def _rank(path: str, vaults: list[str]) -> tuple[int, int, str]:
    """Vaults first (the first one before the others), then the shallowest."""
    place = 2
    if vaults and below(path, vaults[0]):
        place = 0
    elif any(below(path, v) for v in vaults):
        place = 1
    return place, path.count("/"), path


def _risk_rows(note: Note | None) -> int:
    if note is None:
        return 0
    return sum(
        1
        for table in note.tables
        for row in table.rows
        if row and RISK_ID.fullmatch(_plain(row[0].text))
    )


def _registers(
    tree: Tree, notes: dict[str, Note], vaults: list[str]
) -> tuple[Found | None, Found | None, Found | None]:
    risks = []
    for path in tree.markdown:
        stem = posixpath.basename(path).lower().removesuffix(".md")
        rows = _risk_rows(notes.get(path))
        if "residual-risk" in stem and (rows or _REGISTER_NAME.fullmatch(stem)):
            risks.append((not rows, _rank(path, vaults), path, rows))
    risk = None
    if risks:
        _, _, path, rows = min(risks)
        risk = Found(path, f"table with {rows} RR-nn rows" if rows else "its name (no rows yet)")
    settings = None
    if tree.yaml:
        path = min(tree.yaml, key=lambda p: _rank(p, vaults))
        settings = Found(path, "its name")
    policies = []
    for folder in tree.policies:
        count = sum(1 for m in tree.markdown if below(m, folder))
        if count:
            policies.append((_rank(folder, vaults), folder, count))
    policy = None
    if policies:
        _, folder, count = min(policies)
        policy = Found(folder, f"{count} note{'s' if count != 1 else ''}")
    return risk, settings, policy


def _nix_text(root: Path, path: str, tree: Tree) -> str:
    data, why = read_file(root, path)
    if data is None:
        tree.skipped.append(Found(path, why))
        return ""
    return _NIX_COMMENT.sub("", data.decode("utf-8", errors="replace"))


def _flake(root: Path, tree: Tree) -> tuple[Found | None, Found | None]:
    """The flake (with module and test counts) and the canonical module."""
    texts = {path: _nix_text(root, path, tree) for path in tree.nix}
    declaring = [p for p, text in texts.items() if _DECLARES.search(text)]
    flake = None
    folder = None
    if tree.flakes:
        folder = min(tree.flakes, key=lambda f: (f.count("/") if f else -1, f))
        modules = sum(1 for p in declaring if below(p, folder))
        tests = sum(1 for p, text in texts.items() if below(p, folder) and _CALLS_TEST.search(text))
        flake = Found(
            shown(folder),
            f"{posixpath.join(folder, 'flake.nix')}; {modules} .nix file"
            f"{'s' if modules != 1 else ''} declare options (mkOption), {tests} call "
            "mkComplianceTest",
        )
    canonical = [
        p
        for p in declaring
        if posixpath.basename(p).startswith("canonical") or p.endswith("canonical/default.nix")
    ]
    module = None
    if canonical:
        inside_flake = [folder] if folder is not None else []
        module = Found(min(canonical, key=lambda p: _rank(p, inside_flake)), "declares options")
    return flake, module


#: Top-level names of NixOS's own options (and of modules the flake imports, such as
#: sops-nix): a flake that declares options below them extends NixOS; it does not make
#: them its namespace. ``compliance`` is kbgen's own namespace, not NixOS's.
_NIXOS_NAMESPACES = MODULE_NAMESPACES - {"compliance"}


def _option_prefixes(root: Path, flake: str) -> Found | None:
    """The namespaces of the options the flake declares (``site.``), for TR208 to check the
    option paths notes name; None when they are kbgen's default (``compliance.``)."""
    try:
        index = index_flake(root / flake, root)
    except KbgenError:
        return None
    heads = sorted(
        {d.path.split(".", 1)[0] for d in index.declarations if "." in d.path} - _NIXOS_NAMESPACES
    )
    prefixes = tuple(f"{head}." for head in heads)
    if not prefixes or prefixes == _DEFAULTS.option_prefixes:
        return None
    return Found(", ".join(prefixes), "namespaces of the options the flake declares")


# -- discovery -------------------------------------------------------------------------


def discover(root: Path) -> Layout:
    """Look at the repository below ``root`` (a folder) and say what kbgen should read."""
    root = root.resolve()
    tree = walk(root)
    vaults = sorted(tree.vaults, key=lambda v: (v.count("/") if v else -1, v))
    found_vaults = tuple(Found(shown(v), ".obsidian/") for v in vaults)
    if not vaults and "vault" in tree.folders:
        vaults = ["vault"]
        found_vaults = (Found("vault", "a vault/ folder (no .obsidian/ anywhere)"),)
    notes = parse_markdown(root, tree)
    tables: dict[str, list[_ControlTable]] = {}
    hints: list[Found] = []
    for path, note in notes.items():
        control_tables, note_hints = _tables(note)
        hints += note_hints
        if control_tables:
            tables[path] = control_tables
    prds, rejected = _select_prds([_prd_framework(notes[p], t) for p, t in tables.items()])
    paths = [prd.path for prd in prds]
    globs, extras = _prd_globs(paths, tree.markdown, notes, vaults)
    columns, column_notes = _column_mapping({p: tables[p] for p in paths})
    risk, settings, policies = _registers(tree, notes, vaults)
    flake, canonical = _flake(root, tree)
    prefixes = _option_prefixes(root, flake.path) if flake is not None else None
    return Layout(
        root=root,
        vaults=found_vaults,
        prds=tuple(prds),
        prd_globs=globs,
        columns=columns,
        column_notes=column_notes,
        glob_extras=extras,
        not_prds=(*rejected, *hints),
        residual_risks=risk,
        resolved_settings=settings,
        policies_dir=policies,
        flake=flake,
        canonical_module=canonical,
        option_prefixes=prefixes,
        skipped=tuple(tree.skipped),
    )
