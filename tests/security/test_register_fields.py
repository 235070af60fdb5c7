"""The residual-risk register's new fields (owner, accepted on, review due, likelihood,
impact) are data: a payload in any of them reaches the pages that show it as text, never
as markup (issue 13).

The project is :func:`tests.site_project.make_site_project` with one more register row
whose five new cells hold a payload; ``note-html = "escape"`` (untrusted authors) and
TR302 ignored, so that a rating and dates off the schema still reach the site.
"""

from __future__ import annotations

import pytest

from tests.security.site_html import read_page, run_kbgen
from tests.site_project import make_site_project

pytestmark = pytest.mark.slow

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
#: Column -> the payload written into it.
CELLS = {
    "Owner": SCRIPT,
    "Accepted on": IMG,
    "Review due": '"><svg onload=alert(1)>',
    "Likelihood": SCRIPT,
    "Impact": 'x"onmouseover=alert(1) y',
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = make_site_project(tmp_path_factory.mktemp("register-fields") / "project")
    (root / "pyproject.toml").write_text('[tool.kbgen]\nnote-html = "escape"\nignore = ["TR302"]\n')
    register = root / "vault" / "registers" / "residual-risks.md"
    text = register.read_text(encoding="utf-8")
    header = next(line for line in text.splitlines() if line.startswith("| ID |"))
    columns = [c.strip() for c in header.strip("|").split("|")]
    values = {"ID": "RR-02", "Risk": "Payload row", "Source": "[[nist-800-53/AT-2]]", **CELLS}
    row = "| " + " | ".join(values.get(c, "x").replace("|", "\\|") for c in columns) + " |"
    register.write_text(text.rstrip("\n") + "\n" + row + "\n", encoding="utf-8")
    # The row must be referenced (TR305) and accepted by a control to reach its page.
    (root / "vault" / "wiki").mkdir(exist_ok=True)
    (root / "vault" / "wiki" / "payload-risk.md").write_text(
        "---\ntitle: Payload risk\n---\n\nSee [[RR-02]].\n", encoding="utf-8"
    )
    result = run_kbgen(root, "build")
    assert result.returncode == 0, result.stdout + result.stderr
    return root


def _pages(root) -> dict[str, object]:
    site = root / "site"
    return {
        url: read_page(site, url)
        for url in ("registers/residual-risks.html", "kb/risks/rr-02.html")
        if (site / url).exists()
    }


def test_payload_fields_show_as_text_on_the_register(built):
    page = read_page(built / "site", "registers/residual-risks.html")
    for payload in CELLS.values():
        assert payload in page.article
    assert page.handlers == []
    assert not [s for s in page.scripts if s.startswith("inline:") and "alert" in s]


def test_payload_fields_add_no_markup_anywhere(built):
    pages = _pages(built)
    assert "registers/residual-risks.html" in pages
    for url, page in pages.items():
        assert page.handlers == [], url
        html = (built / "site" / url).read_text(encoding="utf-8")
        for markup in (SCRIPT, "<img src=x", "<svg onload"):
            assert markup not in html, (url, markup)  # escaped: &lt;script&gt; ...


def test_risk_page_shows_the_fields_as_text(built):
    page_file = built / "site" / "kb" / "risks" / "rr-02.html"
    if not page_file.exists():
        pytest.skip("no risk pages in this build")
    page = read_page(built / "site", "kb/risks/rr-02.html")
    for payload in CELLS.values():
        assert payload in page.article
    assert page.handlers == []
