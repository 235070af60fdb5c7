"""KB1xx: links, embeds and anchors."""

from __future__ import annotations

from collections.abc import Iterator

from kbgen.rules.base import Edit, Fix, FixSafety, Hit, Severity, rule
from kbgen.rules.context import Context
from kbgen.vault.embeds import (
    MAX_EXPANDED_CHARS,
    expanded_size,
    has_note_embeds,
    whole_line_embeds,
)
from kbgen.vault.model import ResolvedLink

FAMILY = "links"


def _hit(resolved: ResolvedLink, message: str, fix: Fix | None = None) -> Hit:
    link = resolved.link
    return Hit(resolved.source, link.line, link.column, message, fix)


def _replace_link(
    resolved: ResolvedLink, new_raw: str, description: str, safety: FixSafety
) -> Fix | None:
    link = resolved.link
    if link.origin != "body":
        return None  # links in frontmatter are YAML strings; leave them to a person
    end = link.column + len(link.raw)
    return Fix(description, safety, (Edit(resolved.source, link.line, link.column, end, new_raw),))


def _rewrite_target(resolved: ResolvedLink, new_target: str) -> str:
    link = resolved.link
    fragment = "".join(f"#{h}" for h in link.headings) + (f"#^{link.block}" if link.block else "")
    alias = f"|{link.alias}" if link.alias is not None else ""
    bang = "!" if link.kind == "embed" else ""
    return f"{bang}[[{new_target}{fragment}{alias}]]"


@rule("KB101", "broken-wikilink", family=FAMILY, severity=Severity.ERROR, fix=FixSafety.UNSAFE)
def broken_wikilink(ctx: Context) -> Iterator[Hit]:
    """A wikilink whose target exists nowhere in the vault.

    ## What it does
    Reports `[[target]]` links that resolve to no note, alias, folder, control or
    register row.

    ## Why is this bad?
    A reader who follows the link lands nowhere, and the knowledge the link promised
    is missing or was renamed without updating its citations.

    ## Example
    ```markdown
    See [[ssh-hardning]] for the settings.
    ```
    Use instead:
    ```markdown
    See [[ssh-hardening]] for the settings.
    ```

    ## Fix safety
    When exactly one existing note has a name close to the target, an *unsafe* fix
    rewrites the link to it: a near name is a guess, so it needs `--unsafe-fixes`.
    """
    for resolved in ctx.vault.links:
        res = resolved.resolution
        if (
            res.status != "broken"
            or resolved.link.kind != "wikilink"
            or resolved.link.target.endswith("/")
        ):
            continue
        fix = None
        message = f"broken link {resolved.link.raw}: {res.detail}"
        if len(res.candidates) == 1:
            stem = res.candidates[0].rsplit("/", 1)[-1].removesuffix(".md")
            message += f" (did you mean [[{stem}]]?)"
            fix = _replace_link(
                resolved,
                _rewrite_target(resolved, stem),
                f"link to {res.candidates[0]}",
                FixSafety.UNSAFE,
            )
        yield _hit(resolved, message, fix)


@rule("KB102", "ambiguous-wikilink", family=FAMILY, severity=Severity.ERROR, fix=FixSafety.SAFE)
def ambiguous_wikilink(ctx: Context) -> Iterator[Hit]:
    """A wikilink that matches several notes, aliases or controls.

    ## What it does
    Reports links such as `[[overview]]` when more than one target answers to that name.
    kbgen never picks one silently.

    ## Why is this bad?
    Obsidian and the site may open different pages for the same link, and a note
    added elsewhere can silently change where an existing link goes.

    ## Example
    With `wiki/architecture/overview.md` and `wiki/hipaa/overview.md`:
    ```markdown
    Start with the [[overview]].
    ```
    Use instead:
    ```markdown
    Start with the [[architecture/overview]].
    ```

    ## Fix safety
    When exactly one candidate lies in the linking note's own folder, a *safe* fix
    rewrites the link to that candidate's vault path: that is the note Obsidian opens,
    so the meaning is kept and made explicit. Otherwise no fix is offered.
    """
    for resolved in ctx.vault.links:
        res = resolved.resolution
        if res.status != "ambiguous":
            continue
        folder = resolved.source.rsplit("/", 1)[0] if "/" in resolved.source else ""
        near = [c for c in res.candidates if (c.rsplit("/", 1)[0] if "/" in c else "") == folder]
        fix = None
        if len(near) == 1 and near[0].endswith(".md"):
            fix = _replace_link(
                resolved,
                _rewrite_target(resolved, near[0].removesuffix(".md")),
                f"link to {near[0]}",
                FixSafety.SAFE,
            )
        yield _hit(resolved, f"ambiguous link {resolved.link.raw}: {res.detail}", fix)


@rule("KB103", "missing-heading-anchor", family=FAMILY, severity=Severity.ERROR)
def missing_heading(ctx: Context) -> Iterator[Hit]:
    """A link to a heading or anchor that the target note does not have.

    ## What it does
    Reports `[[note#Heading]]`, `[[note#Heading#Sub]]`, `[[#Heading]]` and
    `[text](note.md#anchor)` when the note exists but the heading (or the anchor the
    site generates for it) does not.

    ## Why is this bad?
    The page opens at the top instead of the section the author meant; usually the
    heading was renamed.

    ## Example
    ```markdown
    See [[ssh-hardening#Cipher list]].
    ```
    when the heading is `## Ciphers`. Use instead `[[ssh-hardening#Ciphers]]`.

    ## Fix safety
    No fix: which heading was meant is a judgement.
    """
    for resolved in ctx.vault.links:
        if resolved.resolution.status == "no-heading":
            yield _hit(resolved, f"{resolved.link.raw}: {resolved.resolution.detail}")


@rule("KB104", "missing-block-id", family=FAMILY, severity=Severity.ERROR)
def missing_block(ctx: Context) -> Iterator[Hit]:
    """A link to a `^block-id` that the target note does not define.

    ## What it does
    Reports `[[note#^id]]` when `note` has no paragraph, list item or table ending
    in `^id`.

    ## Why is this bad?
    Block links cite one precise statement; a missing id means the statement was
    edited away or the id mistyped, and the citation proves nothing.

    ## Example
    ```markdown
    As decided in [[ssh-decision#^ciphers]].
    ```
    Fix by adding ` ^ciphers` at the end of the cited paragraph.

    ## Fix safety
    No fix: kbgen cannot know which paragraph was meant.
    """
    for resolved in ctx.vault.links:
        if resolved.resolution.status == "no-block":
            yield _hit(resolved, f"{resolved.link.raw}: {resolved.resolution.detail}")


@rule("KB105", "broken-embed", family=FAMILY, severity=Severity.ERROR)
def broken_embed(ctx: Context) -> Iterator[Hit]:
    """An embed or image whose note or attachment does not exist.

    ## What it does
    Reports `![[note]]`, `![[diagram.png|300]]` and `![alt](img/x.svg)` whose target
    is missing from the vault.

    ## Why is this bad?
    The page shows a hole where a diagram or transcluded section should be.

    ## Example
    ```markdown
    ![[network-diagram.png]]
    ```
    when the file is `attachments/network-diagram.svg`.

    ## Fix safety
    No fix.
    """
    for resolved in ctx.vault.links:
        if resolved.resolution.status == "broken" and resolved.link.is_embed:
            yield _hit(resolved, f"broken embed {resolved.link.raw}: {resolved.resolution.detail}")


@rule("KB106", "broken-markdown-link", family=FAMILY, severity=Severity.ERROR)
def broken_markdown_link(ctx: Context) -> Iterator[Hit]:
    """A relative Markdown link to a file that does not exist.

    ## What it does
    Reports `[text](../topic/note.md)` links (not URLs) whose path, taken relative to
    the linking note, names no file in the vault. Folder links `[[topic/]]` whose
    folder has no index are reported here too.

    ## Why is this bad?
    Relative links break when files move; the site renders them as dead links.

    ## Example
    ```markdown
    [threat model](../architecture/threat-model.md)
    ```
    when the note lives at `wiki/architecture/threat-model-v2.md`.

    ## Fix safety
    No fix.
    """
    for resolved in ctx.vault.links:
        link = resolved.link
        if resolved.resolution.status != "broken":
            continue
        if link.kind == "markdown" or (link.kind == "wikilink" and link.target.endswith("/")):
            yield _hit(resolved, f"broken link {link.raw}: {resolved.resolution.detail}")


@rule("KB107", "link-outside-vault", family=FAMILY, severity=Severity.ERROR)
def link_outside_vault(ctx: Context) -> Iterator[Hit]:
    """A link whose path climbs out of the vault.

    ## What it does
    Reports links such as `[[../../../etc/passwd]]` or `[x](../../README.md)` whose
    normalised path leaves the vault root. kbgen never opens such paths.

    ## Why is this bad?
    The published site contains only the vault; such a link is dead there, and a
    tool that followed it would read files it has no business reading.

    ## Example
    ```markdown
    See [[../../flake/README]].
    ```
    Cite repository files as backticked paths instead: `` `flake/README.md` ``.

    ## Fix safety
    No fix.
    """
    for resolved in ctx.vault.links:
        if resolved.resolution.status == "outside":
            yield _hit(resolved, f"{resolved.link.raw} points outside the vault")


@rule("KB108", "self-link", family=FAMILY, severity=Severity.WARNING, fix=FixSafety.UNSAFE)
def self_link(ctx: Context) -> Iterator[Hit]:
    """A note that links to itself without naming a heading or block.

    ## What it does
    Reports `[[this-note]]` inside `this-note.md`. Links to a section of the same
    note (`[[#Heading]]`, `[[this-note#Heading]]`) are fine.

    ## Why is this bad?
    The link goes nowhere new; it usually was meant for another note.

    ## Example
    In `ssh-hardening.md`:
    ```markdown
    The ciphers are listed in [[ssh-hardening]].
    ```

    ## Fix safety
    An *unsafe* fix replaces the link with its display text; the author may have
    meant another note.
    """
    for resolved in ctx.vault.links:
        link = resolved.link
        if not resolved.resolution.ok or link.is_embed or not link.target:
            continue
        if link.headings or link.block or link.anchor:
            continue
        if (
            resolved.target_note == resolved.source
            and resolved.resolution.target
            and resolved.resolution.target.kind == "note"
        ):
            text = link.alias or link.target
            yield _hit(
                resolved,
                f"{link.raw} links to the note it is in",
                _replace_link(resolved, text, "replace the link with its text", FixSafety.UNSAFE),
            )


@rule("KB109", "embed-cycle", family=FAMILY, severity=Severity.ERROR)
def embed_cycle(ctx: Context) -> Iterator[Hit]:
    """Notes that transclude each other in a loop.

    ## What it does
    Reports every cycle of `![[...]]` embeds between notes, once, at the embed that
    closes the cycle in the alphabetically first note.

    ## Why is this bad?
    Transclusion would never end; the site has to cut it off and the reader sees a
    truncated page.

    ## Example
    `a.md` contains `![[b]]` and `b.md` contains `![[a]]`.

    ## Fix safety
    No fix: one of the embeds has to become a plain link, and which one is a choice.
    """
    vault = ctx.vault
    if not has_note_embeds(vault):
        return
    # networkx costs a tenth of a second to import: only when there are embeds.
    from kbgen.vault.graph import embed_cycles, embed_graph

    for cycle in embed_cycles(embed_graph(vault.links)):
        notes = [node.removeprefix("note:") for node in cycle]
        start = min(range(len(notes)), key=notes.__getitem__)
        ordered = notes[start:] + notes[:start]
        source, target = ordered[0], ordered[1 % len(ordered)]
        where = next(
            (
                r
                for r in vault.links_by_source.get(source, ())
                if r.link.is_embed and r.target_note == target
            ),
            None,
        )
        line, column = (where.link.line, where.link.column) if where else (1, 1)
        chain = " -> ".join([*ordered, ordered[0]])
        yield Hit(source, line, column, f"embed cycle: {chain}")


@rule("KB110", "embed-expansion-too-large", family=FAMILY, severity=Severity.ERROR)
def embed_expansion_too_large(ctx: Context) -> Iterator[Hit]:
    """A note whose embeds, transcluded, would make a page larger than 2 MB.

    ## What it does
    Measures each note's page with every `![[...]]` of a note transcluded (to the
    depth cap of 4) and reports the notes whose page would exceed 2,000,000
    characters, at their first embed. The site stops transcluding at that size.

    ## Why is this bad?
    Depth is capped, fan-out is not: six notes under 1 KB that each embed the next
    twelve times expand to a 29 MB page that takes minutes to build and a reader's
    browser to its knees. The truncated page would not show what the note says.

    ## Example
    `a.md` embeds `![[b]]` twelve times, `b.md` embeds `![[c]]` twelve times, and
    so on for six notes.

    ## Fix safety
    No fix: replace some embeds with links.
    """
    vault = ctx.vault
    if not has_note_embeds(vault):
        return
    for note in vault.notes.values():
        embeds = whole_line_embeds(vault, note)
        if not embeds:
            continue
        size = expanded_size(vault, note)
        if size > MAX_EXPANDED_CHARS:
            first = embeds[min(embeds)]
            yield _hit(
                first,
                f"embeds expand this page to over {MAX_EXPANDED_CHARS:,} "
                "characters; the site stops transcluding there",
            )
