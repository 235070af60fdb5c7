"""The one slug: a name for a page, an anchor or a fragment, from any text.

Lower-case ASCII letters and digits, runs of anything else folded into one hyphen,
no hyphen at either end. The same text always gives the same slug, so a control's
anchor in its PRD, its page on the site and a link to either agree. (Heading anchors
are the renderer's business: :func:`kbgen.vault.parse.slugify` reproduces those.)
"""

from __future__ import annotations

import hashlib
import re

_RUNS = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    """``"AC-17(1)"`` -> ``"ac-17-1"``; ``"nist-800-53/AC-2"`` -> ``"nist-800-53-ac-2"``;
    text with no letter or digit -> ``"x"``."""
    return _RUNS.sub("-", text.casefold()).strip("-") or "x"


def unique_slug(text: str) -> str:
    """:func:`slug`, with a short hash of ``text`` when the slug is not ``text`` itself:
    names that slug alike (``ssh`` and ``SSH``, ``a b`` and ``a-b``) never share a page."""
    name = slug(text)
    if name == text:
        return name
    return f"{name}-{hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"
