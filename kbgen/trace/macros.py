"""Macros: prose that shows a live value of the model.

    {{ option_default("compliance.canonical.ssh.maxAuthTries") }}
    {{ control_title("nist-800-53/AC-17") }}  {{ control_status("nist-800-53/AC-17") }}
    {{ coverage("nist-800-53") }}             {{ risk_title("RR-02") }}

Content is data, never code. A macro is recognised only where an author wrote
``{{ ... }}`` on one line of a note's body, outside code (the parser records each as
a :class:`~kbgen.vault.records.Macro`), and only when the expression is exactly one
call of a function below with one string literal. Such a call is evaluated in Jinja's
immutable sandbox, whose only names are these functions, when kbgen compiles the
Markdown: the compiled tree holds the values, and no renderer ever sees a template.
Anything else between braces (``{{ .Names }}``, ``{{ 5+5 }}``, attribute access) is
ordinary text, shown as written.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from jinja2 import TemplateSyntaxError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from kbgen.trace.exports import coverage as coverage_figures

if TYPE_CHECKING:
    from kbgen.trace.model import TraceModel

MACROS = ("option_default", "control_title", "control_status", "coverage", "risk_title")


class MacroError(LookupError):
    """A macro call whose argument names nothing, or that is malformed."""


@dataclass(frozen=True, slots=True)
class MacroCall:
    """``{{ name("argument") }}`` as an author wrote it."""

    name: str
    argument: str


@cache
def _environment() -> ImmutableSandboxedEnvironment:
    """A sandbox with no names at all (not even Jinja's default ``range`` or ``lipsum``);
    each evaluation passes the macro functions as its only globals."""
    environment = ImmutableSandboxedEnvironment(autoescape=False)
    environment.globals.clear()
    environment.filters.clear()
    environment.tests.clear()
    return environment


def parse_call(expression: str) -> MacroCall | None:
    """The macro call ``{{ expression }}`` is, or None when it is ordinary text.

    :class:`MacroError` when it calls a bare name the way a macro is called but is not
    a well-formed call of one of :data:`MACROS` (a typo, a missing argument): the author
    meant a macro, and the text would otherwise be shown as written without a word.
    """
    try:
        template = _environment().parse("{{" + expression + "}}")
    except TemplateSyntaxError:
        return None
    body = template.body
    if len(body) != 1 or not isinstance(body[0], nodes.Output) or len(body[0].nodes) != 1:
        return None
    call = body[0].nodes[0]
    if not isinstance(call, nodes.Call) or not isinstance(call.node, nodes.Name):
        return None
    name = call.node.name
    if name not in MACROS:
        raise MacroError(
            f"{name}() is not a kbgen macro (known: {', '.join(MACROS)}); it is shown as written"
        )
    if (
        len(call.args) != 1
        or call.kwargs
        or call.dyn_args
        or call.dyn_kwargs
        or not isinstance(call.args[0], nodes.Const)
        or not isinstance(call.args[0].value, str)
    ):
        raise MacroError(f"{name}() takes one string argument")
    return MacroCall(name, call.args[0].value)


def evaluate(trace: TraceModel, expression: str) -> str | None:
    """The text ``{{ expression }}`` stands for: the macro's value, or None when the
    expression is not a macro call (the caller shows it as written).

    The call is rendered by the sandbox with the macro functions as its only names.
    """
    call = parse_call(expression)
    if call is None:
        return None
    functions: dict[str, Callable[[str], str]] = {name: _bound(trace, name) for name in MACROS}
    return _environment().from_string("{{" + expression + "}}", globals=functions).render()


def _bound(trace: TraceModel, name: str) -> Callable[[str], str]:
    def macro(argument: str) -> str:
        return lookup(trace, name, argument)

    return macro


def lookup(trace: TraceModel, name: str, argument: str) -> str:
    """The value a macro shows, or :class:`MacroError` when the argument names nothing."""
    if name == "option_default":
        module = trace.config.canonical_module
        declared = list(trace.flake.declared(argument))
        preferred = [d for d in declared if d.pos.file == module] or declared
        if not preferred or not preferred[0].default_is_literal:
            raise MacroError(f"no option {argument!r} with a literal default in the flake")
        return _show(preferred[0].default)
    if name in ("control_title", "control_status"):
        control = trace.canonical_control(argument)
        if control is None:
            raise MacroError(f"no control {argument!r}")
        return control.title if name == "control_title" else trace.status(control)
    if name == "coverage":
        for figure in coverage_figures(trace):
            if figure.framework == argument:
                return (
                    f"{figure.verified_percent:.0f}% verified ({figure.verified} of "
                    f"{figure.host_and_hybrid} host and hybrid controls)"
                )
        raise MacroError(f"no framework {argument!r} with a PRD")
    if name == "risk_title":
        row = trace.risk_by_id.get(argument)
        if row is None:
            raise MacroError(f"no residual-risk row {argument!r}")
        return row.title
    raise MacroError(f"unknown macro {name!r}")


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(_show(v) for v in value)
    return json.dumps(value)
