"""Run selected rules over a context and turn their hits into findings.

Selection, severity overrides, per-path ignores and inline suppressions are all
applied here, so rules stay plain functions that only look at the model.

Filtering records which suppression hid each finding. Once every rule has run, a
final pass hands that record to the ``final`` rules (``unused-suppression``), the
way ruff judges ``noqa`` comments after linting.
"""

from __future__ import annotations

from collections.abc import Iterable

from kbgen.config import Config
from kbgen.errors import KbgenError
from kbgen.rules import all_rules
from kbgen.rules.base import Finding, Hit, Rule, Severity
from kbgen.rules.context import Context
from kbgen.rules.suppressions import SuppressionUse
from kbgen.vault.files import matches

#: (note path, index in its ``suppressions``) of a suppression comment.
SuppressionKey = tuple[str, int]


def _matches_rule(rule: Rule, selectors: Iterable[str]) -> bool:
    return any(s == rule.name or rule.code.startswith(s.upper()) for s in selectors)


def select_rules(
    config: Config,
    *,
    commands: tuple[str, ...] = ("audit",),
    select: tuple[str, ...] = (),
    ignore: tuple[str, ...] = (),
) -> list[Rule]:
    """Rules to run: the command's rules, narrowed by config and command-line selectors.

    Selectors are codes (``KB101``), code prefixes (``KB1``) or names (``broken-wikilink``).
    """
    pool = [r for r in all_rules() if r.command in commands]
    for selector in (*config.select, *select, *config.ignore, *ignore):
        if not any(_matches_rule(r, (selector,)) for r in all_rules()):
            raise KbgenError(f"unknown rule selector {selector!r} (see 'kbgen rules')")
    chosen = select or config.select
    if chosen:
        pool = [r for r in pool if _matches_rule(r, chosen)]
    skipped = (*config.ignore, *ignore)
    return [r for r in pool if not _matches_rule(r, skipped)]


def run_rules(ctx: Context, rules: list[Rule]) -> list[Finding]:
    findings: list[Finding] = []
    used: set[SuppressionKey] = set()
    for rule in rules:
        if not rule.final:
            findings.extend(_findings(ctx, rule, rule.check(ctx), used))
    # The final pass: judge the suppressions by what filtering recorded. Its own findings
    # can be suppressed too, but that does not count as using a suppression.
    use = SuppressionUse(
        ctx.vault.notes, frozenset(n for r in rules for n in (r.code, r.name)), frozenset(used)
    )
    for rule in rules:
        if rule.final:
            findings.extend(_findings(ctx, rule, rule.check(use), None))
    return sorted(findings, key=Finding.sort_key)


def _findings(
    ctx: Context, rule: Rule, hits: Iterable[Hit], used: set[SuppressionKey] | None
) -> Iterable[Finding]:
    """Findings of ``rule``'s hits that no per-path ignore or suppression hides; adds the
    suppressions that hide one to ``used`` (when given)."""
    config = ctx.config
    vault = ctx.vault
    severity = _severity(config, rule)
    ignored_here = [
        glob for glob, codes in config.per_path_ignores.items() if _matches_rule(rule, codes)
    ]
    for hit in hits:
        note_path = None if hit.project else hit.path
        if note_path is not None and ignored_here and matches(note_path, tuple(ignored_here)):
            continue
        if note_path is not None:
            suppression = _suppression(ctx, rule, note_path, hit.line)
            if suppression is not None:
                if used is not None:
                    used.add(suppression)
                continue
        shown = hit.path if hit.project else vault.display_path(hit.path)
        yield Finding(
            rule.code,
            rule.name,
            severity,
            shown,
            hit.line,
            hit.column,
            hit.message,
            hit.fix,
            note_path,
        )


def _severity(config: Config, rule: Rule) -> Severity:
    level = config.severity.get(rule.code) or config.severity.get(rule.name)
    return Severity.parse(level) if level else rule.severity


def _suppression(ctx: Context, rule: Rule, note_path: str, line: int) -> SuppressionKey | None:
    """The first suppression of ``rule`` that covers ``line`` of the note, if any."""
    note = ctx.vault.notes.get(note_path)
    if note is None or not note.suppressions:
        return None
    for index, suppression in enumerate(note.suppressions):
        if (
            rule.code in suppression.codes or rule.name in suppression.codes
        ) and suppression.covers(line):
            return note_path, index
    return None
