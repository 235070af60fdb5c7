"""TR1xx: control tables in PRDs; TR2xx: controls, Nix options and tests."""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from kbgen.rules.base import Hit, Severity, problem_hits, rule
from kbgen.rules.context import Context
from kbgen.trace.controls import OPTION_PATH, Control, TraceProblemKind


def _problems(ctx: Context, *kinds: TraceProblemKind) -> Iterator[Hit]:
    yield from problem_hits(ctx.trace_model.controls.problems, kinds)


def control_hit(control: Control, message: str) -> Hit:
    """A hit at a control's row in its PRD."""
    return Hit(control.note, control.line, control.column, message)


@rule(
    "TR101",
    "invalid-control-id",
    family="controls",
    severity=Severity.ERROR,
    command="trace",
    reports=(TraceProblemKind.INVALID_ID,),
)
def invalid_control_id(ctx: Context) -> Iterator[Hit]:
    """A control id that does not follow its framework's grammar.

    ## What it does
    Normalises each id in a control table (`ac-6 (9)` becomes `AC-6(9)`,
    `Article 12` becomes `Art. 12`) and checks it against the framework's grammar:
    NIST `AC-6(9)`, HIPAA `§164.312(a)(2)(iv)`, PCI DSS `8.3.6`, HITRUST `01.a`,
    OWASP LLM `LLM01:2025`, OWASP agentic `T1`, MITRE ATLAS `AML.T0051`, EU AI Act
    `Art. 12`, ISO/IEC 42001 `A.6.2.8`, NIST AI RMF `GOVERN 1.1`, DISA STIG `V-268078`.

    ## Why is this bad?
    An id nobody can look up in the standard proves nothing to an auditor, and links
    and tests cannot name it.

    ## Example
    `| AC6-9 | Log privileged functions | host | ... |` in the NIST PRD.

    ## Fix safety
    No fix.
    """
    yield from _problems(ctx, TraceProblemKind.INVALID_ID)


@rule(
    "TR102",
    "duplicate-control-id",
    family="controls",
    severity=Severity.ERROR,
    command="trace",
    reports=(TraceProblemKind.DUPLICATE_ID,),
)
def duplicate_control_id(ctx: Context) -> Iterator[Hit]:
    """The same control defined twice.

    ## What it does
    Reports a second row (in any PRD) whose framework and normalised id are already
    defined.

    ## Why is this bad?
    Two rows can say different things about one control; links, tests and the matrix
    cannot know which one counts.

    ## Example
    `AC-2` in the Access Control table and again in an appendix table.

    ## Fix safety
    No fix.
    """
    yield from _problems(ctx, TraceProblemKind.DUPLICATE_ID)


@rule(
    "TR103",
    "malformed-control-row",
    family="controls",
    severity=Severity.ERROR,
    command="trace",
    reports=(TraceProblemKind.MALFORMED_ROW,),
)
def malformed_control_row(ctx: Context) -> Iterator[Hit]:
    """A control-table row with the wrong number of cells, no id, or an unknown layer.

    ## What it does
    Compares each row's cells as written with the header (Markdown silently pads or
    drops cells), requires an id, and requires the layer to be `host`, `hybrid` or
    `org`.

    ## Why is this bad?
    A shifted cell moves option paths into the requirement column or a policy link
    out of the row: the control looks mapped when it is not, or the reverse.

    ## Example
    `| AC-2 | Account management | host | Accounts are declarative |` under a
    six-column header.

    ## Fix safety
    No fix.
    """
    yield from _problems(ctx, TraceProblemKind.MALFORMED_ROW)


@rule(
    "TR104",
    "prd-without-framework",
    family="controls",
    severity=Severity.ERROR,
    command="trace",
    reports=(TraceProblemKind.PRD_FRAMEWORK,),
)
def prd_without_framework(ctx: Context) -> Iterator[Hit]:
    """A PRD with control tables that does not name a known framework.

    ## What it does
    Every PRD that has a control table must name its framework, with an id kbgen knows:
    `framework: {id, name, version}` in its frontmatter; or, for PRDs kept without kbgen
    frontmatter, a `[tool.kbgen.prd-frameworks]` glob (`"docs/prd/prd-access.md" =
    "nist-800-53"`) or the id in the file name (`prd-pci-dss.md`). A frontmatter
    `framework` that is not such a mapping, or names an unknown id, is reported too.

    ## Why is this bad?
    Without the framework the ids cannot be validated or linked, and the controls are
    silently left out of the matrix.

    ## Example
    ```yaml
    framework: NIST
    ```
    Use `framework: {id: nist-800-53, name: NIST SP 800-53 Rev. 5, version: "5.1.1"}`.

    ## Fix safety
    No fix.
    """
    yield from _problems(ctx, TraceProblemKind.PRD_FRAMEWORK)


@rule(
    "TR201",
    "control-without-option",
    family="traceability",
    severity=Severity.ERROR,
    command="trace",
)
def control_without_option(ctx: Context) -> Iterator[Hit]:
    """A host or hybrid control that cites no Nix option.

    ## What it does
    Every control whose layer is `host` or `hybrid` must name, in its `Nix options`
    column, at least one option path in backticks.

    ## Why is this bad?
    A host control is, by definition, enforced by the flake; without an option there is
    nothing to show an auditor and nothing a test can check.

    ## Example
    `| AC-17 | Remote access | host | SSH only from the LAN | | |`

    ## Fix safety
    No fix.
    """
    for control in ctx.trace_model.controls.controls:
        if control.layer != "org" and not control.options:
            yield control_hit(
                control, f"{control.key} is a {control.layer} control but cites no Nix option"
            )


@rule("TR202", "phantom-option", family="traceability", severity=Severity.ERROR, command="trace")
def phantom_option(ctx: Context) -> Iterator[Hit]:
    """A cited Nix option that is neither declared nor defined anywhere in the flake.

    ## What it does
    Looks up every option path a control cites in kbgen's index of `flake/`
    (declarations, definitions inside `mkIf`/`mkMerge`, nested sets, submodule
    `<name>` paths). Settings made only inside test nodes do not count. Suggests the
    closest existing path.

    ## Why is this bad?
    The PRD claims an implementation that does not exist: the typo, rename or removed
    module means the control is not enforced.

    ## Example
    `` `services.openssh.permitRootLogin` `` (renamed to
    `services.openssh.settings.PermitRootLogin`).

    ## Fix safety
    No fix: the suggestion is a guess.
    """
    model = ctx.trace_model
    known = None
    for control in model.controls.controls:
        for option in control.options:
            if model.option_exists(option.path):
                continue
            if known is None:
                known = sorted(model.flake.option_paths)
            close = difflib.get_close_matches(option.path, known, n=1, cutoff=0.8)
            hint = f" (did you mean {close[0]}?)" if close else ""
            yield Hit(
                control.note,
                option.line,
                option.column,
                f"{control.key} cites {option.path}, which the flake neither declares nor "
                f"defines{hint}",
            )


@rule(
    "TR203", "control-without-test", family="traceability", severity=Severity.ERROR, command="trace"
)
def control_without_test(ctx: Context) -> Iterator[Hit]:
    """A host or hybrid control that no compliance test verifies.

    ## What it does
    Every `host` or `hybrid` control must be listed in the `controls` of at least one
    `mkComplianceTest` under `flake/tests/`.

    ## Why is this bad?
    Configuration that is never exercised drifts: an option rename or an upstream
    default change turns the control off without anyone noticing.

    ## Example
    `AU-8` cites `services.chrony.enable`, but no test names `nist-800-53/AU-8`.

    ## Fix safety
    No fix.
    """
    model = ctx.trace_model
    for control in model.controls.controls:
        if (
            control.layer != "org"
            and control.options
            and not model.tests_by_control.get(control.key)
        ):
            yield control_hit(control, f"no compliance test names {control.key}")


@rule(
    "TR204",
    "test-names-unknown-control",
    family="traceability",
    severity=Severity.ERROR,
    command="trace",
)
def test_names_unknown_control(ctx: Context) -> Iterator[Hit]:
    """A compliance test that claims to verify a control no PRD defines.

    ## What it does
    Each entry of a test's `controls` list must be `framework-id/ID` and name a control
    of a PRD (ids are normalised first).

    ## Why is this bad?
    The test's evidence counts for nothing, or for the wrong control when an id is
    mistyped.

    ## Example
    `controls = [ "nist-800-53/AC-177" ];`

    ## Fix safety
    No fix.
    """
    model = ctx.trace_model
    for test in model.tests:
        for key in test.controls:
            if model.canonical_control(key) is None:
                yield Hit(
                    test.pos.file,
                    test.pos.line,
                    test.pos.column,
                    f"test {test.name} names {key}, which no PRD defines",
                    project=True,
                )


@rule(
    "TR205",
    "test-sets-no-cited-option",
    family="traceability",
    severity=Severity.ERROR,
    command="trace",
)
def test_sets_no_cited_option(ctx: Context) -> Iterator[Hit]:
    """A compliance test whose nodes set none of the options its controls cite.

    ## What it does
    For each test, collects the option paths its controls cite and checks that the
    test's nodes define at least one of them (or a path under one).

    ## Why is this bad?
    A test that never turns on the configuration it claims to verify passes against a
    default machine and proves nothing about the control.

    ## Example
    A test naming `nist-800-53/AC-17` whose node only sets `networking.hostName`.

    ## Fix safety
    No fix.
    """
    model = ctx.trace_model
    for test in model.tests:
        cited = {
            o.path
            for key in test.controls
            if (control := model.canonical_control(key)) is not None
            for o in control.options
        }
        if not cited:
            continue
        if not any(
            path == option or path.startswith(option + ".") or option.startswith(path + ".")
            for path in test.options_set
            for option in cited
        ):
            yield Hit(
                test.pos.file,
                test.pos.line,
                test.pos.column,
                f"test {test.name} sets none of the options its controls cite",
                project=True,
            )


@rule(
    "TR206",
    "org-control-without-policy",
    family="traceability",
    severity=Severity.ERROR,
    command="trace",
)
def org_control_without_policy(ctx: Context) -> Iterator[Hit]:
    """An org control with neither a policy note nor a residual-risk row.

    ## What it does
    Every `org` control's row must link a note under `policies/` or a residual-risk row
    (`[[RR-03]]`).

    ## Why is this bad?
    An organisational control that points at no policy is a promise with no owner,
    cadence or evidence.

    ## Example
    `| AT-2 | Literacy training | org | Annual training | | |`

    ## Fix safety
    No fix.
    """
    model = ctx.trace_model
    for control in model.controls.controls:
        if (
            control.layer == "org"
            and not model.policies_of(control)
            and not model.risks_of(control)
        ):
            yield control_hit(
                control,
                f"{control.key} is an org control but links no policy and no residual-risk row",
            )


@rule("TR207", "uncited-option", family="traceability", severity=Severity.INFO, command="trace")
def uncited_option(ctx: Context) -> Iterator[Hit]:
    """An option declared in the flake that no control cites and no note mentions.

    ## What it does
    Lists `compliance.*` (and other) options declared under `flake/` that no control
    row cites and no note mentions in backticks.

    ## Why is this bad?
    Either the option implements something the PRDs forgot to claim, or it is dead
    configuration surface. Informational.

    ## Example
    `compliance.accounts.lockRoot` declared but cited nowhere.

    ## Fix safety
    No fix.
    """
    model = ctx.trace_model
    cited = {o.path for c in model.controls.controls for o in c.options}
    cited |= {span.text.strip() for note in model.vault.notes.values() for span in note.code_spans}
    cited |= {s.canonical_path for s in model.settings.settings}
    for declaration in model.flake.declarations:
        parts = declaration.path.split(".")
        # Cited itself, or under a cited path (citing a module's option set covers it).
        if any(".".join(parts[:n]) in cited for n in range(2, len(parts) + 1)):
            continue
        yield Hit(
            declaration.pos.file,
            declaration.pos.line,
            declaration.pos.column,
            f"option {declaration.path} is declared but no control cites it",
            project=True,
        )


@rule(
    "TR208",
    "note-cites-missing-option",
    family="traceability",
    severity=Severity.ERROR,
    command="trace",
)
def note_cites_missing_option(ctx: Context) -> Iterator[Hit]:
    """A note that names, in backticks, a project option the flake does not have.

    ## What it does
    Code spans in any note that look like an option path under one of
    `option-prefixes` (default: `compliance.`) must be declared or defined in
    `flake/`. `<name>` segments match any attribute name.

    ## Why is this bad?
    Prose that names options is how readers find the implementation; a renamed or
    invented option sends them nowhere, and the claim it supports is unverified.

    ## Example
    `` `compliance.canonical.logRetention.auditDays` `` when the module declares
    `compliance.canonical.logRetention.journaldMaxRetention`.

    ## Fix safety
    No fix.
    """
    model = ctx.trace_model
    prefixes = tuple(ctx.config.option_prefixes)
    if not prefixes or not model.flake.files:
        return
    for path, note in model.vault.notes.items():
        for span in note.code_spans:
            text = span.text.strip()
            if not text.startswith(prefixes) or not OPTION_PATH.fullmatch(text):
                continue
            if not model.flake.is_defined_or_declared(text):
                yield Hit(path, span.line, span.column, f"`{text}` is not an option of the flake")
