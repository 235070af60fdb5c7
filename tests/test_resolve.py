"""One test per row of the examples table in docs/link-resolution.md.

The table is read with kbgen's own parser, so the documentation and the
behaviour cannot drift apart.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kbgen.config import Config
from kbgen.vault.compile import compile_vault
from kbgen.vault.parse import parse_note
from kbgen.vault.resolve import Resolver
from tests.helpers import FIXTURES

DOC = Path(__file__).parent.parent / "docs" / "link-resolution.md"
VAULT = FIXTURES / "resolution" / "vault"
DEFAULT_SOURCE = "wiki/hipaa/start.md"


def _rows() -> list[tuple[str, str, str]]:
    doc = parse_note("link-resolution.md", DOC.read_bytes())
    table = next(t for t in doc.tables if t.header and t.header[0].text == "Link")
    rows = []
    for cells in table.rows:

        def code(cell):
            return doc.code_spans[cell.code_spans[0]].text if cell.code_spans else ""

        rows.append((code(cells[0]), code(cells[1]) or DEFAULT_SOURCE, code(cells[2])))
    return rows


ROWS = _rows()


@pytest.fixture(scope="module")
def resolver_and_vault():
    vault = compile_vault(Config(project_root=VAULT.parent, vault="vault"))
    resolver = Resolver(vault.notes, vault.attachments, vault.folders)
    return resolver, vault


def test_the_table_has_every_documented_case():
    assert len(ROWS) >= 25


@pytest.mark.parametrize(("written", "source", "expected"), ROWS, ids=[r[0] for r in ROWS])
def test_documented_resolution(written, source, expected, resolver_and_vault):
    resolver, vault = resolver_and_vault
    parsed = parse_note(source, written.encode())
    assert len(parsed.links) == 1, f"{written!r} should parse as exactly one link"
    resolution = resolver.resolve(parsed.links[0], vault.notes[source])
    if expected in ("ambiguous", "outside", "broken", "no-heading", "no-block"):
        assert resolution.status == expected, resolution
        return
    assert resolution.status == "ok", resolution
    path, _, anchor = expected.partition("#")
    target = resolution.target
    assert (target.note or target.key) == path
    assert (resolution.anchor or "") == anchor


def test_anchor_matches_the_site_toc_slug_for_repeated_headings():
    note = parse_note("n.md", b"# Setup\n\n## Setup\n\n## Set-up & run!\n")
    assert [h.slug for h in note.headings] == ["setup", "setup_1", "set-up-run"]


def test_ambiguity_lists_every_candidate(resolver_and_vault):
    resolver, vault = resolver_and_vault
    link = parse_note("x.md", b"[[checklist]]").links[0]
    resolution = resolver.resolve(link, vault.notes["wiki/pci/start-pci.md"])
    assert resolution.candidates == ("wiki/hipaa/checklist.md", "wiki/pci/checklist.md")
