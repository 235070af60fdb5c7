"""Where the flake declares and defines each option a control cites, and with what value.

Each place is a :class:`Site` of one *component* of the flake: a module folder
(``flake/modules/<name>/``), a host folder (``flake/hosts/<name>/``), or the rest of
the flake (``flake.nix``, ``lib/`` …). Definitions made inside compliance-test nodes
implement nothing and are left out, as the trace model leaves them out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from kbgen.nix.model import WILDCARDS, FlakeIndex, OptionDecl, OptionDef, split_path
from kbgen.oscal.ids import code

#: The component that holds whatever is neither in a module nor in a host folder.
REST = ("flake", "flake")


@dataclass(frozen=True, slots=True)
class Site:
    """One declaration or definition of an option."""

    #: (kind, name): ``("module", "ssh")``, ``("host", "ai-server")`` or :data:`REST`.
    component: tuple[str, str]
    option: str
    file: str
    line: int
    #: Markdown: the option and its value (``services.openssh.enable`` = ``true``).
    text: str


class OptionSites:
    """Lookups of option sites over one flake index (answers are kept per path)."""

    def __init__(self, flake: FlakeIndex, flake_dir: str) -> None:
        self._flake = flake
        self._prefix = flake_dir.strip("/") + "/" if flake_dir not in ("", ".") else ""
        self._entries: list[tuple[tuple[str, ...], OptionDecl | OptionDef]] | None = None
        self._known: dict[str, tuple[Site, ...]] = {}

    def of(self, path: str) -> tuple[Site, ...]:
        """Every site of ``path``: the exact path, the paths its wildcards match, and,
        when nothing else is found, the options below it (``security.loginDefs.settings``
        is implemented by its ``.PASS_MAX_DAYS`` …)."""
        known = self._known.get(path)
        if known is None:
            known = self._known[path] = self._find(path)
        return known

    def _find(self, path: str) -> tuple[Site, ...]:
        found: list[OptionDecl | OptionDef] = [
            *self._flake.declared(path),
            *self._flake.defined(path),
        ]
        segments = split_path(path)
        if any(s in WILDCARDS for s in segments):
            found += [
                item
                for segs, item in self._all()
                if len(segs) == len(segments) and _matches(segs, segments)
            ]
        if not [f for f in found if not isinstance(f, OptionDef) or f.test is None]:
            found += [
                item
                for segs, item in self._all()
                if len(segs) > len(segments) and _matches(segs, segments)
            ]
        unique = {
            (type(f).__name__, f.path, f.pos.file, f.pos.line, f.pos.column): f
            for f in found
            if not isinstance(f, OptionDef) or f.test is None
        }
        return tuple(self._site(unique[key]) for key in sorted(unique, key=_order))

    def _all(self) -> list[tuple[tuple[str, ...], OptionDecl | OptionDef]]:
        if self._entries is None:
            self._entries = [(split_path(d.path), d) for d in self._flake.declarations]
            self._entries += [
                (split_path(d.path), d) for d in self._flake.definitions if d.test is None
            ]
        return self._entries

    def _site(self, item: OptionDecl | OptionDef) -> Site:
        return Site(
            self.component_of(item.pos.file),
            item.path,
            item.pos.file,
            item.pos.line,
            describe(item),
        )

    def component_of(self, file: str) -> tuple[str, str]:
        """The component a project-relative ``.nix`` file belongs to."""
        if not file.startswith(self._prefix):
            return REST
        parts = file[len(self._prefix) :].split("/")
        if len(parts) >= 2 and parts[0] in ("modules", "hosts"):
            kind = "module" if parts[0] == "modules" else "host"
            return kind, parts[1].removesuffix(".nix") if len(parts) == 2 else parts[1]
        return REST


def _order(key: tuple[str, str, str, int, int]) -> tuple[str, int, int, str, str]:
    kind, path, file, line, column = key
    return file, line, column, kind, path


def _matches(found: tuple[str, ...], wanted: tuple[str, ...]) -> bool:
    """Whether ``found`` starts with ``wanted``; a wildcard on either side matches."""
    return all(
        a == b or a in WILDCARDS or b in WILDCARDS for a, b in zip(found, wanted, strict=False)
    )


def describe(item: OptionDecl | OptionDef) -> str:
    """The option and what the flake gives it, in Markdown."""
    if isinstance(item, OptionDef):
        wrapper = f" (with {item.priority})" if item.priority else ""
        kind = "" if item.value_is_literal else " (an expression)"
        return f"{code(item.path)} = {code(item.value_text)}{kind}{wrapper}"
    if item.kind == "mkEnableOption" or (item.default_is_literal and item.default_text is None):
        default = f", default {code(nix_literal(item.default))}"
    elif item.has_default and item.default_text is not None:
        default = f", default {code(item.default_text)}"
    else:
        default = ", no default"
    return f"{code(item.path)} declared ({item.kind}{default})"


def nix_literal(value: object) -> str:
    """A Python literal from the index, written as Nix."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[ " + " ".join(nix_literal(v) for v in value) + " ]" if value else "[ ]"
    if isinstance(value, dict):
        return "{ " + " ".join(f"{k} = {nix_literal(v)};" for k, v in value.items()) + " }"
    return json.dumps(str(value), ensure_ascii=False)


def flake_dir(project_root: Path, flake_root: Path) -> str:
    """The flake folder relative to the project root (``flake``)."""
    try:
        return flake_root.relative_to(project_root).as_posix()
    except ValueError:
        return ""
