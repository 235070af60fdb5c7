"""Content is data, never code (issue 11): Jinja in any field never runs, every payload
shows as written, the compiled tree holds no template, and the parse cache never
unpickles or trusts a malformed entry.

The payload project (tests/security/payloads.py) holds every payload in every field
that reaches a page; it is built once, by ``kbgen build`` in a subprocess.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import pickle
from collections import Counter
from pathlib import Path

import pytest
import yaml

from kbgen import __version__
from tests.helpers import write_files
from tests.security import payloads as P
from tests.security.site_html import (
    html_of,
    outside_code,
    payload_site,
    read_page,
    run_kbgen,
    split_frontmatter,
)
from tests.site_project import make_site_project


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return payload_site(tmp_path_factory)


# -- the build ------------------------------------------------------------------------


@pytest.mark.slow
def test_payload_project_builds(built):
    # Guards against a payload making the build crash or the gate refuse the project
    # (then nothing below would be checked).
    assert built.result.returncode == 0, built.result.stdout + built.result.stderr
    assert (built.site / "index.html").is_file()


@pytest.mark.slow
def test_no_payload_ran(built, tmp_path_factory):
    # Guards against any template evaluation of content (mkdocs-macros, a Jinja render of
    # a page, title or macro value, a renderer's own templating): every Jinja payload
    # touches the marker through os.popen.
    marker = built.manifest.marker
    assert not marker.exists()
    base = Path(tmp_path_factory.getbasetemp())
    assert not list(base.rglob(marker.name)), "a payload ran (marker found)"
    # ... and the payloads were really written where they could have run.
    body = (built.root / "vault" / P.NOTES / "p01.md").read_text(encoding="utf-8")
    assert f"popen('touch {marker}')" in body


@pytest.mark.slow
def test_every_field_is_covered(built):
    # Guards the test itself: each field of the brief gets at least one payload of each kind.
    kinds = {(p.kind, f) for p in built.manifest.payloads for f in p.fields}
    for field in P.ALL_FIELDS:
        for kind in ("jinja", "script", "plain"):
            assert (kind, field) in kinds, (kind, field)
    assert {"javascript-url", "mouseover-quote"} <= set(built.manifest.file_names)


# -- shown as written -----------------------------------------------------------------

#: Payloads that hold Markdown syntax an author may mean (``__init__`` is strong emphasis
#: in CommonMark and in Obsidian): where the text is the author's Markdown (a note's body,
#: heading or table), they are rendered, not shown character for character. Everywhere
#: kbgen writes them (titles, generated pages, macro values) they are shown as written.
RENDERED_AS_MARKDOWN = {"jinja-for-subclasses", "jinja-set-statement"}

#: Placements on the author's own tables that hit known bugs (see the xfail tests below):
#: Python-Markdown pairs backtick runs across the cells of a row.
BACKTICKS_IN_AUTHOR_TABLES = {
    ("backticks-3", "registers/residual-risks.md"),
    ("backticks-4", "registers/residual-risks.md"),
    ("backticks-3", "prd/payloads.md"),
    ("backticks-4", "prd/payloads.md"),
}
#: The attr_list extension turns ``{: onclick=... }`` at the end of a cell that holds
#: something before it (the policy cell: a link first) into attributes of the cell; see
#: test_attr_list_in_a_note_adds_no_handler in test_script_injection.py.
ATTR_LIST_IN_AUTHOR_TABLES = {("attr-list", P.POLICY_CELL, "prd/payloads.md")}


def _checked(placement: P.Placement) -> bool:
    if placement.author and placement.payload in RENDERED_AS_MARKDOWN:
        return False
    if (placement.payload, placement.field, placement.page) in ATTR_LIST_IN_AUTHOR_TABLES:
        return False
    return (placement.payload, placement.page) not in BACKTICKS_IN_AUTHOR_TABLES


def _expected(manifest: P.Manifest, field: str) -> dict[tuple[str, str, str], int]:
    """(page, where, text) -> how many times the page must show it, for one field. The
    count includes every placement on the same page that holds the text (the PRD shows a
    payload in three cells: three times; "javascript:alert(1)" is also inside
    "](javascript:alert(1))": once more), so a missing one cannot hide behind another."""
    wanted = {
        (p.page, p.where, p.shown) for p in manifest.placements if p.field == field and _checked(p)
    }
    return {
        (page, where, shown): sum(
            p.shown.count(shown)
            for p in manifest.placements
            if (p.page, p.where) == (page, where) and _checked(p)
        )
        for page, where, shown in wanted
    }


def _strings(value) -> list[str]:
    """Every string in a YAML value, however nested."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings(k) + _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


@pytest.mark.slow
@pytest.mark.parametrize("field", sorted(P.ALL_FIELDS - {P.SETTING_ID}))
def test_payloads_show_as_written_in_the_markdown_tree(built, field):
    # Guards against a field being dropped, truncated or rewritten on its way into the
    # compiled tree. In the tree, text is escaped with character references (&#123;), so
    # "as written" means: once they are decoded. Titles and descriptions are YAML
    # frontmatter holding HTML-escaped text (the theme inserts them unescaped); so are the
    # display texts of tags.
    expected = _expected(built.manifest, field)
    assert expected, f"no placement checks {field}"
    missing = []
    for page, where, shown in sorted(expected):
        text = (built.tree / built.page(page)).read_text(encoding="utf-8")
        front, body = split_frontmatter(text)
        if where in ("title", "h1", "meta"):
            key = "description" if where == "meta" else "title"
            value = html.unescape(yaml.safe_load(front).get(key) or "")
            if value != shown:
                missing.append((page, where, shown, value))
            continue
        if where == "tag":
            if shown not in {html.unescape(t) for t in _strings(yaml.safe_load(front))}:
                missing.append((page, where, shown))
            continue
        forms = [
            p.markdown
            for p in built.manifest.placements
            if (p.page, p.where, p.shown) == (page, where, shown) and _checked(p)
        ]
        needed = Counter(forms)
        decoded = html.unescape(body)
        for form, times in needed.items():
            if decoded.count(form) < times:
                missing.append((page, where, form, decoded.count(form), times))
    assert not missing, missing


@pytest.mark.slow
@pytest.mark.parametrize("field", sorted(P.ALL_FIELDS - {P.SETTING_ID}))
def test_payloads_show_as_written_in_the_html(built, field):
    # Guards against escaping that is missing (the payload turns into markup and its text
    # disappears) or doubled (the reader sees &amp;lt;), per context:
    #   text  - the decoded text of the page's <article>, once per placement;
    #   code  - the decoded text of <code>/<pre> in the article (option defaults and
    #           setting values are shown as JSON there, Nix sources as written);
    #   title - the <title> element: "<payload> - <site name>";
    #   meta  - <meta name="description" content="..."> decoded;
    #   h1    - the heading the theme writes from the title, in the article;
    #   tag   - the page's list of tags, in the article.
    expected = _expected(built.manifest, field)
    wrong = []
    for (page, where, shown), count in sorted(expected.items()):
        url = html_of(built.page(page))
        assert (built.site / url).is_file(), url
        seen = read_page(built.site, url)
        if where == "title":
            ok = seen.title.startswith(shown + " - ")
            found = seen.title
        elif where == "meta":
            ok, found = seen.description == shown, seen.description
        else:
            within = seen.code if where == "code" else seen.article
            found = within.count(shown)
            ok = found >= count
        if not ok:
            wrong.append((url, where, shown, found))
    assert not wrong, wrong


@pytest.mark.slow
def test_file_name_payloads_are_pages_at_their_own_path(built):
    # Guards against a file name being mangled, or escaped into a different page name:
    # each note's page is the note's name with .html (links to it are percent-encoded).
    for rel in built.manifest.file_names.values():
        assert (built.tree / rel).is_file(), rel
        assert (built.site / html_of(rel)).is_file(), rel


@pytest.mark.slow
def test_four_backtick_line_in_a_nix_comment_stays_in_the_code_block(built):
    # Guards escape.fenced: the source page's fence is longer than any backtick run of
    # the file, so a line of four backticks cannot close it and the markup after it stays
    # code (shown, not rendered).
    page = built.page(P.source_page(P.FOUR_BACKTICKS_MODULE))
    markdown = (built.tree / page).read_text(encoding="utf-8")
    fences = [line for line in markdown.split("\n") if line.startswith("`````")]
    assert len(fences) == 2 and fences[0].startswith("`````nix"), fences
    seen = read_page(built.site, html_of(page))
    assert "````\n<script>alert(1)</script>\n````" in seen.code
    assert "<script>alert" not in (built.site / html_of(page)).read_text(encoding="utf-8")


@pytest.mark.slow
def test_setting_ids_become_safe_anchors_only(built):
    # A setting id is not shown; it becomes the anchor of its heading. Guards against an
    # id reaching the page as markup: every id on the settings page is [a-z0-9_-].
    import re

    page = (built.site / html_of(built.page(P.SETTINGS_PAGE))).read_text(encoding="utf-8")
    ids = re.findall(r'\sid="([^"]*)"', page)
    assert ids
    bad = [i for i in ids if not re.fullmatch(r"[A-Za-z0-9_:.-]+", i)]
    assert not bad, bad


@pytest.mark.slow
def test_macro_like_text_is_not_evaluated(built):
    # Guards against {{ 5+5 }} being evaluated (it would show 10) and against {{ self }},
    # {{ config }} and {{ request }} showing an object's repr instead of the text.
    page = read_page(built.site, html_of(f"{P.NOTES}/p{_number(built, 'jinja-arithmetic')}.md"))
    lines = [line.strip() for line in page.article.split("\n")]
    assert "{{ 5+5 }}" in lines and "10" not in lines  # the paragraph, as written
    for pid in ("jinja-self", "jinja-config", "jinja-request"):
        text = read_page(built.site, html_of(f"{P.NOTES}/p{_number(built, pid)}.md")).article
        assert "object at 0x" not in text and "<Config" not in text and "Undefined" not in text


def _number(built, payload_id: str) -> str:
    ids = [p.id for p in built.manifest.payloads]
    return f"{ids.index(payload_id) + 1:02d}"


# -- the tree holds no template ---------------------------------------------------------


def _raw_template(built, *, frontmatter: bool, markers: tuple[str, ...]) -> list:
    found = []
    for path in sorted(built.tree.rglob("*.md")):
        front, body = split_frontmatter(path.read_text(encoding="utf-8"))
        text = front if frontmatter else outside_code(body)
        for number, line in enumerate(text.split("\n"), start=1):
            if any(m in line for m in markers):
                found.append(f"{path.relative_to(built.tree)}:{number}: {line[:100]}")
    return found


@pytest.mark.slow
def test_compiled_bodies_hold_no_raw_expression(built):
    # Guards against content reaching the tree as a live "{{ ... }}" (outside code), which
    # a Jinja-based renderer (mkdocs-macros, which this pipeline used before) would run.
    found = _raw_template(built, frontmatter=False, markers=("{{",))
    assert not found, found[:20]


@pytest.mark.slow
def test_compiled_bodies_hold_no_raw_statement(built):
    found = _raw_template(built, frontmatter=False, markers=("{%",))
    assert not found, found[:20]


@pytest.mark.slow
def test_compiled_frontmatter_holds_no_raw_template(built):
    found = _raw_template(built, frontmatter=True, markers=("{{", "{%"))
    assert not found, found[:20]


# -- known bugs on the author's own tables ------------------------------------------------


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason=(
        "BUG: a backtick run in two cells of a table row: kbgen (markdown-it, GFM tables) "
        "splits the row at the pipes first and reads the backticks as text; Python-Markdown, "
        "which renders the site, pairs the runs into one code span across the cells, so the "
        "register and PRD pages show a different table than the one kbgen checked"
    ),
)
def test_backtick_runs_in_author_tables_show_as_written(built):
    wrong = []
    for payload_id, page in sorted(BACKTICKS_IN_AUTHOR_TABLES):
        text = next(p.text for p in built.manifest.payloads if p.id == payload_id)
        seen = read_page(built.site, html_of(built.page(page))).article
        times = sum(
            1 for p in built.manifest.placements if (p.payload, p.page) == (payload_id, page)
        )
        if seen.count(text) < times:
            wrong.append((page, text, seen.count(text), times))
    assert not wrong, wrong


def test_backtick_run_in_a_table_cell_is_not_a_malformed_row(tmp_path):
    root = make_site_project(tmp_path / "project")
    prd = root / "vault/prd/nist.md"
    prd.write_text(prd.read_text().replace("| Remote access |", "| Remote ``` access |"))
    result = run_kbgen(root, "check", "--no-nix-parse", "--select", "TR103", "--format", "json")
    assert json.loads(result.stdout)["findings"] == []


# -- the parse cache ----------------------------------------------------------------------


class _Exploit:
    """Unpickling this creates the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _cache_project(tmp_path: Path) -> Path:
    root = make_site_project(tmp_path / "project")
    # A finding of each severity, so "same findings as a cold run" has something to lose.
    note = root / "vault/wiki/ops/hardening.md"
    note.write_text(note.read_text() + "\nSee [[nowhere]].\n")
    write_files(root, {"vault/wiki/ops/unlisted.md": "---\ntitle: Unlisted\n---\n\nAlone.\n"})
    return root


@pytest.fixture
def check(kbgen, monkeypatch):
    """``kbgen check`` in-process, reading and writing the parse cache (unless --no-cache);
    returns the findings, comparable between runs."""
    monkeypatch.delenv("KBGEN_NO_CACHE", raising=False)

    def run(root: Path, *args: str) -> list[tuple]:
        code, out, err = kbgen(
            "check",
            "--no-nix-parse",
            "--format",
            "json",
            "--exit-zero",
            "--config",
            str(root / "pyproject.toml"),
            *args,
        )
        assert code == 0, err
        found = json.loads(out)["findings"]
        return sorted(tuple(sorted((k, json.dumps(v)) for k, v in f.items())) for f in found)

    return run


def _cache_file(root: Path) -> Path:
    files = list((root / ".kbgen").glob("notes-*.json"))
    assert len(files) == 1, files
    return files[0]


def _old_pickle_paths(root: Path, current: Path) -> list[Path]:
    """Where kbgen <= FORMAT 4 kept its pickle: notes-<sha256(version|FORMAT|vault)>.pickle."""
    vault = (root / "vault").resolve()
    paths = [current.with_suffix(".pickle"), root / ".kbgen" / "notes-0000000000000000.pickle"]
    for fmt in range(1, 10):
        key = hashlib.sha256(f"{__version__}|{fmt}|{vault}".encode()).hexdigest()[:16]
        paths.append(root / ".kbgen" / f"notes-{key}.pickle")
    return paths


@pytest.fixture
def cache_project(tmp_path, check):
    """A project with a warm cache, and the findings of a cold run."""
    root = _cache_project(tmp_path)
    cold = check(root, "--no-cache")
    assert any("KB101" in str(f) for f in cold) and any("KB201" in str(f) for f in cold)
    assert not (root / ".kbgen").exists()
    assert check(root) == cold  # writes the cache
    return root, cold


def test_planted_pickles_are_never_loaded(cache_project, check, tmp_path):
    # Guards against any code path still calling pickle.load on the cache folder: the
    # old cache file names, and the new JSON name, all hold a pickle that touches a marker.
    root, cold = cache_project
    marker = tmp_path / "MARKER-pickle"
    exploit = pickle.dumps(_Exploit(marker))
    current = _cache_file(root)
    for path in _old_pickle_paths(root, current):
        path.write_bytes(exploit)
    current.write_bytes(exploit)
    assert check(root) == cold
    assert not marker.exists(), "the planted pickle ran"
    # The JSON cache was rebuilt from a reparse (valid JSON again).
    assert json.loads(_cache_file(root).read_bytes())["notes"]


def _corrupt(name: str, entry: list) -> list | object:
    """A damaged copy of one cache entry [size, mtime_ns, packed note]; size and mtime
    still match the file, so only the checks on the entry itself can refuse it."""
    size, mtime, packed = entry
    packed = json.loads(json.dumps(packed))
    if name == "line-as-string":  # line numbers as strings (headings, or the body line)
        packed[2] = [[h[0], h[1], h[2], str(h[3]), *h[4:]] for h in packed[2]]
        packed[0][2] = str(packed[0][2])
    elif name == "wrong-arity":  # one list too few in the packed note
        packed = packed[:-1]
    elif name == "record-arity":  # a link record with a field missing
        packed[4] = [link[:-1] for link in packed[4]] or [["x"]]
    elif name == "entry-arity":  # the entry itself: no packed note
        return [size, mtime]
    elif name == "tags-map-5":  # frontmatter {"tags": {"map": 5}}
        packed[1] = {"map": [["tags", {"map": 5}]]}
    elif name == "unhashable-key":  # a list as a mapping key
        packed[1] = {"map": [[{"list": []}, 1]]}
    elif name == "unknown-type-tag":  # a value tagged with a type that does not exist
        packed[1] = {"map": [["title", {"__reduce__": ["os.system", "touch x"]}]]}
    elif name == "bad-base64":
        packed[1] = {"map": [["blob", {"bytes": "!!not base64!!"}]]}
    elif name == "bool-for-int":  # body_line true: a bool is not an int here
        packed[0][2] = True
    elif name == "null-for-string":  # the title null
        packed[0][1] = None
    elif name == "size-as-string":
        return [str(size), mtime, packed]
    elif name == "other-path":  # a valid note, filed under another note's name
        packed[0][0] = "elsewhere.md"
    elif name == "not-a-list":
        return {"size": size, "mtime": mtime}
    return [size, mtime, packed]


CORRUPTIONS = [
    "line-as-string",
    "wrong-arity",
    "record-arity",
    "entry-arity",
    "tags-map-5",
    "unhashable-key",
    "unknown-type-tag",
    "bad-base64",
    "bool-for-int",
    "null-for-string",
    "size-as-string",
    "other-path",
]
#: Notes whose entries are damaged: one with a broken link (KB101), one orphan (KB201).
DAMAGED = ("wiki/ops/hardening.md", "wiki/ops/unlisted.md")


def _damage(root: Path, rel: str, name: str, pristine: dict) -> None:
    """The pristine cache with one entry damaged (and nothing left from earlier damage)."""
    document = json.loads(json.dumps(pristine))
    document["notes"][rel] = _corrupt(name, pristine["notes"][rel])
    _cache_file(root).write_text(json.dumps(document))


def test_type_confused_cache_entries_cause_a_reparse(cache_project, check):
    # Guards against an entry that is not what pack() writes being trusted (a hidden or
    # invented finding) or crashing the run: with its size and mtime still matching, each
    # kind of damage must give the findings of a cold run.
    root, cold = cache_project
    pristine = json.loads(_cache_file(root).read_bytes())
    differ = []
    for rel in DAMAGED:
        for name in CORRUPTIONS:
            _damage(root, rel, name, pristine)
            if check(root) != cold:
                differ.append((rel, name))
    assert not differ


def test_cache_entry_that_is_not_a_list_costs_a_reparse(cache_project, check):
    # Guards ParseCache.save() against entries of another shape: it once compared
    # entry[:2] of every old entry and crashed (TypeError) on a JSON object, on every run.
    root, cold = cache_project
    _damage(root, DAMAGED[0], "not-a-list", json.loads(_cache_file(root).read_bytes()))
    assert check(root) == cold


def test_damaged_cache_entry_is_written_back_repaired(cache_project, check):
    # Guards against a damaged entry (size and mtime still right) staying in the file:
    # the note would then be parsed afresh on every run, the cache silently useless.
    root, _ = cache_project
    pristine = json.loads(_cache_file(root).read_bytes())
    _damage(root, DAMAGED[0], "line-as-string", pristine)
    check(root)
    assert (
        json.loads(_cache_file(root).read_bytes())["notes"][DAMAGED[0]]
        == pristine["notes"][DAMAGED[0]]
    )


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b"{",
        b"[" * 100_000 + b"]" * 100_000,
        b'{"kbgen_parse_cache": 5, "notes": []}',
        b'{"kbgen_parse_cache": "5", "version": null}',
        b"\xff\xfe not utf-8",
    ],
)
def test_damaged_cache_file_costs_only_a_cold_parse(cache_project, check, damage):
    # Guards against a damaged file (truncated, nested past the recursion limit, wrong
    # shapes, not UTF-8) crashing the run instead of being ignored.
    root, cold = cache_project
    _cache_file(root).write_bytes(damage)
    assert check(root) == cold


@pytest.mark.parametrize("value", ["../outside-cache", "/tmp/kbgen-absolute-cache"])
def test_cache_dir_outside_the_project_is_refused(tmp_path, value):
    # Guards against cache-dir making kbgen write (or read a planted cache) outside the
    # project: the run stops with exit 2 and a message naming the key.
    root = make_site_project(tmp_path / "project")
    (root / "pyproject.toml").write_text(f'[tool.kbgen]\ncache-dir = "{value}"\n')
    result = run_kbgen(root, "check", "--no-nix-parse", KBGEN_NO_CACHE="")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "cache-dir" in result.stderr
    assert not (tmp_path / "outside-cache").exists()


def test_cache_dir_symlinked_outside_the_project_is_refused(tmp_path):
    # Guards against the default .kbgen being a symlink to another folder (a planted
    # cache, or writes outside the project).
    root = make_site_project(tmp_path / "project")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (root / ".kbgen").symlink_to(outside, target_is_directory=True)
    result = run_kbgen(root, "check", "--no-nix-parse", KBGEN_NO_CACHE="")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "cache-dir" in result.stderr and "outside the project" in result.stderr
    assert list(outside.iterdir()) == []
