"""The ``kbgen`` command line. The only module that prints or chooses an exit code.

Exit codes: 0 clean; 1 findings at or above ``--fail-on``; 2 usage error or a
project that cannot be read.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from kbgen import __version__
from kbgen.config import Config
from kbgen.errors import KbgenError
from kbgen.fix import plan_fixes, write_fixes
from kbgen.init import add_init_parser, run_init
from kbgen.output import FORMATS, Report
from kbgen.output.rule_docs import every_rule, find_rule, one_rule
from kbgen.project import Run, compile_project, open_config, run
from kbgen.rules import all_rules
from kbgen.rules.base import Finding, Severity
from kbgen.rules.located import fix_within, located_in

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


#: Help of every ``--config`` option.
CONFIG_HELP = "pyproject.toml (its [tool.kbgen]) or kbgen.toml to read"


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kbgen",
        description="Compile an Obsidian compliance vault, PRDs and a NixOS flake into one "
        "model; lint it, trace it and publish it.",
    )
    parser.add_argument("--version", action="version", version=f"kbgen {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_check_commands(commands)
    _add_output_commands(commands)
    return parser


def _add_check_commands(commands) -> None:
    """audit, trace and check: the rules over the model, with findings as output."""
    audit_parser = commands.add_parser(
        "audit",
        help="lint the vault (links, indexes, frontmatter, references)",
        description="Lint the vault. Exit 0 when clean, 1 on findings at or above "
        "--fail-on, 2 when the project cannot be read.",
    )
    _add_paths_argument(audit_parser)
    _add_run_options(audit_parser)
    audit_parser.add_argument("--fix", action="store_true", help="apply safe fixes")
    audit_parser.add_argument(
        "--unsafe-fixes", action="store_true", help="with --fix or --diff, also apply unsafe fixes"
    )
    audit_parser.add_argument(
        "--diff", action="store_true", help="show the fixes as a unified diff; write nothing"
    )

    trace_parser = commands.add_parser(
        "trace",
        help="check traceability: controls, Nix options, tests, registers",
        description="Check that every control maps to a Nix option that exists in flake/ and "
        "to a test, and that the registers hold. Same formats and exit codes as "
        "audit.",
    )
    _add_paths_argument(trace_parser)
    _add_run_options(trace_parser)
    _add_evidence_option(trace_parser)
    _add_nixos_options_option(trace_parser)
    trace_parser.add_argument(
        "--nix-parse",
        action="store_true",
        help="also parse every .nix file with nix-instantiate when it is on PATH",
    )

    check_parser = commands.add_parser(
        "check",
        help="the CI gate: audit and trace together",
        description="Run the audit and trace rules together (and Nix's own parser when "
        "nix-instantiate is on PATH). Exit 0 only when nothing reaches --fail-on.",
    )
    _add_paths_argument(check_parser)
    _add_run_options(check_parser)
    _add_evidence_option(check_parser)
    _add_nixos_options_option(check_parser)
    check_parser.add_argument(
        "--require-evidence",
        action="store_true",
        help="fail on every host or hybrid control that is not verified "
        "by a current, passing test result (release branches)",
    )
    check_parser.add_argument(
        "--no-nix-parse", action="store_true", help="do not run nix-instantiate --parse"
    )


def _add_paths_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="one vault folder (default: [tool.kbgen] vault, else ./vault), or files: "
        "the whole project is still checked, but only findings in these files are "
        "reported (and fixed); files that are not part of the project are ignored",
    )


def _add_output_commands(commands) -> None:
    """export, build, serve, rule and rules: what the model is turned into."""
    _add_export_command(commands)
    _add_site_commands(commands)
    add_init_parser(commands)


def _add_export_command(commands) -> None:
    export_parser = commands.add_parser(
        "export",
        help="export the traceability matrix, the graph or OSCAL",
        description="Write the traceability matrix (per framework, with coverage figures), "
        "the whole graph as JSON, or an OSCAL document (oscal "
        "component-definition | assessment-results; see docs/oscal.md).",
    )
    export_parser.add_argument("what", choices=("matrix", "graph", "oscal"))
    export_parser.add_argument(
        "model",
        nargs="?",
        choices=("component-definition", "assessment-results"),
        help="the OSCAL model to write (oscal only)",
    )
    export_parser.add_argument("--framework", help="one framework id (matrix only)")
    export_parser.add_argument(
        "--format",
        choices=("csv", "json", "md"),
        default="md",
        help="matrix format (default: md); the graph is always JSON",
    )
    export_parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE")
    export_parser.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    export_parser.add_argument("--vault", dest="vault_dir", help="vault folder")
    export_parser.add_argument(
        "--no-cache", action="store_true", help="parse every note afresh (also: KBGEN_NO_CACHE=1)"
    )
    _add_evidence_option(export_parser)


def _add_site_commands(commands) -> None:
    """build, serve, rule and rules."""
    build_parser_ = commands.add_parser(
        "build",
        help="build the site (runs the gate first)",
        description="Run kbgen check, compile vault/ and flake/ into Markdown under "
        "build/docs/ and render it with MkDocs into site/. Fails (exit 1) when "
        "check reports errors, or warnings with --strict; a failed build leaves "
        "the previous site untouched.",
    )
    build_parser_.add_argument(
        "--strict", action="store_true", help="fail on warnings and on unresolved links too"
    )
    build_parser_.add_argument(
        "--fail-on",
        choices=("error", "warning", "never"),
        default="error",
        help="lowest severity that stops the build (default: error; warning is --strict); "
        "never: publish anyway, with a banner on every page naming the findings",
    )
    build_parser_.add_argument(
        "--markdown-only",
        action="store_true",
        help="write the Markdown tree only (for another renderer)",
    )
    build_parser_.add_argument("--site-dir", help="where to write the site (default: site/)")
    build_parser_.add_argument(
        "--renderer",
        choices=("mkdocs", "zensical"),
        default="mkdocs",
        help="what renders the compiled tree (default: mkdocs, i.e. "
        "mkdocs-material; zensical needs kbgen[zensical])",
    )
    build_parser_.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    _add_evidence_option(build_parser_)
    _add_nixos_options_option(build_parser_)

    serve_parser = commands.add_parser(
        "serve",
        help="serve the site and rebuild when a note or .nix file changes",
        description="Serve the site on localhost (mkdocs serve with the kbgen plugin).",
    )
    serve_parser.add_argument(
        "--dev-addr", default="127.0.0.1:8000", help="address to serve on (default: 127.0.0.1:8000)"
    )
    serve_parser.add_argument(
        "--full",
        action="store_true",
        help="re-render every page on each change (default: only the "
        "pages whose compiled Markdown changed; the live search "
        "index then covers those pages only)",
    )

    rule_parser = commands.add_parser(
        "rule", help="explain one rule", description="Print a rule's documentation."
    )
    rule_parser.add_argument("rule", help="rule code (KB101) or name (broken-wikilink)")
    rule_parser.add_argument("--format", choices=("text", "json"), default="text")

    rules_parser = commands.add_parser(
        "rules",
        help="list every rule",
        description="List every rule, or write the rule reference as Markdown.",
    )
    rules_parser.add_argument("--format", choices=("text", "markdown", "json"), default="text")


def _add_evidence_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--evidence",
        metavar="DIR",
        help="folder of test results (default: [tool.kbgen] evidence, else "
        "evidence/; a missing folder means no results)",
    )


def _add_nixos_options_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--nixos-options",
        metavar="FILE",
        help="NixOS's options.json (`nix build ./flake#nixos-options`) to "
        "check upstream option paths against (default: [tool.kbgen] "
        "nixos-options; none: not checked)",
    )


def _with_evidence(config: Config, args: argparse.Namespace) -> Config:
    """The configuration with ``--evidence``, ``--require-evidence`` and
    ``--nixos-options`` applied."""
    if getattr(args, "nixos_options", None):
        config = config.with_overrides(nixos_options=str(Path(args.nixos_options).resolve()))
    if getattr(args, "evidence", None):
        folder = Path(args.evidence).resolve()
        if folder.exists() and not folder.is_dir():
            raise KbgenError("--evidence must name a folder", args.evidence)
        config = config.with_overrides(evidence=str(folder))
    if getattr(args, "require_evidence", False):
        config = config.with_overrides(require_evidence=True)
    return config


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        choices=sorted(FORMATS),
        default="concise",
        help="output format (default: concise)",
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE")
    parser.add_argument(
        "--select",
        type=_csv,
        default=(),
        metavar="RULES",
        help="comma-separated codes, code prefixes or names to run",
    )
    parser.add_argument(
        "--ignore",
        type=_csv,
        default=(),
        metavar="RULES",
        help="comma-separated codes, code prefixes or names to skip",
    )
    parser.add_argument(
        "--fail-on",
        choices=("info", "warning", "error"),
        help="lowest severity that makes the exit code 1 "
        "(default: [tool.kbgen] fail-on, else warning)",
    )
    parser.add_argument(
        "--exit-zero", action="store_true", help="exit 0 even when there are findings"
    )
    parser.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    parser.add_argument("--isolated", action="store_true", help="ignore every configuration file")
    parser.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="worker processes for parsing (default: CPU count)",
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="parse every note afresh; neither read nor write the cache (also: KBGEN_NO_CACHE=1)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_ERROR
    try:
        if args.command == "audit":
            return _audit(args)
        if args.command == "trace":
            return _run(args, ("trace",), cross_check=args.nix_parse)
        if args.command == "check":
            return _run(args, ("audit", "trace"), cross_check=not args.no_nix_parse)
        if args.command == "export":
            return _export(args)
        if args.command == "build":
            return _build(args)
        if args.command == "serve":
            return _serve(args)
        if args.command == "rule":
            return _rule(args)
        if args.command == "rules":
            return _rules(args)
        if args.command == "init":
            return run_init(args)
    except KbgenError as exc:
        print(f"kbgen: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Whoever read the output stopped reading (`kbgen rules | head`): nothing is wrong.
        # Point stdout at /dev/null so that flushing it at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + 13  # as a shell reports a process ended by SIGPIPE
    except Exception as exc:  # a bug in kbgen: say so plainly, keep the details on request
        if os.environ.get("KBGEN_DEBUG") == "1":
            raise
        print(
            f"kbgen: internal error: {type(exc).__name__}: {exc}\n"
            "This is a bug in kbgen; run again with KBGEN_DEBUG=1 for the traceback.",
            file=sys.stderr,
        )
        return EXIT_ERROR
    parser.error(f"unknown command {args.command}")  # pragma: no cover - argparse prevents it
    return EXIT_ERROR


def _emit(text: str, output: str | None) -> None:
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise KbgenError(f"cannot write report: {exc.strerror}", output) from exc
    else:
        sys.stdout.write(text)


def _source_line(run: Run):
    def lookup(finding: Finding) -> str:
        note = run.vault.notes.get(finding.note or "")
        return note.line_text(finding.line) if note else ""

    return lookup


def _audit(args: argparse.Namespace) -> int:
    return _run(args, ("audit",))


def _run(args: argparse.Namespace, commands: tuple[str, ...], *, cross_check: bool = False) -> int:
    vault_arg, files = _vault_and_files(args.paths)
    config = _with_evidence(open_config(vault_arg, args.config, args.isolated), args)

    def once() -> Run:
        result = run(
            config,
            commands=commands,
            select=args.select,
            ignore=args.ignore,
            jobs=args.jobs,
            cache=_use_cache(args),
            cross_check=cross_check,
        )
        if files is not None:
            result.findings = located_in(result.findings, files, config.project_root)
        return result

    result = once()
    if getattr(args, "fix", False) or getattr(args, "diff", False):
        digests = {path: note.digest for path, note in result.vault.notes.items()}
        fixable = result.findings
        if files is not None:
            fixable = [f for f in fixable if fix_within(f, files, result.vault)]
        plan = plan_fixes(fixable, result.vault.sources, digests, unsafe=args.unsafe_fixes)
        if args.diff:
            display = {p: result.vault.display_path(p) for p in plan.changed}
            sys.stdout.write(plan.diff(display))
            count = len(plan.applied)
            print(
                f"Would fix {count} finding{'s' if count != 1 else ''} in "
                f"{len(plan.changed)} file{'s' if len(plan.changed) != 1 else ''}.",
                file=sys.stderr,
            )
            return EXIT_FINDINGS if plan.changed else EXIT_OK
        write_fixes(plan, result.vault.sources)
        if plan.changed:
            print(
                f"Fixed {len(plan.applied)} finding{'s' if len(plan.applied) != 1 else ''} "
                f"in {len(plan.changed)} file{'s' if len(plan.changed) != 1 else ''}.",
                file=sys.stderr,
            )
            result = once()
    name = commands[0] if len(commands) == 1 else "check"
    report = Report(name, tuple(result.findings), tuple(result.rules), _source_line(result))
    _emit(FORMATS[args.format](report), args.output)
    return _exit_code(result.findings, args.fail_on or config.fail_on, args.exit_zero)


def _vault_and_files(paths: list[str]) -> tuple[str | None, frozenset[Path] | None]:
    """The vault folder and the files to report on, from the positional paths.

    One folder alone is the vault, as before files were accepted (a missing one is
    reported by ``open_config``); otherwise every path is a file that must exist (a
    missing name with a suffix, such as ``note.md``, is taken for a file too).
    """
    if not paths:
        return None, None
    if len(paths) == 1:
        only = Path(paths[0])
        if only.is_dir() or (not os.path.lexists(only) and not only.suffix):
            return paths[0], None
    files = set()
    for name in paths:
        path = Path(name)
        if not os.path.lexists(path):
            raise KbgenError("file not found", name)
        if path.is_dir():
            raise KbgenError("is a folder: name the vault folder alone, or only files", name)
        files.add(path.resolve())
    return None, frozenset(files)


def _build(args: argparse.Namespace) -> int:
    from kbgen.site.build import TREE_DIR, build_site

    config = _with_evidence(open_config(None, args.config), args)
    result = build_site(
        config,
        strict=args.strict,
        markdown_only=args.markdown_only,
        site_dir=args.site_dir,
        cache=os.environ.get("KBGEN_NO_CACHE") != "1",
        renderer=args.renderer,
        fail_on=args.fail_on,
    )
    if result.tree is None:
        report = Report(
            "check",
            tuple(result.blocking),
            tuple(result.checked.rules),
            _source_line(result.checked),
        )
        sys.stdout.write(FORMATS["concise"](report))
        print(
            "kbgen: build stopped: fix the findings above (the previous site is untouched)",
            file=sys.stderr,
        )
        return EXIT_FINDINGS
    where = TREE_DIR if args.markdown_only else (args.site_dir or "site")
    print(f"Built {len(result.tree.pages)} pages into {where}.", file=sys.stderr)
    if result.overridden:
        count = len(result.overridden)
        print(
            f"kbgen: published with {count} finding{'s' if count != 1 else ''} that fail "
            "the gate (--fail-on never); every page says so in a banner",
            file=sys.stderr,
        )
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    from kbgen.site.serve import serve

    serve(open_config(None), dev_addr=args.dev_addr, full=args.full)
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    from kbgen.trace.exports import render_matrix
    from kbgen.trace.frameworks import FRAMEWORKS
    from kbgen.trace.graph import build_trace_graph, graph_document

    if (args.what == "oscal") != (args.model is not None):
        raise KbgenError(
            "export oscal needs a model (component-definition or "
            "assessment-results); matrix and graph take none"
        )
    config = _with_evidence(open_config(args.vault_dir, args.config), args)
    _vault, trace = compile_project(config, cache=_use_cache(args))
    if args.what == "oscal":
        from kbgen.oscal import assessment_results, component_definition

        write = component_definition if args.model == "component-definition" else assessment_results
        text = json.dumps(write(trace), indent=2, ensure_ascii=False) + "\n"
    elif args.what == "graph":
        document = graph_document(build_trace_graph(trace))
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    else:
        if args.framework and args.framework not in FRAMEWORKS:
            raise KbgenError(
                f"unknown framework {args.framework!r} (known: {', '.join(FRAMEWORKS)})"
            )
        text = render_matrix(trace, args.format, args.framework)
    _emit(text, args.output)
    return EXIT_OK


def _use_cache(args: argparse.Namespace) -> bool:
    return not args.no_cache and os.environ.get("KBGEN_NO_CACHE") != "1"


def _exit_code(findings: list[Finding], fail_on: str, exit_zero: bool) -> int:
    if exit_zero:
        return EXIT_OK
    threshold = Severity.parse(fail_on)
    return EXIT_FINDINGS if any(f.severity >= threshold for f in findings) else EXIT_OK


def _rule(args: argparse.Namespace) -> int:
    sys.stdout.write(one_rule(find_rule(args.rule), args.format))
    return EXIT_OK


def _rules(args: argparse.Namespace) -> int:
    sys.stdout.write(every_rule(all_rules(), args.format))
    return EXIT_OK
