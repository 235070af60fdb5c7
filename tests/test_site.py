"""kbgen build: the compiled Markdown tree, the rendered site, and the build's guarantees."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from kbgen.project import open_config, run
from kbgen.site.build import compile_tree
from tests.helpers import write_files
from tests.site_project import make_site_project

#: Every test here builds a site (and drives a browser): `pytest -m "not slow"` skips them.
pytestmark = pytest.mark.slow


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One strict build of the site project, shared by the read-only tests."""
    root = make_site_project(tmp_path_factory.mktemp("site") / "project")
    result = subprocess.run(
        [sys.executable, "-m", "kbgen", "build", "--strict"],
        cwd=root,
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return root


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "SOURCE_DATE_EPOCH": "1700000000", "KBGEN_NO_CACHE": "1"}


def html(root: Path, page: str) -> str:
    return (root / "site" / page).read_text(encoding="utf-8")


def test_links_are_rewritten_to_relative_markdown_with_the_right_anchors(built):
    text = (built / "build/docs/wiki/ops/ssh-access.md").read_text()
    assert "[AC-17](../../kb/controls/nist-800-53/ac/ac-17.md)" in text
    assert "[hardening › Ciphers](hardening.md#ciphers)" in text
    assert "[one sentence](hardening.md#block-cipher-list)" in text
    assert "[RR-01](../../registers/residual-risks.md#rr-01)" in text
    assert '![diagram.svg](../../attachments/diagram.svg){ width="200" }' in text
    assert "[[" not in text


def test_the_compiled_tree_is_plain_markdown_with_folder_indexes(built):
    tree = built / "build/docs"
    assert (tree / "wiki/ops/index.md").is_file()  # _index.md -> index.md
    assert (tree / "wiki/index.md").is_file()  # master index lands its folder
    assert (tree / "attachments/diagram.svg").is_file()
    assert not list(tree.rglob("_index.md"))


def test_transclusion_inlines_the_section(built):
    page = html(built, "wiki/ops/ssh-access.html")
    assert "We allow three ciphers, all AES-CTR." in page
    assert 'class="kb-embed"' in page


def test_macros_show_live_values(built):
    page = html(built, "wiki/ops/ssh-access.html")
    assert "gets 3 attempts" in page
    assert "AC-17</a>, test-written)" in page  # no results supplied: never "verified"


def test_titles_from_notes_render_as_text(built):
    for page in (built / "site").rglob("*.html"):
        assert "<script>alert" not in page.read_text(encoding="utf-8"), page
    assert "&lt;script&gt;alert" in html(built, "wiki/ops/odd-title.html")


def test_every_page_lists_its_backlinks(built):
    page = html(built, "wiki/ops/hardening.html")
    backlinks = page.split("Linked from", 1)[1].split("</div>", 1)[0]
    assert 'href="ssh-access.html"' in backlinks


def test_control_page_links_its_options_tests_and_sources(built):
    page = html(built, "kb/controls/nist-800-53/ac/ac-17.html")
    assert 'href="../../../options/module-ssh/services-openssh-enable.html"' in page
    assert 'href="../../../tests/ssh.html"' in page
    assert 'href="../../../source/flake/modules/ssh/default.nix.html#__codelineno-0-8"' in page
    assert "kb-test-written" in page
    source = html(built, "kb/source/flake/modules/ssh/default.nix.html")
    assert 'id="__codelineno-0-8"' in source


def test_generated_pages_exist(built):
    for page in (
        "kb/index.html",
        "kb/dashboard.html",
        "kb/findings.html",
        "kb/graph.html",
        "kb/settings.html",
        "kb/frameworks/nist-800-53.html",
        "kb/options/module-canonical/compliance-canonical-ssh-maxauthtries.html",
        "kb/tests/ssh.html",
    ):
        assert (built / "site" / page).is_file(), page
    assert "<svg" in html(built, "kb/dashboard.html")
    assert "OpenSSH default." in html(built, "kb/settings.html")  # rejected values
    assert 'id="rr-01"' in html(built, "registers/residual-risks.html")


def test_no_page_loads_anything_from_another_host(built):
    for page in (built / "site").rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        for marker in ('src="http', "src='http", 'href="https://fonts', "@import url(http"):
            assert marker not in text, (page, marker)


def test_two_builds_produce_identical_files(built, tmp_path):
    again = make_site_project(tmp_path / "again")
    subprocess.run(
        [sys.executable, "-m", "kbgen", "build"],
        cwd=again,
        env=_env(),
        check=True,
        capture_output=True,
    )
    assert digest(again / "site") == digest(built / "site")
    assert digest(again / "build/docs") == digest(built / "build/docs")


def test_failed_build_leaves_the_previous_site_untouched(tmp_path):
    root = make_site_project(tmp_path / "project")
    subprocess.run(
        [sys.executable, "-m", "kbgen", "build"],
        cwd=root,
        env=_env(),
        check=True,
        capture_output=True,
    )
    before = digest(root / "site")
    write_files(root, {"vault/wiki/ops/broken.md": "---\ntitle: Broken\n---\n\n[[nowhere]]\n"})
    result = subprocess.run(
        [sys.executable, "-m", "kbgen", "build"],
        cwd=root,
        env=_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "vault/wiki/ops/broken.md:5:1: KB101" in result.stdout
    assert "previous site is untouched" in result.stderr
    assert digest(root / "site") == before


def test_strict_build_fails_on_warnings(tmp_path):
    root = make_site_project(tmp_path / "project")
    write_files(
        root,
        {
            "vault/wiki/ops/lonely.md": "---\ntitle: Lonely\n---\n\n# Lonely\n\n"
            "## Key Takeaways\n\n- none\n"
        },
    )
    plain = subprocess.run(
        [sys.executable, "-m", "kbgen", "build", "--markdown-only"],
        cwd=root,
        env=_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert plain.returncode == 0, plain.stdout
    strict = subprocess.run(
        [sys.executable, "-m", "kbgen", "build", "--strict"],
        cwd=root,
        env=_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert strict.returncode == 1
    assert "KB201" in strict.stdout and "KB202" in strict.stdout


def test_macro_naming_nothing_fails_the_build_with_file_and_line(tmp_path):
    root = make_site_project(tmp_path / "project")
    write_files(
        root,
        {
            "vault/wiki/ops/values.md": (
                '---\ntitle: Values\n---\n\n# Values\n\n{{ risk_title("RR-99") }}\n'
            )
        },
    )
    result = subprocess.run(
        [sys.executable, "-m", "kbgen", "build"],
        cwd=root,
        env=_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert (
        "vault/wiki/ops/values.md:7:1: TR701 risk_title(): no residual-risk row 'RR-99'"
        in result.stdout
    )


def test_mkdocs_build_alone_uses_the_plugin(tmp_path):
    root = make_site_project(tmp_path / "project")
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--quiet"],
        cwd=root,
        env=_env(),
        check=True,
        capture_output=True,
    )
    assert "gets 3 attempts" in html(root, "wiki/ops/ssh-access.html")


def test_transclusion_is_guarded_against_cycles(tmp_path):
    root = make_site_project(tmp_path / "project")
    write_files(
        root,
        {
            "vault/wiki/ops/a.md": "---\ntitle: A\n---\n\n![[b]]\n",
            "vault/wiki/ops/b.md": "---\ntitle: B\n---\n\n![[a]]\n",
        },
    )
    result = run(open_config(str(root / "vault")), commands=("audit", "trace"), cache=False)
    assert any(f.code == "KB109" for f in result.findings)
    tree = compile_tree(result, root / "build/docs")  # the gate is bypassed on purpose
    page = (root / "build/docs/wiki/ops/a.md").read_text()
    assert "embed cycle" in page
    assert tree.broken["wiki/ops/a.md"] == ["![[a]]"]


def test_unresolved_links_are_visibly_marked(tmp_path):
    root = make_site_project(tmp_path / "project")
    write_files(root, {"vault/wiki/ops/broken.md": "---\ntitle: Broken\n---\n\n[[nowhere]]\n"})
    result = run(open_config(str(root / "vault")), commands=("audit", "trace"), cache=False)
    compile_tree(result, root / "build/docs")
    page = (root / "build/docs/wiki/ops/broken.md").read_text()
    assert (
        '<span class="kb-broken" title="no note named &#x27;nowhere&#x27;">nowhere</span>' in page
    )


def test_serve_rebuilds_when_a_note_or_a_nix_file_changes(tmp_path):
    import os
    import signal
    import socket
    import time
    import urllib.request

    root = make_site_project(tmp_path / "project")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "kbgen", "serve", "--dev-addr", f"127.0.0.1:{port}"],
        cwd=root,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )

    def page(path: str) -> str:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/{path}", timeout=2) as r:
                return r.read().decode()
        except OSError:
            return ""

    def wait_for(path: str, text: str) -> bool:
        deadline = time.time() + 90
        while time.time() < deadline:
            if text in page(path):
                return True
            time.sleep(0.2)
        return False

    try:
        assert wait_for("wiki/ops/hardening.html", "AES-CTR")
        note = root / "vault/wiki/ops/hardening.md"
        note.write_text(note.read_text().replace("AES-CTR", "AES-GCM and AES-CTR"))
        assert wait_for("wiki/ops/hardening.html", "AES-GCM and AES-CTR")
        module = root / "flake/modules/canonical/default.nix"
        module.write_text(module.read_text().replace("default = 3;", "default = 4;"))
        # The resolved setting no longer matches: the gate stops the rebuild and the
        # served page keeps the last good build; fixing the register lets it through.
        settings = root / "vault/registers/resolved-settings.yaml"
        settings.write_text(settings.read_text().replace("value: 3", "value: 4"))
        assert wait_for("wiki/ops/ssh-access.html", "gets 4 attempts")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_recompiling_in_one_process_reuses_only_unchanged_pages(tmp_path):
    """kbgen serve compiles again on every change; what a change reaches must change."""
    root = make_site_project(tmp_path / "project")
    config = open_config(str(root / "vault"))
    compile_tree(run(config, commands=("audit", "trace"), cache=True), root / "build/docs")
    note = root / "vault/wiki/ops/ssh-access.md"
    note.write_text(note.read_text().replace("title: SSH access", "title: Remote shell access"))
    compile_tree(run(config, commands=("audit", "trace"), cache=True), root / "build/docs")
    tree = root / "build/docs"
    assert 'title: "Remote shell access"' in (tree / "wiki/ops/ssh-access.md").read_text()
    # Backlinks on the page it links to, and the control page that lists its mentions.
    assert "[Remote shell access](ssh-access.md)" in (tree / "wiki/ops/hardening.md").read_text()
    assert "Remote shell access" in (tree / "kb/controls/nist-800-53/ac/ac-17.md").read_text()


def test_a_vault_without_a_home_page_gets_a_default_one(tmp_path):
    root = make_site_project(tmp_path / "project")
    (root / "vault" / "index.md").unlink()
    result = subprocess.run(
        [sys.executable, "-m", "kbgen", "build", "--markdown-only"],
        cwd=root,
        env=_env(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    home = (root / "build/docs/index.md").read_text(encoding="utf-8")
    assert "kb/dashboard.md" in home and "title:" in home
