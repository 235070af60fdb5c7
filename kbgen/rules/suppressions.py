"""KB9xx: the suppression comments themselves."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from kbgen.rules.base import Hit, Severity, rule
from kbgen.rules.context import Context
from kbgen.vault.records import Note


@dataclass(frozen=True)
class SuppressionUse:
    """What the engine recorded while filtering the findings of every other rule."""

    notes: Mapping[str, Note]
    #: Codes and names of the rules that ran: only suppressions naming one are judged.
    ran: frozenset[str]
    #: (note path, index in its ``suppressions``) of each suppression that hid a finding.
    used: frozenset[tuple[str, int]]


@rule("KB901", "unused-suppression", family="suppressions", severity=Severity.WARNING, final=True)
def unused_suppression(use: SuppressionUse) -> Iterator[Hit]:
    """A `kbgen-ignore` comment that suppresses nothing.

    ## What it does
    Reports suppression comments none of whose rules produced a finding where the
    comment applies. Only rules that ran are judged, so `--select` does not make
    other suppressions look unused.

    ## Why is this bad?
    A stale suppression hides the next real problem at that place.

    ## Example
    ```markdown
    <!-- kbgen-ignore KB101: target created by CI -->
    See [[existing-note]].
    ```

    ## Fix safety
    No fix: delete the comment by hand.
    """
    for path, note in use.notes.items():
        for index, suppression in enumerate(note.suppressions):
            judged = any(c in use.ran for c in suppression.codes)
            if judged and (path, index) not in use.used:
                yield Hit(
                    path,
                    suppression.line,
                    suppression.column,
                    f"suppression of {', '.join(suppression.codes)} is unused",
                )


@rule("KB902", "suppression-without-reason", family="suppressions", severity=Severity.WARNING)
def suppression_without_reason(ctx: Context) -> Iterator[Hit]:
    """A `kbgen-ignore` comment that does not say why.

    ## What it does
    Requires every suppression to carry a reason after a colon:
    `<!-- kbgen-ignore KB201: kept for the 2025 audit trail -->`. Also reports codes
    or names that are no rule.

    ## Why is this bad?
    A silent suppression cannot be reviewed; nobody knows whether it still applies.

    ## Example
    `<!-- kbgen-ignore KB201 -->`

    ## Fix safety
    No fix.
    """
    from kbgen.rules.base import REGISTRY

    known = set(REGISTRY) | {r.name for r in REGISTRY.values()}
    for path, note in ctx.vault.notes.items():
        for suppression in note.suppressions:
            if not suppression.reason:
                yield Hit(
                    path,
                    suppression.line,
                    suppression.column,
                    "suppression has no reason (write one after a colon)",
                )
            for code in suppression.codes:
                if code not in known:
                    yield Hit(
                        path,
                        suppression.line,
                        suppression.column,
                        f"suppression names unknown rule {code!r}",
                    )
