"""``kbgen serve``: the Host check against DNS rebinding, the build-status script that
must never become markup, and the last good site staying up while a build fails."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kbgen.site.serve import _error_page, allowed_host, status_script
from tests.security.site_html import env
from tests.site_project import make_site_project

# -- allowed_host ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "header", ["127.0.0.1:8000", "localhost:8000", "[::1]:8000", "LocalHost:8000", "10.1.2.3:8000"]
)
def test_host_naming_this_machine_by_address_is_accepted(header):
    # Guards against the check refusing the addresses a browser uses for the server
    # (an IP literal cannot be re-bound by DNS).
    assert allowed_host(header, 8000)


@pytest.mark.parametrize(
    "header",
    [
        "evil.example:8000",  # DNS rebinding: a domain that now resolves to 127.0.0.1
        "127.0.0.1:9999",  # another port
        "",  # no Host header
        "127.0.0.1",  # no port
        "localhost",
        "localhost.evil.example:8000",
        "127.0.0.1.nip.io:8000",
        "[evil.example]:8000",
        "evil.example:8000:8000",
        "localhost:08000",
        "localhost:8000 ",
    ],
)
def test_host_naming_anything_else_is_rejected(header):
    # Guards against a page on another origin reaching the server through a name that
    # resolves to 127.0.0.1 (DNS rebinding), or through a header that only looks local.
    assert not allowed_host(header, 8000)


# -- status_script --------------------------------------------------------------------

HOSTILE_ERROR = (
    "vault/a.md:1:1: KB101 broken link [[x</script><script>alert(1)</script>]]"
    " <!-- \u2028 \u2029 ' \" \\ ${x} `"
)


def _message(script: str) -> str:
    match = re.search(r"var message = (.*);\n", script)
    assert match, script
    return json.loads(match.group(1))


def test_status_script_of_a_good_build_shows_nothing():
    # Guards against a banner (or any code) on a site whose last build succeeded.
    script = status_script(None).decode()
    assert script.strip().startswith("/*") and script.strip().endswith("*/")
    assert "message" not in script and "createElement" not in script


def test_status_script_holds_the_error_as_a_json_string():
    # Guards against the error being spliced into the script as code: it is one JSON
    # string literal, which decodes to exactly the error.
    script = status_script(HOSTILE_ERROR).decode()
    assert _message(script) == HOSTILE_ERROR


def test_status_script_cannot_close_or_comment_out_a_script_element():
    # Guards against "</script>" (or "<!--") in the error ending the script element of a
    # page that inlines it, and against raw U+2028/U+2029 (line terminators in older JS).
    script = status_script(HOSTILE_ERROR).decode()
    assert "</script" not in script.casefold() and "<!--" not in script
    assert "<" not in script.split("var message = ", 1)[1].split(";\n", 1)[0]
    assert "\u2028" not in script and "\u2029" not in script


def test_status_script_sets_the_banner_as_text():
    # Guards against the banner being parsed as HTML (innerHTML, insertAdjacentHTML,
    # document.write): the message is only ever assigned to textContent.
    script = status_script(HOSTILE_ERROR).decode()
    assert "textContent" in script
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script


def test_error_page_escapes_the_error():
    # Guards the page served when the very first build fails: the error is text.
    page = _error_page("<script>alert(1)</script>").decode()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# -- end to end -----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``kbgen serve`` in a subprocess of its own process group."""

    def __init__(self, root: Path, port: int, log: Path) -> None:
        self.port = port
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "kbgen", "serve", "--dev-addr", f"127.0.0.1:{port}"],
                cwd=root,
                env=env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def get(self, path: str, host: str | None = None) -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            connection.request(
                "GET", "/" + path, headers={"Host": host or f"127.0.0.1:{self.port}"}
            )
            response = connection.getresponse()
            return response.status, response.read().decode("utf-8", "replace")
        except OSError:
            return 0, ""
        finally:
            connection.close()

    def wait_for(self, condition, what: str, deadline: float = 60) -> None:
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if self.process.poll() is not None:
                pytest.fail(
                    f"kbgen serve exited ({self.process.returncode}) while waiting "
                    f"for {what}:\n{self.log.read_text(errors='replace')[-3000:]}"
                )
            if condition():
                return
            time.sleep(0.25)
        pytest.fail(
            f"timed out waiting for {what}:\n{self.log.read_text(errors='replace')[-3000:]}"
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=20)


@pytest.mark.slow
def test_serve_rejects_rebound_hosts_and_keeps_the_last_good_site(tmp_path):
    root = make_site_project(tmp_path / "project")
    server = Server(root, _free_port(), tmp_path / "serve.log")
    status = "assets/kbgen-serve-status.js"
    page = "wiki/ops/hardening.html"
    try:
        server.wait_for(lambda: server.get(page)[0] == 200, "the first build")
        code, text = server.get(page)
        assert "AES-CTR" in text
        # Every served page loads the status script, and it reports a good build.
        assert status in text
        assert "succeeded" in server.get(status)[1]

        # DNS rebinding: the same socket, another name. Guards the Host check in serve().
        assert server.get(page, host=f"evil.example:{server.port}")[0] == 403
        assert server.get(page, host="127.0.0.1:1")[0] == 403
        assert server.get(page, host=f"localhost:{server.port}")[0] == 200

        # A broken link is an error: the gate stops the rebuild. The server keeps
        # answering with the last good page, and the status script carries the error.
        note = root / "vault/wiki/ops/hardening.md"
        good = note.read_text()
        note.write_text(good.replace("AES-CTR.", "AES-CTR, see [[nowhere</script>]]."))
        server.wait_for(lambda: "KB101" in server.get(status)[1], "the failed build's status")
        script = server.get(status)[1]
        error = _message(script)
        assert "nowhere</script>" in error and "hardening.md" in error
        assert "</script" not in script.casefold()
        code, text = server.get(page)
        assert code == 200 and "AES-CTR" in text and "nowhere" not in text

        # Fixed: the next build succeeds, the page changes and the banner goes away.
        note.write_text(good.replace("AES-CTR.", "AES-CTR and AES-GCM."))
        server.wait_for(lambda: "succeeded" in server.get(status)[1], "a good build again")
        server.wait_for(lambda: "AES-GCM" in server.get(page)[1], "the rebuilt page")
        assert server.get(page, host=f"evil.example:{server.port}")[0] == 403
    finally:
        server.stop()
    assert server.process.returncode is not None
