"""Benchmark ``kbgen audit`` and compare it with mkdocs-material + roamlinks.

    python benchmarks/bench_audit.py                 # 1k, 10k and 50k notes + comparison
    python benchmarks/bench_audit.py --sizes 1000 --compare 1000

For each size it generates a seeded vault (``benchmarks/generate.py``) and runs
``kbgen audit`` cold (``--no-cache``) and warm (second run with the parse cache),
printing wall time, notes per second and the peak resident memory of the process.

The comparison builds the same 1,000-note vault with ``mkdocs build --strict``
(mkdocs-material, mkdocs-roamlinks-plugin for the wikilinks, anchor validation
on) and checks, against the generator's list of deliberately broken links, that
kbgen reports every broken link the mkdocs pipeline reports, and which ones only
kbgen finds.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from generate import Spec, generate

KBGEN = [sys.executable, "-m", "kbgen"]


@dataclass
class Measure:
    seconds: float
    peak_mib: float
    returncode: int
    stdout: str
    stderr: str


def measure(command: list[str], cwd: Path, log: Path | None = None) -> Measure:
    """Run a command; wall time and the peak RSS of that process tree's largest member.
    With ``log``, its standard error is written to that file as it runs (to follow a
    long build's progress) and read back into the result."""
    with contextlib.ExitStack() as files:
        out = files.enter_context(tempfile.TemporaryFile())
        if log is None:
            err = files.enter_context(tempfile.TemporaryFile())
        else:
            err = files.enter_context(log.open("w+b"))
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        # ru_maxrss of wait4 covers the child; worker processes report through their parent
        # only when waited for, which the pool does, so this is the largest single process.
        return Measure(
            seconds,
            usage.ru_maxrss / 1024,
            process.returncode,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
        )


def bench_kbgen(base: Path, notes: int) -> dict:
    folder = base / f"vault-{notes}"
    if not (folder / "vault").exists():
        generate(folder, Spec(notes=notes, links=10))
    shutil.rmtree(folder / ".kbgen", ignore_errors=True)
    audit = [*KBGEN, "audit", "--isolated", "vault", "--format", "json", "-o", "report.json"]
    cold = measure([*audit, "--no-cache"], folder)
    measure(audit, folder)  # fills the cache
    warm = measure(audit, folder)
    report = json.loads((folder / "report.json").read_text())
    return {
        "notes": notes,
        "links": notes * 10,
        "cold": cold,
        "warm": warm,
        "findings": report["summary"]["total"],
    }


MKDOCS_YML = """site_name: bench
docs_dir: vault
site_dir: site
theme:
  name: material
plugins:
  - roamlinks
validation:
  links:
    not_found: warn
    anchors: warn
    absolute_links: warn
    unrecognized_links: warn
"""

_NOT_FOUND = re.compile(
    r"Doc file '(?P<page>[^']+)' contains a link '(?P<href>[^']+)', but the "
    r"target '[^']*' is not found"
)
_NO_ANCHOR = re.compile(
    r"Doc file '(?P<page>[^']+)' contains a link '(?P<href>[^']+)', but the "
    r"doc '[^']*' does not contain an anchor"
)
_ROAM = re.compile(r"RoamLinksPlugin unable to find (?P<name>.+?) in directory")
_WIKI = re.compile(r"\[\[(?P<target>[^#|\]]*)(?:#(?P<frag>[^|\]]*))?(?:\|[^\]]*)?\]\]")
_MD = re.compile(r"\]\((?P<href>[^)]+)\)")


def _stem(target: str) -> str:
    return target.strip("<>").rsplit("/", 1)[-1].removesuffix(".md").lower()


def _anchor(fragment: str | None) -> str | None:
    if not fragment:
        return None
    return re.sub(r"[^a-z0-9]+", "-", fragment.lstrip("^").lower()).strip("-")


def _truth_key(page: str, link: str) -> tuple[str, str, str | None]:
    """(page, target name, anchor) of a planted broken link, as the pipelines see it."""
    if match := _WIKI.search(link):
        return page, _stem(match["target"]), _anchor(match["frag"])
    href = _MD.search(link)["href"]
    path, _, fragment = href.partition("#")
    return page, _stem(path), _anchor(fragment)


def _mkdocs_key(page: str, href: str) -> tuple[str, str, str | None]:
    path, _, fragment = href.strip("<>").partition("#")
    return page, _stem(path), _anchor(fragment)


def compare_mkdocs(base: Path, notes: int) -> dict:
    folder = base / f"vault-{notes}"
    if not (folder / "vault").exists():
        generate(folder, Spec(notes=notes, links=10))
    (folder / "mkdocs.yml").write_text(MKDOCS_YML)
    mkdocs = measure([sys.executable, "-m", "mkdocs", "build", "--strict"], folder)
    kbgen = measure(
        [
            *KBGEN,
            "audit",
            "--isolated",
            "vault",
            "--no-cache",
            "--format",
            "json",
            "-o",
            "report.json",
        ],
        folder,
    )
    findings = json.loads((folder / "report.json").read_text())["findings"]

    # Ground truth: every link the generator broke on purpose.
    truth: dict[tuple[str, int], tuple[str, str, str | None]] = {}
    for row in (folder / "expected-broken.txt").read_text().splitlines():
        page, line, link = row.split(":", 2)
        truth[(page, int(line))] = _truth_key(page, link.strip())
    reported = {(f["path"].removeprefix("vault/"), f["line"]) for f in findings}
    kbgen_keys = {truth[spot] for spot in truth.keys() & reported}

    # What the mkdocs pipeline reports, as the same keys; roamlinks names no page.
    output = mkdocs.stderr + mkdocs.stdout
    mkdocs_keys = {_mkdocs_key(m["page"], m["href"]) for m in _NOT_FOUND.finditer(output)} | {
        _mkdocs_key(m["page"], m["href"]) for m in _NO_ANCHOR.finditer(output)
    }
    roam_names = {_stem(m["name"]) for m in _ROAM.finditer(output)}
    truth_keys = set(truth.values())
    truth_names = {name for _, name, anchor in truth_keys if anchor is None}
    mkdocs_true = mkdocs_keys & truth_keys
    roam_true = roam_names & truth_names
    kbgen_names = {name for _, name, anchor in kbgen_keys if anchor is None}
    return {
        "notes": notes,
        "mkdocs": mkdocs,
        "kbgen": kbgen,
        "truth": len(truth),
        "kbgen_found": len(truth.keys() & reported),
        "kbgen_extra": len(reported - truth.keys()),
        "mkdocs_true": len(mkdocs_true) + len(roam_true),
        "mkdocs_false": len(mkdocs_keys - truth_keys) + len(roam_names - truth_names),
        "missed_by_kbgen": sorted(
            map(str, (mkdocs_true - kbgen_keys) | {("?", n, None) for n in roam_true - kbgen_names})
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 10000, 50000])
    parser.add_argument(
        "--compare", type=int, default=1000, help="notes in the mkdocs comparison vault (0 to skip)"
    )
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "kbgen-bench")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)

    print(
        f"kbgen audit, vaults from benchmarks/generate.py (10 links a note), {os.cpu_count()} "
        f"CPUs\n"
    )
    print(
        "| notes | links | cold s | cold notes/s | cold peak MiB | warm s | warm notes/s | "
        "warm peak MiB | findings |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in args.sizes:
        r = bench_kbgen(args.work, size)
        cold, warm = r["cold"], r["warm"]
        print(
            f"| {size:,} | {r['links']:,} | {cold.seconds:.2f} | {size / cold.seconds:,.0f} | "
            f"{cold.peak_mib:.0f} | {warm.seconds:.2f} | {size / warm.seconds:,.0f} | "
            f"{warm.peak_mib:.0f} | {r['findings']:,} |",
            flush=True,
        )
    if args.compare:
        c = compare_mkdocs(args.work, args.compare)
        m, k = c["mkdocs"], c["kbgen"]
        print(
            f"\nSame {c['notes']:,}-note vault, side by side (cold, no cache), against the "
            f"{c['truth']} broken links planted by the generator:\n"
        )
        print("| pipeline | wall s | peak MiB | planted links reported | false alarms |")
        print("|---|---:|---:|---:|---:|")
        print(
            f"| mkdocs build --strict + material + roamlinks | {m.seconds:.1f} | "
            f"{m.peak_mib:.0f} | {c['mkdocs_true']} | {c['mkdocs_false']} |"
        )
        print(
            f"| kbgen audit | {k.seconds:.2f} | {k.peak_mib:.0f} | {c['kbgen_found']} | "
            f"0 ({c['kbgen_extra']} other real findings) |"
        )
        print(
            f"\nspeed-up: {m.seconds / k.seconds:.0f}x; broken links mkdocs reports that "
            f"kbgen misses: {len(c['missed_by_kbgen'])}"
        )
        for item in c["missed_by_kbgen"][:10]:
            print(f"  missed: {item}")


if __name__ == "__main__":
    main()
