"""Deterministic synthetic vaults for the benchmarks.

    python benchmarks/generate.py OUT --notes 10000 --links 10 --seed 1

writes ``OUT/vault/`` with topic folders (each with an ``_index.md``), a master
index, notes with frontmatter, headings, block ids, a table and ``--links`` links
each (wikilinks, heading and block links, aliases, embeds, Markdown links), of
which a seeded share (``--broken``, default 2%) is deliberately broken. It also
writes ``OUT/expected-broken.txt``: every link made broken on purpose, so a
benchmark can check that a tool reports them.
"""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass
from pathlib import Path

WORDS = [
    "audit",
    "control",
    "evidence",
    "kernel",
    "sandbox",
    "agent",
    "model",
    "inference",
    "policy",
    "network",
    "firewall",
    "secret",
    "module",
    "option",
    "test",
    "review",
    "risk",
    "token",
    "proxy",
    "ledger",
    "drift",
    "baseline",
    "account",
    "session",
    "journal",
    "integrity",
    "boot",
    "store",
    "flake",
    "vault",
]


@dataclass(frozen=True)
class Spec:
    notes: int = 1000
    links: int = 10
    topics: int = 0  # 0: about one topic per 100 notes
    broken: float = 0.02
    seed: int = 1


def _words(rng: random.Random, count: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(count))


def generate(out: Path, spec: Spec) -> list[str]:
    """Write the vault; return the broken links as ``path:line: link``."""
    rng = random.Random(spec.seed)
    vault = out / "vault"
    topics = spec.topics or max(1, spec.notes // 100)
    names = [f"note-{i:05d}" for i in range(spec.notes)]
    topic_of = {name: f"topic-{i % topics:03d}" for i, name in enumerate(names)}
    headings = {name: [f"Section {j} {rng.choice(WORDS)}" for j in range(4)] for name in names}
    broken: list[str] = []

    for t in range(topics):
        (vault / "wiki" / f"topic-{t:03d}").mkdir(parents=True, exist_ok=True)

    for index, name in enumerate(names):
        topic = topic_of[name]
        lines = [
            "---",
            f"title: Note {index} {_words(rng, 2)}",
            f"description: {_words(rng, 8)}",
            f"tags: [{rng.choice(WORDS)}, bench]",
            f"aliases: [Alias {index}]",
            "---",
            "",
            f"# Note {index}",
            "",
        ]
        link_lines: list[tuple[int, str, bool]] = []
        for k in range(spec.links):
            target = rng.choice(names)
            kind = k % 6
            is_broken = rng.random() < spec.broken
            if kind == 0:
                link = f"[[{'missing-' + target if is_broken else target}]]"
            elif kind == 1:
                heading = "No such heading" if is_broken else rng.choice(headings[target])
                link = f"[[{target}#{heading}]]"
            elif kind == 2:
                block = "nope" if is_broken else "b0"
                link = f"[[{target}#^{block}]]"
            elif kind == 3:
                link = f"[[{'gone-' + target if is_broken else target}|{_words(rng, 2)}]]"
            elif kind == 4:
                folder = f"../{topic_of[target]}/" if topic_of[target] != topic else ""
                file = f"absent-{target}.md" if is_broken else f"{target}.md"
                link = f"[{_words(rng, 2)}]({folder}{file})"
            else:
                link = f"[[Alias {names.index(target) if not is_broken else 'x' + str(k)}]]"
            link_lines.append((k, link, is_broken))
        body: list[str] = []
        per_section = max(1, spec.links // 4)
        for s, heading in enumerate(headings[name]):
            body += [f"## {heading}", ""]
            chunk = (
                link_lines[s * per_section : (s + 1) * per_section]
                if s < 3
                else link_lines[3 * per_section :]
            )
            text = f"{_words(rng, 12)} " + " ".join(
                f"{link} {_words(rng, 4)}" for _, link, _ in chunk
            )
            body += [text + (" ^b0" if s == 0 else ""), ""]
            for _, link, is_broken in chunk:
                if is_broken:
                    line_no = len(lines) + len(body) - 1
                    broken.append(f"wiki/{topic}/{name}.md:{line_no}: {link}")
            if s == 1:
                body += [
                    "| Field | Value |",
                    "|---|---|",
                    f"| {rng.choice(WORDS)} | `{rng.choice(WORDS)}.{rng.choice(WORDS)}` |",
                    "",
                ]
        body += ["## Key Takeaways", "", f"- {_words(rng, 6)}", ""]
        (vault / "wiki" / topic / f"{name}.md").write_text(
            "\n".join(lines + body), encoding="utf-8"
        )

    for t in range(topics):
        topic = f"topic-{t:03d}"
        members = [n for n in names if topic_of[n] == topic]
        entries = [f"- [[{n}]] — {_words(rng, 5)}" for n in members]
        (vault / "wiki" / topic / "_index.md").write_text(
            f"---\ntitle: Topic {t}\ndescription: {_words(rng, 6)}\n---\n\n# Topic {t}\n\n"
            + "\n".join(entries)
            + "\n",
            encoding="utf-8",
        )
    master = [
        f"- [[wiki/topic-{t:03d}/_index|Topic {t}]] — {_words(rng, 4)}" for t in range(topics)
    ]
    (vault / "wiki" / "_master-index.md").write_text(
        "---\ntitle: Master index\n---\n\n# Master index\n\n" + "\n".join(master) + "\n",
        encoding="utf-8",
    )
    (vault / "index.md").write_text(
        "---\ntitle: Home\n---\n\n# Home\n\n[[wiki/_master-index|All topics]]\n", encoding="utf-8"
    )
    (out / "expected-broken.txt").write_text("\n".join(broken) + "\n", encoding="utf-8")
    return broken


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--notes", type=int, default=Spec.notes)
    parser.add_argument("--links", type=int, default=Spec.links)
    parser.add_argument("--topics", type=int, default=0)
    parser.add_argument("--broken", type=float, default=Spec.broken)
    parser.add_argument("--seed", type=int, default=Spec.seed)
    args = parser.parse_args()
    broken = generate(args.out, Spec(args.notes, args.links, args.topics, args.broken, args.seed))
    print(f"wrote {args.notes} notes to {args.out / 'vault'} ({len(broken)} broken links)")


if __name__ == "__main__":
    main()


# -- traceability: PRDs and a synthetic flake ------------------------------------------

FAMILIES = [
    "AC",
    "AT",
    "AU",
    "CA",
    "CM",
    "CP",
    "IA",
    "IR",
    "MA",
    "MP",
    "PE",
    "PL",
    "PM",
    "PS",
    "PT",
    "RA",
    "SA",
    "SC",
    "SI",
    "SR",
]


def generate_trace(
    out: Path,
    controls: int = 5000,
    nix_files: int = 500,
    seed: int = 1,
    options_per_module: int = 8,
) -> None:
    """Write ``OUT/vault/prd/*.md`` (``controls`` NIST-style controls in PRDs of 500
    rows), ``OUT/flake/modules/m*.nix`` and ``OUT/flake/tests/t*.nix`` (one test per
    ten modules), plus minimal registers, so that ``kbgen trace`` has real work."""
    rng = random.Random(seed)
    modules = max(1, nix_files - nix_files // 10)
    tests = nix_files - modules
    ids = [f"{FAMILIES[i % 20]}-{1 + (i // 20) % 99}({1 + i // 1980})" for i in range(controls)]
    # Each control is implemented by one module; the module's test names it.
    owner = [rng.randrange(modules) for _ in ids]
    flake = out / "flake"
    (flake / "modules").mkdir(parents=True, exist_ok=True)
    (flake / "tests").mkdir(parents=True, exist_ok=True)
    for m in range(modules):
        options = "\n".join(
            f"    opt{j} = lib.mkOption {{ type = lib.types.int; default = {j}; "
            f'description = "Option {j}."; }};'
            for j in range(options_per_module)
        )
        settings = "\n".join(f"      settings.Key{j} = cfg.opt{j};" for j in range(3))
        (flake / "modules" / f"m{m:04d}.nix").write_text(
            f"{{ config, lib, pkgs, ... }}:\nlet\n  cfg = config.compliance.m{m:04d};\nin\n{{\n"
            f'  options.compliance.m{m:04d} = {{\n    enable = lib.mkEnableOption "module {m}";\n'
            f"{options}\n  }};\n  config = lib.mkIf cfg.enable (lib.mkMerge [\n    {{\n"
            f"      services.svc{m:04d} = {{\n        enable = true;\n{settings}\n      }};\n"
            f"    }}\n    {{ systemd.services.svc{m:04d}.serviceConfig.ExecStart = "
            f'"${{pkgs.coreutils}}/bin/true"; }}\n  ]);\n}}\n',
            encoding="utf-8",
        )
    for t in range(tests):
        covered = [m for m in range(modules) if m % max(tests, 1) == t]
        named = " ".join(f'"nist-800-53/{ids[i]}"' for i in range(controls) if owner[i] in covered)
        sets = "\n".join(f"      compliance.m{m:04d}.enable = true;" for m in covered)
        (flake / "tests" / f"t{t:03d}.nix").write_text(
            f'{{ complianceLib, ... }}:\ncomplianceLib.mkComplianceTest {{\n  name = "t{t:03d}";\n'
            f"  controls = [ {named} ];\n  nodes.machine = {{ ... }}: {{\n{sets}\n  }};\n"
            f"  testScript = ''\n    machine.wait_for_unit(\"multi-user.target\")\n"
            f"    machine.succeed(\"true\")\n  '';\n}}\n",
            encoding="utf-8",
        )
    prd_dir = out / "vault" / "prd"
    prd_dir.mkdir(parents=True, exist_ok=True)
    head = (
        "| Control | Title | Layer | Requirement | Nix options | Policy / risk |\n"
        "|---|---|---|---|---|---|\n"
    )
    for chunk in range(0, controls, 500):
        # A section per control family, as real PRDs are written (and as a search index
        # needs: each section is one entry).
        families: dict[str, list[str]] = {}
        for i in range(chunk, min(chunk + 500, controls)):
            m = owner[i]
            families.setdefault(FAMILIES[i % 20], []).append(
                f"| {ids[i]} | Control {i} {_words(rng, 2)} | host | {_words(rng, 10)} | "
                f"`compliance.m{m:04d}.enable` `services.svc{m:04d}.settings.Key1` | |"
            )
        sections = "".join(
            f"## {name}\n\n{head}" + "\n".join(rows) + "\n\n" for name, rows in families.items()
        )
        (prd_dir / f"prd-{chunk // 500:02d}.md").write_text(
            f"---\ntitle: Synthetic PRD {chunk // 500}\nframework: {{id: nist-800-53, "
            f'name: NIST SP 800-53 Rev. 5, version: "5.1.1"}}\n---\n\n# Synthetic PRD\n\n'
            + sections,
            encoding="utf-8",
        )
    registers = out / "vault" / "registers"
    registers.mkdir(parents=True, exist_ok=True)
    (registers / "residual-risks.md").write_text(
        "# Residual risks\n\n| ID | Risk | Source | Why infrastructure cannot fully mitigate | "
        "What would change the answer | Acceptance / mitigation | Owner | Accepted on | "
        "Review due | Likelihood | Impact |\n|---|---|---|---|---|---|---|---|---|---|---|\n"
        f"| RR-01 | Example | [[nist-800-53/{ids[0]}]] | x | y | z | Security lead | "
        "2026-01-15 | 2099-01-15 | low | low |\n",
        encoding="utf-8",
    )
    (registers / "resolved-settings.yaml").write_text("settings: []\n", encoding="utf-8")
