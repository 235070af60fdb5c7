"""One escaping helper per output context of a generated page.

Every piece of text that comes from a note, a PRD, a register or the flake and lands
on a generated page goes through exactly one of these, chosen by where it lands:

=====================  =========================================================
context                helper
=====================  =========================================================
Markdown text          :func:`text` (also inside table cells and headings)
prose with `code`      :func:`prose` (backticked spans as inline code, the rest text)
link text              :func:`link_text`
inline code            :func:`code` (an HTML ``<code>`` element, safe in a table)
link destination       :func:`destination` (percent-encoded path and fragment)
HTML attribute value   :func:`attribute`
fenced code block      :func:`fenced` (a fence longer than any run in the text)
YAML frontmatter       :func:`yaml_string`
anchor id              :func:`anchor_id`
=====================  =========================================================

The output is plain CommonMark plus inline HTML, so any renderer shows the same text;
character references (``&#96;``) are used rather than backslash escapes because
they mean the same thing in every Markdown dialect and in raw HTML.
"""

from __future__ import annotations

import html
import re
from urllib.parse import quote

from kbgen.names import slug

# Characters that start Markdown, HTML or an Obsidian construct anywhere in a line.
_MARKUP = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "'": "&#x27;",
        "[": "&#91;",
        "]": "&#93;",
        "|": "&#124;",
        "*": "&#42;",
        "_": "&#95;",
        "`": "&#96;",
        "\\": "&#92;",
        "{": "&#123;",
        "}": "&#125;",
        "#": "&#35;",
        "!": "&#33;",
        "~": "&#126;",
        "$": "&#36;",
        "^": "&#94;",
        "\n": " ",
        "\r": " ",
        "\t": " ",
    }
)


def text(value: object) -> str:
    """Text shown as written, on one line, in running Markdown, a heading or a table cell."""
    return str(value).translate(_MARKUP)


_CODE_SPAN = re.compile(r"(`+)(.+?)\1")


def prose(value: object) -> str:
    """Plain prose that marks code with backticks (a Nix option's description, a rule's
    message): each backticked span as inline code, the rest as text."""
    value, out, position = str(value), [], 0
    for match in _CODE_SPAN.finditer(value):
        out += [text(value[position : match.start()]), code(match.group(2).strip())]
        position = match.end()
    out.append(text(value[position:]))
    return "".join(out)


def link_text(value: object) -> str:
    """The visible text of a ``[text](url)`` link."""
    return text(value)


def code(value: object) -> str:
    """Inline code: an HTML ``<code>`` element whose content is escaped like text.

    A Markdown code span cannot hold every string (backtick runs, a table's ``|``);
    the element can, and renders the same.
    """
    return f"<code>{text(value)}</code>"


def attribute(value: object) -> str:
    """The value of a double-quoted HTML attribute."""
    return html.escape(str(value), quote=True).replace("\n", "&#10;")


def destination(path: str, fragment: str | None = None) -> str:
    """A relative URL for a Markdown link or an ``href``, from a raw (not yet encoded)
    path and fragment. Everything but unreserved characters and ``/`` is
    percent-encoded: a space or ``)`` cannot end the destination, ``#`` in a file name
    stays part of the path, and ``:`` cannot turn the first segment into a scheme
    (a note named ``javascript:alert(1).md`` links to ``javascript%3Aalert%281%29.md``)."""
    url = quote(path, safe="/")
    return f"{url}#{quote(fragment, safe='')}" if fragment else url


def fenced(body: str, info: str = "") -> str:
    """A fenced code block that shows ``body`` verbatim: the fence is one backtick longer
    than the longest run of backticks in the body, so no line of it can close the block."""
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    end = "" if body.endswith("\n") or not body else "\n"
    return f"{fence}{info}\n{body}{end}{fence}\n"


def yaml_string(value: object) -> str:
    """A double-quoted YAML scalar on one line (JSON strings are valid YAML)."""
    flat = re.sub(r"[\x00-\x1f\x7f]", " ", str(value))
    return '"' + flat.replace("\\", "\\\\").replace('"', '\\"') + '"'


def anchor_id(value: str) -> str:
    """An HTML id and URL fragment from arbitrary text (:func:`kbgen.names.slug`: the same
    in an attribute, a fragment and a selector)."""
    return slug(value)


def repo_base(url: str) -> str | None:
    """``[tool.kbgen] repo-url`` as a base for file links: only http(s) URLs without
    spaces, quotes or angle brackets (anything else gives no links at all)."""
    url = url.strip()
    if not re.match(r"https?://[^\s\"'<>]+$", url):
        return None
    return url if url.endswith("/") else url + "/"
