"""Benchmark reading NixOS's ``options.json`` (issue 16) at the real file's size.

    python benchmarks/bench_upstream.py [--megabytes 40]

Generates (seeded) a file shaped like ``nixosOptionsDoc``'s ``optionsJSON`` — option
paths under a few hundred modules, ``<name>`` and ``*`` placeholders, literal-expression
defaults and examples, multi-line descriptions — until it reaches the size, then times
``load_upstream`` (read, ``json.loads``, shape check), the first lookup (which builds the
segment trie) and 10,000 lookups (exact, placeholder, freeform and missing paths).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent))
from kbgen.nix.upstream import load_upstream

WORDS = [
    "enable",
    "package",
    "settings",
    "port",
    "user",
    "group",
    "extraConfig",
    "interval",
    "path",
    "timeout",
    "openFirewall",
    "dataDir",
    "logLevel",
    "address",
    "listen",
    "hosts",
    "rules",
]


def generate(path: Path, megabytes: float, seed: int = 1) -> int:
    rng = random.Random(seed)
    entries: dict[str, dict] = {}
    size, target = 0, int(megabytes * 1024 * 1024)
    while size < target:
        module = f"services.svc{rng.randrange(3000)}"
        middle = rng.choice(("", ".<name>", ".instances.<name>", ".rules.*", ".settings"))
        key = f"{module}{middle}.{rng.choice(WORDS)}{rng.randrange(20)}"
        entry = {
            "declarations": [f"nixos/modules/services/misc/svc{rng.randrange(3000)}.nix"],
            "default": {
                "_type": "literalExpression",
                "text": "{\n  " + " ".join(rng.choices(WORDS, k=12)) + ";\n}",
            },
            "description": " ".join(rng.choices(WORDS, k=rng.randrange(40, 160))),
            "example": {"_type": "literalExpression", "text": " ".join(rng.choices(WORDS, k=8))},
            "loc": key.split("."),
            "readOnly": False,
            "type": rng.choice(
                (
                    "boolean",
                    "string",
                    "signed integer",
                    "list of string",
                    "attribute set of (submodule)",
                    "open submodule of attribute set of (INI atom)",
                )
            ),
        }
        entries[key] = entry
        size += len(json.dumps(entry)) + len(key) + 6
    path.write_text(json.dumps(entries, indent=2))
    return len(entries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megabytes", type=float, default=40)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    path = args.work / f"kbgen-bench-options-{args.megabytes:g}mb.json"
    if not path.exists():
        generate(path, args.megabytes)
    start = time.perf_counter()
    upstream = load_upstream(path)
    loaded = time.perf_counter()
    upstream.lookup("services.svc1.enable1")
    first = time.perf_counter()
    keys = upstream.paths
    rng = random.Random(2)
    queries = [k.replace("<name>", "alice").replace("*", "0") for k in rng.sample(keys, 7000)]
    queries += [f"services.svc{rng.randrange(3000)}.settings.Free{i}" for i in range(2000)]
    queries += [f"services.nosuch{i}.enable" for i in range(1000)]
    kinds: dict[str, int] = {}
    for query in queries:
        kind = upstream.lookup(query).kind
        kinds[kind] = kinds.get(kind, 0) + 1
    done = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"file: {path.stat().st_size / 1e6:.1f} MB, {len(upstream):,} options")
    print(f"load (read + json.loads + shape check): {loaded - start:.3f} s")
    print(f"first lookup (builds the trie):         {first - loaded:.3f} s")
    print(f"10,000 lookups:                         {done - first:.3f} s  {kinds}")
    print(f"peak memory:                            {peak:.0f} MiB")


if __name__ == "__main__":
    main()
