"""The compiled tree is renderer-independent: Zensical renders the bundled tree as well
as mkdocs-material does, with every internal link resolving and no ``[[wikilink]]`` or
``{{ macro }}`` left in the text (outside code)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest
import yaml

from kbgen.site.build import compact_navigation, zensical_config
from tests.helpers import need
from tests.site_checks import check_site
from tests.site_project import REPO

ENV = {**os.environ, "KBGEN_NO_CACHE": "1", "SOURCE_DATE_EPOCH": "1700000000"}


@pytest.fixture(scope="module", params=["mkdocs", "zensical"])
def rendered(request, tmp_path_factory):
    """The bundled vault and flake built with one renderer (``--renderer``)."""
    renderer = request.param
    if renderer == "zensical":
        need(
            importlib.util.find_spec("zensical") is not None,
            "Zensical is not installed (pip install 'kbgen[zensical]')",
        )
    out = tmp_path_factory.mktemp(renderer) / "site"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kbgen",
            "build",
            "--strict",
            "--renderer",
            renderer,
            "--site-dir",
            str(out),
        ],
        cwd=REPO,
        env=ENV,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return renderer, out


@pytest.mark.slow
def test_renderer_makes_every_page(rendered):
    renderer, site = rendered
    for page in (
        "index.html",
        "kb/dashboard.html",
        "kb/frameworks/pci-dss.html",
        "kb/controls/pci-dss/req-08/8-3-6.html",
        "kb/controls/index.html",
        "kb/controls/pci-dss/req-08/index.html",
        "kb/options/index.html",
        "registers/residual-risks.html",
    ):
        assert (site / page).is_file(), f"{renderer}: {page}"
    control = (site / "kb/controls/pci-dss/req-08/8-3-6.html").read_text(encoding="utf-8")
    assert "8.3.6" in control and "kb-badge" in control
    # The family's landing page names the navigation section, not its folder.
    assert "Requirement 8: Identify users and authenticate access" in control
    assert "kbgen.css" in control, f"{renderer}: the site's stylesheet is not linked"
    assert (site / "assets/kbgen.css").is_file()


@pytest.mark.slow
def test_rendered_site_has_no_broken_link_or_leftover_markup(rendered):
    renderer, site = rendered
    problems = check_site(site)
    assert problems.pages > 1000
    assert problems.broken == [], (
        f"{renderer}: {len(problems.broken)} broken: {problems.broken[:10]}"
    )
    assert problems.wikilinks == [], f"{renderer}: {problems.wikilinks[:10]}"
    assert problems.templates == [], f"{renderer}: {problems.templates[:10]}"


def test_zensical_gets_the_compiled_tree_without_the_kbgen_plugin():
    config = zensical_config(REPO)
    original = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))
    assert config["docs_dir"] == "docs" and config["site_dir"] == "site"
    names = [next(iter(p)) if isinstance(p, dict) else p for p in config["plugins"]]
    assert "kbgen" not in names and "search" in names
    assert [p for p in config["plugins"] if p != "kbgen"] == [
        p for p in original["plugins"] if p != "kbgen"
    ]  # search keeps its options
    assert "custom_dir" not in config["theme"]
    assert config["theme"]["name"] == original["theme"]["name"]
    assert config["markdown_extensions"] == original["markdown_extensions"]
    assert config["extra_css"] == original["extra_css"]


def test_build_refuses_an_unknown_renderer(kbgen, capsys):
    with pytest.raises(SystemExit) as exit_:
        kbgen("build", "--renderer", "hugo")
    assert exit_.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_navigation_whitespace_is_compacted_but_code_is_not():
    page = (
        '<nav class="md-nav">\n      <ul>\n        <li> <a href="x.html">  X  </a></li>'
        "\n      </ul>\n    </nav>\n<pre><code>  kept\n    as is</code></pre>"
        "<nav><nav>\n  inner  </nav>\n  </nav>"
    )
    compact = compact_navigation(page)
    assert "<pre><code>  kept\n    as is</code></pre>" in compact
    assert (
        '<nav class="md-nav">\n<ul>\n<li> <a href="x.html"> X </a></li>\n</ul>\n</nav>' in compact
    )
    assert compact.endswith("<nav><nav>\ninner </nav>\n</nav>")
