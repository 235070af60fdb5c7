"""Evidence recorder of mkComplianceTest: kbgen evidence format, version 1.

mkComplianceTest does not hand the author's ``testScript`` to the NixOS test driver
directly. Nix writes it to a file of its own, and the driver runs a two-line script
that loads this file and calls :func:`run`::

    import runpy
    runpy.run_path("<this file>")["run"](globals(), "<testScript file>", "<meta file>")

:func:`run` executes the testScript in the driver's namespace, with ``subtest``
replaced by a recorder, so that

* every ``with subtest("name"):`` block becomes an assertion with its outcome, and
  ``with subtest("name", controls=["pci-dss/8.3.6"]):`` names the controls it checks
  (each must be one of the test's own controls);
* the testScript keeps its line numbers: tracebacks name the testScript file, and
  line N there is line N of the ``testScript`` string in the test's ``.nix`` file;
* a failure (an exception, a failed assertion, the driver's global timeout) is
  recorded, not raised: the driver exits 0 and the test derivation always has
  ``$out/evidence.json``. The test's check derivation fails when that file says
  ``"result": "failed"``, so ``nix flake check`` still fails.

The format is documented in flake/README.md ("Evidence format").
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import traceback
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path

FORMAT_VERSION = 1
#: Longest "error" text kept, in characters.
ERROR_LIMIT = 2000
EVIDENCE_FILE = "evidence.json"


class TestTerminated(Exception):
    """The driver's global timeout expired (the driver sends itself SIGTERM)."""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _script_line(exc: BaseException, script_path: str) -> int | None:
    """The innermost line of the testScript that the exception passed through."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == script_path:
            line = frame.lineno
    return line


def _error(exc: BaseException, script_path: str) -> str:
    message = str(exc).strip()
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    line = _script_line(exc, script_path)
    suffix = f" (testScript line {line})" if line else ""
    if len(text) + len(suffix) > ERROR_LIMIT:
        text = text[: ERROR_LIMIT - len(suffix) - 3] + "..."
    return text + suffix


class Recorder:
    """Records each ``subtest`` block as an assertion."""

    def __init__(self, test_controls: list[str], driver_subtest, script_path: str) -> None:
        self.test_controls = list(test_controls)
        self.driver_subtest = driver_subtest
        self.script_path = script_path
        self.assertions: list[dict] = []

    def _tags(self, controls) -> list[str]:
        if isinstance(controls, str):
            controls = [controls]
        try:
            tags = list(controls)
        except TypeError:
            raise TypeError(f"controls must be a list of control ids, not {controls!r}") from None
        if not tags:
            raise ValueError("controls must not be empty (leave it out to mean all the test's)")
        unknown = [tag for tag in tags if tag not in self.test_controls]
        if unknown:
            raise ValueError(f"controls {unknown!r} are not in this test's controls")
        return list(dict.fromkeys(tags))

    @contextmanager
    def subtest(self, name: str, controls=None):
        """``with subtest("name", controls=[...]):``: the driver's subtest, recorded."""
        entry: dict = {"name": str(name)}
        self.assertions.append(entry)
        try:
            if controls is not None:
                entry["controls"] = self._tags(controls)
        except Exception as exc:
            entry["result"] = "failed"
            entry["error"] = _error(exc, self.script_path)
            raise
        entry["result"] = "failed"  # until the block finishes
        context = self.driver_subtest(name) if self.driver_subtest is not None else nullcontext()
        try:
            with context:
                yield
        except BaseException as exc:
            entry["error"] = _error(exc, self.script_path)
            raise
        entry["result"] = "passed"


def _install_timeout_handler():
    """Turn the driver's SIGTERM (global timeout) into an exception in the script."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def terminated(signum, frame):
        raise TestTerminated("the test driver's global timeout expired; the test was terminated")

    return signal.signal(signal.SIGTERM, terminated)


def _write(path: Path, evidence: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(evidence, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(partial, path)


def run(symbols: dict, script_path: str, meta_path: str) -> dict:
    """Run the testScript at ``script_path`` with the driver's ``symbols``; write the evidence.

    Returns the evidence. Never raises for a failure of the test itself; an
    interrupt (Ctrl-C in the interactive driver) is re-raised after the evidence
    is written.
    """
    meta = json.loads(Path(meta_path).read_text(encoding="utf-8"))
    driver = symbols.get("driver")
    # The driver's -o folder: $out when Nix runs the test, else the working directory.
    out_dir = getattr(driver, "out_dir", None) or os.environ.get("out") or os.getcwd()  # noqa: SIM112
    evidence_path = Path(out_dir) / EVIDENCE_FILE

    recorder = Recorder(meta["controls"], symbols.get("subtest"), script_path)
    namespace = dict(symbols)
    namespace["subtest"] = recorder.subtest

    started = _now()
    error = None
    interrupt = None
    previous_handler = _install_timeout_handler()
    try:
        source = Path(script_path).read_text(encoding="utf-8")
        exec(compile(source, script_path, "exec"), namespace)
    except SystemExit as exc:
        if exc.code not in (None, 0):
            error = f"SystemExit: exit status {exc.code}"
    except KeyboardInterrupt as exc:
        error = "KeyboardInterrupt: the test was interrupted"
        interrupt = exc
    except BaseException as exc:  # every failure of the script is evidence, never raised
        error = _error(exc, script_path)
        traceback.print_exc()
    finally:
        if previous_handler is not None:
            signal.signal(signal.SIGTERM, previous_handler)
    finished = _now()

    failed_assertions = [a["name"] for a in recorder.assertions if a["result"] != "passed"]
    if error is None and failed_assertions:
        error = f"subtest {failed_assertions[0]!r} failed"

    evidence = {
        "kbgen_evidence": FORMAT_VERSION,
        "test": meta["test"],
        "result": "failed" if error is not None else "passed",
        "flake_rev": meta["flake_rev"],
        "system": meta["system"],
        "started": started,
        "finished": finished,
        "controls": list(meta["controls"]),
        "assertions": recorder.assertions,
    }
    if error is not None:
        evidence["error"] = error
    _write(evidence_path, evidence)

    print(
        f"kbgen evidence: compliance test {meta['test']} {evidence['result']}"
        f" ({len(recorder.assertions)} assertions); wrote {evidence_path}",
        file=sys.stderr,
        flush=True,
    )
    if interrupt is not None:
        raise interrupt
    return evidence
