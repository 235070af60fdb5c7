"""The OSCAL component definition of the flake: which part of it implements which control.

One component per part of the flake that declares or defines an option a control
cites: each module folder (``flake/modules/<name>/``, type ``software``), each host
folder (``flake/hosts/<name>/``) and the rest of the flake. A control appears in every
component that holds one of its options, with that component's options and values. The
controls no part of the flake implements (organisational ones, covered by a policy or an
accepted risk, and those that cite no option that exists) belong to one more component,
``Organisational measures`` (type ``policy``). Every control of every framework is thus
an implemented requirement at least once; see docs/oscal.md.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from kbgen import __version__
from kbgen.oscal.catalogs import Catalog, catalog_links, catalogs, resource
from kbgen.oscal.ids import (
    OSCAL_VERSION,
    code,
    document_time,
    head_revision,
    href,
    link,
    oscal_control_id,
    prop,
    uuid_for,
)
from kbgen.oscal.sites import REST, OptionSites, Site, flake_dir
from kbgen.trace.controls import Control
from kbgen.trace.model import TraceModel
from kbgen.trace.status import MEANING

#: The component of the controls no part of the flake implements.
ORGANISATION = ("organisation", "organisation")
_KIND_ORDER = {"module": 0, "host": 1, "flake": 2, "organisation": 3}


def component_definition(trace: TraceModel, *, time: str | None = None) -> dict[str, Any]:
    """The component definition, as the JSON object OSCAL defines (a plain dict)."""
    root = trace.config.project_root
    folder = flake_dir(root, trace.config.flake_root)
    sites = OptionSites(trace.flake, folder)
    cats = catalogs(trace)
    carried: dict[tuple[str, str], dict[str, list[dict[str, Any]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for control in sorted(trace.controls.controls, key=lambda c: (c.framework, c.note, c.line)):
        by_component = _sites_by_component(trace, sites, control)
        for component, found in by_component.items():
            others = sorted(set(by_component) - {component})
            carried[component][control.framework].append(
                _requirement(trace, control, component, found, others)
            )
        if not by_component:
            carried[ORGANISATION][control.framework].append(
                _requirement(trace, control, ORGANISATION, [], [])
            )
    revision = head_revision(root)
    return {
        "component-definition": {
            "uuid": uuid_for("component-definition", trace.config.flake),
            "metadata": {
                "title": f"Control implementations of the NixOS flake {folder or '.'}/",
                "last-modified": time or document_time(root),
                "version": revision or "unversioned",
                "oscal-version": OSCAL_VERSION,
                "props": [prop("generator", f"kbgen {__version__}")],
                "remarks": "Written by kbgen export oscal component-definition from the PRDs, "
                "registers and flake index. Every href without a scheme is relative "
                "to the project root; #L<n> names a line.",
            },
            "components": [
                _component(key, carried[key], cats, folder)
                for key in sorted(carried, key=lambda k: (_KIND_ORDER[k[0]], k[1]))
            ],
            "back-matter": {"resources": [resource(c) for c in cats.values()]},
        }
    }


def _sites_by_component(
    trace: TraceModel, sites: OptionSites, control: Control
) -> dict[tuple[str, str], list[tuple[str, Site]]]:
    """Component -> (cited option, site) for every option of ``control`` that exists."""
    found: dict[tuple[str, str], list[tuple[str, Site]]] = defaultdict(list)
    for option in dict.fromkeys(trace.valid_options(control)):
        for site in sites.of(option):
            found[site.component].append((option, site))
    return dict(sorted(found.items(), key=lambda item: (_KIND_ORDER[item[0][0]], item[0][1])))


def _component(
    key: tuple[str, str],
    by_framework: dict[str, list[dict[str, Any]]],
    cats: dict[str, Catalog],
    folder: str,
) -> dict[str, Any]:
    kind, name = key
    title, description, path = _component_text(kind, name, folder)
    return {
        "uuid": uuid_for("component", kind, name),
        "type": "policy" if key == ORGANISATION else "software",
        "title": title,
        "description": description,
        "props": [prop("component-kind", kind), *([prop("path", path)] if path else [])],
        **({"links": [{"href": href(path), "rel": "reference", "text": path}]} if path else {}),
        "control-implementations": [
            {
                "uuid": uuid_for("control-implementation", kind, name, framework),
                "source": cats[framework].source if framework in cats else f"#{framework}",
                "description": f"The {cats[framework].title if framework in cats else framework}"
                f" controls {_whose(kind, name)}.",
                "props": [prop("framework", framework)],
                **({"links": catalog_links(cats[framework])} if framework in cats else {}),
                "implemented-requirements": requirements,
            }
            for framework, requirements in sorted(by_framework.items())
        ],
    }


def _component_text(kind: str, name: str, folder: str) -> tuple[str, str, str]:
    """(title, description, project-relative folder or '') of a component."""
    base = f"{folder}/" if folder else ""
    if kind == "module":
        return (
            f"{name} (NixOS module)",
            f"The NixOS module {base}modules/{name}/: the "
            "options it declares and the settings it makes, for the controls that cite "
            "them.",
            f"{base}modules/{name}/",
        )
    if kind == "host":
        return (
            f"{name} (NixOS host)",
            f"The host configuration {base}hosts/{name}/: the "
            "module options it turns on and the values it sets.",
            f"{base}hosts/{name}/",
        )
    if (kind, name) == REST:
        return (
            "flake (other files)",
            f"The files of the flake {base or './'} outside its "
            "modules/ and hosts/ folders (flake.nix, lib/ …).",
            base,
        )
    return (
        "Organisational measures",
        "The controls no part of the flake implements: "
        "organisational controls covered by a policy note or an accepted residual risk, "
        "and controls that cite no option that exists in the flake.",
        "",
    )


def _whose(kind: str, name: str) -> str:
    if kind == "organisation":
        return "that policies, accepted risks or nothing yet cover (no flake option)"
    return (
        f"whose options the {name} {kind} declares or defines"
        if kind != "flake"
        else "whose options the rest of the flake declares or defines"
    )


def _requirement(
    trace: TraceModel,
    control: Control,
    component: tuple[str, str],
    found: list[tuple[str, Site]],
    others: list[tuple[str, str]],
) -> dict[str, Any]:
    detail = trace.status_detail(control)
    lines = [
        f"**{control.id} {control.title}**".rstrip()
        + (f": {control.requirement}" if control.requirement else "")
    ]
    if found:
        lines += ["", "Nix options here:"]
        lines += [f"- {site.text} ({site.file}:{site.line})" for _, site in found]
    lines += _coverage_lines(trace, control)
    lines += ["", f"Status in kbgen: {detail.status} ({MEANING[detail.status]})."]
    remarks = _remarks(trace, control, others)
    return {
        "uuid": uuid_for("implemented-requirement", *component, control.key),
        "control-id": oscal_control_id(control.framework, control.id),
        "description": "\n".join(lines),
        "props": [
            prop("framework", control.framework),
            prop("control", control.id),
            prop("layer", control.layer),
            prop("status", detail.status),
            *[prop("nix-option", o) for o in dict.fromkeys(o for o, _ in found)],
        ],
        "links": _links(trace, control, [site for _, site in found]),
        **({"remarks": remarks} if remarks else {}),
    }


def _coverage_lines(trace: TraceModel, control: Control) -> list[str]:
    """What covers the control besides the flake: policies and accepted risks."""
    policies = [trace.vault.display_path(p) for p in trace.policies_of(control)]
    risks = trace.risks_of(control)
    lines = []
    if policies:
        lines += ["", "Policy: " + ", ".join(policies) + "."]
    if risks:
        lines += ["", "Accepted risk: " + ", ".join(_risk_text(trace, r) for r in risks) + "."]
    if not policies and not risks and not trace.valid_options(control):
        lines += [
            "",
            "No option that exists in the flake implements it, and no policy or "
            "accepted risk covers it.",
        ]
    return lines


def _risk_text(trace: TraceModel, key: str) -> str:
    row = trace.risk_by_id.get(key)
    return f"{key} {row.title}" if row is not None and row.title else key


def _remarks(trace: TraceModel, control: Control, others: list[tuple[str, str]]) -> str:
    valid = set(trace.valid_options(control))
    missing = [o.path for o in control.options if o.path not in valid]
    parts = []
    if others:
        parts.append(
            "Also implemented by: " + ", ".join(f"{name} ({kind})" for kind, name in others) + "."
        )
    if missing:
        parts.append(
            "Cited in the PRD but neither declared nor defined by the flake: "
            + ", ".join(code(o) for o in dict.fromkeys(missing))
            + "."
        )
    return " ".join(parts)


def _links(trace: TraceModel, control: Control, sites: list[Site]) -> list[dict[str, str]]:
    prd = trace.vault.display_path(control.note)
    links = [link(prd, control.line, "reference", f"PRD row {prd}:{control.line}")]
    seen = set()
    for site in sites:
        if (site.file, site.line) not in seen:
            seen.add((site.file, site.line))
            links.append(
                link(
                    site.file,
                    site.line,
                    "implemented-by",
                    f"{site.option} at {site.file}:{site.line}",
                )
            )
    for test in trace.tests_by_control.get(control.key, ()):
        links.append(
            link(
                test.pos.file,
                test.pos.line,
                "compliance-test",
                f"compliance test {test.name} ({test.pos.file}:{test.pos.line})",
            )
        )
    for policy in trace.policies_of(control):
        path = trace.vault.display_path(policy)
        links.append(link(path, None, "policy", f"policy {path}"))
    for key in trace.risks_of(control):
        row = trace.risk_by_id.get(key)
        if row is not None:
            path = trace.vault.display_path(row.note)
            links.append(
                link(path, row.line, "accepted-risk", f"accepted risk {key} ({path}:{row.line})")
            )
    return links
