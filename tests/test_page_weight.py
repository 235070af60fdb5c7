"""Page weight: generated pages are filed in folders small enough for a navigation
section (mkdocs-material inlines the current section's navigation into every page), each
folder has a landing page, and a page of the bundled site stays light."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from kbgen.project import open_config, run
from kbgen.site import paths
from kbgen.trace.frameworks import FRAMEWORKS, family
from tests.site_project import REPO, make_site_project

#: The most entries (pages and sub-folders) a folder of generated pages may hold.
SECTION_LIMIT = 60
#: Median HTML bytes of a page of the bundled site (it was 81 KB before grouping).
MEDIAN_LIMIT = 60_000
GROUPED = (
    "kb/controls",
    "kb/options",
    "kb/tests",
    "kb/source",
    "kb/frameworks",
    "kb/status",
    "kb/tags",
)


@pytest.fixture(scope="module")
def bundled(tmp_path_factory):
    out = tmp_path_factory.mktemp("weight") / "site"
    env = {**os.environ, "KBGEN_NO_CACHE": "1", "SOURCE_DATE_EPOCH": "1700000000"}
    result = subprocess.run(
        [sys.executable, "-m", "kbgen", "build", "--site-dir", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out


@pytest.mark.slow
def test_median_page_of_the_bundled_site_is_light(bundled):
    sizes = [page.stat().st_size for page in bundled.rglob("*.html")]
    assert len(sizes) > 1000
    median = statistics.median(sizes)
    assert median < MEDIAN_LIMIT, f"median page {median / 1000:.1f} KB"


@pytest.mark.slow
def test_no_generated_section_is_too_long_and_each_has_a_landing_page(bundled):
    tree = REPO / "build" / "docs"
    for top in GROUPED:
        for folder in [tree / top, *(p for p in (tree / top).rglob("*") if p.is_dir())]:
            entries = [p for p in folder.iterdir() if p.name != "index.md"]
            assert len(entries) <= SECTION_LIMIT, f"{folder}: {len(entries)} entries"
            if any(p.suffix == ".md" or p.is_dir() for p in entries):
                assert (folder / "index.md").is_file(), f"{folder} has no landing page"


@pytest.mark.slow
def test_navigation_names_sections_by_their_landing_page(bundled):
    page = (bundled / "kb/controls/nist-800-53/ac/ac-17.html").read_text(encoding="utf-8")
    assert "AC Access Control" in page
    assert "NIST SP 800-53 Rev. 5" in page
    # Only the current family is expanded: another family's controls are not inlined.
    assert "au-2.html" not in page
    option = (bundled / "kb/options/index.html").read_text(encoding="utf-8")
    assert "Module canonical" in option


@pytest.mark.parametrize(
    ("framework", "control", "folder"),
    [
        ("nist-800-53", "AC-6(9)", "ac"),
        ("nist-800-53", "SR-3", "sr"),
        ("hipaa", "§164.312(a)(2)(iv)", "164-312"),
        ("pci-dss", "8.3.6", "req-08"),
        ("pci-dss", "12.10.1", "req-12"),
        ("pci-dss", "A1.1.2", "req-a1"),
        ("hitrust", "01.a", "cat-01"),
        ("disa-stig", "V-268078", "v-268050"),
        ("disa-stig", "SV-268150r1_rule", "v-268150"),
        ("iso-42001", "A.6.2.8", "a-06"),
        ("nist-ai-rmf", "MEASURE 2.7", "3-measure"),
        ("owasp-llm", "LLM01:2025", None),
        ("eu-ai-act", "Art. 12", None),
        ("mitre-atlas", "AML.T0051", None),
    ],
)
def test_family_is_derived_from_the_control_id(framework, control, folder):
    assert FRAMEWORKS[framework].canonical(control) == control
    group = family(framework, control)
    assert (group[0] if group else None) == folder
    page = paths.control_page(f"{framework}/{control}")
    assert page.count("/") == (4 if folder else 3), page


def test_folders_sort_in_the_framework_order():
    folders = [family("pci-dss", f"{n}.1")[0] for n in range(1, 13)]
    assert folders == sorted(folders)
    rmf = [family("nist-ai-rmf", f"{f} 1.1")[0] for f in ("GOVERN", "MAP", "MEASURE", "MANAGE")]
    assert rmf == sorted(rmf)


def test_options_are_filed_under_the_module_that_declares_or_sets_them(tmp_path: Path):
    root = make_site_project(tmp_path / "project")
    flake = run(open_config(None, str(root / "pyproject.toml")), commands=("trace",)).trace.flake
    assert paths.option_group("compliance.canonical.ssh.maxAuthTries", flake) == (
        "module-canonical",
        "Module canonical",
    )
    # Not declared in the flake (NixOS's own option): the module that sets it.
    assert paths.option_group("services.openssh.enable", flake)[0] == "module-ssh"
    # Neither declared nor set by a module: its first two segments.
    assert paths.option_group("boot.kernel.sysctl.x", flake) == ("boot-kernel", "boot.kernel")
    assert (
        paths.option_page("services.openssh.enable", flake)
        == "kb/options/module-ssh/services-openssh-enable.md"
    )
