"""kbgen's pre-commit hooks, run by pre-commit itself, and the example CI workflow.

The hook repository is a copy of this working tree (tracked files and new ones not
ignored), committed in a temporary git repository: pre-commit clones a hook repository
at a revision, and the tree under test may hold changes not committed yet. Installing
the hooks' environment pip-installs that copy with kbgen's dependencies, once per module
(``PRE_COMMIT_HOME`` is shared by the tests here), so these tests are slow.

The workflow and the README's configuration snippet are checked without running
anything: every kbgen command they run must parse with kbgen's own argument parser.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from kbgen.cli import build_parser
from tests.helpers import need, write_files

REPO = Path(__file__).resolve().parent.parent
HOOKS_FILE = REPO / ".pre-commit-hooks.yaml"
WORKFLOW = REPO / "docs" / "examples" / "github-actions-kbgen.yml"

FIRST = (
    "---\ntitle: First\ndescription: The first.\n---\n\n# First\n\n"
    "See [[second]] and [[missing-page]].\n\n## Key Takeaways\n"
)
SECOND = "---\ntitle: Second\ndescription: The second.\n---\n\n# Second\n\n## Key Takeaways\n"
INDEX = "---\ntitle: Topic\n---\n\n- [[first]] — one\n"
BROKEN = "vault/wiki/topic/first.md:8:20: KB101 broken link [[missing-page]]"
#: Empty registers, so that the traceability rules of kbgen check have theirs.
RISKS = (
    "---\ntitle: Residual risks\n---\n\n# Residual risks\n\n"
    "| ID | Risk | Source | Why infrastructure cannot fully mitigate | What would change the "
    "answer | Acceptance / mitigation | Owner | Accepted on | Review due | Likelihood | "
    "Impact |\n" + "|---" * 11 + "|\n"
)
PYPROJECT = (
    '[tool.kbgen]\nvault = "vault"\n\n[tool.kbgen.per-path-ignores]\n"registers/**" = ["KB201"]\n'
)
UNLISTED = "vault/wiki/topic/_index.md:1:1: KB202 index does not list wiki/topic/second.md"


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` with a fixed identity and no signing, whatever the user's setup."""
    return subprocess.run(
        [
            "git",
            "-c",
            "user.name=kbgen tests",
            "-c",
            "user.email=tests@kbgen.invalid",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
            *args,
        ],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def working_tree_files() -> list[str]:
    """This repository's files as a commit of the working tree would hold them: tracked
    files that still exist and new files that .gitignore does not exclude."""
    listed = git(REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    return sorted({name for name in listed.split("\0") if name and (REPO / name).is_file()})


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory) -> tuple[Path, str]:
    """A git repository holding a copy of this working tree, and its commit."""
    have_pre_commit()
    root = tmp_path_factory.mktemp("hook-repo")
    for name in working_tree_files():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "kbgen working tree")
    return root, git(root, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory) -> Path:
    """pre-commit's cache (cloned hook repositories, their environments) for this module."""
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def project(tmp_path, hook_repo) -> Path:
    """A git repository with a tiny vault (a broken link, an index missing an article),
    a script that is not a note, and kbgen's three hooks configured."""
    repo, rev = hook_repo
    root = write_files(
        tmp_path / "project",
        {
            "pyproject.toml": PYPROJECT,
            "vault/registers/residual-risks.md": RISKS,
            "vault/registers/resolved-settings.yaml": "settings: []\n",
            "vault/wiki/_master-index.md": "- [[topic/]] — topic\n",
            "vault/wiki/topic/_index.md": INDEX,
            "vault/wiki/topic/first.md": FIRST,
            "vault/wiki/topic/second.md": SECOND,
            "scripts/tool.py": "print('not a note')\n",
            ".pre-commit-config.yaml": yaml.safe_dump(
                {
                    "repos": [
                        {
                            "repo": str(repo),
                            "rev": rev,
                            "hooks": [
                                {"id": "kbgen-audit"},
                                {"id": "kbgen-audit-fix"},
                                {"id": "kbgen-check"},
                            ],
                        }
                    ]
                }
            ),
        },
    )
    git(root, "init", "-q")
    git(root, "add", "-A")
    return root


def pre_commit(
    root: Path, home: Path, *args: str, command: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """Run ``pre-commit ARGS`` (or ``command``, under pre-commit's git hook) in ``root``."""
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"}
    env.pop("KBGEN_NO_CACHE", None)  # as a user runs it: kbgen's cache is on
    argv = list(command) if command else [sys.executable, "-m", "pre_commit", *args]
    return subprocess.run(
        argv, cwd=root, env=env, capture_output=True, text=True, check=False, timeout=900
    )


@pytest.mark.slow
def test_audit_hook_reports_the_broken_link_of_the_note_committed(project, pre_commit_home):
    result = pre_commit(
        project, pre_commit_home, "run", "kbgen-audit", "--files", "vault/wiki/topic/first.md"
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert BROKEN in result.stdout
    assert UNLISTED not in result.stdout  # the index was not named
    every = pre_commit(project, pre_commit_home, "run", "kbgen-audit", "--all-files")
    assert every.returncode == 1
    assert BROKEN in every.stdout and UNLISTED in every.stdout
    skipped = pre_commit(
        project, pre_commit_home, "run", "kbgen-audit", "--files", "scripts/tool.py"
    )
    assert skipped.returncode == 0 and "(no files to check)Skipped" in skipped.stdout


@pytest.mark.slow
def test_fix_hook_lists_the_missing_article(project, pre_commit_home):
    index = project / "vault/wiki/topic/_index.md"
    args = ("run", "kbgen-audit-fix", "--files", "vault/wiki/topic/_index.md")
    result = pre_commit(project, pre_commit_home, *args)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "files were modified by this hook" in result.stdout
    assert index.read_text(encoding="utf-8") == INDEX + "- [[second]] — The second.\n"
    assert (project / "vault/wiki/topic/first.md").read_text(encoding="utf-8") == FIRST
    git(project, "add", "-A")
    again = pre_commit(project, pre_commit_home, *args)
    assert again.returncode == 0, again.stdout + again.stderr


@pytest.mark.slow
def test_check_hook_gates_the_whole_project(project, pre_commit_home):
    result = pre_commit(project, pre_commit_home, "run", "kbgen-check", "--all-files")
    assert result.returncode == 1, result.stdout + result.stderr
    assert BROKEN in result.stdout and UNLISTED in result.stdout
    skipped = pre_commit(
        project, pre_commit_home, "run", "kbgen-check", "--files", "scripts/tool.py"
    )
    assert skipped.returncode == 0 and "(no files to check)Skipped" in skipped.stdout
    first = project / "vault/wiki/topic/first.md"
    first.write_text(FIRST.replace(" and [[missing-page]]", ""), encoding="utf-8")
    index = project / "vault/wiki/topic/_index.md"
    index.write_text(INDEX + "- [[second]] — The second.\n", encoding="utf-8")
    git(project, "add", "-A")
    clean = pre_commit(project, pre_commit_home, "run", "kbgen-check", "--all-files")
    assert clean.returncode == 0, clean.stdout + clean.stderr


@pytest.mark.slow
def test_installed_hook_stops_a_commit_with_a_broken_link(project, pre_commit_home):
    config = project / ".pre-commit-config.yaml"
    document = yaml.safe_load(config.read_text(encoding="utf-8"))
    document["repos"][0]["hooks"] = [{"id": "kbgen-audit"}]  # the fix hook is opt-in
    config.write_text(yaml.safe_dump(document), encoding="utf-8")
    index = project / "vault/wiki/topic/_index.md"
    index.write_text(INDEX + "- [[second]] — The second.\n", encoding="utf-8")
    git(project, "add", "-A")
    installed = pre_commit(project, pre_commit_home, "install")
    assert installed.returncode == 0, installed.stderr
    identity = ("-c", "user.name=kbgen tests", "-c", "user.email=tests@kbgen.invalid")
    attempt = pre_commit(
        project,
        pre_commit_home,
        command=("git", *identity, "-c", "commit.gpgsign=false", "commit", "-q", "-m", "notes"),
    )
    assert attempt.returncode != 0
    assert BROKEN in attempt.stdout + attempt.stderr
    head = subprocess.run(["git", "rev-parse", "--verify", "-q", "HEAD"], cwd=project, check=False)
    assert head.returncode != 0, "the commit went through"


def have_pre_commit() -> None:
    need(
        importlib.util.find_spec("pre_commit") is not None,
        "pre-commit is not installed (pip install -e '.[test]')",
    )


def pre_commit_validates(what: str, path: Path) -> None:
    """pre-commit's own schema check: ``validate-manifest`` or ``validate-config``."""
    have_pre_commit()
    result = subprocess.run(
        [sys.executable, "-m", "pre_commit", what, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hooks_run_real_kbgen_commands():
    pre_commit_validates("validate-manifest", HOOKS_FILE)
    hooks = {hook["id"]: hook for hook in yaml.safe_load(HOOKS_FILE.read_text(encoding="utf-8"))}
    assert set(hooks) == {"kbgen-audit", "kbgen-audit-fix", "kbgen-check"}
    for hook in hooks.values():
        argv = shlex.split(hook["entry"])
        assert argv[0] == "kbgen"
        build_parser().parse_args(argv[1:])
        assert hook["language"] == "python" and hook["require_serial"] is True
    assert shlex.split(hooks["kbgen-audit-fix"]["entry"])[1:] == ["audit", "--fix"]
    assert hooks["kbgen-check"]["pass_filenames"] is False
    assert hooks["kbgen-audit"]["types"] == ["markdown"]


def kbgen_commands(script: str) -> list[list[str]]:
    """The kbgen command lines of a shell step (continued lines joined)."""
    commands = []
    for line in script.replace("\\\n", " ").splitlines():
        argv = shlex.split(line, comments=True)
        if argv and argv[0] == "kbgen":
            commands.append(argv)
    return commands


def parse_kbgen(argv: list[str]):
    try:
        return build_parser().parse_args(argv[1:])
    except SystemExit:
        pytest.fail(f"not a kbgen command line: {shlex.join(argv)}")


def steps_of(job: dict) -> list[dict]:
    return job.get("steps", [])


def test_example_workflow_runs_real_kbgen_commands():
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    jobs = workflow["jobs"]
    runs = {name: [s for s in steps_of(job) if "run" in s] for name, job in jobs.items()}
    parsed = {
        name: [parse_kbgen(argv) for step in steps for argv in kbgen_commands(step["run"])]
        for name, steps in runs.items()
    }
    for name, job in jobs.items():
        for need_ in [job["needs"]] if isinstance(job.get("needs"), str) else job.get("needs", []):
            assert need_ in jobs, f"job {name} needs unknown job {need_}"
        for step in steps_of(job):
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w./-]+@v\d+", step["uses"]), step["uses"]

    gate = parsed["gate"]
    sarif = [a for a in gate if a.command == "check" and a.format == "sarif"]
    assert len(sarif) == 1 and sarif[0].output and not sarif[0].exit_zero
    assert any(a.command == "check" and a.format == "github" for a in gate)
    upload = [s for s in steps_of(jobs["gate"]) if "upload-sarif" in s.get("uses", "")]
    assert len(upload) == 1
    assert upload[0]["with"]["sarif_file"] == sarif[0].output
    assert "always()" in upload[0]["if"]
    assert "security-events" in jobs["gate"]["permissions"]

    builds = [a for a in parsed["build"] if a.command == "build"]
    assert len(builds) == 1 and not builds[0].markdown_only
    pages = [s for s in steps_of(jobs["build"]) if "upload-pages-artifact" in s.get("uses", "")]
    assert len(pages) == 1
    assert pages[0]["with"]["path"].rstrip("/") == (builds[0].site_dir or "site")
    deploy = [s for s in steps_of(jobs["deploy"]) if "deploy-pages" in s.get("uses", "")]
    assert len(deploy) == 1
    assert "refs/heads/main" in jobs["deploy"]["if"]
    assert "refs/heads/main" in pages[0]["if"]


def test_example_workflow_installs_extras_that_exist():
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    requirement = workflow["env"]["KBGEN_INSTALL"]
    extras = re.search(r"\[([\w,\s-]+)\]", requirement)
    assert extras, f"{requirement!r} names no extras; kbgen build needs 'site'"
    declared = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    known = declared["project"]["optional-dependencies"]
    wanted = {e.strip() for e in extras.group(1).split(",")}
    assert "site" in wanted and wanted <= set(known)


def test_readme_configuration_names_real_hooks(tmp_path):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Pre-commit and CI", 1)[1].split("\n## ", 1)[0]
    snippet = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert snippet, "the README's Pre-commit and CI section has no .pre-commit-config.yaml"
    config = yaml.safe_load(snippet.group(1))
    (tmp_path / ".pre-commit-config.yaml").write_text(snippet.group(1), encoding="utf-8")
    pre_commit_validates("validate-config", tmp_path / ".pre-commit-config.yaml")
    ids = {hook["id"] for hook in yaml.safe_load(HOOKS_FILE.read_text(encoding="utf-8"))}
    used = {hook["id"] for repo in config["repos"] for hook in repo["hooks"]}
    assert used and used <= ids
    assert "docs/examples/github-actions-kbgen.yml" in section
