"""Inference gateway helpers: prompt/completion audit proxy, model digest verification and
audit-log retention. Standard library only. First argument selects the role:

  proxy      HTTP proxy between Nginx and Ollama. Listens on a Unix socket handed over by
             systemd (socket activation; only the nginx group may connect), forwards allowed
             requests to Ollama on loopback, streams the answer back, and writes two logs:
             metadata (time, identity, endpoint, model and its pinned digest, token counts,
             status, SHA-256 of prompt and completion) and content (the prompt and the
             completion text). Refuses endpoints outside the allow-list and models that are
             not declared with a pinned digest.
  verify     Checks the model store against the declared digests: the sha256 of every
             declared manifest, of every blob it references and of the weights layer; fails
             on any mismatch, missing file, undeclared manifest or writable file.
  retention  Deletes daily audit files older than the content / metadata retention.

Configuration: a JSON file (argument --config, written by the NixOS module).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import http.client
import http.server
import json
import os
import re
import socket
import socketserver
import stat
import sys
import threading
import time
import uuid

JOURNAL_SOCKET = "/run/systemd/journal/socket"
MODEL_MEDIA_TYPE = "application/vnd.ollama.image.model"
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
              "trailers", "transfer-encoding", "upgrade", "content-length", "host"}
DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")


def journal(priority: int, message: str, ident: str, **fields: object) -> None:
    lines = [f"MESSAGE={message}", f"SYSLOG_IDENTIFIER={ident}", f"PRIORITY={priority}"]
    for key, value in fields.items():
        if value is None:
            continue
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        lines.append(f"{key.upper()}={text.replace(chr(10), ' ')}")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.sendto(("\n".join(lines) + "\n").encode(), JOURNAL_SOCKET)
    except OSError:
        print(f"{ident}: {message}", file=sys.stderr, flush=True)


def load_config(argv: list[str]) -> tuple[dict, list[str]]:
    if len(argv) >= 2 and argv[0] == "--config":
        with open(argv[1], encoding="utf-8") as f:
            return json.load(f), argv[2:]
    raise SystemExit("usage: ai-gateway <role> --config <file> [args]")


# ---- model names ---------------------------------------------------------------------------

def split_model(name: str, default_registry: str = "registry.ollama.ai",
                default_namespace: str = "library") -> tuple[str, str, str, str]:
    """Ollama model reference -> (registry, namespace, model, tag)."""
    name = name.strip()
    tag = "latest"
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = name.rsplit(":", 1)
    parts = name.split("/")
    if len(parts) == 1:
        return default_registry, default_namespace, parts[0], tag
    if len(parts) == 2:
        return default_registry, parts[0], parts[1], tag
    return parts[0], "/".join(parts[1:-1]), parts[-1], tag


def model_key(registry: str, namespace: str, model: str, tag: str) -> str:
    return f"{registry}/{namespace}/{model}:{tag}"


# ---- role: verify --------------------------------------------------------------------------

def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def blob_path(store: str, digest: str) -> str:
    return os.path.join(store, "blobs", digest.replace(":", "-"))


def verify_store(config: dict) -> list[str]:
    """Return a list of problems (empty: the store matches the declaration)."""
    store = config["modelsDir"]
    problems: list[str] = []
    declared = {}
    for m in config["models"]:
        key = model_key(m["registry"], m["namespace"], m["name"], m["tag"])
        declared[key] = m

    manifests_root = os.path.join(store, "manifests")
    found = set()
    if os.path.isdir(manifests_root):
        for dirpath, _dirs, files in os.walk(manifests_root):
            for fname in files:
                rel = os.path.relpath(os.path.join(dirpath, fname), manifests_root).split(os.sep)
                if len(rel) < 4:
                    problems.append(f"unexpected file in manifests: {'/'.join(rel)}")
                    continue
                found.add(model_key(rel[0], "/".join(rel[1:-2]), rel[-2], rel[-1]))

    if config.get("refuseUndeclared", True):
        for key in sorted(found - set(declared)):
            problems.append(f"undeclared model in the store: {key}")

    for key, m in sorted(declared.items()):
        path = os.path.join(manifests_root, m["registry"], m["namespace"], m["name"], m["tag"])
        if not os.path.isfile(path):
            problems.append(f"{key}: manifest missing ({path})")
            continue
        actual = sha256_file(path)
        if actual != m["manifestDigest"]:
            problems.append(f"{key}: manifest digest mismatch: expected {m['manifestDigest']}, "
                            f"found {actual}")
            continue
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
        layers = list(manifest.get("layers", []))
        if "config" in manifest:
            layers.append(manifest["config"])
        weights = [layer for layer in layers if layer.get("mediaType") == MODEL_MEDIA_TYPE]
        if m.get("modelDigest") and [w.get("digest") for w in weights] != [m["modelDigest"]]:
            problems.append(f"{key}: weights layer is not the pinned {m['modelDigest']}")
        for layer in layers:
            digest = layer.get("digest", "")
            if not DIGEST_RE.match(digest):
                problems.append(f"{key}: malformed layer digest {digest!r}")
                continue
            bpath = blob_path(store, digest)
            if not os.path.isfile(bpath):
                problems.append(f"{key}: blob {digest} missing")
                continue
            actual = sha256_file(bpath)
            if actual != digest:
                problems.append(f"{key}: blob digest mismatch: expected {digest}, found {actual}")
            elif "size" in layer and os.path.getsize(bpath) != layer["size"]:
                problems.append(f"{key}: blob {digest} has the wrong size")

    # The store must not be writable by anyone but root: Ollama and every other account only
    # read it, so a compromised service cannot swap weights.
    if os.path.isdir(store):
        for dirpath, dirs, files in os.walk(store):
            for entry in [dirpath] + [os.path.join(dirpath, n) for n in files]:
                st = os.lstat(entry)
                if stat.S_ISLNK(st.st_mode):
                    problems.append(f"symbolic link in the model store: {entry}")
                elif st.st_uid != 0 or st.st_mode & 0o022:
                    problems.append(f"writable by a non-root account: {entry}")
            dirs.sort()
    else:
        problems.append(f"model store {store} does not exist")
    return problems


def cmd_verify(argv: list[str]) -> int:
    config, _ = load_config(argv)
    problems = verify_store(config)
    if problems:
        for p in problems:
            journal(2, f"model verification failed: {p}", "ai-model-verify", ai_model_problem=p)
            print(f"FAIL {p}", file=sys.stderr)
        print(f"{len(problems)} problem(s); Ollama must not serve this store", file=sys.stderr)
        return 1
    for m in config["models"]:
        key = model_key(m["registry"], m["namespace"], m["name"], m["tag"])
        print(f"OK   {key} manifest {m['manifestDigest']}")
    journal(6, f"model store verified: {len(config['models'])} declared model(s)",
            "ai-model-verify")
    return 0


# ---- role: retention -----------------------------------------------------------------------

FILE_RE = re.compile(r"^(content|metadata)-(\d{4}-\d{2}-\d{2})\.jsonl$")


def cmd_retention(argv: list[str]) -> int:
    config, _ = load_config(argv)
    audit = config["audit"]
    today = dt.datetime.now(dt.timezone.utc).date()
    keep = {"content": audit["contentRetentionDays"], "metadata": audit["metadataRetentionDays"]}
    removed = 0
    for fname in sorted(os.listdir(audit["dir"])):
        m = FILE_RE.match(fname)
        if not m:
            continue
        day = dt.date.fromisoformat(m.group(2))
        if (today - day).days > keep[m.group(1)]:
            os.unlink(os.path.join(audit["dir"], fname))
            removed += 1
            journal(5, f"audit retention removed {fname}", "ai-audit-retention",
                    ai_audit_file=fname)
    print(f"removed {removed} file(s)")
    return 0


# ---- role: proxy ---------------------------------------------------------------------------

class AuditLog:
    """Daily JSON-lines files, one for metadata and one for content."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.lock = threading.Lock()

    def write(self, kind: str, record: dict) -> None:
        day = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")
        path = os.path.join(self.directory, f"{kind}-{day}.jsonl")
        line = json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n"
        with self.lock:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o640)
            try:
                os.write(fd, line.encode("utf-8"))
            finally:
                os.close(fd)


def extract_completion(path: str, body: bytes) -> tuple[str, dict]:
    """Completion text and token counts from an Ollama or OpenAI-style answer (streamed or
    not)."""
    text: list[str] = []
    usage: dict = {}
    raw = body.decode("utf-8", errors="replace")
    lines = raw.splitlines() or [raw]
    objects = []
    for line in lines:
        line = line.strip()
        if line.startswith("data:"):
            line = line[5:].strip()
        if not line or line == "[DONE]":
            continue
        try:
            objects.append(json.loads(line))
        except ValueError:
            continue
    if not objects:
        try:
            objects = [json.loads(raw)]
        except ValueError:
            return raw, usage
    for obj in objects:
        if not isinstance(obj, dict):
            continue
        if isinstance(obj.get("response"), str):
            text.append(obj["response"])
        msg = obj.get("message")
        if isinstance(msg, dict) and isinstance(msg.get("content"), str):
            text.append(msg["content"])
        for choice in obj.get("choices", []) or []:
            if not isinstance(choice, dict):
                continue
            for part in (choice.get("delta"), choice.get("message")):
                if isinstance(part, dict) and isinstance(part.get("content"), str):
                    text.append(part["content"])
            if isinstance(choice.get("text"), str):
                text.append(choice["text"])
        for k in ("prompt_eval_count", "eval_count"):
            if isinstance(obj.get(k), int):
                usage[k] = obj[k]
        if isinstance(obj.get("usage"), dict):
            for k in ("prompt_tokens", "completion_tokens", "total_tokens"):
                if isinstance(obj["usage"].get(k), int):
                    usage[k] = obj["usage"][k]
        if isinstance(obj.get("error"), str):
            usage["error"] = obj["error"]
    return "".join(text), usage


def make_handler(config: dict, log: AuditLog):
    upstream_host = config["ollama"]["host"]
    upstream_port = config["ollama"]["port"]
    allowed = [re.compile(p) for p in config["proxy"]["allowedPaths"]]
    model_paths = [re.compile(p) for p in config["proxy"]["modelPaths"]]
    max_log = config["audit"]["maxContentBytes"]
    declared = {}
    for m in config["models"]:
        declared[model_key(m["registry"], m["namespace"], m["name"], m["tag"])] = m

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "ai-audit-proxy"
        sys_version = ""

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # the audit records below replace the access log

        def _send_plain(self, code: int, message: str) -> None:
            body = json.dumps({"error": message}).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _handle(self) -> None:
            started = time.monotonic()
            request_id = self.headers.get("X-Request-Id") or uuid.uuid4().hex
            identity = self.headers.get("X-Client-Identity", "")
            client = self.headers.get("X-Real-IP", "")
            path = self.path.split("?", 1)[0]
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            meta = {
                "ts": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"),
                "request_id": request_id, "identity": identity, "client": client,
                "method": self.command, "path": path, "bytes_in": len(body),
                "prompt_sha256": hashlib.sha256(body).hexdigest(),
            }
            model_name = None
            if body:
                try:
                    payload = json.loads(body)
                    if isinstance(payload, dict) and isinstance(payload.get("model"), str):
                        model_name = payload["model"]
                except ValueError:
                    pass
            refusal = None
            if not any(p.fullmatch(path) for p in allowed):
                refusal = (403, "endpoint not allowed")
            elif any(p.fullmatch(path) for p in model_paths):
                if model_name is None:
                    refusal = (400, "request names no model")
                else:
                    key = model_key(*split_model(model_name))
                    if key not in declared:
                        refusal = (403, f"model {model_name} is not declared with a pinned digest")
                    else:
                        meta["model_digest"] = declared[key]["manifestDigest"]
            meta["model"] = model_name
            if refusal:
                self._send_plain(*refusal)
                meta.update(status=refusal[0], refused=refusal[1],
                            duration_ms=int((time.monotonic() - started) * 1000))
                log.write("metadata", meta)
                journal(4, f"refused {path}: {refusal[1]}", "ai-audit-proxy", **{
                    "ai_request_id": request_id, "ai_identity": identity})
                if body:
                    log.write("content", {"ts": meta["ts"], "request_id": request_id,
                                          "identity": identity, "model": model_name,
                                          "prompt": body[:max_log].decode("utf-8", "replace"),
                                          "completion": None})
                return

            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP
                       and not k.lower().startswith("x-client-")}
            if body or self.command in ("POST", "PUT"):
                headers["Content-Length"] = str(len(body))
            captured = bytearray()
            status = 502
            try:
                conn = http.client.HTTPConnection(upstream_host, upstream_port, timeout=3600)
                conn.request(self.command, self.path, body=body or None, headers=headers)
                resp = conn.getresponse()
                status = resp.status
                self.send_response(resp.status, resp.reason)
                for k, v in resp.getheaders():
                    if k.lower() not in HOP_BY_HOP:
                        self.send_header(k, v)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                while True:
                    chunk = resp.read1(65536)
                    if not chunk:
                        break
                    if len(captured) < max_log:
                        captured.extend(chunk[: max_log - len(captured)])
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
                conn.close()
            except (OSError, http.client.HTTPException) as exc:
                if status == 502:
                    try:
                        self._send_plain(502, "inference backend unavailable")
                    except OSError:
                        pass
                meta["upstream_error"] = str(exc)
            completion, usage = extract_completion(path, bytes(captured))
            meta.update(status=status, bytes_out=len(captured),
                        completion_sha256=hashlib.sha256(completion.encode()).hexdigest(),
                        duration_ms=int((time.monotonic() - started) * 1000), **usage)
            log.write("metadata", meta)
            print(json.dumps({k: meta[k] for k in ("request_id", "identity", "path", "model",
                                                   "status", "duration_ms") if k in meta}),
                  flush=True)
            if body or completion:
                log.write("content", {"ts": meta["ts"], "request_id": request_id,
                                      "identity": identity, "model": model_name,
                                      "prompt": body[:max_log].decode("utf-8", "replace"),
                                      "completion": completion})

        do_GET = _handle
        do_POST = _handle

    return Handler


class UnixHTTPServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    address_family = socket.AF_UNIX

    def server_bind(self) -> None:
        self.server_name = "localhost"
        self.server_port = 0

    def get_request(self):  # type: ignore[override]
        conn, _ = self.socket.accept()
        return conn, ("unix", 0)


def listening_socket(fallback_path: str | None) -> socket.socket:
    if os.environ.get("LISTEN_PID") == str(os.getpid()) and \
            int(os.environ.get("LISTEN_FDS", "0")) >= 1:
        return socket.socket(fileno=3)
    if not fallback_path:
        raise SystemExit("ai-audit-proxy: no socket from systemd and no --listen path")
    if os.path.exists(fallback_path):
        os.unlink(fallback_path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(fallback_path)
    s.listen(64)
    return s


def cmd_proxy(argv: list[str]) -> int:
    config, rest = load_config(argv)
    fallback = rest[1] if len(rest) == 2 and rest[0] == "--listen" else None
    os.umask(0o027)
    log = AuditLog(config["audit"]["dir"])
    server = UnixHTTPServer("unused", make_handler(config, log), bind_and_activate=False)
    server.socket = listening_socket(fallback)
    journal(6, "audit proxy ready", "ai-audit-proxy")
    server.serve_forever()
    return 0


ROLES = {"proxy": cmd_proxy, "verify": cmd_verify, "retention": cmd_retention}


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in ROLES:
        print(f"usage: {sys.argv[0]} {{{'|'.join(ROLES)}}} --config <file>", file=sys.stderr)
        return 64
    return ROLES[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
