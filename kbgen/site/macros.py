"""Macros for mkdocs-macros-plugin: prose pulls live values from the model.

    {{ option_default("compliance.canonical.ssh.maxAuthTries") }}
    {{ control_title("nist-800-53/AC-17") }}  {{ control_status("nist-800-53/AC-17") }}
    {{ coverage("nist-800-53") }}             {{ risk_title("RR-02") }}

Each macro looks its argument up in the compiled model; an argument that names
nothing is a finding of ``kbgen check`` (TR701, with file and line) before MkDocs
runs, and an error here if MkDocs is run some other way.
"""

from __future__ import annotations

import json
from typing import Any

from kbgen.trace.exports import coverage as coverage_figures
from kbgen.trace.model import TraceModel

MACROS = ("option_default", "control_title", "control_status", "coverage", "risk_title")


class MacroError(LookupError):
    pass


def lookup(trace: TraceModel, name: str, argument: str) -> str:
    """The value a macro shows, or :class:`MacroError` when the argument names nothing."""
    if name == "option_default":
        module = trace.config.canonical_module
        declared = [d for d in trace.flake.declared(argument)] or []
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
                return f"{figure.percent_covered:.0f}%"
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


def define_env(env) -> None:
    from kbgen.site import state

    def bind(name: str):
        def macro(argument: str) -> str:
            if state.CURRENT is None or state.CURRENT.trace is None:
                raise MacroError("the kbgen plugin must run before macros")
            return lookup(state.CURRENT.trace, name, argument)
        macro.__name__ = name
        return macro

    for name in MACROS:
        env.macro(bind(name), name)
