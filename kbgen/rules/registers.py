"""TR3xx: the residual-risk register; TR4xx: resolved settings against the canonical module."""

from __future__ import annotations

from collections.abc import Iterator

from kbgen.rules.base import Hit, Severity, problem_hits, rule
from kbgen.rules.context import Context
from kbgen.trace.controls import TraceProblemKind
from kbgen.trace.registers import today


def _risk_problems(ctx: Context, *kinds: TraceProblemKind) -> Iterator[Hit]:
    yield from problem_hits(ctx.trace_model.risks.problems, kinds)


def _settings_problems(ctx: Context, *kinds: TraceProblemKind) -> Iterator[Hit]:
    yield from problem_hits(ctx.trace_model.settings.problems, kinds)


@rule(
    "TR301",
    "risk-register-invalid",
    family="risks",
    severity=Severity.ERROR,
    command="trace",
    reports=(TraceProblemKind.RISK_REGISTER,),
)
def risk_register_invalid(ctx: Context) -> Iterator[Hit]:
    """The residual-risk register is missing or its table lacks the required columns.

    ## What it does
    Expects the note at `residual-risks` (default `registers/residual-risks.md`) with a
    table whose columns are `ID`, `Risk`, `Source`, `Why infrastructure cannot fully
    mitigate`, `What would change the answer`, `Acceptance / mitigation`, `Owner`,
    `Accepted on`, `Review due`, `Likelihood` and `Impact`.

    ## Why is this bad?
    Risks that infrastructure cannot close must be written down and accepted by
    someone; without the register, "accepted risk" is an unsupported claim.

    ## Example
    A register whose table calls the last column `Notes`.

    ## Fix safety
    No fix.
    """
    model = ctx.trace_model
    if not model.risks.exists:
        yield Hit(model.risks.path, 1, 1, f"no residual-risk register at {model.risks.path}")
    yield from _risk_problems(ctx, TraceProblemKind.RISK_REGISTER)


@rule(
    "TR302",
    "risk-row-incomplete",
    family="risks",
    severity=Severity.ERROR,
    command="trace",
    reports=(TraceProblemKind.RISK_ROW,),
)
def risk_row_incomplete(ctx: Context) -> Iterator[Hit]:
    """A register row with an empty or malformed field, or an id not of the form `RR-01`.

    ## What it does
    Every row needs all ten fields: Risk, Source, Why infrastructure cannot fully
    mitigate, What would change the answer, Acceptance / mitigation, Owner (a role),
    Accepted on and Review due (ISO dates such as `2026-06-30`, the review not before
    the acceptance), Likelihood and Impact (`low`, `medium` or `high`).

    ## Why is this bad?
    An accepted risk without its reason, trigger for review, owner, dates or rating is
    not an acceptance an auditor can evaluate.

    ## Example
    `| RR-07 | GPU side channels | [[nist-800-53/SC-4]] | | | | | 30/06/2026 | | severe | |`

    ## Fix safety
    No fix.
    """
    yield from _risk_problems(ctx, TraceProblemKind.RISK_ROW)


@rule(
    "TR303",
    "risk-row-numbering",
    family="risks",
    severity=Severity.ERROR,
    command="trace",
    reports=(TraceProblemKind.RISK_NUMBERING,),
)
def risk_row_numbering(ctx: Context) -> Iterator[Hit]:
    """Register rows out of order, skipped or renumbered.

    ## What it does
    Rows must run `RR-01`, `RR-02`, ... without gaps or repeats. The register is
    append-only: a row that no longer applies is struck through (`~~risk~~`), never
    deleted, so a gap means a deleted row.

    ## Why is this bad?
    Other documents, tickets and past audits cite rows by number; renumbering or
    deleting silently changes what those citations mean.

    ## Example
    `RR-04` followed by `RR-06`.

    ## Fix safety
    No fix.
    """
    yield from _risk_problems(ctx, TraceProblemKind.RISK_NUMBERING)


@rule("TR304", "risk-cites-no-control", family="risks", severity=Severity.ERROR, command="trace")
def risk_cites_no_control(ctx: Context) -> Iterator[Hit]:
    """A register row whose Source cites no existing control or framework.

    ## What it does
    The links in each row's Source field must resolve to controls (or to a framework's
    PRD); a row citing nothing, or only links that do not resolve to a control, is
    reported.

    ## Why is this bad?
    A residual risk exists because some control cannot be fully met; without the
    control the acceptance is detached from the requirement it excuses.

    ## Example
    `| RR-09 | Insider with root | the NIST stuff | ... |`

    ## Fix safety
    No fix.
    """
    model = ctx.trace_model
    prds = {p.note for p in model.controls.prds}
    for row in model.risks.rows:
        targets = model.targets_of(row.note, row.links)
        if not any(t.kind == "control" or t.note in prds for t in targets):
            yield Hit(row.note, row.line, 1, f"{row.id}: Source cites no control or framework")


@rule("TR305", "risk-row-unreferenced", family="risks", severity=Severity.ERROR, command="trace")
def risk_row_unreferenced(ctx: Context) -> Iterator[Hit]:
    """A register row that no control and no note refers to.

    ## What it does
    Each row that is not struck through must be linked (`[[RR-05]]`) from at least one
    control row or note other than the register.

    ## Why is this bad?
    An accepted risk nobody points at is invisible from the controls it excuses; a
    reader of the PRD never learns the control is only partly met.

    ## Example
    `RR-11` exists, but no PRD row or article links `[[RR-11]]`.

    ## Fix safety
    No fix.
    """
    model = ctx.trace_model
    for row in model.risks.rows:
        if not row.superseded and not model.mentions.get(row.id):
            yield Hit(row.note, row.line, 1, f"{row.id} is not referenced by any control or note")


@rule("TR306", "risk-review-overdue", family="risks", severity=Severity.WARNING, command="trace")
def risk_review_overdue(ctx: Context) -> Iterator[Hit]:
    """A register row whose review-due date has passed.

    ## What it does
    Compares each row's `Review due` date with today (the UTC date, or the date of
    `SOURCE_DATE_EPOCH` when that is set, so that a check can be repeated). Rows
    struck through are not reviewed any more and are skipped.

    ## Why is this bad?
    An acceptance is made for a time: past its review date nobody has confirmed that
    the reasons, the compensating measures and the owner still hold.

    ## Example
    `Review due` is `2026-03-31` and the check runs on 2026-04-02.

    ## Fix safety
    No fix: review the row, then move its date.
    """
    now = today()
    for row in ctx.trace_model.risks.rows:
        due = row.review_due
        if not row.superseded and due is not None and due < now:
            yield Hit(
                row.note,
                row.line,
                1,
                f"{row.id}: review was due on {due.isoformat()} (owner: {row.owner or 'none'})",
            )


@rule(
    "TR401",
    "resolved-settings-invalid",
    family="settings",
    severity=Severity.ERROR,
    command="trace",
    reports=(TraceProblemKind.SETTINGS_FILE, TraceProblemKind.SETTINGS_ROW),
)
def resolved_settings_invalid(ctx: Context) -> Iterator[Hit]:
    """The resolved-settings file is missing, not valid YAML, or has malformed rows.

    ## What it does
    Reads `resolved-settings` (default `registers/resolved-settings.yaml`): a mapping
    with a `settings` list whose rows have at least `id`, `value` and
    `canonical_path`.

    ## Why is this bad?
    The file is where conflicting framework values are resolved; if it cannot be read,
    drift between the documentation and the flake goes unchecked.

    ## Example
    A row without `canonical_path`.

    ## Fix safety
    No fix.
    """
    model = ctx.trace_model
    if not model.settings.exists:
        yield Hit(model.settings.path, 1, 1, f"no resolved settings at {model.settings.path}")
    yield from _settings_problems(
        ctx, TraceProblemKind.SETTINGS_FILE, TraceProblemKind.SETTINGS_ROW
    )


@rule("TR402", "setting-not-canonical", family="settings", severity=Severity.ERROR, command="trace")
def setting_not_canonical(ctx: Context) -> Iterator[Hit]:
    """A resolved setting whose `canonical_path` is not an option of the canonical module.

    ## What it does
    `canonical_path` must be an option declared in `canonical-module` (default
    `flake/modules/canonical/default.nix`).

    ## Why is this bad?
    The whole point of the canonical module is one source of truth per value; a setting
    pinned elsewhere (or nowhere) can change without the register noticing.

    ## Example
    `canonical_path: services.openssh.settings.MaxAuthTries` (an upstream option, not
    the canonical one).

    ## Fix safety
    No fix.
    """
    model = ctx.trace_model
    module = ctx.config.canonical_module
    for setting in model.settings.settings:
        if not any(d.pos.file == module for d in model.flake.declared(setting.canonical_path)):
            yield Hit(
                model.settings.path,
                setting.line,
                1,
                f"{setting.id}: {setting.canonical_path} is not declared in {module}",
            )


@rule("TR403", "setting-value-drift", family="settings", severity=Severity.ERROR, command="trace")
def setting_value_drift(ctx: Context) -> Iterator[Hit]:
    """A resolved setting whose value differs from the canonical option's default.

    ## What it does
    Compares each row's `value` with the literal `default` of the option it pins. A
    default that is not a literal cannot be compared and is reported too.

    ## Why is this bad?
    The register tells auditors one value while the server runs another.

    ## Example
    `value: 12` for `compliance.canonical.password.minLength` whose default is `15`.

    ## Fix safety
    No fix: which side is right is a decision.
    """
    model = ctx.trace_model
    module = ctx.config.canonical_module
    for setting in model.settings.settings:
        declared = [d for d in model.flake.declared(setting.canonical_path) if d.pos.file == module]
        if not declared:
            continue
        option = declared[0]
        if not option.default_is_literal:
            yield Hit(
                model.settings.path,
                setting.line,
                1,
                f"{setting.id}: the default of {setting.canonical_path} is not a literal "
                f"({option.default_text}); it cannot be checked",
            )
        elif option.default != setting.value:
            yield Hit(
                model.settings.path,
                setting.line,
                1,
                f"{setting.id}: value {setting.value!r} differs from "
                f"{setting.canonical_path} = {option.default!r} "
                f"({option.pos.file}:{option.pos.line})",
            )


@rule(
    "TR404",
    "canonical-option-without-setting",
    family="settings",
    severity=Severity.ERROR,
    command="trace",
)
def canonical_option_without_setting(ctx: Context) -> Iterator[Hit]:
    """A canonical option that no resolved setting documents.

    ## What it does
    Every option declared in the canonical module must be the `canonical_path` of a
    resolved-settings row.

    ## Why is this bad?
    A cross-framework value without a row has no recorded reason, no driving
    frameworks and no rejected alternatives: the next reviewer cannot tell why it is
    what it is.

    ## Example
    `compliance.canonical.ssh.loginGraceTime` added to the module, but not to the YAML.

    ## Fix safety
    No fix.
    """
    model = ctx.trace_model
    module = ctx.config.canonical_module
    pinned = {s.canonical_path for s in model.settings.settings}
    for declaration in model.flake.declarations:
        if declaration.pos.file == module and declaration.path not in pinned:
            yield Hit(
                declaration.pos.file,
                declaration.pos.line,
                declaration.pos.column,
                f"{declaration.path} has no row in {ctx.config.resolved_settings}",
                project=True,
            )


@rule(
    "TR405",
    "setting-cites-unknown-control",
    family="settings",
    severity=Severity.ERROR,
    command="trace",
)
def setting_cites_unknown_control(ctx: Context) -> Iterator[Hit]:
    """A resolved setting whose `frameworks` list names a control no PRD defines.

    ## What it does
    Each entry of a row's `frameworks` must be `framework-id/ID` of an existing control.

    ## Why is this bad?
    The reasons for a value are the controls that drive it; a wrong id makes the
    justification unverifiable.

    ## Example
    `frameworks: [pci-dss/8.2.3]` (a v3.2.1 number).

    ## Fix safety
    No fix.
    """
    model = ctx.trace_model
    for setting in model.settings.settings:
        for key in setting.frameworks:
            if model.canonical_control(key) is None:
                yield Hit(
                    model.settings.path,
                    setting.line,
                    1,
                    f"{setting.id}: {key} is not a control of any PRD",
                )
