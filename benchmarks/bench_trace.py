"""Benchmark ``kbgen trace`` on PRDs with 5,000 controls and a 500-file synthetic flake.

python benchmarks/bench_trace.py [--controls 5000] [--nix-files 500]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_audit import KBGEN, measure
from generate import generate_trace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--controls", type=int, default=5000)
    parser.add_argument("--nix-files", type=int, default=500)
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "kbgen-bench-trace"
    )
    args = parser.parse_args()
    folder = args.work / f"trace-{args.controls}-{args.nix_files}"
    if not (folder / "flake").exists():
        generate_trace(folder, args.controls, args.nix_files)
    (folder / "pyproject.toml").write_text("[tool.kbgen]\n")
    shutil.rmtree(folder / ".kbgen", ignore_errors=True)
    command = [*KBGEN, "trace", "--format", "json", "-o", "report.json", "--fail-on", "error"]
    cold = measure([*command, "--no-cache"], folder)
    measure(command, folder)
    warm = measure(command, folder)
    report = json.loads((folder / "report.json").read_text())
    print(f"kbgen trace: {args.controls:,} controls, {args.nix_files} Nix files\n")
    print("| run | wall s | peak MiB | findings |\n|---|---:|---:|---:|")
    print(
        f"| cold (no cache) | {cold.seconds:.2f} | {cold.peak_mib:.0f} | "
        f"{report['summary']['total']} |"
    )
    print(f"| warm | {warm.seconds:.2f} | {warm.peak_mib:.0f} | {report['summary']['total']} |")


if __name__ == "__main__":
    main()
