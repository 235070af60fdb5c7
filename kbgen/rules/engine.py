"""Run selected rules over a context and turn their hits into findings.

Selection, severity overrides, per-path ignores and inline suppressions are all
applied here, so rules stay plain functions that only look at the model.
"""

from __future__ import annotations

from collections.abc import Iterable

from kbgen.config import Config
from kbgen.errors import KbgenError
from kbgen.rules import all_rules
from kbgen.rules.base import Finding, Hit, Rule, Severity
from kbgen.rules.context import Context
from kbgen.rules.suppressions import AFTER
from kbgen.vault.files import matches


def _matches_rule(rule: Rule, selectors: Iterable[str]) -> bool:
    return any(s == rule.name or rule.code.startswith(s.upper()) for s in selectors)


def select_rules(config: Config, *, commands: tuple[str, ...] = ("audit",),
                 select: tuple[str, ...] = (), ignore: tuple[str, ...] = ()) -> list[Rule]:
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
    ctx.selected_codes = frozenset(r.code for r in rules)
    ctx.selected_names = frozenset(r.name for r in rules)
    findings: list[Finding] = []
    first = [r for r in rules if r.code not in AFTER]
    after = [r for r in rules if r.code in AFTER]
    for rule in first:
        findings.extend(_findings(ctx, rule, rule.check(ctx)))
    for rule in after:
        findings.extend(_findings(ctx, rule, rule.check(ctx)))
    return sorted(findings, key=Finding.sort_key)


def _findings(ctx: Context, rule: Rule, hits: Iterable[Hit]) -> Iterable[Finding]:
    config = ctx.config
    vault = ctx.vault
    severity = _severity(config, rule)
    ignored_here = [glob for glob, codes in config.per_path_ignores.items()
                    if _matches_rule(rule, codes)]
    for hit in hits:
        note_path = None if hit.project else hit.path
        if note_path is not None and ignored_here and matches(note_path, tuple(ignored_here)):
            continue
        if note_path is not None and _suppressed(ctx, rule, note_path, hit.line):
            continue
        shown = hit.path if hit.project else vault.display_path(hit.path)
        yield Finding(rule.code, rule.name, severity, shown, hit.line, hit.column, hit.message,
                      hit.fix, note_path)


def _severity(config: Config, rule: Rule) -> Severity:
    level = config.severity.get(rule.code) or config.severity.get(rule.name)
    return Severity.parse(level) if level else rule.severity


def _suppressed(ctx: Context, rule: Rule, note_path: str, line: int) -> bool:
    note = ctx.vault.notes.get(note_path)
    if note is None or not note.suppressions:
        return False
    for index, suppression in enumerate(note.suppressions):
        if (rule.code in suppression.codes or rule.name in suppression.codes) and \
                suppression.covers(line):
            if rule.code not in AFTER:
                ctx.used_suppressions.add((note_path, index))
            return True
    return False
