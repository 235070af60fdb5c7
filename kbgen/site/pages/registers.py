"""The resolved-settings page."""

from __future__ import annotations

import json

from kbgen.site import escape, paths
from kbgen.site.pages.common import code, link
from kbgen.site.render import PageContext, frontmatter


def settings_page(ctx: PageContext) -> dict[str, str]:
    settings = ctx.trace.settings
    page = f"{paths.GENERATED}/settings.md"
    lines = [
        frontmatter(
            "Resolved settings",
            "Every cross-framework value, its driving "
            "frameworks, rejected values and canonical option.",
        ),
        "# Resolved settings",
        "",
        f"From `{escape.text(settings.path)}`: each value is pinned to an option of the "
        "canonical module, which `kbgen trace` checks on every build.",
        "",
    ]
    for setting in settings.settings:
        lines += [
            f"## {escape.text(setting.title)} {{ #{escape.anchor_id(setting.id)} }}",
            "",
            f"**Value** {code(json.dumps(setting.value))} · **canonical option** "
            + link(
                page,
                ctx.layout.option_page(setting.canonical_path, ctx.trace.flake),
                code(setting.canonical_path),
            ),
            "",
        ]
        drivers = []
        for key in setting.frameworks:
            control = ctx.trace.canonical_control(key)
            drivers.append(
                link(page, paths.control_page(control.key), escape.text(key))
                if control
                else escape.text(key)
            )
        if drivers:
            lines += ["Driven by " + ", ".join(drivers) + ".", ""]
        if setting.rejected:
            lines += ["| Rejected value | Why |", "|---|---|"]
            lines += [
                f"| {code(json.dumps(value))} | {escape.text(reason)} |"
                for value, reason in setting.rejected
            ]
            lines.append("")
    return {page: "\n".join(lines) + "\n"}
