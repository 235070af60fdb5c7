"""Transclusion cannot amplify a small vault into a huge site: six notes under 1 KB, each
embedding the next twelve times, would expand to tens of megabytes per page."""

from __future__ import annotations

import json
import time

import pytest

from tests.security.site_html import html_of, run_kbgen
from tests.site_project import make_site_project

NOTES = 6
FAN_OUT = 12
PROSE = "Padding prose so that each note is close to a kilobyte. " * 12


def _amplifier(root):
    folder = root / "vault" / "amp"
    folder.mkdir()
    for number in range(NOTES):
        lines = ["---", f"title: Amplifier {number}", "---", "", PROSE, ""]
        if number + 1 < NOTES:
            lines += [f"![[amp-{number + 1}]]", ""] * FAN_OUT
        text = "\n".join(lines)
        assert len(text.encode()) < 1024
        (folder / f"amp-{number}.md").write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return _amplifier(make_site_project(tmp_path_factory.mktemp("amp") / "project"))


def test_check_reports_the_expansion(project):
    # Guards KB110: the gate sees the amplification before anything is rendered.
    result = run_kbgen(project, "check", "--no-nix-parse", "--format", "json", "--select", "KB110")
    assert result.returncode == 1, result.stdout + result.stderr
    flagged = {f["path"] for f in json.loads(result.stdout)["findings"] if f["code"] == "KB110"}
    # amp-0 and amp-1 reach the depth cap with the 900-byte leaf at the bottom.
    assert {"vault/amp/amp-0.md", "vault/amp/amp-1.md"} <= flagged, flagged


@pytest.mark.slow
def test_build_with_kb110_ignored_is_bounded(project):
    # Guards the renderer's own bound: even when the finding is ignored, a page stops
    # transcluding at 2,000,000 characters, so the build is quick and pages stay small.
    (project / "pyproject.toml").write_text('[tool.kbgen]\nignore = ["KB110"]\n')
    start = time.monotonic()
    result = run_kbgen(project, "build", "--config", str(project / "pyproject.toml"), timeout=120)
    elapsed = time.monotonic() - start
    assert result.returncode == 0, result.stdout + result.stderr
    assert elapsed < 30, f"the build took {elapsed:.1f} s"
    sizes = {
        p.relative_to(project).as_posix(): p.stat().st_size
        for p in (project / "build/docs/amp").glob("*.md")
    }
    sizes.update(
        {
            p.relative_to(project).as_posix(): p.stat().st_size
            for p in (project / "site/amp").glob("*.html")
        }
    )
    assert len(sizes) == 2 * NOTES
    assert max(sizes.values()) < 3_000_000, sizes
    # The page says where it stopped, instead of silently cutting content.
    first = (project / "site" / html_of("amp/amp-0.md")).read_text(encoding="utf-8")
    assert "page too large to embed more" in first
