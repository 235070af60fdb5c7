"""Identifiers, times and the small building blocks every OSCAL document of kbgen shares.

* UUIDs are version 5 over :data:`NAMESPACE` and a key naming the thing (``component/
  module/ssh``, ``finding/nist-800-53/AC-17``): the same input gives the same document.
* Control ids take the form of an OSCAL catalog: NIST SP 800-53 ids as NIST's own
  catalog writes them (``AC-6(9)`` -> ``ac-6.9``); other frameworks' ids made into an
  OSCAL token (see :func:`oscal_control_id` and docs/oscal.md).
* Times come from ``SOURCE_DATE_EPOCH``, else the last commit's time, else the epoch.
"""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

#: The OSCAL version the documents are written against.
OSCAL_VERSION = "1.1.2"
#: The fixed namespace of every UUID kbgen writes (uuid5 of ``urn:kbgen:oscal``).
NAMESPACE = uuid.UUID("616f6ddb-f2a7-5acf-85ec-7f242238eda1")
#: The namespace of kbgen's own property names (``status``, ``framework`` …); the
#: reserved ``.invalid`` domain says that it names, and resolves to, nothing.
PROP_NS = "https://kbgen.invalid/ns/oscal"
#: NIST's OSCAL catalog of SP 800-53 Rev. 5 (every control, PM and withdrawn ones too);
#: the resolved baseline catalogs in ``../shared/catalogs/nist-sp800-53-rev5/`` are
#: profiles of it and use the same ids.
NIST_CATALOG = (
    "https://raw.githubusercontent.com/usnistgov/oscal-content/main/nist.gov/"
    "SP800-53/rev5/json/NIST_SP-800-53_rev5_catalog.json"
)
#: Where the shared, resolved NIST catalogs sit, relative to the project root.
SHARED_NIST = "../shared/catalogs/nist-sp800-53-rev5"
SHARED_NIST_FILES = (
    "NIST_SP-800-53_rev5_HIGH-baseline-resolved-profile_catalog-min.json",
    "NIST_SP-800-53_rev5_PRIVACY-baseline-resolved-profile_catalog-min.json",
)

_NIST = re.compile(r"([A-Z]{2})-(\d{1,2})(?:\((\d{1,2})\))?")
_TOKEN_BAD = re.compile(r"[^A-Za-z0-9_.\-]+")


def uuid_for(*parts: str) -> str:
    """The UUID of the thing named by ``parts`` (joined with ``/``)."""
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


def oscal_control_id(framework: str, control_id: str) -> str:
    """The id of a control as an OSCAL catalog would write it.

    NIST SP 800-53: ``AC-2`` -> ``ac-2``, ``AC-6(9)`` -> ``ac-6.9``. Other frameworks
    keep their spelling, made a token: ``§`` dropped, ``(x)`` -> ``.x``, spaces and
    colons -> ``-``, and an id that would start with a digit gets the framework id in
    front (``8.3.6`` -> ``pci-dss-8.3.6``)."""
    if framework == "nist-800-53":
        match = _NIST.fullmatch(control_id)
        if match:
            family, number, enhancement = match.groups()
            return f"{family.lower()}-{number}" + (f".{enhancement}" if enhancement else "")
    text = control_id.replace("§", "")
    text = re.sub(r"\(([^()]*)\)", r".\1", text)
    text = re.sub(r"\.\s+", "-", text)
    text = _TOKEN_BAD.sub("-", text).strip("-.")
    text = re.sub(r"-{2,}", "-", text)
    if not text or not (text[0].isascii() and (text[0].isalpha() or text[0] == "_")):
        text = f"{framework}-{text}"
    return text


def objective_id(framework: str, control_id: str) -> str:
    """The control's assessment objective, as NIST's catalog names it (``ac-17_obj``)."""
    return oscal_control_id(framework, control_id) + "_obj"


def href(path: str, line: int | None = None) -> str:
    """A project-relative file as an OSCAL link (``vault/prd/x.md#L12``)."""
    return quote(path, safe="/._-~") + (f"#L{line}" if line else "")


def prop(name: str, value: object, **extra: str) -> dict[str, Any]:
    """A property in kbgen's namespace."""
    return {"name": name, "ns": PROP_NS, "value": one_line(str(value)) or "-", **extra}


def link(path: str, line: int | None, rel: str, text: str) -> dict[str, str]:
    return {"href": href(path, line), "rel": rel, "text": text}


def one_line(text: str, limit: int = 0) -> str:
    """``text`` with every run of white space made one space (cut to ``limit``)."""
    flat = " ".join(text.split())
    return flat if not limit or len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def count(number: int, noun: str) -> str:
    """``1 control``, ``2 controls``."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def code(text: str, limit: int = 160) -> str:
    """Inline Markdown code for a Nix value or path."""
    flat = one_line(text, limit)
    return f"`` {flat} ``" if "`" in flat else f"`{flat}`"


# -- time -------------------------------------------------------------------------------


def document_time(project_root: Path) -> str:
    """``SOURCE_DATE_EPOCH`` if set, else the last commit's time, else the epoch."""
    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not raw.isdigit():
        raw = _git(project_root, "log", "-1", "--format=%ct") or "0"
    return timestamp(datetime.fromtimestamp(int(raw) if raw.isdigit() else 0, tz=UTC))


def head_revision(project_root: Path) -> str | None:
    """The commit the project is at, when git can tell."""
    return _git(project_root, "rev-parse", "--verify", "HEAD^{commit}")


def timestamp(moment: datetime) -> str:
    """An OSCAL date-time with a time zone (a time without one is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _git(cwd: Path, *args: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    out = result.stdout.strip()
    return out if result.returncode == 0 and out else None
