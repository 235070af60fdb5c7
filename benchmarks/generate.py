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

WORDS = ("audit control evidence kernel sandbox agent model inference policy network "
         "firewall secret module option test review risk token proxy ledger drift "
         "baseline account session journal integrity boot store flake vault").split()


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
        lines = ["---", f"title: Note {index} {_words(rng, 2)}",
                 f"description: {_words(rng, 8)}", f"tags: [{rng.choice(WORDS)}, bench]",
                 f"aliases: [Alias {index}]", "---", "", f"# Note {index}", ""]
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
            chunk = link_lines[s * per_section:(s + 1) * per_section] if s < 3 else \
                link_lines[3 * per_section:]
            text = f"{_words(rng, 12)} " + " ".join(f"{link} {_words(rng, 4)}"
                                                    for _, link, _ in chunk)
            body += [text + (" ^b0" if s == 0 else ""), ""]
            for _, link, is_broken in chunk:
                if is_broken:
                    line_no = len(lines) + len(body) - 1
                    broken.append(f"wiki/{topic}/{name}.md:{line_no}: {link}")
            if s == 1:
                body += ["| Field | Value |", "|---|---|", f"| {rng.choice(WORDS)} | "
                         f"`{rng.choice(WORDS)}.{rng.choice(WORDS)}` |", ""]
        body += ["## Key Takeaways", "", f"- {_words(rng, 6)}", ""]
        (vault / "wiki" / topic / f"{name}.md").write_text("\n".join(lines + body),
                                                           encoding="utf-8")

    for t in range(topics):
        topic = f"topic-{t:03d}"
        members = [n for n in names if topic_of[n] == topic]
        entries = [f"- [[{n}]] — {_words(rng, 5)}" for n in members]
        (vault / "wiki" / topic / "_index.md").write_text(
            f"---\ntitle: Topic {t}\ndescription: {_words(rng, 6)}\n---\n\n# Topic {t}\n\n"
            + "\n".join(entries) + "\n", encoding="utf-8")
    master = [f"- [[wiki/topic-{t:03d}/_index|Topic {t}]] — {_words(rng, 4)}"
              for t in range(topics)]
    (vault / "wiki" / "_master-index.md").write_text(
        "---\ntitle: Master index\n---\n\n# Master index\n\n" + "\n".join(master) + "\n",
        encoding="utf-8")
    (vault / "index.md").write_text("---\ntitle: Home\n---\n\n# Home\n\n"
                                    "[[wiki/_master-index|All topics]]\n", encoding="utf-8")
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
    broken = generate(args.out, Spec(args.notes, args.links, args.topics, args.broken,
                                     args.seed))
    print(f"wrote {args.notes} notes to {args.out / 'vault'} ({len(broken)} broken links)")


if __name__ == "__main__":
    main()
