"""TR7xx: macros in notes that must name something real."""

from __future__ import annotations

from collections.abc import Iterator

from kbgen.rules.base import Hit, Severity, rule
from kbgen.rules.context import Context
from kbgen.trace.macros import MacroError, lookup, parse_call


@rule("TR701", "unknown-macro-target", family="macros", severity=Severity.ERROR, command="trace")
def unknown_macro_target(ctx: Context) -> Iterator[Hit]:
    """A macro in a note that names an option, control, framework or risk that does not exist.

    ## What it does
    Checks every `{{ ... }}` written on one line of a note's body, outside code, that
    calls a function by name: it must be one of kbgen's macros — `option_default`,
    `control_title`, `control_status`, `coverage`, `risk_title` — called with one
    string literal that names something that exists in the model. Text between braces
    that is no call (`{{.Names}}`, `{{ 5+5 }}`) is ordinary text and not reported.

    ## Why is this bad?
    The macro exists so that prose shows the live value instead of a copy; one that
    names nothing, or a misspelt macro, would show the braces as written where a value
    belongs.

    ## Example
    `Passwords have at least {{ option_default("compliance.canonical.password.minLen") }}
    characters.` when the option is `compliance.canonical.password.minLength`.

    ## Fix safety
    No fix.
    """
    model = ctx.trace_model
    for path, note in model.vault.notes.items():
        for macro in note.macros:
            if not macro.is_call:
                continue  # {% … %}, {# … #}: never evaluated, shown as written
            try:
                call = parse_call(macro.expression)
            except MacroError as exc:
                yield Hit(path, macro.line, macro.column, str(exc))
                continue
            if call is None:
                continue
            try:
                lookup(model, call.name, call.argument)
            except MacroError as exc:
                yield Hit(path, macro.line, macro.column, f"{call.name}(): {exc}")
