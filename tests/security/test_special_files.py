"""Vault entries that are not regular files (dangling symlinks, FIFOs, sockets) are
reported and never opened: ``check`` and ``build`` neither hang nor crash on them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.site_project import make_site_project

REPO = Path(__file__).parent.parent.parent


def kbgen_process(cwd: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """kbgen in a child process: a read that blocks fails the test instead of hanging it."""
    env = {**os.environ, "KBGEN_NO_CACHE": "1", "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "kbgen", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def findings(out: str) -> list[str]:
    """Findings, without TR211's info that the project gives no NixOS options.json."""
    return [
        line
        for line in out.splitlines()
        if (": KB" in line or ": TR" in line) and ": TR211 " not in line
    ]


@pytest.fixture
def project(tmp_path):
    return make_site_project(tmp_path / "project")


def test_dangling_attachment_symlink_is_a_finding_not_a_build_crash(project, tmp_path):
    (project / "vault/attachments/gone.png").symlink_to(project / "vault/attachments/nowhere")
    check = kbgen_process(project, "check", "--fail-on", "error")
    assert findings(check.stdout) == [
        "vault/attachments/gone.png:1:1: KB001 cannot read: No such file or directory"
    ]
    assert check.returncode == 1
    build = kbgen_process(project, "build", "--site-dir", str(tmp_path / "site"))
    assert build.returncode == 1, build.stderr
    assert "internal error" not in build.stderr and "KB001" in build.stdout


def test_looping_symlink_is_a_finding(project):
    (project / "vault/loop.md").symlink_to("loop.md")
    check = kbgen_process(project, "audit", "--select", "KB0")
    assert check.returncode == 1 and "internal error" not in check.stderr
    assert findings(check.stdout)[0].startswith("vault/loop.md:1:1: KB00")


@pytest.mark.parametrize(
    "name", ["pipe.md", "attachments/pipe.png", "registers/resolved-settings.yaml"]
)
def test_fifo_in_the_vault_hangs_nothing(project, tmp_path, name):
    fifo = project / "vault" / name
    fifo.unlink(missing_ok=True)
    os.mkfifo(fifo)
    check = kbgen_process(project, "check", "--fail-on", "error", timeout=30)
    assert f"vault/{name}:1:1: KB001 not a regular file (a FIFO); not read" in findings(
        check.stdout
    )
    assert check.returncode == 1 and "internal error" not in check.stderr
    build = kbgen_process(project, "build", "--site-dir", str(tmp_path / "site"), timeout=30)
    assert build.returncode == 1 and "internal error" not in build.stderr


def test_socket_in_the_vault_is_reported(project):
    path = project / "vault" / "s.md"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
        check = kbgen_process(project, "audit", "--select", "KB001", timeout=30)
    finally:
        server.close()
    assert findings(check.stdout) == [
        "vault/s.md:1:1: KB001 not a regular file (a socket); not read"
    ]


def test_symlink_to_a_fifo_inside_the_vault_is_not_opened(project):
    os.mkfifo(project / "vault" / "real-pipe")
    (project / "vault" / "linked.md").symlink_to("real-pipe")
    check = kbgen_process(project, "audit", "--select", "KB001", timeout=30)
    assert findings(check.stdout) == [
        "vault/linked.md:1:1: KB001 not a regular file (a FIFO); not read",
        "vault/real-pipe:1:1: KB001 not a regular file (a FIFO); not read",
    ]


def test_note_swapped_for_a_fifo_after_listing_is_not_read(tmp_path):
    from kbgen.vault.files import read_note

    fifo = tmp_path / "late.md"
    os.mkfifo(fifo)
    result: list = []
    reader = threading.Thread(target=lambda: result.append(read_note(tmp_path, "late.md")))
    reader.start()
    reader.join(timeout=10)
    blocked = reader.is_alive()
    if blocked:  # release the reader so that the test run goes on
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        reader.join()
    assert not blocked, "read_note blocked on a FIFO"
    ((data, problem),) = result
    assert data is None and problem is not None
    assert problem.message == "not a regular file; not read"
