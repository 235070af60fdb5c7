"""markdown-it-py extensions for Obsidian syntax, working on tokens, never on raw text.

* ``wikilink`` inline rule: ``[[target#Heading#Sub|alias]]`` and ``![[embed]]``.
  Being an inline rule, it never fires inside code spans, fenced or indented code,
  or HTML comments: those are consumed by earlier rules as whole tokens.
* ``block_id`` inline rule: a trailing `` ^block-id`` at the end of a paragraph,
  list item or heading.
* ``tag`` inline rule: ``#tag`` after whitespace.
* ``macro`` inline rule: ``{{ ... }}`` on one line, outside code (a candidate macro
  call; :mod:`kbgen.trace.macros` decides what it is).
* position tracking: the stock ``link``, ``image`` and ``backticks`` rules are
  wrapped to record where each token starts, and a core rule converts those
  offsets into the file's line and column.

Every token this module adds or annotates carries ``meta["line"]`` and
``meta["column"]`` (1-based, relative to the parsed text).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline
from markdown_it.rules_inline.backticks import backtick as _stock_backticks
from markdown_it.rules_inline.html_inline import html_inline as _stock_html_inline
from markdown_it.rules_inline.image import image as _stock_image
from markdown_it.rules_inline.link import link as _stock_link
from markdown_it.token import Token

#: Deeper lists and quotes than this are not parsed (the parser recurses per level).
MAX_NESTING = 40

_BLOCK_ID = re.compile(r"\^([A-Za-z0-9][A-Za-z0-9-]*)[ \t]*")
# Obsidian tags: letters, digits, _, -, / ; at least one non-digit.
_TAG = re.compile(r"#([\w/-]*[^\W\d][\w/-]*)")


def split_wikilink(inner: str) -> tuple[str, tuple[str, ...], str | None, str | None]:
    """Split the text between ``[[`` and ``]]`` into target, headings, block and alias.

    ``a#B#C|x`` -> (``a``, (``B``, ``C``), None, ``x``); ``a#^id`` -> (``a``, (), ``id``, None).
    In a table cell the alias bar is escaped as ``\\|``; both forms are accepted.
    """
    alias: str | None = None
    inner = inner.replace("\\|", "|")
    if "|" in inner:
        inner, alias = inner.split("|", 1)
        alias = alias.strip()
    target, _, fragment = inner.partition("#")
    headings: tuple[str, ...] = ()
    block: str | None = None
    if fragment:
        parts = [p.strip() for p in fragment.split("#")]
        if parts and parts[-1].startswith("^"):
            block = parts.pop()[1:]
        headings = tuple(p for p in parts if p)
    return target.strip(), headings, block, alias


def _wikilink(state: StateInline, silent: bool) -> bool:
    src, pos = state.src, state.pos
    embed = src.startswith("![[", pos)
    if not embed and not src.startswith("[[", pos):
        return False
    start = pos + (3 if embed else 2)
    end = src.find("]]", start, state.posMax)
    if end < 0:
        return False
    inner = src[start:end]
    # Obsidian does not let a link span lines or nest another one.
    if not inner.strip() or "\n" in inner or "[[" in inner:
        return False
    if not silent:
        token = state.push("embed" if embed else "wikilink", "", 0)
        token.content = inner
        token.markup = src[pos : end + 2]
        token.meta = {"offset": pos}
    state.pos = end + 2
    return True


def _block_id(state: StateInline, silent: bool) -> bool:
    src, pos = state.src, state.pos
    if src[pos] != "^" or (pos > 0 and not src[pos - 1].isspace()):
        return False
    match = _BLOCK_ID.match(src, pos, state.posMax)
    # Only at the very end of the block's inline content.
    if not match or match.end() != state.posMax:
        return False
    if not silent:
        token = state.push("block_id", "", 0)
        token.content = match.group(1)
        token.meta = {"offset": pos}
    state.pos = match.end()
    return True


def _tag(state: StateInline, silent: bool) -> bool:
    src, pos = state.src, state.pos
    if src[pos] != "#" or (pos > 0 and not src[pos - 1].isspace()):
        return False
    match = _TAG.match(src, pos, state.posMax)
    if not match:
        return False
    if not silent:
        token = state.push("tag", "", 0)
        token.content = match.group(1)
        token.markup = match.group(0)
        token.meta = {"offset": pos}
    state.pos = match.end()
    return True


#: Template delimiters: a Jinja-like renderer would act on each of these.
_TEMPLATE = {"{{": "}}", "{%": "%}", "{#": "#}"}


def _macro(state: StateInline, silent: bool) -> bool:
    """``{{ … }}``, ``{% … %}`` or ``{# … #}`` on one line, or an opener alone."""
    src, pos = state.src, state.pos
    closer = _TEMPLATE.get(src[pos : pos + 2])
    if closer is None:
        return False
    end = src.find(closer, pos + 2, state.posMax)
    if end < 0 or "\n" in src[pos:end]:
        end = pos  # an opener without its closer on this line: just the two characters
        stop = pos + 2
    else:
        stop = end + 2
    if not silent:
        token = state.push("macro", "", 0)
        token.content = src[pos + 2 : end] if end > pos else ""
        token.markup = src[pos:stop]
        token.meta = {"offset": pos}
    state.pos = stop
    return True


def _remember_offset(
    rule: Callable[[StateInline, bool], bool], opening: str
) -> Callable[[StateInline, bool], bool]:
    """Wrap a stock inline rule so the first token of type ``opening`` it pushes
    records the offset where the construct starts."""

    def wrapped(state: StateInline, silent: bool) -> bool:
        start, count = state.pos, len(state.tokens)
        matched = rule(state, silent)
        if matched and not silent:
            for token in state.tokens[count:]:
                if token.type == opening:
                    token.meta = {
                        **(token.meta or {}),
                        "offset": start,
                        "raw": state.src[start : state.pos],
                    }
                    break
        return matched

    return wrapped


def _line_starts(text: str) -> list[int]:
    starts = [0]
    index = text.find("\n")
    while index >= 0:
        starts.append(index + 1)
        index = text.find("\n", index + 1)
    return starts


def _locate(state: StateCore) -> None:
    """Core rule: turn recorded inline offsets into (line, column) of the source."""
    source_lines: list[str] = state.env.setdefault("_lines", state.src.split("\n"))
    # Where to continue searching in a line that holds several table cells.
    cell_cursor: dict[int, int] = {}
    for block in state.tokens:
        if block.type != "inline" or not block.map or not block.children:
            continue
        content = block.content
        starts: list[int] | None = None
        prefixes: dict[int, int] = {}
        first_line = block.map[0]
        for token in _walk(block.children):
            meta = token.meta
            if not meta or "offset" not in meta:
                continue
            if starts is None:
                starts = _line_starts(content)
            offset = meta["offset"]
            k = _bisect(starts, offset)
            if k not in prefixes:
                prefixes[k] = _prefix_width(
                    source_lines,
                    first_line + k,
                    content[
                        starts[k] : (starts[k + 1] - 1) if k + 1 < len(starts) else len(content)
                    ],
                    cell_cursor,
                )
            meta["line"] = first_line + k + 1
            meta["column"] = prefixes[k] + (offset - starts[k]) + 1


def _walk(tokens):
    for token in tokens:
        yield token
        if token.children and token.type != "image":
            yield from _walk(token.children)


def _bisect(starts: list[int], offset: int) -> int:
    lo, hi = 0, len(starts) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if starts[mid] <= offset:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _prefix_width(
    source_lines: list[str], index: int, content_line: str, cell_cursor: dict[int, int]
) -> int:
    """Width of what the block parser stripped before ``content_line`` on this source line
    (list markers, quote markers, indentation, table pipes)."""
    if index >= len(source_lines):
        return 0
    original = source_lines[index]
    since = cell_cursor.get(index, 0)
    for candidate in (content_line, content_line.replace("|", "\\|")):
        found = original.find(candidate, since) if candidate else -1
        if found >= 0:
            cell_cursor[index] = found + len(candidate)
            return found
    return len(original) - len(original.lstrip())


#: Characters that can start something the inline rules kbgen keeps would read.
_INLINE_MARKUP = re.compile(r"[\[\]`<#^!\\~{]")


def _lazy_inline(state: StateCore) -> None:
    """Core rule replacing the stock ``inline``: text with none of the characters any
    remaining inline rule starts at becomes one text token without running the inline
    parser (most headings and plain paragraphs; about a tenth of the parse time)."""
    for token in state.tokens:
        if token.type != "inline":
            continue
        token.children = []
        if _INLINE_MARKUP.search(token.content) is None:
            text = Token("text", "", 0)
            text.content = token.content
            token.children.append(text)
        else:
            state.md.inline.parse(token.content, state.md, state.env, token.children)


def _guard_nesting(md: MarkdownIt) -> None:
    """Contain markdown-it's nesting limit to the line that exceeds it.

    Past ``maxNesting`` the stock block parser skips to the end of the enclosing
    range, which for ``- - - - … text`` is the rest of the document. Here only the
    offending line is skipped, and its number is recorded in ``env["too_deep"]`` so
    the note gets a finding instead of silently losing content.
    """
    tokenize = md.block.tokenize
    limit = md.options["maxNesting"]

    def guarded(state, start_line: int, end_line: int) -> None:
        if state.level >= limit and start_line < end_line:
            state.env.setdefault("too_deep", []).append(start_line)
            end_line = start_line + 1
        tokenize(state, start_line, end_line)

    md.block.tokenize = guarded  # type: ignore[method-assign]


def obsidian_plugin(md: MarkdownIt) -> None:
    """Install the Obsidian extensions on a markdown-it instance."""
    md.inline.ruler.before("link", "wikilink", _wikilink)
    md.inline.ruler.before("link", "block_id", _block_id)
    md.inline.ruler.before("link", "tag", _tag)
    md.inline.ruler.before("link", "macro", _macro)
    md.inline.ruler.at("link", _remember_offset(_stock_link, "link_open"))
    md.inline.ruler.at("image", _remember_offset(_stock_image, "image"))
    md.inline.ruler.at("backticks", _remember_offset(_stock_backticks, "code_inline"))
    md.inline.ruler.at("html_inline", _remember_offset(_stock_html_inline, "html_inline"))
    md.core.ruler.at("inline", _lazy_inline)
    md.core.ruler.after("inline", "kbgen_locate", _locate)


def make_parser() -> MarkdownIt:
    """The one Markdown parser kbgen uses: CommonMark + tables + Obsidian syntax.

    Emphasis, entities and other rules that cannot change what a note links to are
    switched off; kbgen reads structure, it does not render HTML. Strikethrough stays:
    a struck-through register row means "superseded".
    """
    md = MarkdownIt("commonmark", {"html": True, "maxNesting": MAX_NESTING})
    md.enable(["table", "strikethrough"])
    md.disable(["emphasis", "entity", "newline", "autolink"])
    md.use(obsidian_plugin)
    _guard_nesting(md)
    # markdown-it drops links to javascript:, vbscript: and data: URLs (it renders HTML);
    # the site's renderer keeps them, so kbgen must see them to neutralise them.
    md.validateLink = lambda url: True
    return md
