"""The one build path: gate, compile the model into a Markdown tree, render it.

:func:`build` runs the gate and compiles: plain Markdown with relative links, generated
pages, attachments and the graph data, renderer-independent (macros are expanded, so
the tree holds values, never templates). :func:`build_site` adds rendering with MkDocs
into a staging folder that replaces the previous site only when complete, so a
failed build leaves the old site untouched. ``kbgen build``, ``kbgen serve`` and the
mkdocs plugin all go through :func:`build`.
"""

from __future__ import annotations

import html
import json
import os
import posixpath
import re
import shutil
import subprocess
import sys
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
from kbgen.site import pages, paths, reader
from kbgen.site.defaults import mkdocs_config_file
from kbgen.site.render import PageContext, frontmatter, render_note
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
    #: Findings that would have stopped it, published anyway (``--fail-on never``); every
    #: page then says so in a banner.
    overridden: list[Finding] = field(default_factory=list)


def gate(checked: Run, strict: bool) -> list[Finding]:
    """Findings that stop the build: errors, and with ``strict`` warnings too."""
    floor = Severity.WARNING if strict else Severity.ERROR
    return [f for f in checked.findings if f.severity >= floor]


#: What ``kbgen build --fail-on`` takes: the lowest severity that stops the build, or
#: ``never`` (publish anyway, with a banner on every page: for teams adopting kbgen on a
#: repository whose findings they are still working through).
FAIL_ON = ("error", "warning", "never")


def build(
    config: Config,
    *,
    strict: bool = False,
    cache: bool = True,
    memo: BuildCache | None = None,
    fail_on: str = "error",
) -> SiteBuild:
    """Run ``kbgen check`` and, unless findings block it, compile the tree into
    ``build/docs``. ``fail_on="warning"`` is ``strict``; ``"never"`` publishes anyway."""
    if fail_on not in FAIL_ON:
        raise KbgenError(f"fail-on must be one of {', '.join(FAIL_ON)}, not {fail_on!r}")
    strict = strict or fail_on == "warning"
    checked = run(config, commands=("audit", "trace"), cache=cache, memo=memo)
    blocking = gate(checked, strict)
    if blocking and fail_on != "never":
        return SiteBuild(checked, None, blocking)
    tree = compile_tree(checked, config.project_root / TREE_DIR, memo, overridden=blocking)
    if strict and tree.broken and fail_on != "never":
        raise KbgenError(f"{sum(map(len, tree.broken.values()))} unresolved links on the site")
    return SiteBuild(checked, tree, [], overridden=blocking)


#: The renderers ``kbgen build --renderer`` can hand the compiled tree to.
RENDERERS = ("mkdocs", "zensical")


def build_site(
    config: Config,
    *,
    strict: bool = False,
    markdown_only: bool = False,
    site_dir: str | None = None,
    cache: bool = True,
    renderer: str = "mkdocs",
    fail_on: str = "error",
) -> SiteBuild:
    """:func:`build`, then render the tree with MkDocs or Zensical (unless
    ``markdown_only``)."""
    if renderer not in RENDERERS:
        raise KbgenError(f"unknown renderer {renderer!r} (one of {', '.join(RENDERERS)})")
    result = build(config, strict=strict, cache=cache, fail_on=fail_on)
    if result.tree is not None and not markdown_only:
        render = render_with_zensical if renderer == "zensical" else render_with_mkdocs
        render(config.project_root, result, site_dir)
    return result


def compile_tree(
    checked: Run,
    out: Path,
    memo: BuildCache | None = None,
    overridden: list[Finding] | None = None,
) -> CompiledTree:
    """Write every page of the site as Markdown under ``out`` (only changed files).

    With ``memo`` (a long-lived process), a page is compiled again only when what it is
    made of changed, and files are compared with what the last build wrote. With
    ``overridden`` (findings that fail the gate, published anyway) every page opens with
    a banner that says so."""
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
    reader.annotate(ctx, texts)
    if overridden:
        for page, text in texts.items():
            texts[page] = _with_banner(text, page, overridden)

    files: dict[str, bytes] = {page: text.encode("utf-8") for page, text in texts.items()}
    files.update(reader.exports(ctx))
    for attachment in sorted(vault.attachments):
        try:
            files[attachment] = vault.file(attachment).read_bytes()
        except OSError as exc:  # removed or replaced since the vault was listed
            raise KbgenError(
                f"cannot read attachment: {exc.strerror}", vault.display_path(attachment)
            ) from exc
    data = json.dumps(pages.graph_data(ctx), separators=(",", ":"), sort_keys=True)
    files[f"{paths.GENERATED}/graph-data.js"] = f"window.KB_GRAPH = {data};\n".encode()
    _sync(files, out, memo.written if memo is not None else {})
    titles = {
        page.rsplit("/", 1)[0]: _title_of(text)
        for page, text in texts.items()
        if page.endswith("/index.md")
    }
    return CompiledTree(out, texts, dict(ctx.broken), titles)


def _with_banner(text: str, page: str, findings: list[Finding]) -> str:
    """``text`` with an admonition after its frontmatter: the site was published although
    ``findings`` fail the gate. Plain Markdown (every renderer shows it); only counts and
    kbgen's own words, no content of a note."""
    errors = sum(f.severity >= Severity.ERROR for f in findings)
    others = len(findings) - errors
    counts = f"{errors} error{'s' if errors != 1 else ''}"
    if others:
        counts += f" and {others} warning{'s' if others != 1 else ''}"
    findings_page = posixpath.relpath(
        f"{paths.GENERATED}/findings.md", posixpath.dirname(page) or "."
    )
    banner = (
        f'!!! danger "Published with {counts} that fail the gate"\n'
        "    This site was built with `kbgen build --fail-on never`. Until these findings "
        "are fixed, what it shows may not be true: statuses, options and tests can be "
        f"missing or wrong. See [the findings]({findings_page}).\n\n"
    )
    head, body = reader.split_frontmatter(text)
    if head:
        return head + "\n" + banner + body.lstrip("\n")
    return banner + text


def _note_page(ctx: PageContext, note: Note, layout: object, memo: BuildCache | None) -> str:
    links = ctx.vault.links_by_source.get(note.path, ())
    if (
        memo is None
        or note.macros
        or any(
            r.link.is_embed
            and r.resolution.target is not None
            and r.resolution.target.kind in ("note", "folder")
            for r in links
        )
    ):
        # Transclusions depend on other notes' text, macros on the whole model.
        return render_note(ctx, note)
    inbound = sorted(
        {(r.source, ctx.vault.notes[r.source].title) for r in ctx.vault.inbound.get(note.path, ())}
    )
    key = (
        note.digest,
        layout,
        [
            (r.resolution.status, r.resolution.target, r.resolution.anchor, r.resolution.detail)
            for r in links
        ],
        inbound,
        sorted({s.text.strip() for s in note.code_spans} & ctx.option_paths),
    )
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


def _generated_pages(ctx: PageContext, layout: object, memo: BuildCache | None) -> dict[str, str]:
    trace = ctx.trace
    key = (
        layout,
        trace.controls.controls,
        trace.controls.prds,
        trace.tests,
        trace.evidence,
        trace.flake.files,
        trace.settings.settings,
        trace.risks.rows,
        sorted(trace.mentions.items()),
        [(p, n.title) for p, n in ctx.vault.notes.items()],
        ctx.option_paths,
    )
    if memo is not None and memo.generated_pages is not None and memo.generated_pages[0] == key:
        return memo.generated_pages[1]
    generated: dict[str, str] = {}
    for generate in (
        pages.framework_pages,
        pages.control_pages,
        pages.option_pages,
        pages.test_pages,
        pages.source_pages,
        pages.settings_page,
        pages.dashboard_page,
        pages.status_pages,
        pages.graph_page,
        pages.risk_pages,
        pages.tag_pages,
    ):
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
    title = yaml.safe_load(first[len("title: ") :])
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
    lines = [
        frontmatter("Home"),
        "# Compliance knowledge base",
        "",
        f"- [Coverage dashboard]({paths.GENERATED}/dashboard.md)",
        f"- [Findings]({paths.GENERATED}/findings.md)",
        f"- [Graph]({paths.GENERATED}/graph.md)",
    ]
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
        result = subprocess.run(
            ["git", "log", "-1", "--format=%ct"],
            cwd=project_root,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
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
    config_file = mkdocs_config_file(project_root)
    try:
        config = load_config(str(config_file), **overrides)
    except ConfigurationError as exc:
        raise KbgenError(f"invalid MkDocs configuration: {exc}", str(config_file)) from exc
    plugin = config.plugins.get("kbgen")
    if plugin is None:
        raise KbgenError(
            "mkdocs.yml does not enable the kbgen plugin (plugins: [kbgen])", str(config_file)
        )
    plugin.prepared = prepared
    return config


def render_with_mkdocs(
    project_root: Path, prepared: SiteBuild, site_dir: str | None = None
) -> None:
    """Render the compiled tree with MkDocs into a staging folder, then swap it in."""
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.exceptions import MkDocsException

    config = load_mkdocs_config(project_root, prepared)
    final = Path(site_dir).resolve() if site_dir else Path(config["site_dir"])
    area = _staging_area(project_root, final)
    staging = Path(tempfile.mkdtemp(prefix=f"site-{os.getpid()}-", dir=area))
    config["site_dir"] = str(staging)
    # MkDocs reads the build date from the environment: set it for this build only (a
    # long-lived process, such as kbgen serve or a test run, must not keep it).
    before = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = source_date_epoch(project_root)
    try:
        mkdocs_build(config)
        _replace_dir(staging, final, area)
    except MkDocsException as exc:
        raise KbgenError(f"mkdocs build failed: {exc}") from exc
    finally:
        if before is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = before
        shutil.rmtree(staging, ignore_errors=True)


#: Files of the theme's custom folder that are templates of MkDocs' Jinja context (they
#: read ``page.file`` and the like, which Zensical's templates do not have).
_TEMPLATE_SUFFIXES = (".html", ".xml")


def zensical_config(
    project_root: Path,
    tree: CompiledTree | None = None,
    docs_dir: str = "docs",
    site_dir: str = "site",
) -> dict:
    """The project's ``mkdocs.yml`` as Zensical takes it: the already compiled tree as
    ``docs_dir``, no ``kbgen`` plugin (the tree needs no compiling) and no theme
    ``custom_dir`` (its templates are MkDocs templates; its stylesheets and scripts are
    copied into the tree by :func:`render_with_zensical`). With ``tree``, an explicit
    ``nav`` names each section after its index page, as the plugin's ``on_nav`` does
    for MkDocs."""
    config_file = mkdocs_config_file(project_root)
    try:
        config = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise KbgenError(f"cannot read the MkDocs configuration: {exc}", str(config_file)) from exc
    if not isinstance(config, dict):
        raise KbgenError("mkdocs.yml is not a mapping", str(config_file))
    config = {**config, "docs_dir": docs_dir, "site_dir": site_dir}
    config["plugins"] = [
        p
        for p in config.get("plugins") or ()
        if (next(iter(p)) if isinstance(p, dict) else p) != "kbgen"
    ]
    theme = dict(config.get("theme") or {"name": "material"})
    theme.pop("custom_dir", None)
    config["theme"] = theme
    if tree is not None and "nav" not in config:
        config["nav"] = navigation(sorted(tree.pages), tree.section_titles)
    return config


def navigation(pages: list[str], titles: dict[str, str], folder: str = "") -> list:
    """A MkDocs-style ``nav`` of the tree's ``pages`` under ``folder``: its ``index.md``
    first, then its pages and then its sub-folders by name (as MkDocs orders them), each
    sub-folder a section titled after its index page (``titles``, HTML-escaped as the
    frontmatter holds them)."""
    prefix = f"{folder}/" if folder else ""
    here = [p for p in pages if p.startswith(prefix)]
    children: dict[str, list[str]] = {}
    for page in here:
        head, slash, _ = page[len(prefix) :].partition("/")
        children.setdefault(head + slash, []).append(page)
    items: list = [f"{prefix}index.md"] if "index.md" in children else []
    for name in sorted(children, key=lambda n: (n.endswith("/"), n)):  # pages, then folders
        if name == "index.md":
            continue
        if not name.endswith("/"):
            items.append(prefix + name)
            continue
        sub = prefix + name[:-1]
        title = html.unescape(titles.get(sub) or "") or name[:-1].replace("-", " ").capitalize()
        items.append({title: navigation(children[name], titles, sub)})
    return items


def render_with_zensical(
    project_root: Path, prepared: SiteBuild, site_dir: str | None = None
) -> None:
    """Render the compiled tree with Zensical (``python -m zensical build``, a separate
    process) into a staging folder, then swap it in like :func:`render_with_mkdocs`.

    Zensical requires its docs and site folders inside the folder of its configuration
    file, so the staging folder is a small project of its own: a copy of the tree plus
    the theme's stylesheets and scripts (``docs/``), ``zensical.yml`` from
    :func:`zensical_config`, and the rendered ``site/``."""
    import importlib.util

    if importlib.util.find_spec("zensical") is None:
        raise KbgenError("Zensical is not installed (pip install 'kbgen[zensical]')")
    assert prepared.tree is not None, "render a compiled build"
    config = zensical_config(project_root, prepared.tree)
    mkdocs_yml = yaml.safe_load(mkdocs_config_file(project_root).read_text(encoding="utf-8"))
    final = (
        Path(site_dir).resolve()
        if site_dir
        else (project_root / (mkdocs_yml.get("site_dir") or "site")).resolve()
    )
    area = _staging_area(project_root, final)
    staging = Path(tempfile.mkdtemp(prefix=f"zensical-{os.getpid()}-", dir=area))
    try:
        shutil.copytree(prepared.tree.root, staging / "docs")
        custom = (mkdocs_yml.get("theme") or {}).get("custom_dir")
        if custom and (project_root / custom).is_dir():
            shutil.copytree(
                project_root / custom,
                staging / "docs",
                dirs_exist_ok=True,
                ignore=lambda _folder, names: [n for n in names if n.endswith(_TEMPLATE_SUFFIXES)],
            )
        (staging / "zensical.yml").write_text(
            yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8"
        )
        env = {**os.environ, "SOURCE_DATE_EPOCH": source_date_epoch(project_root)}
        result = subprocess.run(
            [sys.executable, "-m", "zensical", "build", "-f", str(staging / "zensical.yml")],
            cwd=staging,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0 or not (staging / "site").is_dir():
            detail = (result.stderr or result.stdout).strip().splitlines()[-5:]
            raise KbgenError("zensical build failed: " + " / ".join(detail))
        for page in (staging / "site").rglob("*.html"):
            html = page.read_text(encoding="utf-8")
            page.write_text(compact_navigation(html), encoding="utf-8")
        _replace_dir(staging / "site", final, area)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


_NAV_TAG = re.compile(r"<(/?)nav\b")
_SPACE_RUN = re.compile(r"\s+")


def compact_navigation(html: str) -> str:
    """``html`` with every run of white space inside its ``<nav>`` elements cut to one
    character (a newline if it held one). Material indents its navigation templates deeply
    and inlines the current section's navigation into every page; a browser collapses the
    white space anyway, and a navigation holds no ``<pre>``."""
    out, pos, depth, start = [], 0, 0, 0
    for match in _NAV_TAG.finditer(html):
        if not match.group(1):
            if depth == 0:
                start = match.start()
            depth += 1
        elif depth:
            depth -= 1
            if depth == 0:
                out += [html[pos:start], _SPACE_RUN.sub(_one_space, html[start : match.end()])]
                pos = match.end()
    out.append(html[pos:])
    return "".join(out)


def _one_space(run: re.Match[str]) -> str:
    return "\n" if "\n" in run.group() else " "
