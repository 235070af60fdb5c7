"""The traceability model: controls, the flake index, tests and registers.

Built once per run from the already compiled vault (see ``kbgen.project``); the
trace rules, the exports and the site only look things up here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property

from kbgen.config import Config
from kbgen.evidence import NO_EVIDENCE, Evidence
from kbgen.nix.model import ComplianceTest, FlakeIndex, NixParseError
from kbgen.nix.upstream import UpstreamOptions, nixpkgs_revision
from kbgen.trace.controls import Control, ControlSet
from kbgen.trace.frameworks import FRAMEWORKS, split_key
from kbgen.trace.registers import ResolvedSettings, RiskRegister, RiskRow
from kbgen.trace.status import ControlStatus, host_status
from kbgen.vault.model import Target, Vault


@dataclass(frozen=True)
class TraceModel:
    config: Config
    vault: Vault
    controls: ControlSet
    risks: RiskRegister
    settings: ResolvedSettings
    flake: FlakeIndex
    #: Supplied test results (none: every tested control is at most ``test-written``).
    evidence: Evidence = NO_EVIDENCE
    #: Errors from ``nix-instantiate --parse`` when it was run.
    cross_check: tuple[NixParseError, ...] = ()
    #: NixOS's option set (``[tool.kbgen] nixos-options``); None when not configured.
    upstream: UpstreamOptions | None = None

    # -- lookups ----------------------------------------------------------------------

    @cached_property
    def control_by_key(self) -> dict[str, Control]:
        return self.controls.by_key()

    @cached_property
    def risk_by_id(self) -> dict[str, RiskRow]:
        return {row.id: row for row in self.risks.rows}

    def canonical_control(self, key: str) -> Control | None:
        """The control a ``framework/ID`` string names, normalising the id."""
        parts = split_key(key)
        if parts is None:
            return None
        framework, raw = parts
        canonical = FRAMEWORKS[framework].canonical(raw)
        return self.control_by_key.get(f"{framework}/{canonical}") if canonical else None

    @cached_property
    def tests(self) -> tuple[ComplianceTest, ...]:
        return self.flake.tests

    @cached_property
    def tests_by_control(self) -> dict[str, tuple[ComplianceTest, ...]]:
        found: dict[str, list[ComplianceTest]] = defaultdict(list)
        for test in self.tests:
            for key in test.controls:
                control = self.canonical_control(key)
                if control is not None:
                    found[control.key].append(test)
        return {k: tuple(v) for k, v in found.items()}

    @cached_property
    def nixpkgs_revision(self) -> str | None:
        """The nixpkgs revision ``flake.nix`` pins (links to NixOS's declarations)."""
        return nixpkgs_revision(self.flake, f"{self.config.flake.rstrip('/')}/flake.nix")

    def option_exists(self, path: str) -> bool:
        """Declared or defined by the flake itself (settings made only inside test nodes
        do not implement anything). Answers are kept: the site asks about every cited
        option many times."""
        known = self._option_answers.get(path)
        if known is None:
            known = self._option_answers[path] = self.flake.is_defined_or_declared(
                path, include_tests=False
            )
        return known

    @cached_property
    def _option_answers(self) -> dict[str, bool]:
        return {}

    def targets_of(self, note: str, indexes: tuple[int, ...]) -> list[Target]:
        """What the links at ``indexes`` of ``note`` (a table row's links) resolve to."""
        resolved = self.vault.links_by_source.get(note, ())
        return [
            r.resolution.target
            for i in indexes
            if i < len(resolved)
            if (r := resolved[i]).resolution.ok and r.resolution.target is not None
        ]

    def row_targets(self, control: Control) -> list[Target]:
        """What the links in a control's row resolve to."""
        return self.targets_of(control.note, control.links)

    def policies_of(self, control: Control) -> list[str]:
        prefix = self.config.policies_dir.rstrip("/") + "/"
        return sorted(
            {
                t.note
                for t in self.row_targets(control)
                if t.kind == "note" and t.note and t.note.startswith(prefix)
            }
        )

    def risks_of(self, control: Control) -> list[str]:
        return sorted({t.key for t in self.row_targets(control) if t.kind == "risk"})

    def valid_options(self, control: Control) -> list[str]:
        return [o.path for o in control.options if self.option_exists(o.path)]

    def status(self, control: Control) -> str:
        """One of :data:`~kbgen.trace.status.STATUSES` (see :mod:`kbgen.trace.status`)."""
        return self.status_detail(control).status

    def status_detail(self, control: Control) -> ControlStatus:
        """The status and the test verdicts it rests on; computed once per control."""
        known = self._statuses.get(control.key)
        if known is None:
            known = self._statuses[control.key] = self._status(control)
        return known

    @cached_property
    def _statuses(self) -> dict[str, ControlStatus]:
        return {}

    def _status(self, control: Control) -> ControlStatus:
        if control.layer in ("host", "hybrid"):
            if not self.valid_options(control):
                return ControlStatus("accepted-risk" if self.risks_of(control) else "unmapped")
            tests = tuple(t.name for t in self.tests_by_control.get(control.key, ()))
            return host_status(control.key, tests, self.evidence)
        if self.risks_of(control):
            return ControlStatus("accepted-risk")
        return ControlStatus("policy" if self.policies_of(control) else "unmapped")

    @cached_property
    def mentions(self) -> dict[str, tuple[str, ...]]:
        """Control or risk key -> notes (other than the defining one) that link to it."""
        found: dict[str, set[str]] = defaultdict(set)
        for resolved in self.vault.links:
            target = resolved.resolution.target
            if (
                resolved.resolution.ok
                and target is not None
                and target.kind in ("control", "risk")
                and resolved.source != target.note
            ):
                found[target.key].add(resolved.source)
        return {k: tuple(sorted(v)) for k, v in found.items()}


def control_targets(controls: ControlSet) -> list[tuple[str, Target]]:
    """Link keys for every control: ``framework/ID`` always, the bare ``ID`` too (it
    resolves only when no other framework or note shares it)."""
    targets = []
    for control in controls.controls:
        target = Target("control", control.key, control.note, control.anchor)
        targets.append((control.key, target))
        targets.append((control.id, target))
    return targets


def risk_targets(risks: RiskRegister) -> list[tuple[str, Target]]:
    return [(row.id, Target("risk", row.id, row.note, row.anchor)) for row in risks.rows]
