"""The one build path: gate, compile the model into a Markdown tree, render it.

:func:`build` runs the gate and compiles: plain Markdown with relative links, generated
pages, attachments and the graph data, renderer-independent (macros are expanded, so
the tree holds values, never templates). :func:`build_site` adds rendering with MkDocs
into a staging folder that replaces the previous site only when complete, so a
failed build leaves the old site untouched. ``kbgen build``, ``kbgen serve`` and the
mkdocs plugin all go through :func:`build`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kbgen.build_cache import BuildCache
from kbgen.config import Config
from kbgen.errors import KbgenError
from kbgen.fileio import atomic_write
from kbgen.project import Run, run
from kbgen.rules.base import Finding, Severity
from kbgen.site import pages, paths
from kbgen.site.render import PageContext, render_note
from kbgen.vault.records import Note, NoteProblemKind

#: Where the compiled Markdown tree is written, relative to the project root.
TREE_DIR = "build/docs"
#: Where rendered sites are staged before they replace the previous one (ignored by git).
STAGING_DIR = "build/staging"


@dataclass
class CompiledTree:
    root: Path
    pages: dict[str, str] = field(default_factory=dict)
    broken: dict[str, list[str]] = field(default_factory=dict)
    #: Folder of the tree -> the title of its index page (navigation section names).
    section_titles: dict[str, str] = field(default_factory=dict)


@dataclass
class SiteBuild:
    """A gated and compiled project: the check's result, and the tree unless blocked."""

    checked: Run
    tree: CompiledTree | None
    #: Findings that stopped the build (empty when the tree was compiled).
    blocking: list[Finding]


def gate(checked: Run, strict: bool) -> list[Finding]:
    """Findings that stop the build: errors, and with ``strict`` warnings too."""
    floor = Severity.WARNING if strict else Severity.ERROR
    return [f for f in checked.findings if f.severity >= floor]


def build(config: Config, *, strict: bool = False, cache: bool = True,
          memo: BuildCache | None = None) -> SiteBuild:
    """Run ``kbgen check`` and, when nothing blocks, compile the tree into ``build/docs``."""
    checked = run(config, commands=("audit", "trace"), cache=cache, memo=memo)
    blocking = gate(checked, strict)
    if blocking:
        return SiteBuild(checked, None, blocking)
    tree = compile_tree(checked, config.project_root / TREE_DIR, memo)
    if strict and tree.broken:
        raise KbgenError(f"{sum(map(len, tree.broken.values()))} unresolved links on the site")
    return SiteBuild(checked, tree, [])


def build_site(config: Config, *, strict: bool = False, markdown_only: bool = False,
               site_dir: str | None = None, cache: bool = True) -> SiteBuild:
    """:func:`build`, then render the tree with MkDocs (unless ``markdown_only``)."""
    result = build(config, strict=strict, cache=cache)
    if result.tree is not None and not markdown_only:
        render_with_mkdocs(config.project_root, result, site_dir)
    return result


def compile_tree(checked: Run, out: Path, memo: BuildCache | None = None) -> CompiledTree:
    """Write every page of the site as Markdown under ``out`` (only changed files).

    With ``memo`` (a long-lived process), a page is compiled again only when what it is
    made of changed, and files are compared with what the last build wrote."""
    vault, trace = checked.vault, checked.trace
    assert trace is not None, "the site needs the traceability model"
    ctx = PageContext(vault, trace)
    layout = (tuple(vault.notes), trace.risks.path)
    texts: dict[str, str] = {}
    for path, note in vault.notes.items():
        if any(p.kind is NoteProblemKind.BINARY for p in note.problems):
            continue
        texts[ctx.page_of_note(path)] = _note_page(ctx, note, layout, memo)
    if memo is not None:
        memo.evict(memo.note_pages, vault.notes)
    if "index.md" not in texts:
        texts["index.md"] = _default_home(ctx)
    texts.update(_generated_pages(ctx, layout, memo))
    texts.update(pages.findings_page(ctx, checked.findings))
    texts.update(pages.section_indexes(ctx, texts))

    files: dict[str, bytes] = {page: text.encode("utf-8") for page, text in texts.items()}
    for attachment in sorted(vault.attachments):
        try:
            files[attachment] = (vault.root / attachment).read_bytes()
        except OSError as exc:  # removed or replaced since the vault was listed
            raise KbgenError(f"cannot read attachment: {exc.strerror}",
                             vault.display_path(attachment)) from exc
    data = json.dumps(pages.graph_data(ctx), separators=(",", ":"), sort_keys=True)
    files[f"{paths.GENERATED}/graph-data.js"] = f"window.KB_GRAPH = {data};\n".encode()
    _sync(files, out, memo.written if memo is not None else {})
    titles = {page.rsplit("/", 1)[0]: _title_of(text) for page, text in texts.items()
              if page.endswith("/index.md")}
    return CompiledTree(out, texts, dict(ctx.broken), titles)


def _note_page(ctx: PageContext, note: Note, layout: object, memo: BuildCache | None) -> str:
    links = ctx.vault.links_by_source.get(note.path, ())
    if memo is None or note.macros or any(
            r.link.is_embed and r.resolution.target is not None and
            r.resolution.target.kind in ("note", "folder") for r in links):
        # Transclusions depend on other notes' text, macros on the whole model.
        return render_note(ctx, note)
    inbound = sorted({(r.source, ctx.vault.notes[r.source].title)
                      for r in ctx.vault.inbound.get(note.path, ())})
    key = (note.digest, layout, [(r.resolution.status, r.resolution.target, r.resolution.anchor,
                                  r.resolution.detail) for r in links], inbound)
    page = ctx.page_of_note(note.path)
    cached = memo.note_pages.get(note.path)
    if cached is not None and cached[0] == key:
        if cached[2]:
            ctx.broken[page].extend(cached[2])
        return cached[1]
    before = len(ctx.broken.get(page, ()))
    text = render_note(ctx, note)
    memo.note_pages[note.path] = (key, text, list(ctx.broken.get(page, ())[before:]))
    return text


def _generated_pages(ctx: PageContext, layout: object,
                     memo: BuildCache | None) -> dict[str, str]:
    trace = ctx.trace
    key = (layout, trace.controls.controls, trace.controls.prds, trace.tests, trace.evidence,
           trace.flake.files, trace.settings.settings, trace.risks.rows,
           sorted(trace.mentions.items()), [(p, n.title) for p, n in ctx.vault.notes.items()])
    if memo is not None and memo.generated_pages is not None and \
            memo.generated_pages[0] == key:
        return memo.generated_pages[1]
    generated: dict[str, str] = {}
    for generate in (pages.framework_pages, pages.control_pages, pages.option_pages,
                     pages.test_pages, pages.source_pages, pages.settings_page,
                     pages.dashboard_page, pages.status_pages, pages.graph_page):
        generated.update(generate(ctx))
    if memo is not None:
        memo.generated_pages = (key, generated)
    return generated


def _title_of(page_text: str) -> str:
    """The (escaped) title the page's own frontmatter gives it (a YAML string that
    :func:`kbgen.site.render.frontmatter` wrote)."""
    first = page_text.split("\n", 3)[1] if page_text.startswith("---") else ""
    if not first.startswith("title: "):
        return ""
    title = yaml.safe_load(first[len("title: "):])
    return title if isinstance(title, str) else ""


def _sync(files: dict[str, bytes], out: Path, written: dict[str, bytes]) -> None:
    """Make ``out`` hold exactly ``files``, writing only what changed (each write atomic).

    Unchanged files keep their modification time, so a live-reloading server that
    watches the tree sees only real changes. ``written`` is what the previous call
    wrote (kept by a long-lived process; comparing with memory saves reading thousands
    of files) and is updated in place.
    """
    out.mkdir(parents=True, exist_ok=True)
    same_pages = bool(written) and written.keys() == files.keys()
    for rel, data in files.items():
        target = out / rel
        if written.get(rel) == data and target.exists():
            continue
        try:
            if target.read_bytes() == data:
                continue
        except OSError:
            pass
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, data)
    written.clear()
    written.update(files)
    if same_pages:
        return  # the same pages as last time: nothing can be stale
    wanted = {out / rel for rel in files}
    for existing in sorted(out.rglob("*"), reverse=True):
        if existing.is_file() and existing not in wanted:
            existing.unlink()
        elif existing.is_dir() and not any(existing.iterdir()):
            existing.rmdir()


def _default_home(ctx: PageContext) -> str:
    lines = [pages.frontmatter("Home"), "# Compliance knowledge base", "",
             f"- [Coverage dashboard]({paths.GENERATED}/dashboard.md)",
             f"- [Findings]({paths.GENERATED}/findings.md)",
             f"- [Graph]({paths.GENERATED}/graph.md)"]
    return "\n".join(lines) + "\n"


def _replace_dir(new: Path, old: Path, staging: Path) -> None:
    """Swap ``new`` into place of ``old`` with two renames (the old one via ``staging``)."""
    backup = Path(tempfile.mkdtemp(prefix=f"old-{os.getpid()}-", dir=staging))
    backup.rmdir()
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


def _staging_area(project_root: Path, final: Path) -> Path:
    """A folder for staging on the same file system as ``final`` (renames must not cross
    devices): ``build/staging`` in the project when it is, else beside ``final``.
    Folders left by builds that were killed (their process is gone) are removed."""
    area = project_root / STAGING_DIR
    area.mkdir(parents=True, exist_ok=True)
    final.parent.mkdir(parents=True, exist_ok=True)
    if area.stat().st_dev != final.parent.stat().st_dev:
        area = final.parent / ".kbgen-staging"
        area.mkdir(exist_ok=True)
    for leftover in area.iterdir():
        owner = leftover.name.split("-")[1] if leftover.name.count("-") >= 2 else ""
        if owner.isdigit() and not _alive(int(owner)):
            shutil.rmtree(leftover, ignore_errors=True)
    return area


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def load_mkdocs_config(project_root: Path, prepared: SiteBuild | None = None, **overrides):
    """MkDocs' configuration of the project, with the kbgen plugin handed ``prepared``
    (an already gated and compiled build) so that it does not compile again."""
    try:
        from mkdocs.config import load_config
        from mkdocs.exceptions import ConfigurationError
    except ImportError as exc:  # pragma: no cover - the site extra is not installed
        raise KbgenError("MkDocs is not installed (pip install 'kbgen[site]')") from exc
    config_file = project_root / "mkdocs.yml"
    if not config_file.is_file():
        raise KbgenError("no mkdocs.yml in the project", str(project_root))
    try:
        config = load_config(str(config_file), **overrides)
    except ConfigurationError as exc:
        raise KbgenError(f"invalid MkDocs configuration: {exc}", str(config_file)) from exc
    plugin = config.plugins.get("kbgen")
    if plugin is None:
        raise KbgenError("mkdocs.yml does not enable the kbgen plugin (plugins: [kbgen])",
                         str(config_file))
    plugin.prepared = prepared
    return config


def render_with_mkdocs(project_root: Path, prepared: SiteBuild,
                       site_dir: str | None = None) -> None:
    """Render the compiled tree with MkDocs into a staging folder, then swap it in."""
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.exceptions import MkDocsException

    os.environ["SOURCE_DATE_EPOCH"] = source_date_epoch(project_root)
    config = load_mkdocs_config(project_root, prepared)
    final = Path(site_dir).resolve() if site_dir else Path(config["site_dir"])
    area = _staging_area(project_root, final)
    staging = Path(tempfile.mkdtemp(prefix=f"site-{os.getpid()}-", dir=area))
    config["site_dir"] = str(staging)
    try:
        mkdocs_build(config)
        _replace_dir(staging, final, area)
    except MkDocsException as exc:
        raise KbgenError(f"mkdocs build failed: {exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
