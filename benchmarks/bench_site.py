"""Benchmark the site build against plain mkdocs-material on the same notes.

    python benchmarks/bench_site.py [--notes 2000] [--controls 1000]

The project has ``--notes`` generated notes plus PRDs with ``--controls`` controls and
a matching synthetic flake. Three runs, side by side:

* ``kbgen build``: gate, compile (generated control, option, test and source pages
  included) and render with mkdocs-material;
* plain ``mkdocs build`` with mkdocs-material and mkdocs-roamlinks-plugin on the same
  vault (what people use without kbgen; it renders only the notes);
* ``kbgen build --renderer zensical`` (``--zensical``): the same compiled tree
  rendered by Zensical instead;
* ``kbgen serve``: the time from saving one changed note to the rebuilt page being
  served (``--dirty`` rendering, parse cache warm).

Each build row gives its wall time, peak memory, page count, total size of the site and
the median HTML page (``page_weight.py``). The machine has 2 cores: one run of each, and
the load average is printed so that a figure taken on a busy machine can be told apart.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_audit import KBGEN, measure
from generate import Spec, generate, generate_trace
from page_weight import weigh

REPO = Path(__file__).parent.parent

PLAIN = """site_name: plain
docs_dir: vault
site_dir: site-plain
use_directory_urls: false
theme:
  name: material
  font: false
  features: [navigation.indexes, navigation.prune]
plugins:
  - search
  - roamlinks
"""


def project(folder: Path, notes: int, controls: int) -> Path:
    if not (folder / "vault").exists():
        generate(folder, Spec(notes=notes, links=10, broken=0.0))
        generate_trace(folder, controls=controls, nix_files=max(10, controls // 10))
        # Every note links its topic index and the PRDs exist: a project that passes the gate.
    shutil.copy(REPO / "mkdocs.yml", folder / "mkdocs.yml")
    shutil.rmtree(folder / "site-overrides", ignore_errors=True)
    shutil.copytree(REPO / "site-overrides", folder / "site-overrides")
    (folder / "pyproject.toml").write_text(
        '[tool.kbgen]\nignore = ["TR207", "TR305", "KB108", "KB201"]\n'
    )
    (folder / "mkdocs-plain.yml").write_text(PLAIN)
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_rebuild(folder: Path) -> float:
    """Seconds from changing one note to the served page showing the change."""
    port = free_port()
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    server = subprocess.Popen(
        [sys.executable, "-m", "mkdocs", "serve", "--dirty", "-a", f"127.0.0.1:{port}"],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/wiki/topic-000/note-00000.html"
    try:
        deadline = time.time() + 600
        while time.time() < deadline:
            try:
                urllib.request.urlopen(url, timeout=2).read()
                break
            except OSError:
                time.sleep(0.5)
        time.sleep(2)  # let the watcher settle
        note = folder / "vault/wiki/topic-000/note-00000.md"
        marker = f"changed-{int(time.time())}"
        note.write_text(note.read_text() + f"\n{marker}\n")
        start = time.perf_counter()
        while time.perf_counter() - start < 120:
            try:
                if marker in urllib.request.urlopen(url, timeout=2).read().decode():
                    return time.perf_counter() - start
            except OSError:
                pass
            time.sleep(0.05)
        return float("nan")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def site_size(site: Path) -> str:
    """``total MB | median page KB | HTML pages`` of a rendered site."""
    total = sum(f.stat().st_size for f in site.rglob("*") if f.is_file())
    weight = weigh(site)
    return f"{total / 1e6:,.0f} | {weight.median_bytes / 1000:.1f} | {weight.pages:,}"


def plain_build(folder: Path):
    """Plain ``mkdocs build`` (mkdocs-material + roamlinks) of the same vault. MkDocs' log
    (``-v``: a line per page read and written) goes to ``plain-build.log`` as it runs, so
    a long build can be followed: ``grep -c 'Building page' plain-build.log``."""
    log = folder / "plain-build.log"
    plain = measure(
        [sys.executable, "-m", "mkdocs", "build", "-v", "-f", "mkdocs-plain.yml"], folder, log
    )
    status = "" if plain.returncode == 0 else f" (exit {plain.returncode}, see {log})"
    print(
        f"| plain mkdocs-material + roamlinks{status} | {plain.seconds:.1f} | "
        f"{plain.peak_mib:.0f} | {site_size(folder / 'site-plain')} |",
        flush=True,
    )
    return plain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notes", type=int, default=2000)
    parser.add_argument("--controls", type=int, default=1000)
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "kbgen-bench-site"
    )
    parser.add_argument("--skip-plain", action="store_true")
    parser.add_argument(
        "--skip-kbgen", action="store_true", help="only the plain mkdocs-material build"
    )
    parser.add_argument("--skip-serve", action="store_true")
    parser.add_argument(
        "--zensical", action="store_true", help="also render the compiled tree with Zensical"
    )
    args = parser.parse_args()
    folder = project(args.work / f"site-{args.notes}-{args.controls}", args.notes, args.controls)
    env_cache = folder / ".kbgen"
    shutil.rmtree(env_cache, ignore_errors=True)
    os.environ["SOURCE_DATE_EPOCH"] = "1700000000"
    print(
        f"Site build: {args.notes:,} notes and {args.controls:,} controls; load average "
        f"before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n"
    )
    print(
        "| build | wall s | peak MiB | total MB | median page KB | HTML pages |\n"
        "|---|---:|---:|---:|---:|---:|",
        flush=True,
    )
    kbgen = None
    if not args.skip_kbgen:
        kbgen = measure([*KBGEN, "build", "--site-dir", "site"], folder)
        if kbgen.returncode != 0:
            print(kbgen.stdout[-3000:], kbgen.stderr[-3000:])
            raise SystemExit("kbgen build failed")
        print(
            f"| kbgen build (gate + compile + mkdocs-material) | {kbgen.seconds:.1f} | "
            f"{kbgen.peak_mib:.0f} | {site_size(folder / 'site')} |",
            flush=True,
        )
    if args.zensical and not args.skip_kbgen:
        zensical = measure(
            [*KBGEN, "build", "--renderer", "zensical", "--site-dir", "site-zensical"], folder
        )
        if zensical.returncode != 0:
            print(zensical.stdout[-3000:], zensical.stderr[-3000:])
            raise SystemExit("kbgen build --renderer zensical failed")
        print(
            f"| kbgen build --renderer zensical (gate + compile + Zensical) | "
            f"{zensical.seconds:.1f} | {zensical.peak_mib:.0f} | "
            f"{site_size(folder / 'site-zensical')} |",
            flush=True,
        )
    if not args.skip_plain:
        plain = plain_build(folder)
        if kbgen is not None:
            print(f"\nkbgen / plain wall time: {kbgen.seconds / plain.seconds:.2f}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if not args.skip_serve:
        rebuild = serve_rebuild(folder)
        print(
            f"\nkbgen serve (mkdocs serve --dirty with the plugin): one note changed -> page "
            f"updated in {rebuild:.1f} s"
        )


if __name__ == "__main__":
    main()
