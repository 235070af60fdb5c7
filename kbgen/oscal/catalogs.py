"""The catalog each framework's controls come from, as OSCAL ``source`` references.

A PRD's frontmatter names its framework (``framework: {id, name, version}``) and may
name the framework's OSCAL catalog or profile with ``catalog:`` (a URL, or a path
relative to the exported document). Without one, NIST SP 800-53 points at NIST's own
catalog (:data:`~kbgen.oscal.ids.NIST_CATALOG`) and any other framework at a back-matter
resource that carries the framework's name and version and links to its PRDs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kbgen.oscal.ids import (
    NIST_CATALOG,
    SHARED_NIST,
    SHARED_NIST_FILES,
    href,
    prop,
    uuid_for,
)
from kbgen.trace.frameworks import FRAMEWORKS
from kbgen.trace.model import TraceModel


@dataclass(frozen=True)
class Catalog:
    """One framework of the model, and where its controls are defined."""

    framework: str
    name: str
    version: str
    #: Project-relative paths of the PRDs that list its controls.
    prds: tuple[str, ...]
    #: The ``catalog:`` of a PRD's frontmatter, or NIST's catalog (None: neither).
    href: str | None
    #: Project-relative links to resolved baselines of the catalog (NIST's shared ones).
    local: tuple[str, ...] = ()

    @property
    def resource_uuid(self) -> str:
        return uuid_for("catalog", self.framework)

    @property
    def source(self) -> str:
        """The ``source`` of a control implementation: the catalog, or its resource."""
        return self.href or f"#{self.resource_uuid}"

    @property
    def title(self) -> str:
        return f"{self.name} ({self.version})" if self.version else self.name


def catalogs(trace: TraceModel) -> dict[str, Catalog]:
    """Framework id -> :class:`Catalog`, for every framework that has a PRD."""
    found: dict[str, Catalog] = {}
    shared = trace.config.project_root.parent / SHARED_NIST.removeprefix("../")
    for prd in sorted(trace.controls.prds, key=lambda p: p.note):
        path = trace.vault.display_path(prd.note)
        known = found.get(prd.framework)
        if known is not None:
            found[prd.framework] = Catalog(
                known.framework,
                known.name,
                known.version,
                (*known.prds, path),
                known.href or _catalog_key(trace, prd.note),
                known.local,
            )
            continue
        given = _catalog_key(trace, prd.note)
        nist = prd.framework == "nist-800-53"
        local = tuple(
            f"{SHARED_NIST}/{name}"
            for name in SHARED_NIST_FILES
            if nist and (shared / name).is_file()
        )
        found[prd.framework] = Catalog(
            prd.framework,
            prd.name or FRAMEWORKS[prd.framework].name,
            prd.version,
            (path,),
            given or (NIST_CATALOG if nist else None),
            local,
        )
    return dict(sorted(found.items()))


def _catalog_key(trace: TraceModel, note_path: str) -> str | None:
    note = trace.vault.notes.get(note_path)
    meta = note.frontmatter.get("framework") if note is not None else None
    value = meta.get("catalog") if isinstance(meta, dict) else None
    return value.strip() if isinstance(value, str) and value.strip() else None


def resource(catalog: Catalog) -> dict[str, Any]:
    """The back-matter resource that names a framework's catalog and its PRDs."""
    rlinks = (
        [{"href": catalog.href, "media-type": "application/oscal.catalog+json"}]
        if catalog.href
        else []
    )
    rlinks += [{"href": path} for path in catalog.local]
    rlinks += [{"href": href(path), "media-type": "text/markdown"} for path in catalog.prds]
    text = (
        f"{catalog.title}: the control ids are those of the framework's catalog"
        if catalog.href
        else f"{catalog.title}: no OSCAL catalog is named (add catalog: to the framework "
        "frontmatter of its PRD); the controls are those listed in the PRD"
    )
    return {
        "uuid": catalog.resource_uuid,
        "title": catalog.title,
        "description": text,
        "props": [
            prop("framework", catalog.framework),
            *([prop("version", catalog.version)] if catalog.version else []),
        ],
        "rlinks": rlinks,
    }


def catalog_links(catalog: Catalog) -> list[dict[str, str]]:
    """Links of a control implementation: its catalog resource and local baselines."""
    links = [
        {
            "href": f"#{catalog.resource_uuid}",
            "rel": "reference",
            "text": f"{catalog.title} (catalog and PRDs)",
        }
    ]
    links += [
        {
            "href": path,
            "rel": "reference",
            "text": f"a resolved baseline of the catalog, beside the project: "
            f"{path.rsplit('/', 1)[-1]}",
        }
        for path in catalog.local
    ]
    return links
