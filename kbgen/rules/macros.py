"""TR7xx: macros in notes that must name something real."""

from __future__ import annotations

from collections.abc import Iterator

from kbgen.rules.base import Hit, Severity, rule
from kbgen.rules.context import Context
from kbgen.site.macros import MACROS, MacroError, lookup
from kbgen.trace.model import TraceModel


@rule("TR701", "unknown-macro-target", family="macros", severity=Severity.ERROR,
      command="trace")
def unknown_macro_target(ctx: Context) -> Iterator[Hit]:
    """A macro in a note that names an option, control, framework or risk that does not exist.

    ## What it does
    Parses each note that contains `{{` as a Jinja template (the language of
    mkdocs-macros-plugin) and checks every call of kbgen's macros —
    `option_default`, `control_title`, `control_status`, `coverage`, `risk_title` —
    against the model: the argument must be a string naming something that exists.
    A template syntax error is reported too.

    ## Why is this bad?
    The macro exists so that prose shows the live value instead of a copy; one that
    names nothing breaks the site build, or shows nothing where a value belongs.

    ## Example
    `Passwords have at least {{ option_default("compliance.canonical.password.minLen") }}
    characters.` when the option is `compliance.canonical.password.minLength`.

    ## Fix safety
    No fix.
    """
    import jinja2
    from jinja2 import nodes

    model: TraceModel = ctx.trace
    environment = jinja2.Environment()
    for path, note in model.vault.notes.items():
        if not any("{{" in line or "{%" in line for line in note.lines):
            continue
        source = "\n".join(note.lines)
        try:
            tree = environment.parse(source)
        except jinja2.TemplateSyntaxError as exc:
            yield Hit(path, exc.lineno or 1, 1, f"macro syntax error: {exc.message}")
            continue
        for call in tree.find_all(nodes.Call):
            if not isinstance(call.node, nodes.Name) or call.node.name not in MACROS:
                continue
            name = call.node.name
            if len(call.args) != 1 or not isinstance(call.args[0], nodes.Const) or \
                    not isinstance(call.args[0].value, str):
                yield Hit(path, call.lineno, 1, f"{name}() takes one string argument")
                continue
            try:
                lookup(model, name, call.args[0].value)
            except MacroError as exc:
                yield Hit(path, call.lineno, 1, f"{name}(): {exc}")
