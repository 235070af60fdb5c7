"""Compile the model into a Markdown tree, then render it with MkDocs.

``compile_tree`` is renderer-independent: plain Markdown with relative links, generated
pages, attachments and the graph data. ``build_site`` runs the gate, compiles, renders
with MkDocs into a temporary folder and only then replaces the previous site, so a
failed build leaves the old site untouched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from kbgen.errors import KbgenError
from kbgen.project import Run, open_config, run
from kbgen.rules.base import Finding, Severity
from kbgen.site import pages, paths, state
from kbgen.site.render import PageContext, render_note
from kbgen.vault.records import Note

TREE = "build/docs"


@dataclass
class CompiledTree:
    root: Path
    pages: dict[str, str] = field(default_factory=dict)
    broken: dict[str, list[str]] = field(default_factory=dict)
    #: Folder of the tree -> the title of its index page (navigation section names).
    section_titles: dict[str, str] = field(default_factory=dict)


def compile_tree(result: Run, out: Path) -> CompiledTree:
    """Write every page of the site as Markdown under ``out`` (only changed files)."""
    vault, trace = result.vault, result.trace
    assert trace is not None, "the site needs the traceability model"
    ctx = PageContext(vault, trace)
    layout = (tuple(vault.notes), trace.risks.path)
    texts: dict[str, str] = {}
    for path, note in vault.notes.items():
        if note.problems and any(p.kind == "binary" for p in note.problems):
            continue
        texts[ctx.page_of_note(path)] = _note_page(ctx, note, out, layout)
    if "index.md" not in texts:
        texts["index.md"] = _default_home(ctx)
    texts.update(_generated_pages(ctx, out, layout))
    texts.update(pages.findings_page(ctx, result.findings))
    texts.update(pages.section_indexes(ctx, texts))

    files: dict[str, bytes] = {page: text.encode("utf-8") for page, text in texts.items()}
    for attachment in sorted(vault.attachments):
        files[attachment] = (vault.root / attachment).read_bytes()
    data = json.dumps(pages.graph_data(ctx), separators=(",", ":"), sort_keys=True)
    files[f"{paths.GENERATED}/graph-data.js"] = f"window.KB_GRAPH = {data};\n".encode()
    # Pages whose prose uses macros show values from elsewhere: rewrite them every time so
    # that a live server re-renders them even when their own Markdown did not change.
    volatile = {page for page, text in texts.items() if "{{" in text}
    _sync(files, out, volatile)
    titles = {page.rsplit("/", 1)[0]: _title_of(text) for page, text in texts.items()
              if page.endswith("/index.md")}
    return CompiledTree(out, texts, dict(ctx.broken), titles)


# -- reuse between compiles in one process (``kbgen serve``) -----------------------------
#
# A page is compiled again only when what it is made of changed. Keys are compared with
# ``==``, never hashed, and hold only immutable records of the model.

#: (tree, note path) -> (inputs, page text, unresolved links on the page).
_NOTE_PAGES: dict[tuple[Path, str], tuple[object, str, list[str]]] = {}
#: tree -> (inputs, generated pages, unresolved links per page).
_GENERATED_PAGES: dict[Path, tuple[object, dict[str, str]]] = {}


def _note_page(ctx: PageContext, note: Note, out: Path, layout: object) -> str:
    links = ctx.vault.links_by_source.get(note.path, ())
    if any(r.link.is_embed and r.resolution.target is not None and
           r.resolution.target.kind in ("note", "folder") for r in links):
        return render_note(ctx, note)  # transclusions depend on other notes' text
    inbound = sorted({(r.source, ctx.vault.notes[r.source].title)
                      for r in ctx.vault.inbound.get(note.path, ())})
    key = (note.digest, layout, [(r.resolution.status, r.resolution.target, r.resolution.anchor,
                                  r.resolution.detail) for r in links], inbound)
    page = ctx.page_of_note(note.path)
    cached = _NOTE_PAGES.get((out, note.path))
    if cached is not None and cached[0] == key:
        if cached[2]:
            ctx.broken[page].extend(cached[2])
        return cached[1]
    before = len(ctx.broken.get(page, ()))
    text = render_note(ctx, note)
    _NOTE_PAGES[(out, note.path)] = (key, text, list(ctx.broken.get(page, ())[before:]))
    return text


def _generated_pages(ctx: PageContext, out: Path, layout: object) -> dict[str, str]:
    trace = ctx.trace
    key = (layout, trace.controls.controls, trace.controls.prds, trace.tests,
           [id(f) for f in trace.flake.files], trace.settings.settings, trace.risks.rows,
           sorted(trace.mentions.items()), [(p, n.title) for p, n in ctx.vault.notes.items()])
    cached = _GENERATED_PAGES.get(out)
    if cached is not None and cached[0] == key:
        return cached[1]
    generated: dict[str, str] = {}
    for generate in (pages.framework_pages, pages.control_pages, pages.option_pages,
                     pages.test_pages, pages.source_pages, pages.settings_page,
                     pages.dashboard_page, pages.graph_page):
        generated.update(generate(ctx))
    _GENERATED_PAGES[out] = (key, generated)
    return generated


def _title_of(page_text: str) -> str:
    """The (escaped) title the page's own frontmatter gives it."""
    first = page_text.split("\n", 3)[1] if page_text.startswith("---") else ""
    return json.loads(first[len("title: "):]) if first.startswith("title: ") else ""


#: What the last compile in this process wrote: tree -> page -> bytes. ``kbgen serve``
#: compiles on every change; comparing with memory saves reading thousands of files.
_WRITTEN: dict[Path, dict[str, bytes]] = {}


def _sync(files: dict[str, bytes], out: Path, volatile: set[str] = frozenset()) -> None:
    """Make ``out`` hold exactly ``files``, writing only what changed (each write atomic).

    Unchanged files keep their modification time, so a live-reloading server that
    watches the tree sees only real changes (and does not rebuild in a loop).
    """
    out.mkdir(parents=True, exist_ok=True)
    previous = _WRITTEN.get(out, {})
    for rel, data in files.items():
        target = out / rel
        if rel not in volatile:
            if previous.get(rel) == data and target.exists():
                continue
            try:
                if target.read_bytes() == data:
                    continue
            except OSError:
                pass
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".kbgen-")
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, target)
    if previous and previous.keys() == files.keys():
        _WRITTEN[out] = files
        return  # the same pages as last time: nothing can be stale
    wanted = {out / rel for rel in files}
    for existing in sorted(out.rglob("*"), reverse=True):
        if existing.is_file() and existing not in wanted:
            existing.unlink()
        elif existing.is_dir() and not any(existing.iterdir()):
            existing.rmdir()
    _WRITTEN[out] = files


def _default_home(ctx: PageContext) -> str:
    lines = [pages.frontmatter("Home"), "# Compliance knowledge base", "",
             f"- [Coverage dashboard]({paths.GENERATED}/dashboard.md)",
             f"- [Findings]({paths.GENERATED}/findings.md)",
             f"- [Graph]({paths.GENERATED}/graph.md)"]
    return "\n".join(lines) + "\n"


def _ensure(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _replace_dir(new: Path, old: Path) -> None:
    """Swap ``new`` into place of ``old`` with two renames."""
    backup = old.with_name(old.name + ".old")
    shutil.rmtree(backup, ignore_errors=True)
    if old.exists():
        old.rename(backup)
    new.rename(old)
    shutil.rmtree(backup, ignore_errors=True)


def source_date_epoch(project_root: Path) -> str:
    """``SOURCE_DATE_EPOCH`` if set, else the last commit's time, else 0: builds repeat."""
    if os.environ.get("SOURCE_DATE_EPOCH"):
        return os.environ["SOURCE_DATE_EPOCH"]
    try:
        result = subprocess.run(["git", "log", "-1", "--format=%ct"], cwd=project_root,
                                capture_output=True, text=True, timeout=10, check=False)
        if result.returncode == 0 and result.stdout.strip().isdigit():
            return result.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return "0"


@dataclass
class BuildResult:
    run: Run
    tree: CompiledTree | None
    blocking: list[Finding]


def gate(result: Run, strict: bool) -> list[Finding]:
    """Findings that stop the build: errors, and with ``strict`` warnings too."""
    floor = Severity.WARNING if strict else Severity.ERROR
    return [f for f in result.findings if f.severity >= floor]


def build_site(vault_arg: str | None = None, config_arg: str | None = None, *,
               strict: bool = False, markdown_only: bool = False, site_dir: str | None = None,
               cache: bool = True) -> BuildResult:
    config = open_config(vault_arg, config_arg)
    result = run(config, commands=("audit", "trace"), cache=cache, cross_check=False)
    blocking = gate(result, strict)
    if blocking:
        return BuildResult(result, None, blocking)
    tree = compile_tree(result, config.project_root / TREE)
    state.CURRENT = result
    state.TREE = tree
    if strict and tree.broken:
        raise KbgenError(f"{sum(map(len, tree.broken.values()))} unresolved links on the site")
    if not markdown_only:
        render_with_mkdocs(config.project_root, site_dir)
    return BuildResult(result, tree, [])


def render_with_mkdocs(project_root: Path, site_dir: str | None = None) -> None:
    """Run MkDocs on the compiled tree into a temporary folder, then swap it in."""
    try:
        from mkdocs.commands.build import build
        from mkdocs.config import load_config
        from mkdocs.exceptions import MkDocsException
    except ImportError as exc:  # pragma: no cover - the site extra is not installed
        raise KbgenError("MkDocs is not installed (pip install 'kbgen[site]')") from exc
    config_file = project_root / "mkdocs.yml"
    if not config_file.is_file():
        raise KbgenError("no mkdocs.yml in the project", str(project_root))
    os.environ["SOURCE_DATE_EPOCH"] = source_date_epoch(project_root)
    os.environ["KBGEN_TREE_READY"] = "1"  # the mkdocs plugin need not compile again
    try:
        config = load_config(str(config_file))
        final = Path(site_dir).resolve() if site_dir else Path(config["site_dir"])
        staging = Path(tempfile.mkdtemp(prefix=".site-", dir=_ensure(final.parent)))
        config["site_dir"] = str(staging)
        try:
            build(config)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _replace_dir(staging, final)
    except MkDocsException as exc:
        raise KbgenError(f"mkdocs build failed: {exc}") from exc
    finally:
        os.environ.pop("KBGEN_TREE_READY", None)
