"""Property: whatever ``kbgen check --fail-on error`` lets through, ``kbgen build`` renders.

Every case is the small complete project of ``tests/site_project.py`` with hostile
content added: named cases for crashes found so far, notes from a seeded generator
(deep nesting, odd titles, tables with pipes, aliases, embeds, HTML, macros), and each
rule fixture's vault laid over the project's vault. When ``check`` fails the property
holds trivially; when it passes, the full build (MkDocs included, into a temporary site
folder) must exit 0 without an internal error.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

from tests.helpers import FIXTURES, note, write_files
from tests.site_project import make_site_project

pytestmark = pytest.mark.slow

SEED = 20240501
ARTICLE_END = "\n\n## Key Takeaways\n\n- Hostile input renders.\n"


def _settings(rejected: str = "", value: str = "3") -> str:
    return (
        "settings:\n  - id: ssh-max-auth-tries\n    title: SSH authentication attempts\n"
        f"    value: {value}\n    canonical_path: compliance.canonical.ssh.maxAuthTries\n"
        f"    frameworks: [nist-800-53/AC-17]\n{rejected}"
    )


def _nested(marker_of_level, levels: int) -> str:
    return "".join(marker_of_level(i) for i in range(levels))


#: name -> (files added to the project, xfail reason or None)
NAMED: dict[str, tuple[dict[str, str], str | None]] = {
    "list-1000-deep-on-one-line": (
        {"vault/wiki/ops/deep.md": note("Deep", "- " * 1000 + "x")},
        None,
    ),
    "ordered-list-600-deep": ({"vault/wiki/ops/deep.md": note("Deep", "1. " * 600 + "x")}, None),
    "list-300-deep-on-300-lines": (
        {"vault/wiki/ops/deep.md": note("Deep", _nested(lambda i: "    " * i + "- x\n", 300))},
        None,
    ),
    "quote-1000-deep": ({"vault/wiki/ops/deep.md": note("Deep", "> " * 1000 + "x")}, None),
    "list-in-quote-500-deep": ({"vault/wiki/ops/deep.md": note("Deep", "> - " * 500 + "x")}, None),
    "emphasis-1000-deep": (
        {"vault/wiki/ops/deep.md": note("Deep", "**" * 1000 + "x" + "**" * 1000)},
        None,
    ),
    "md-in-html-400-deep": (
        {
            "vault/wiki/ops/deep.md": note(
                "Deep", '<div markdown="1">\n' * 400 + "x\n" + "</div>\n" * 400
            )
        },
        None,
    ),
    "admonition-400-deep": (
        {
            "vault/wiki/ops/deep.md": note(
                "Deep", _nested(lambda i: "    " * i + "!!! note\n", 400) + "    " * 400 + "x\n"
            )
        },
        None,
    ),
    "index-title-with-a-tab": (
        {
            "vault/wiki/ops/_index.md": note(
                '"Oper\\tations"', "- [[ssh-access]]\n- [[hardening]]\n- [[odd-title]]"
            )
        },
        None,
    ),
    "jinja-syntax-error": ({"vault/wiki/ops/j.md": note("J", "{{ foo( }}" + ARTICLE_END)}, None),
    "jinja-block-error": ({"vault/wiki/ops/j.md": note("J", "{% if %}" + ARTICLE_END)}, None),
    "jinja-undefined-and-dunder": (
        {
            "vault/wiki/ops/j.md": note(
                "J",
                "{{ nope.nope }} {{ ''.__class__.__mro__ }}"
                " {{ config }} {# c #} {% raw %}" + ARTICLE_END,
            )
        },
        None,
    ),
    "settings-date-in-rejected": (
        {
            "vault/registers/resolved-settings.yaml": _settings(
                "    rejected:\n      - value: 2024-01-01\n        reason: 2024-02-02\n"
                "      - value: !!set {a, b}\n        reason: !!binary aGVsbG8=\n"
            )
        },
        None,
    ),
    "settings-date-as-value": (
        {"vault/registers/resolved-settings.yaml": _settings(value="2024-01-01")},
        None,
    ),
    "settings-1000-deep": (
        {"vault/registers/resolved-settings.yaml": _settings(value="[" * 1000 + "]" * 1000)},
        None,
    ),
    "settings-frameworks-not-a-list": (
        {
            "vault/registers/resolved-settings.yaml": _settings().replace(
                "[nist-800-53/AC-17]", "5"
            )
            + "    rejected: 7\n"
        },
        None,
    ),
    "title-with-quotes-backticks-macros-script": (
        {
            "vault/wiki/ops/t.md": note(
                json.dumps("a `b` \"c\" 'd' {{ e }} <script>f</script> | g # h\tTab"),
                "[[hardening]]" + ARTICLE_END,
            )
        },
        None,
    ),
    "table-with-pipes-and-aliases": (
        {
            "vault/wiki/ops/t.md": note(
                "T",
                "| a | b |\n|---|---|\n| [[hardening\\|x]] | `a\\|b` |"
                "\n| x | y | z |\n| ![[diagram.svg\\|20]] | [[ssh-access#"
                "SSH access\\|s]] |\n" + ARTICLE_END,
            )
        },
        None,
    ),
    "attr-list-event-handlers": (
        {
            "vault/wiki/ops/t.md": note(
                "T",
                '# H {: onclick="alert(1)" #x }\n\ntext\n{: .c onmouseover="y" }\n' + ARTICLE_END,
            )
        },
        None,
    ),
    "raw-html": (
        {
            "vault/wiki/ops/t.md": note(
                "T",
                "<script>alert(1)</script>\n\n<img src=x onerror="
                "alert(1)>\n\n<iframe src='http://x'></iframe>\n\n<details>"
                "<summary>s</summary>\n\n[[hardening]]\n\n</details>\n",
            )
        },
        None,
    ),
    "unclosed-comment-and-fence": (
        {"vault/wiki/ops/t.md": note("T", "<!-- unclosed\n\n```\nunclosed fence\n")},
        None,
    ),
    "long-line": (
        {"vault/wiki/ops/t.md": note("T", "word [[hardening]] " * 2000 + "x" * 100_000)},
        None,
    ),
    "odd-file-names": (
        {
            "vault/wiki/ops/hash#frag.md": note("H", ARTICLE_END),
            "vault/wiki/ops/50% off.md": note("P", ARTICLE_END),
            "vault/wiki/ops/sp ace [x].md": note("S", ARTICLE_END),
            "vault/attachments/a b#c.svg": "<svg xmlns='http://www.w3.org/2000/svg'/>",
        },
        None,
    ),
    "lone-cr-line-endings": (
        {"vault/wiki/ops/t.md": "---\rtitle: CR\r---\r\r# CR\r[[hardening]]\r"},
        None,
    ),
    "javascript-links": (
        {
            "vault/wiki/ops/t.md": note(
                "T",
                "[x](javascript:alert(1))\n\n[y]: <javascript:alert(1)"
                ">\n\n[z][y] <javascript:alert(2)>\n",
            )
        },
        None,
    ),
    "headings-with-markup": (
        {
            "vault/wiki/ops/t.md": note(
                "T", "# {{ x }}\n\n## `code` <b>b</b>\n\n### \t tab\n\n#### [[hardening]] ^blk\n"
            )
        },
        None,
    ),
}


# -- notes from a seeded generator ----------------------------------------------------------

_TITLE_BITS = [
    "Plain",
    "\t",
    '"',
    "'",
    "`",
    "``",
    "{{ x }}",
    "{%",
    "%}",
    "<script>alert(1)</script>",
    "|",
    "#",
    "[[",
    "]]",
    "&amp;",
    "ü",
    "🙂",
    "\\",
    "%",
    "$x$",
    "*a*",
    "_b_",
    "~~c~~",
    ":",
    " - ",
    "!",
    "^id",
    "<!--",
    "-->",
    "\u2028",
]
_LINKS = [
    "[[hardening]]",
    "[[hardening|the baseline]]",
    "[[hardening#Ciphers]]",
    "[[hardening#Ciphers|ciphers]]",
    "[[hardening#^cipher-list]]",
    "[[ssh-access]]",
    "[[ops/]]",
    "[[nist-800-53/AC-17|AC-17]]",
    "[[RR-01]]",
    "[[odd-title|<odd>]]",
    "[b](hardening.md#ciphers)",
    "[[hardening|a `code` alias]]",
    "[[hardening|{{ alias }}]]",
    "[[hardening|<b>alias</b>]]",
]
_EMBEDS = [
    "![[hardening#Ciphers]]",
    "![[diagram.svg]]",
    "![[diagram.svg|120]]",
    "![[ssh-access]]",
    "![[hardening#^cipher-list]]",
]
_HTML = [
    '<div markdown="1">**bold** [[hardening]]</div>',
    "<details><summary>s</summary>text</details>",
    '<span onclick="x()">s</span>',
    "<img src=x onerror=alert(1)>",
    "<script>document.write(1)</script>",
    "<style>body{display:none}</style>",
    '<a href="javascript:alert(1)">j</a>',
    '<iframe src="https://example.com"></iframe>',
    "<!-- comment [[hardening]] -->",
    "&lt;escaped&gt; &#x3C;x&#x3E;",
]
_MACROS = [
    "{{ 7 * 7 }}",
    "{{ config.site_name }}",
    '{{ option_default("compliance.canonical.ssh.maxAuthTries") }}',
    '{{ control_status("nist-800-53/AC-17") }}',
    "{% raw %}{{ x }}{% endraw %}",
    "{# a comment #}",
    "{{ undefined_name }}",
    "{{ ''.__class__ }}",
]


def _title(rng: random.Random) -> str:
    return "".join(rng.choice(_TITLE_BITS) for _ in range(rng.randint(1, 6)))


def _block(rng: random.Random) -> str:
    kind = rng.choice(
        [
            "list",
            "quote",
            "mixed",
            "table",
            "links",
            "embeds",
            "html",
            "macros",
            "code",
            "emphasis",
            "heading",
            "admonition",
        ]
    )
    if kind in ("list", "quote", "mixed"):
        # Mostly within the limit (the note still passes check), sometimes past it.
        depth = rng.choice([2, 5, 9, 13]) if rng.random() < 0.85 else rng.choice([41, 300])
        marker = {"list": "- ", "quote": "> ", "mixed": rng.choice(["- > ", "1. ", "* "])}[kind]
        return marker * depth + rng.choice(_LINKS)
    if kind == "table":
        rows = [
            f"| {rng.choice(_LINKS).replace('|', chr(92) + '|')} | `a\\|b` | {_title(rng)} |"
            for _ in range(rng.randint(1, 4))
        ]
        return "| A | B | C |\n|---|:-:|--:|\n" + "\n".join(rows) + rng.choice(["", "\n| x |"])
    if kind == "links":
        return " and ".join(rng.choice(_LINKS) for _ in range(rng.randint(1, 5)))
    if kind == "embeds":
        return rng.choice(_EMBEDS)
    if kind == "html":
        return rng.choice(_HTML)
    if kind == "macros":
        return "Value " + rng.choice(_MACROS) + "."
    if kind == "code":
        fence = rng.choice(["```", "~~~", "````"])
        info = rng.choice(["", "nix", "python {.x}"])
        return f"{fence}{info}\n[[not-a-link]] {{{{ x }}}}\n{fence}"
    if kind == "emphasis":
        depth = rng.randint(1, 30)
        return "*" * depth + _title(rng) + "*" * depth
    if kind == "heading":
        return "#" * rng.randint(1, 6) + " " + _title(rng) + rng.choice(["", " ^hid", " {#x}"])
    return f"!!! note {json.dumps(_title(rng))}\n    Body with {rng.choice(_LINKS)}."


def generated_notes(count: int = 30) -> list[tuple[str, str]]:
    rng = random.Random(SEED)
    notes = []
    for number in range(count):
        title = json.dumps(_title(rng), ensure_ascii=False)
        extra = (
            f"description: {json.dumps(_title(rng), ensure_ascii=False)}\n"
            if rng.random() < 0.5
            else ""
        )
        body = "\n\n".join(_block(rng) for _ in range(rng.randint(2, 6)))
        notes.append(
            (f"vault/wiki/ops/gen-{number:02d}.md", note(title, body + ARTICLE_END, extra))
        )
    return notes


#: Generated notes go into projects a few at a time (one build each, to keep the run short);
#: the notes of a batch that check rejects are taken out again, and the rest must build.
BATCH = 5
GENERATED = generated_notes()
BATCHES = {
    f"generated-{i:02d}-{i + BATCH - 1:02d}": dict(GENERATED[i : i + BATCH])
    for i in range(0, len(GENERATED), BATCH)
}

RULE_VAULTS = sorted(
    p / "vault"
    for fixture in (FIXTURES / "rules").iterdir()
    for p in (fixture / "trigger", fixture / "clean")
    if (p / "vault").is_dir()
)


def _cases():
    for name, (files, reason) in NAMED.items():
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        yield pytest.param(files, None, id=name, marks=marks)
    for name, files in BATCHES.items():
        yield pytest.param(files, "drop-rejected", id=name)
    for vault in RULE_VAULTS:
        yield pytest.param({}, vault, id=f"{vault.parent.parent.name}/{vault.parent.name}")


def _check(kbgen) -> tuple[int, str]:
    code, out, err = kbgen("check", "--fail-on", "error", "--no-nix-parse")
    assert code in (0, 1), err
    return code, out


def _drop_rejected(kbgen, project: Path, added: dict[str, str]) -> list[str]:
    """Remove the added notes that check reports errors in; returns their paths."""
    _, out, _ = kbgen("check", "--fail-on", "error", "--no-nix-parse", "--format", "json")
    errors = {f["path"] for f in json.loads(out)["findings"] if f["severity"] == "error"}
    rejected = sorted(path for path in added if path in errors)
    for path in rejected:
        (project / path).unlink()
    return rejected


def check_then_build(kbgen, project: Path, site: Path) -> tuple[int, str]:
    code, out = _check(kbgen)
    if code != 0:
        return code, out
    build_code, build_out, build_err = kbgen("build", "--site-dir", str(site))
    assert "internal error" not in build_err, build_err
    assert build_code == 0, build_out + build_err
    assert (site / "index.html").is_file()
    return 0, build_out


@pytest.mark.parametrize(("files", "overlay"), list(_cases()))
def test_what_check_lets_through_builds(tmp_path, kbgen, monkeypatch, files, overlay):
    project = make_site_project(tmp_path / "project")
    if isinstance(overlay, Path):
        shutil.copytree(overlay, project / "vault", dirs_exist_ok=True, symlinks=True)
    write_files(project, files)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.chdir(project)
    if overlay == "drop-rejected":
        _drop_rejected(kbgen, project, files)
    check_then_build(kbgen, project, tmp_path / "site")


def test_the_generated_corpus_is_hostile_and_mostly_passes_check(tmp_path, kbgen, monkeypatch):
    """The property means something only if check lets most of the corpus through."""
    text = "".join(body for _, body in GENERATED)
    for needle in ("\\t", "`", "{{", "<script>", "\\|", "![[", "- " * 41, "> " * 41):
        assert needle in text, needle
    project = make_site_project(tmp_path / "project")
    write_files(project, dict(GENERATED))
    monkeypatch.chdir(project)
    _, out, _ = kbgen("check", "--fail-on", "error", "--no-nix-parse")
    failing = {
        line.split(":", 1)[0] for line in out.splitlines() if ": KB" in line and " KB2" not in line
    }
    assert len(failing) < len(GENERATED) / 2, out


# -- the resolved settings reader itself --------------------------------------------------


def test_settings_with_dates_sets_and_binary_are_plain_text(tmp_path):
    from kbgen.trace.registers import read_settings
    from kbgen.vault.sources import Sources

    write_files(
        tmp_path,
        {
            "registers/s.yaml": _settings(
                "    rejected:\n      - value: 2024-01-01\n        reason: 2024-02-02\n"
                "      - value: !!set {b, a}\n        reason: !!binary aGVsbG8=\n",
                value="{when: 2024-03-04, list: [2024-05-06]}",
            )
        },
    )
    settings = read_settings(Sources(tmp_path, tmp_path), "registers/s.yaml")
    assert settings.problems == ()
    (setting,) = settings.settings
    assert setting.value == {"when": "2024-03-04", "list": ["2024-05-06"]}
    assert setting.rejected == (("2024-01-01", "2024-02-02"), (["a", "b"], "hello"))
    json.dumps([setting.value, setting.rejected])


def test_settings_nested_too_deep_are_a_finding_not_a_crash(tmp_path):
    from kbgen.trace.registers import MAX_SETTINGS_DEPTH, read_settings
    from kbgen.vault.sources import Sources

    write_files(
        tmp_path,
        {
            "s.yaml": "settings:\n  - id: x\n    value: "
            + "[" * 1000
            + "]" * 1000
            + "\n    canonical_path: a.b\n"
        },
    )
    settings = read_settings(Sources(tmp_path, tmp_path), "s.yaml")
    (problem,) = settings.problems
    assert (
        problem.line == 3 and f"nested deeper than {MAX_SETTINGS_DEPTH} levels" in problem.message
    )
    write_files(
        tmp_path,
        {
            "ok.yaml": "settings:\n  - id: x\n    value: "
            + "[" * 20
            + "]" * 20
            + "\n    canonical_path: a.b\n"
        },
    )
    assert read_settings(Sources(tmp_path, tmp_path), "ok.yaml").problems == ()
