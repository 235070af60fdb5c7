"""The Obsidian markdown-it plugin and the one-pass note parser."""

from __future__ import annotations

from kbgen.vault.parse import parse_note


def links(text: str):
    return [(lk.kind, lk.raw, lk.line, lk.column) for lk in parse_note("n.md", text.encode()).links]


def test_wikilink_positions_are_file_lines_and_columns():
    text = "---\ntitle: T\n---\n\nSee [[a]] and ![[b#H|x]].\n"
    assert links(text) == [("wikilink", "[[a]]", 5, 5), ("embed", "![[b#H|x]]", 5, 15)]


def test_code_spans_fences_indented_code_and_comments_are_not_links():
    text = (
        "`[[span]]`\n\n```\n[[fenced]]\n```\n\n    [[indented]]\n\n"
        "<!-- [[comment]] -->\n\ntext <!-- [[inline comment]] --> [[real]]\n"
    )
    assert [raw for _, raw, _, _ in links(text)] == ["[[real]]"]


def test_escaped_brackets_are_not_links():
    assert links("\\[[not]] [[yes]]") == [("wikilink", "[[yes]]", 1, 10)]


def test_links_in_lists_quotes_and_tables_keep_their_columns():
    text = "- item [[a]]\n\n> quoted [[b]]\n\n| x | y |\n|---|---|\n| [[c\\|alias]] | [[d]] |\n"
    assert links(text) == [
        ("wikilink", "[[a]]", 1, 8),
        ("wikilink", "[[b]]", 3, 10),
        ("wikilink", "[[c|alias]]", 7, 3),
        ("wikilink", "[[d]]", 7, 18),
    ]


def test_wikilink_parts():
    link = parse_note("n.md", b"[[folder/note#Head#Sub|shown]]").links[0]
    assert (link.target, link.headings, link.block, link.alias) == (
        "folder/note",
        ("Head", "Sub"),
        None,
        "shown",
    )
    block = parse_note("n.md", b"[[note#^id-1]]").links[0]
    assert (block.target, block.headings, block.block) == ("note", (), "id-1")


def test_markdown_links_and_images_but_not_urls():
    text = "[a](../x.md#sec) ![i](img/p.png) [web](https://example.org/x.md) [m](mailto:a@b)"
    result = parse_note("n.md", text.encode()).links
    assert [(lk.kind, lk.target, lk.anchor, lk.column) for lk in result] == [
        ("markdown", "../x.md", "sec", 1),
        ("image", "img/p.png", None, 18),
    ]


def test_block_ids_tags_and_headings():
    text = (
        "# Title `code`\n\nA paragraph #tag/sub ^para\n\n- item ^item\n\n"
        "| t |\n|---|\n| v |\n\n^table\n"
    )
    note = parse_note("n.md", text.encode())
    assert [(b.id, b.line) for b in note.block_ids] == [("para", 3), ("item", 5), ("table", 7)]
    assert [(t.name, t.line, t.column) for t in note.tags] == [("tag/sub", 3, 13)]
    assert [(h.level, h.text, h.slug) for h in note.headings] == [(1, "Title code", "title-code")]


def test_numbers_and_headings_are_not_tags():
    note = parse_note("n.md", b"Issue #123 and a#b but #ok\n")
    assert [t.name for t in note.tags] == ["ok"]


def test_frontmatter_links_in_sources_have_their_line():
    text = '---\ntitle: T\nsources:\n  - "[[raw/one]]"\n  - "[[two|Two]]"\n---\n\nbody\n'
    result = parse_note("n.md", text.encode()).links
    assert [(lk.target, lk.origin, lk.line) for lk in result] == [
        ("raw/one", "sources", 4),
        ("two", "sources", 5),
    ]


def test_title_falls_back_to_first_h1_then_file_name():
    assert parse_note("a/b.md", b"# From heading\n").title == "From heading"
    assert parse_note("a/b.md", b"no heading\n").title == "b"
    assert parse_note("a/b.md", b"---\ntitle: From fm\n---\n# H\n").title == "From fm"


def test_crlf_files_keep_line_numbers_and_newline_style():
    note = parse_note("n.md", b"---\r\ntitle: T\r\n---\r\n\r\n[[a]]\r\n")
    assert note.newline == "\r\n"
    assert (note.links[0].line, note.links[0].column) == (5, 1)


def test_tables_record_cells_links_and_raw_cell_counts():
    text = (
        "## Controls\n\n| Control | Options |\n|---|---|\n| AC-2 | `a.b` [[x]] |\n"
        "| AC-3 |\n| a | b | c |\n"
    )
    note = parse_note("n.md", text.encode())
    table = note.tables[0]
    assert [c.text for c in table.header] == ["Control", "Options"]
    assert table.section == "Controls"
    assert table.raw_cell_counts == (2, 1, 3)
    first = table.rows[0]
    assert first[1].column == 10
    assert [note.code_spans[i].text for i in first[1].code_spans] == ["a.b"]
    assert [note.links[i].target for i in first[1].links] == ["x"]


def test_suppression_comments_are_read_from_html_tokens():
    text = (
        "<!-- kbgen-ignore KB101, orphan-note: kept on purpose -->\n[[x]]\n\n"
        "<!-- kbgen-ignore-file KB204 -->\n"
    )
    note = parse_note("n.md", text.encode())
    first, whole = note.suppressions
    assert first.codes == ("KB101", "orphan-note") and first.reason == "kept on purpose"
    assert first.covers(2) and not first.covers(3)
    assert whole.whole_file and whole.reason == ""
