"""Hostile and awkward text for the "content is data, never code" tests (issue 11).

:func:`payloads` is the one list: each :class:`Payload` has an id, its text and the
fields of a project it is written into. :func:`write_payload_project` writes ONE
project (based on :func:`tests.site_project.make_site_project`) that holds every
payload in every field it goes into, and returns a :class:`Manifest` that says, for each
placement, on which page of the compiled tree it must show and in which form.

Jinja payloads ``touch`` an absolute marker path: if anything ever evaluates them, the
file appears, whatever the process, thread or template engine that did it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tests.site_project import make_site_project

# -- fields ---------------------------------------------------------------------------
# Each is a place in the sources whose text reaches at least one generated page.
NOTE_TITLE = "note-title"  # frontmatter title
NOTE_BODY = "note-body"  # a paragraph of a note
ALIAS = "wikilink-alias"  # [[target|alias]]
FILE_NAME = "file-name"  # the note's file name (its title falls back to it)
HEADING = "heading"  # ## heading text
TAGS = "tags"  # frontmatter tags (the page's tag list, tag pages)
DESCRIPTION = "description"  # frontmatter description -> <meta name=description>
CONTROL_TITLE = "control-title"  # PRD control table: Title cell
REQUIREMENT = "control-requirement"  # PRD control table: Requirement cell
POLICY_CELL = "policy-cell"  # PRD control table: Policy / risk cell
RISK_CELLS = "risk-cells"  # residual-risk register: Risk, Why, What, Acceptance
SETTING_ID = "setting-id"  # resolved-settings.yaml id (only an anchor on the site)
SETTING_TITLE = "setting-title"
SETTING_VALUE = "setting-value"  # value (= the canonical option's default string)
SETTING_REJECTED = "setting-rejected"  # rejected value and reason
NIX_BLOCK_COMMENT = "nix-block-comment"  # /* ... */ in a flake module
NIX_LINE_COMMENT = "nix-line-comment"  # # ... in a flake module
OPTION_DESCRIPTION = "option-description"
OPTION_DEFAULT = "option-default"  # a string default of a canonical option
TEST_NAME = "test-name"  # mkComplianceTest name
TEST_SCRIPT = "test-script"  # mkComplianceTest testScript
MACRO_VALUE = "macro-value"  # what a real macro shows (control/risk title, default)

ALL_FIELDS = frozenset(
    {
        NOTE_TITLE,
        NOTE_BODY,
        ALIAS,
        FILE_NAME,
        HEADING,
        TAGS,
        DESCRIPTION,
        CONTROL_TITLE,
        REQUIREMENT,
        POLICY_CELL,
        RISK_CELLS,
        SETTING_ID,
        SETTING_TITLE,
        SETTING_VALUE,
        SETTING_REJECTED,
        NIX_BLOCK_COMMENT,
        NIX_LINE_COMMENT,
        OPTION_DESCRIPTION,
        OPTION_DEFAULT,
        TEST_NAME,
        TEST_SCRIPT,
        MACRO_VALUE,
    }
)

#: The folder of the payload notes, and the project-relative flake files they add.
NOTES = "wiki/payloads"
NAMES = "names"
PAYLOAD_MODULE = "flake/modules/payloads/default.nix"
FOUR_BACKTICKS_MODULE = "flake/modules/backticks/default.nix"


@dataclass(frozen=True)
class Payload:
    id: str
    text: str
    #: "jinja" (code execution), "script" (markup/script injection) or "plain" (must survive).
    kind: str
    fields: frozenset[str]


def payloads(marker: Path) -> list[Payload]:
    """Every payload; the Jinja ones create ``marker`` (an absolute path) if evaluated."""
    touch = f"touch {marker}"
    everywhere = ALL_FIELDS
    # A file name cannot hold "/" (and the marker path is absolute); a wikilink alias
    # cannot hold "]]" (the link would end there).
    no_file = everywhere - {FILE_NAME}
    no_alias = everywhere - {ALIAS}
    items = [
        # Jinja: code execution if anything renders content as a template.
        (
            "jinja-lipsum-globals",
            "jinja",
            f"{{{{ lipsum.__globals__['os'].popen('{touch}').read() }}}}",
            no_file,
        ),
        (
            "jinja-cycler-init",
            "jinja",
            f"{{{{ cycler.__init__.__globals__.os.popen('{touch}').read() }}}}",
            no_file,
        ),
        (
            "jinja-for-subclasses",
            "jinja",
            "{% for c in ().__class__.__base__.__subclasses__() %}"
            "{% if c.__name__ == 'catch_warnings' %}"
            f"{{{{ c()._module.__builtins__['__import__']('os').popen('{touch}').read() }}}}"
            "{% endif %}{% endfor %}",
            no_file,
        ),
        # A name the macro sandbox does define, reached through an attribute.
        (
            "jinja-macro-globals",
            "jinja",
            f"{{{{ option_default.__globals__['os'].popen('{touch}').read() }}}}",
            no_file,
        ),
        # A statement alone: no "{{" at all, so it is never a macro candidate.
        (
            "jinja-set-statement",
            "jinja",
            f"{{% set x = lipsum.__globals__['os'].popen('{touch}').read() %}}",
            no_file,
        ),
        ("jinja-arithmetic", "jinja", "{{ 5+5 }}", everywhere),
        ("jinja-self", "jinja", "{{ self }}", everywhere),
        ("jinja-config", "jinja", "{{ config }}", everywhere),
        ("jinja-request", "jinja", "{{ request }}", everywhere),
        # Script and markup injection.
        ("script-tag", "script", "<script>alert(1)</script>", no_file),
        ("img-onerror", "script", "<img src=x onerror=alert(1)>", everywhere),
        ("attribute-break-svg", "script", '"><svg onload=alert(1)>', everywhere),
        ("javascript-url", "script", "javascript:alert(1)", everywhere),
        ("backticks-3", "script", "tick ``` run", everywhere),
        ("backticks-4", "script", "tick ```` run", everywhere),
        ("table-pipe", "script", "left | right", everywhere),
        ("wikilink-close", "script", "x]] y", no_alias),
        ("link-javascript", "script", "](javascript:alert(1))", everywhere),
        ("attr-list", "script", '{: onclick="alert(1)" }', everywhere),
        ("code-close", "script", "</code><img src=x onerror=alert(1)>", no_file),
        ("mouseover-quote", "script", 'x"onmouseover=alert(1) y', everywhere),
        # Plain text that must survive exactly.
        ("docker-format", "plain", "docker ps --format '{{.Names}}'", no_file),
        ("comparison", "plain", "a < b && c > d", everywhere),
    ]
    return [Payload(pid, text, kind, frozenset(fields)) for pid, kind, text, fields in items]


# -- where each placement must show -------------------------------------------------------


@dataclass(frozen=True)
class Placement:
    payload: str  # payload id
    field: str
    #: Page of the compiled tree (build/docs/...). Generated pages are named by a glob
    #: ("kb/**/settings.md") that must match exactly one page: where kbgen files them
    #: (folders per family or module) is not what these tests are about.
    page: str
    #: The text a reader must see on that page (usually the payload itself; JSON for a
    #: value shown as JSON).
    shown: str
    #: Where the page shows it: "text" (a text node), "meta" (the description meta tag),
    #: "code" (inside a <pre>/<code> element), "title" (the page's <title>), "h1" (the
    #: heading the theme writes from the title, in a page without one), "tag" (the
    #: page's list of tags).
    where: str = "text"
    #: How the compiled Markdown holds it once character references are decoded: the
    #: text itself, except in an author's table, where a pipe stays written ``\\|``.
    markdown: str = ""
    #: The text is the author's own Markdown on this page (a note's body, heading or
    #: table), rendered as Markdown; elsewhere kbgen wrote it through an escape helper.
    author: bool = False


@dataclass
class Manifest:
    root: Path
    marker: Path
    payloads: list[Payload]
    placements: list[Placement] = field(default_factory=list)
    #: Notes whose file name is a payload: payload id -> vault-relative path.
    file_names: dict[str, str] = field(default_factory=dict)

    def add(
        self,
        payload: Payload,
        field_: str,
        page: str,
        shown: str | None = None,
        where: str = "text",
        markdown: str | None = None,
        author: bool = False,
    ) -> None:
        shown = payload.text if shown is None else shown
        self.placements.append(
            Placement(
                payload.id,
                field_,
                page,
                shown,
                where,
                shown if markdown is None else markdown,
                author,
            )
        )


# -- writing the project --------------------------------------------------------------


def _yaml(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid YAML double-quoted scalar


def _nix_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("${", "\\${") + '"'


def _nix_indented(value: str) -> str:
    return value.replace("''", "'''").replace("${", "''${")


def _cell(value: str) -> str:
    """A table cell as an author writes it: a pipe in the text is written ``\\|``."""
    return value.replace("|", "\\|")


def write_payload_project(root: Path, marker: Path, *, note_html: str = "escape") -> Manifest:
    """Write the payload project at ``root``; ``marker`` must not exist afterwards."""
    make_site_project(root)
    items = payloads(marker)
    manifest = Manifest(root, marker, items)
    vault = root / "vault"
    (root / "pyproject.toml").write_text(
        "[tool.kbgen]\n"
        f'note-html = "{note_html}"\n'
        # No rule is ignored: the warnings this project gets (orphan notes, no Key
        # Takeaways, a title used twice) quote payloads on the findings page, which the
        # script checks read like every other page.
        # An odd run of backticks in a table row hides the pipes after it from kbgen's
        # cell count (a known bug, see test_backtick_run_in_a_table_cell_is_not_a_malformed_row):
        # the false TR103 is accepted at warning level so the build runs.
        "[tool.kbgen.severity]\n"
        'malformed-control-row = "warning"\n'
    )

    def has(payload: Payload, field_: str) -> bool:
        return field_ in payload.fields

    notes = vault / NOTES
    notes.mkdir(parents=True)
    # One note per payload for the note fields: title, description, tags, heading, body.
    for number, p in enumerate(items, start=1):
        name = f"p{number:02d}"
        page = f"{NOTES}/{name}.md"
        front = ["---"]
        if has(p, NOTE_TITLE):
            front.append(f"title: {_yaml(p.text)}")
            manifest.add(p, NOTE_TITLE, page, where="title")
        if has(p, DESCRIPTION):
            front.append(f"description: {_yaml(p.text)}")
            manifest.add(p, DESCRIPTION, page, where="meta")
        front.append("---")
        # An H1 of its own, so that the theme does not repeat the title in the article.
        body = ["", f"# Payload {p.id}", "", f"Payload {p.id} follows.", ""]
        if has(p, NOTE_BODY):
            body += [p.text, ""]
            manifest.add(p, NOTE_BODY, page, author=True)
        if has(p, HEADING):
            body += [f"## {p.text}", "", "Under the heading.", ""]
            manifest.add(p, HEADING, page, author=True)
        (notes / f"{name}.md").write_text("\n".join(front + body), encoding="utf-8")

    # Tags: one note carries every payload as a tag (and no other payload text, so what
    # its page shows of them comes from the tag list).
    tags = [p for p in items if has(p, TAGS)]
    (notes / "tagged.md").write_text(
        "---\ntitle: Tagged\ntags: [" + ", ".join(_yaml(p.text) for p in tags) + "]\n---\n\n"
        "# Tagged\n\nEvery payload is a tag of this note. Back to [[hub]].\n",
        encoding="utf-8",
    )
    for p in tags:
        manifest.add(p, TAGS, f"{NOTES}/tagged.md", where="tag")

    # Aliases: every link shows a payload as its text; and links to each payload note,
    # so their titles show in the backlinks of the hub.
    hub = ["---", "title: Payload hub", "---", "", "# Payload hub", ""]
    for number, p in enumerate(items, start=1):
        if has(p, ALIAS):
            hub += [f"- [[p{number:02d}|{p.text}]]", ""]
            manifest.add(p, ALIAS, f"{NOTES}/hub.md")
        else:
            hub += [f"- [[p{number:02d}]]", ""]
    (notes / "hub.md").write_text("\n".join(hub), encoding="utf-8")
    # The payload notes each link back to the hub, so the hub's backlinks list their titles.
    for number, p in enumerate(items, start=1):
        path = notes / f"p{number:02d}.md"
        path.write_text(path.read_text(encoding="utf-8") + "\nBack to [[hub]].\n", encoding="utf-8")
        if has(p, NOTE_TITLE):
            manifest.add(p, NOTE_TITLE, f"{NOTES}/hub.md")

    # Notes whose file name is the payload (no title: the file name is the title).
    names = vault / NAMES
    names.mkdir()
    for p in items:
        if not has(p, FILE_NAME):
            continue
        rel = f"{NAMES}/{p.text}.md"
        (vault / rel).write_text(f"A note named {p.id}.\n", encoding="utf-8")
        manifest.file_names[p.id] = rel
        manifest.add(p, FILE_NAME, rel, where="title")
        manifest.add(p, FILE_NAME, rel, where="h1")

    _write_prd(vault, items, manifest)
    _write_registers(vault, items, manifest)
    _write_flake(root, items, manifest)
    _write_macros_note(vault, items, manifest)
    return manifest


SETTINGS_PAGE = "kb/**/settings.md"


def source_page(nix_file: str) -> str:
    """The page that shows a flake file's source."""
    return f"kb/**/{nix_file}.md"


def _control_page(number: int) -> str:
    return f"kb/controls/nist-800-53/**/si-{number}.md"


def _control_id(number: int) -> str:
    return f"SI-{number}"


def _risk_id(number: int) -> str:
    return f"RR-{number + 1:02d}"  # RR-01 is the base project's


def _write_prd(vault: Path, items: list[Payload], manifest: Manifest) -> None:
    """One org control per payload, governed by the training policy and accepting the
    payload's residual-risk row, with the payload in the title, requirement and policy
    cells; their pages are the control pages, the framework matrix and the PRD itself."""
    rows = []
    for number, p in enumerate(items, start=1):
        control, cell = _control_id(number), _cell(p.text)
        rows.append(
            f"| {control} | {cell} | org | {cell} | | [[training]] [[{_risk_id(number)}]] {cell} |"
        )
        key_page = _control_page(number)
        manifest.add(p, CONTROL_TITLE, key_page)
        manifest.add(p, CONTROL_TITLE, "kb/**/nist-800-53.md")
        manifest.add(p, CONTROL_TITLE, "prd/payloads.md", markdown=cell, author=True)
        manifest.add(p, REQUIREMENT, key_page)
        manifest.add(p, REQUIREMENT, "prd/payloads.md", markdown=cell, author=True)
        manifest.add(p, POLICY_CELL, "prd/payloads.md", markdown=cell, author=True)
    text = "\n".join(
        [
            "---",
            "title: Payload PRD",
            'framework: {id: nist-800-53, name: NIST SP 800-53 Rev. 5, version: "5.1.1"}',
            "---",
            "",
            "# Payload PRD",
            "",
            "## System integrity",
            "",
            "| Control | Title | Layer | Requirement | Nix options | Policy / risk |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    )
    (vault / "prd" / "payloads.md").write_text(text, encoding="utf-8")


#: Register columns that take the payload (the others are copied from the base row).
RISK_TEXT_COLUMNS = (
    "risk",
    "why infrastructure cannot fully mitigate",
    "what would change the answer",
    "acceptance / mitigation",
)


def _write_registers(vault: Path, items: list[Payload], manifest: Manifest) -> None:
    """A register row per payload (Risk, Why, What would change, Acceptance), each
    accepted by the payload's control; the settings file, a setting per payload.

    The row follows the base register's header, so columns the register gains (owner,
    dates, ratings) are filled with the base row's valid values."""
    register = vault / "registers" / "residual-risks.md"
    lines = register.read_text(encoding="utf-8").rstrip("\n").split("\n")
    header_at = next(i for i, line in enumerate(lines) if line.startswith("| ID |"))
    header = [c.strip().casefold() for c in lines[header_at].strip("|").split("|")]
    base_row = [c.strip() for c in lines[header_at + 2].strip("|").split("|")]
    assert len(base_row) == len(header), "the base register row has unescaped pipes"
    rows = []
    for number, p in enumerate(items, start=1):
        rid, cell = _risk_id(number), _cell(p.text)
        values = {
            "id": rid,
            "source": f"[[nist-800-53/{_control_id(number)}]]",
            **dict.fromkeys(RISK_TEXT_COLUMNS, cell),
        }
        row = [values.get(name, base) for name, base in zip(header, base_row, strict=True)]
        rows.append("| " + " | ".join(row) + " |")
        for _ in RISK_TEXT_COLUMNS:
            manifest.add(p, RISK_CELLS, "registers/residual-risks.md", markdown=cell, author=True)
        # The Risk cell is the row's title: the accepting control's page lists it (in the
        # Markdown, the id is a link: only the title is checked there).
        manifest.add(p, RISK_CELLS, _control_page(number), f"{rid}: {p.text}", markdown=p.text)
    register.write_text("\n".join(lines + rows) + "\n", encoding="utf-8")

    settings_file = vault / "registers" / "resolved-settings.yaml"
    data = yaml.safe_load(settings_file.read_text(encoding="utf-8"))
    for number, p in enumerate(items, start=1):
        data["settings"].append(
            {
                "id": p.text,
                "title": p.text,
                "value": p.text,
                "canonical_path": f"compliance.canonical.payload.p{number:02d}",
                "frameworks": ["nist-800-53/AC-17"],
                "rejected": [{"value": p.text, "reason": p.text}],
            }
        )
        manifest.add(p, SETTING_TITLE, SETTINGS_PAGE)
        # The value and a rejected value are shown as JSON, in code.
        manifest.add(p, SETTING_VALUE, SETTINGS_PAGE, json.dumps(p.text), where="code")
        manifest.add(p, SETTING_REJECTED, SETTINGS_PAGE, json.dumps(p.text), where="code")
        manifest.add(p, SETTING_REJECTED, SETTINGS_PAGE)  # the reason, as text
    settings_file.write_text(
        yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )


def _write_flake(root: Path, items: list[Payload], manifest: Manifest) -> None:
    canonical = root / "flake/modules/canonical/default.nix"
    module_page = source_page("flake/modules/canonical/default.nix")
    payload_page = source_page(PAYLOAD_MODULE)
    options = []
    for number, p in enumerate(items, start=1):
        path = f"compliance.canonical.payload.p{number:02d}"
        options.append(
            f"  options.{path} = lib.mkOption {{\n"
            "    type = lib.types.str;\n"
            f"    default = {_nix_string(p.text)};\n"
            f"    description = {_nix_string(p.text)};\n"
            "  };\n"
        )
        option_page = f"kb/**/compliance-canonical-payload-p{number:02d}.md"
        manifest.add(p, OPTION_DESCRIPTION, option_page)
        # The option page shows the default as JSON in code; the source page as written.
        manifest.add(p, OPTION_DEFAULT, option_page, json.dumps(p.text), where="code")
        manifest.add(p, OPTION_DEFAULT, module_page, _nix_string(p.text), where="code")
    text = canonical.read_text(encoding="utf-8")
    canonical.write_text(
        text.rstrip().removesuffix("}") + "".join(options) + "}\n", encoding="utf-8"
    )

    # Comments: a module with the payloads in /* */ and # comments.
    comments = []
    for p in items:
        comments.append(f"  /* {p.text} */\n  # {p.text}\n")
        manifest.add(p, NIX_BLOCK_COMMENT, payload_page, f"/* {p.text} */", where="code")
        manifest.add(p, NIX_LINE_COMMENT, payload_page, f"# {p.text}", where="code")
    module = root / PAYLOAD_MODULE
    module.parent.mkdir(parents=True)
    module.write_text("{ lib, ... }:\n{\n" + "".join(comments) + "}\n", encoding="utf-8")

    # A line of four backticks in a comment, followed by markup that must stay code.
    backticks = root / FOUR_BACKTICKS_MODULE
    backticks.parent.mkdir(parents=True)
    backticks.write_text(
        "{ lib, ... }:\n/*\n````\n<script>alert(1)</script>\n````\n*/\n{ }\n", encoding="utf-8"
    )

    # One compliance test per payload: the payload in its name and its script.
    for number, p in enumerate(items, start=1):
        name = f"{p.id} {p.text}"
        test = root / f"flake/tests/payload-{number:02d}.nix"
        test.write_text(
            "{ complianceLib, ... }:\n"
            "complianceLib.mkComplianceTest {\n"
            f"  name = {_nix_string(name)};\n"
            '  controls = [ "nist-800-53/AC-17" ];\n'
            "  nodes.machine = { ... }: {\n"
            "    imports = [ ../modules/ssh ../modules/canonical ];\n"
            "    compliance.ssh.enable = true;\n"
            "  };\n"
            "  testScript = ''\n"
            '    machine.wait_for_unit("sshd.service")\n'
            f"    # {_nix_indented(p.text)}\n"
            f"    machine.succeed({_nix_indented(json.dumps(p.text))})\n"
            "  '';\n"
            "}\n",
            encoding="utf-8",
        )
        test_page = f"kb/tests/**/{_slug(name)}.md"
        manifest.add(p, TEST_NAME, test_page)
        manifest.add(p, TEST_NAME, "kb/controls/nist-800-53/**/ac-17.md")
        manifest.add(
            p,
            TEST_SCRIPT,
            source_page(f"flake/tests/payload-{number:02d}.nix"),
            f"machine.succeed({_nix_indented(json.dumps(p.text))})",
            where="code",
        )


def _write_macros_note(vault: Path, items: list[Payload], manifest: Manifest) -> None:
    """Real macros whose values are payloads: a value is text, never markup or a template."""
    lines = ["---", "title: Payload macros", "---", "", "# Payload macros", ""]
    page = f"{NOTES}/macros.md"
    for number, p in enumerate(items, start=1):
        lines += [
            f'Title {number}: {{{{ control_title("nist-800-53/{_control_id(number)}") }}}} end.',
            "",
            f'Risk {number}: {{{{ risk_title("RR-{number + 1:02d}") }}}} end.',
            "",
            f"Default {number}: "
            f'{{{{ option_default("compliance.canonical.payload.p{number:02d}") }}}} end.',
            "",
        ]
        manifest.add(p, MACRO_VALUE, page, f"Title {number}: {p.text} end.")
        manifest.add(p, MACRO_VALUE, page, f"Risk {number}: {p.text} end.")
        manifest.add(p, MACRO_VALUE, page, f"Default {number}: {p.text} end.")
    lines += ["Back to [[hub]].", ""]
    (vault / NOTES / "macros.md").write_text("\n".join(lines), encoding="utf-8")


def _slug(text: str) -> str:
    """The file name of a test's page (kbgen.site.paths.test_page)."""
    from kbgen.names import unique_slug

    return unique_slug(text)
