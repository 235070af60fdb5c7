"""``kbgen serve``: the site on a local address, built again whenever a source changes.

The loop is kbgen's own, around MkDocs' live-reload server, for three reasons:

* it owns the :class:`~kbgen.build_cache.BuildCache` that makes a rebuild cheap;
* a build that fails (the gate, a broken ``mkdocs.yml``) does not stall the server:
  the last good site stays up, and every page shows the error in a banner until the
  next good build (MkDocs' own loop holds every request until the build succeeds);
* requests are answered only when their ``Host`` header names this machine by
  address or as ``localhost``, so a web page cannot reach the server by re-binding
  a domain name to 127.0.0.1 (DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import shutil
import tempfile
from pathlib import Path

from kbgen.build_cache import BuildCache
from kbgen.config import Config
from kbgen.errors import KbgenError
from kbgen.output import FORMATS, Report
from kbgen.project import source_roots
from kbgen.site import escape
from kbgen.site.build import build, load_mkdocs_config

log = logging.getLogger("mkdocs.plugins.kbgen")

#: The script every served page loads; it shows the last build's error, if any.
STATUS_SCRIPT = "assets/kbgen-serve-status.js"


def allowed_host(header: str, port: int) -> bool:
    """Whether a request's ``Host`` header names this server: an IP address or
    ``localhost``, with the port it listens on."""
    name, _, given_port = header.rpartition(":")
    if not name or given_port != str(port):
        return False
    name = name.removeprefix("[").removesuffix("]")
    if name.casefold() == "localhost":
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def status_script(error: str | None) -> bytes:
    """The status script: nothing when the build is good, else a banner with ``error``
    (set as text, never parsed as HTML)."""
    if error is None:
        return b"/* kbgen serve: the last build succeeded */\n"
    message = json.dumps(error).replace("<", "\\u003c")
    return (
        "(function () {\n"
        f"  var message = {message};\n"
        "  function show() {\n"
        "    var banner = document.createElement('pre');\n"
        "    banner.className = 'kb-serve-error';\n"
        "    banner.setAttribute('role', 'alert');\n"
        "    banner.textContent = 'kbgen: the last build failed; this is the last good "
        "site.\\n\\n' + message;\n"
        "    document.body.insertBefore(banner, document.body.firstChild);\n"
        "  }\n"
        "  if (document.body) { show(); } else "
        "{ document.addEventListener('DOMContentLoaded', show); }\n"
        "})();\n"
    ).encode()


def _error_page(error: str) -> bytes:
    return (
        "<!doctype html><meta charset=utf-8><title>kbgen: build failed</title>"
        f"<h1>The site could not be built</h1><pre>{escape.attribute(error)}</pre>"
        "<p>Fix the sources; the page reloads when a build succeeds.</p>"
    ).encode()


def serve(config: Config, *, dev_addr: str = "127.0.0.1:8000", full: bool = False) -> None:
    """Serve the site until interrupted, rebuilding on every change of the sources."""
    try:
        from mkdocs.commands.build import build as mkdocs_build
        from mkdocs.exceptions import MkDocsException
        from mkdocs.livereload import LiveReloadServer
    except ImportError as exc:  # pragma: no cover - the site extra is not installed
        raise KbgenError("MkDocs is not installed (pip install 'kbgen[site]')") from exc
    host, _, port_text = dev_addr.rpartition(":")
    if not host or not port_text.isdigit():
        raise KbgenError(f"--dev-addr must be HOST:PORT, got {dev_addr!r}")
    host, port = host.removeprefix("[").removesuffix("]"), int(port_text)
    root = config.project_root
    (root / "build").mkdir(exist_ok=True)
    site_dir = Path(tempfile.mkdtemp(prefix="serve-", dir=root / "build"))
    shown_host = f"[{host}]" if ":" in host else host
    serve_url = f"http://{shown_host}:{port}/"
    memo = BuildCache()

    def write_status(error: str | None) -> None:
        target = site_dir / STATUS_SCRIPT
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(status_script(error))
        if error is not None and not (site_dir / "index.html").exists():
            (site_dir / "index.html").write_bytes(_error_page(error))

    def rebuild() -> None:
        try:
            site = build(config, memo=memo)
            if site.tree is None:
                report = Report("check", tuple(site.blocking), tuple(site.checked.rules))
                raise KbgenError("kbgen check failed:\n" + FORMATS["concise"](report))
            mkdocs_config = load_mkdocs_config(root, site, site_dir=str(site_dir))
            mkdocs_config.plugins["kbgen"].serving = True
            mkdocs_config.site_url = serve_url
            mkdocs_build(mkdocs_config, serve_url=serve_url, dirty=not full)
        except (KbgenError, MkDocsException) as exc:
            log.error("%s", exc)
            write_status(str(exc))
            return
        write_status(None)

    class GuardedServer(LiveReloadServer):
        def serve_request(self, environ, start_response):
            if not allowed_host(environ.get("HTTP_HOST", ""), port):
                start_response("403 Forbidden", [("Content-Type", "text/plain")])
                return [b"kbgen serve answers requests addressed to this machine only\n"]
            return super().serve_request(environ, start_response)

    server = GuardedServer(builder=rebuild, host=host, port=port, root=str(site_dir))
    try:
        rebuild()
        for path in (
            *source_roots(config),
            root / "site-overrides",
            root / "mkdocs.yml",
            root / "pyproject.toml",
        ):
            if path.exists():
                server.watch(str(path))
        try:
            server.serve()
        except KeyboardInterrupt:
            log.info("Shutting down...")
        finally:
            server.shutdown()
    finally:
        shutil.rmtree(site_dir, ignore_errors=True)
