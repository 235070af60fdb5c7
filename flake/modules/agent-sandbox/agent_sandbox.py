"""Tool gate, approval queue and action log of the agent sandbox.

One program, four roles (the first argument):

  tool      `agent-tool`, run by an agent inside its sandbox. Checks a tool call against the
            agent's allow-list (/etc/agent-sandbox/<agent>/policy.json), logs it, runs `read`
            tools in place and queues `effect` tools for a human decision.
  intake    `agent-approval-intake`, a root service started by a path unit when an agent's
            outbox is not empty. Validates requests and moves them into the root-owned queue,
            where the agent can no longer change them.
  approve   `agent-approve`, the operator CLI: list, show, approve, deny, expire.
            Approving starts the tool as the agent's user in a transient systemd unit with the
            agent's sandbox plus the tool's declared extra paths and addresses.
  exec      `agent-action-exec`, runs inside that transient unit: executes the approved tool
            and writes the result into the agent's state directory.

Every step is written to the journal with SYSLOG_IDENTIFIER=agent-action and structured
fields (AGENT_NAME, AGENT_ACTION, AGENT_TOOL, AGENT_REQUEST_ID, AGENT_APPROVER); journald adds
the trusted _UID, _SYSTEMD_UNIT and _PID fields, so an agent cannot pass itself off as root.

Only the Python standard library is used.
"""

from __future__ import annotations

import grp
import hashlib
import json
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
import uuid

CONFIG_PATH = os.environ.get("AGENT_SANDBOX_CONFIG", "/etc/agent-sandbox/config.json")
JOURNAL_SOCKET = "/run/systemd/journal/socket"
ID_RE = re.compile(r"^[0-9a-f]{32}$")
APPROVAL_ID_RE = re.compile(r"^([a-z0-9][a-z0-9_-]*)-([0-9a-f]{32})$")
MAX_REQUEST_BYTES = 64 * 1024
MAX_ARGS = 64
MAX_OUTPUT = 64 * 1024

EXIT_NOT_ALLOWED = 126
EXIT_DENIED = 77
EXIT_TIMEOUT = 78
EXIT_USAGE = 64


# ---- logging -------------------------------------------------------------------------------

def journal(priority: int, message: str, **fields: object) -> None:
    """Send one entry to journald (native protocol); fall back to stderr."""
    lines = [f"MESSAGE={message}", "SYSLOG_IDENTIFIER=agent-action", f"PRIORITY={priority}"]
    for key, value in fields.items():
        if value is None:
            continue
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        text = text.replace("\n", "\\n")
        lines.append(f"{key.upper()}={text}")
    payload = ("\n".join(lines) + "\n").encode()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.sendto(payload, JOURNAL_SOCKET)
    except OSError:
        print(f"agent-action: {message} {json.dumps(fields, sort_keys=True, default=str)}",
              file=sys.stderr)


def log_action(priority: int, action: str, agent: str, **fields: object) -> None:
    summary = {k: v for k, v in fields.items() if v is not None}
    journal(priority, f"{action} agent={agent} {json.dumps(summary, sort_keys=True)}",
            agent_name=agent, agent_action=action, **fields)


INFO, NOTICE, WARNING = 6, 5, 4


# ---- shared helpers --------------------------------------------------------------------------

def load_config() -> dict:
    with open(CONFIG_PATH, encoding="utf-8") as f:
        return json.load(f)


def load_policy(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def now() -> float:
    return time.time()


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def write_json_atomic(path: str, data: dict, mode: int = 0o600, group: int | None = None,
                      tmp_dir: str | None = None) -> None:
    """Write JSON to a temporary file (in tmp_dir, default the target directory) and rename it
    into place, so readers never see a partial file."""
    fd, tmp = tempfile.mkstemp(dir=tmp_dir or os.path.dirname(path), prefix=".tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, sort_keys=True, indent=1)
            f.write("\n")
        os.chmod(tmp, mode)
        if group is not None:
            os.chown(tmp, 0, group)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def request_digest(request: dict) -> str:
    core = {k: request[k] for k in ("agent", "id", "tool", "args")}
    return hashlib.sha256(json.dumps(core, sort_keys=True).encode()).hexdigest()


def truncate(data: bytes) -> str:
    text = data[:MAX_OUTPUT].decode("utf-8", errors="replace")
    return text + ("\n[truncated]" if len(data) > MAX_OUTPUT else "")


# ---- role: tool (inside the agent sandbox) ---------------------------------------------------

def cmd_tool(argv: list[str]) -> int:
    policy_path = os.environ.get("AGENT_POLICY")
    if not policy_path:
        print("agent-tool: AGENT_POLICY is not set (run inside an agent unit)", file=sys.stderr)
        return EXIT_USAGE
    policy = load_policy(policy_path)
    agent = policy["agent"]
    tools = policy["tools"]

    if not argv or argv[0] in ("-h", "--help"):
        print("usage: agent-tool list | agent-tool run <tool> [args...]")
        return 0 if argv else EXIT_USAGE
    if argv[0] == "list":
        for name, tool in sorted(tools.items()):
            print(f"{name}\t{tool['risk']}\t{tool['description']}")
        return 0
    if argv[0] != "run" or len(argv) < 2:
        print("usage: agent-tool run <tool> [args...]", file=sys.stderr)
        return EXIT_USAGE

    name, args = argv[1], argv[2:]
    request_id = uuid.uuid4().hex
    if name not in tools:
        log_action(WARNING, "DENY_NOT_ALLOWLISTED", agent, agent_tool=name,
                   agent_request_id=request_id, agent_args=args)
        print(f"agent-tool: tool '{name}' is not on the allow-list of agent {agent}",
              file=sys.stderr)
        return EXIT_NOT_ALLOWED
    if len(args) > MAX_ARGS:
        log_action(WARNING, "DENY_TOO_MANY_ARGS", agent, agent_tool=name,
                   agent_request_id=request_id)
        return EXIT_NOT_ALLOWED

    tool = tools[name]
    log_action(INFO, "REQUEST", agent, agent_tool=name, agent_risk=tool["risk"],
               agent_request_id=request_id, agent_args=args)

    if tool["risk"] == "read":
        try:
            proc = subprocess.run([tool["command"], *args], capture_output=True,
                                  timeout=tool["timeoutSec"], check=False)
        except subprocess.TimeoutExpired:
            log_action(WARNING, "RESULT_TIMEOUT", agent, agent_tool=name,
                       agent_request_id=request_id)
            return EXIT_TIMEOUT
        sys.stdout.buffer.write(proc.stdout[:MAX_OUTPUT])
        sys.stderr.buffer.write(proc.stderr[:MAX_OUTPUT])
        log_action(INFO, "RESULT", agent, agent_tool=name, agent_request_id=request_id,
                   agent_exit_code=proc.returncode,
                   agent_stdout_sha256=hashlib.sha256(proc.stdout).hexdigest())
        return proc.returncode

    # effect: queue for a human decision and wait.
    state = policy["stateDir"]
    outbox = os.path.join(state, "approvals", "outbox")
    results = os.path.join(state, "approvals", "results")
    request = {"id": request_id, "agent": agent, "tool": name, "args": args,
               "createdAt": iso(now())}
    # The temporary file is written next to the outbox, not in it: the intake path unit fires
    # as soon as the outbox is not empty.
    write_json_atomic(os.path.join(outbox, f"{request_id}.json"), request,
                      tmp_dir=os.path.join(state, "approvals"))
    approval_id = f"{agent}-{request_id}"
    log_action(NOTICE, "QUEUED", agent, agent_tool=name, agent_request_id=request_id,
               agent_approval_id=approval_id)
    print(f"agent-tool: '{name}' needs a human approval; request {approval_id} queued",
          file=sys.stderr)

    deadline = now() + policy["approvalTimeoutSec"]
    decided = os.path.join(policy["queueDir"], "decided", f"{approval_id}.json")
    result_path = os.path.join(results, f"{request_id}.json")
    while now() < deadline:
        if os.path.exists(result_path):
            with open(result_path, encoding="utf-8") as f:
                result = json.load(f)
            sys.stdout.write(result.get("stdout", ""))
            sys.stderr.write(result.get("stderr", ""))
            return int(result.get("exitCode", 1))
        if os.path.exists(decided):
            try:
                with open(decided, encoding="utf-8") as f:
                    decision = json.load(f)
            except (OSError, ValueError):
                decision = {}
            if decision.get("decision") in ("denied", "rejected", "expired"):
                print(f"agent-tool: request {approval_id} {decision['decision']}: "
                      f"{decision.get('reason', '')}", file=sys.stderr)
                return EXIT_DENIED
        time.sleep(1)
    log_action(WARNING, "TIMEOUT_DENY", agent, agent_tool=name, agent_request_id=request_id,
               agent_approval_id=approval_id)
    print(f"agent-tool: no decision on {approval_id} in time; treated as denied",
          file=sys.stderr)
    return EXIT_TIMEOUT


# ---- role: intake (root, triggered by the outbox path unit) --------------------------------

def remove_entry(path: str) -> None:
    st = os.lstat(path)
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path)  # does not follow symlinks
    else:
        os.unlink(path)


def cmd_intake(argv: list[str]) -> int:
    """Move the requests of one agent (argv[0]) from its outbox into the root-owned queue.
    One instance per agent, so a misbehaving agent can only stall its own intake."""
    if len(argv) != 1:
        print("usage: agent-approval-intake <agent>", file=sys.stderr)
        return EXIT_USAGE
    config = load_config()
    agent = argv[0]
    a = config["agents"][agent]
    queue = config["queueDir"]
    approvers_gid = grp.getgrnam(config["approverGroup"]).gr_gid
    pending_dir = os.path.join(queue, "pending")
    decided_dir = os.path.join(queue, "decided")
    outbox = os.path.join(a["stateDir"], "approvals", "outbox")
    status = 0
    try:
        names = sorted(os.listdir(outbox))
    except FileNotFoundError:
        return 0
    for fname in names:
        path = os.path.join(outbox, fname)
        request: object = {}
        try:
            reason = None
            st = os.lstat(path)
            if not stat.S_ISREG(st.st_mode):
                reason = "not a regular file"
            elif st.st_uid != a["uid"]:
                reason = "not owned by the agent"
            elif st.st_size > MAX_REQUEST_BYTES:
                reason = "request too large"
            if reason is None:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
                with os.fdopen(fd, encoding="utf-8") as f:
                    request = json.load(f)
                reason = validate_request(request, agent, a, fname)
            if reason is not None:
                rid = request.get("id") if isinstance(request, dict) else None
                log_action(WARNING, "REJECTED", agent, agent_file=fname, agent_reason=reason)
                if isinstance(rid, str) and ID_RE.match(rid):
                    write_json_atomic(
                        os.path.join(decided_dir, f"{agent}-{rid}.json"),
                        {"approvalId": f"{agent}-{rid}", "decision": "rejected",
                         "reason": reason, "decidedAt": iso(now()), "decidedBy": "intake"},
                        mode=0o640, group=a["gid"])
                remove_entry(path)
                continue
            assert isinstance(request, dict)
            tool = a["tools"][request["tool"]]
            created = now()
            entry = {
                "approvalId": f"{agent}-{request['id']}",
                "agent": agent,
                "id": request["id"],
                "uid": a["uid"],
                "tool": request["tool"],
                "command": tool["command"],
                "args": request["args"],
                "description": tool["description"],
                "requestedAt": iso(created),
                "requestedAtEpoch": created,
                "expiresAtEpoch": created + a["approvalTimeoutSec"],
            }
            entry["sha256"] = request_digest(entry)
            write_json_atomic(os.path.join(pending_dir, f"{entry['approvalId']}.json"),
                              entry, mode=0o640, group=approvers_gid)
            remove_entry(path)
            log_action(NOTICE, "PENDING_APPROVAL", agent, agent_tool=entry["tool"],
                       agent_request_id=entry["id"], agent_approval_id=entry["approvalId"],
                       agent_args=entry["args"], agent_request_sha256=entry["sha256"])
        except (OSError, ValueError, KeyError) as exc:
            status = 1
            log_action(WARNING, "INTAKE_ERROR", agent, agent_file=fname, agent_reason=str(exc))
            try:
                remove_entry(path)
            except OSError:
                pass
    return status


def validate_request(request: object, agent: str, a: dict, fname: str) -> str | None:
    if not isinstance(request, dict):
        return "not a JSON object"
    rid = request.get("id")
    if not isinstance(rid, str) or not ID_RE.match(rid) or fname != f"{rid}.json":
        return "bad request id"
    if request.get("agent") != agent:
        return "agent name mismatch"
    tool = request.get("tool")
    if not isinstance(tool, str) or tool not in a["tools"]:
        return "tool not on the allow-list"
    if a["tools"][tool]["risk"] != "effect":
        return "tool does not need approval"
    args = request.get("args")
    if not isinstance(args, list) or len(args) > MAX_ARGS or \
            not all(isinstance(x, str) and "\0" not in x for x in args):
        return "bad arguments"
    return None


# ---- role: approve (operator CLI) -----------------------------------------------------------

def approver_identity(config: dict) -> str:
    if os.geteuid() != 0:
        raise SystemExit("agent-approve: deciding needs root; run it with sudo")
    user = os.environ.get("SUDO_USER")
    if not user:
        raise SystemExit("agent-approve: run through sudo so that the approver is recorded")
    group = grp.getgrnam(config["approverGroup"])
    try:
        primary = pwd.getpwnam(user).pw_gid
    except KeyError:
        raise SystemExit(f"agent-approve: unknown user {user}") from None
    if user not in group.gr_mem and primary != group.gr_gid:
        raise SystemExit(f"agent-approve: {user} is not in the approver group "
                         f"{config['approverGroup']}")
    return user


def read_pending(config: dict, approval_id: str) -> tuple[str, dict]:
    if not APPROVAL_ID_RE.match(approval_id):
        raise SystemExit(f"agent-approve: malformed request id {approval_id}")
    path = os.path.join(config["queueDir"], "pending", f"{approval_id}.json")
    try:
        with open(path, encoding="utf-8") as f:
            entry = json.load(f)
    except FileNotFoundError:
        raise SystemExit(f"agent-approve: no pending request {approval_id}") from None
    if entry.get("sha256") != request_digest(entry):
        raise SystemExit(f"agent-approve: request {approval_id} was modified in the queue")
    return path, entry


def decide(config: dict, path: str, entry: dict, decision: str, by: str, reason: str) -> dict:
    agent = config["agents"][entry["agent"]]
    record = dict(entry)
    record.update({"decision": decision, "decidedBy": by, "decidedAt": iso(now()),
                   "reason": reason})
    target = os.path.join(config["queueDir"], "decided", f"{entry['approvalId']}.json")
    write_json_atomic(target, record, mode=0o640, group=agent["gid"])
    os.unlink(path)
    priority = NOTICE if decision == "approved" else WARNING
    log_action(priority, decision.upper(), entry["agent"], agent_tool=entry["tool"],
               agent_request_id=entry["id"], agent_approval_id=entry["approvalId"],
               agent_approver=by, agent_reason=reason or None,
               agent_request_sha256=entry["sha256"])
    return record


def run_approved(config: dict, record: dict) -> int:
    agent = config["agents"][record["agent"]]
    tool = agent["tools"][record["tool"]]
    sandbox = agent["sandbox"]
    decided = os.path.join(config["queueDir"], "decided", f"{record['approvalId']}.json")
    props = list(sandbox["properties"])
    rw = [agent["stateDir"], *tool["extraReadWritePaths"]]
    props.append("ReadWritePaths=" + " ".join(rw))
    allow = [*sandbox["ipAddressAllow"], *tool["extraAllowedAddresses"]]
    if allow:
        props.append("IPAddressAllow=" + " ".join(allow))
    props.append(f"RuntimeMaxSec={tool['timeoutSec']}")
    cmd = [config["systemdRun"], "--quiet", "--collect", "--no-block",
           f"--unit=agent-action-{record['agent']}-{record['id'][:12]}",
           f"--uid={agent['user']}", f"--gid={agent['group']}",
           f"--working-directory={agent['stateDir']}",
           f"--setenv=AGENT_SANDBOX_CONFIG={CONFIG_PATH}"]
    for prop in props:
        cmd += ["-p", prop]
    cmd += ["--", config["execProgram"], decided]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        log_action(WARNING, "EXEC_START_FAILED", record["agent"], agent_tool=record["tool"],
                   agent_approval_id=record["approvalId"], agent_reason=proc.stderr.strip())
        print(proc.stderr, file=sys.stderr)
        return 1
    log_action(NOTICE, "EXEC_STARTED", record["agent"], agent_tool=record["tool"],
               agent_approval_id=record["approvalId"],
               agent_unit=f"agent-action-{record['agent']}-{record['id'][:12]}.service")
    return 0


def cmd_approve(argv: list[str]) -> int:
    config = load_config()
    usage = ("usage: agent-approve list | show <id> | approve <id> | deny <id> [reason] | "
             "expire")
    if not argv:
        print(usage, file=sys.stderr)
        return EXIT_USAGE
    verb, rest = argv[0], argv[1:]
    pending_dir = os.path.join(config["queueDir"], "pending")

    if verb == "list":
        for fname in sorted(os.listdir(pending_dir)):
            if not fname.endswith(".json"):
                continue
            with open(os.path.join(pending_dir, fname), encoding="utf-8") as f:
                e = json.load(f)
            left = int(e["expiresAtEpoch"] - now())
            print(f"{e['approvalId']}\t{e['tool']}\t{json.dumps(e['args'])}\t"
                  f"requested {e['requestedAt']}\texpires in {max(left, 0)}s")
        return 0

    if verb == "show" and len(rest) == 1:
        _, entry = read_pending(config, rest[0])
        print(json.dumps(entry, indent=2, sort_keys=True))
        return 0

    if verb == "expire":
        if os.geteuid() != 0:
            raise SystemExit("agent-approve: expire needs root")
        expired = 0
        for fname in sorted(os.listdir(pending_dir)):
            if not fname.endswith(".json"):
                continue
            path = os.path.join(pending_dir, fname)
            with open(path, encoding="utf-8") as f:
                entry = json.load(f)
            if entry["expiresAtEpoch"] < now():
                decide(config, path, entry, "expired", "timeout", "no decision in time")
                expired += 1
        print(f"{expired} request(s) expired")
        return 0

    if verb in ("approve", "deny") and rest:
        by = approver_identity(config)
        path, entry = read_pending(config, rest[0])
        if pwd.getpwnam(by).pw_uid == entry["uid"]:
            raise SystemExit("agent-approve: an agent cannot approve its own request")
        if entry["expiresAtEpoch"] < now():
            decide(config, path, entry, "expired", "timeout", "no decision in time")
            raise SystemExit(f"agent-approve: {entry['approvalId']} expired; the agent was "
                             "told it is denied")
        if verb == "deny":
            decide(config, path, entry, "denied", by, " ".join(rest[1:]))
            print(f"denied {entry['approvalId']}")
            return 0
        record = decide(config, path, entry, "approved", by, "")
        print(f"approved {entry['approvalId']}; running {entry['tool']} as "
              f"{config['agents'][entry['agent']]['user']}")
        return run_approved(config, record)

    print(usage, file=sys.stderr)
    return EXIT_USAGE


# ---- role: exec (inside the transient unit, as the agent's user) --------------------------

def cmd_exec(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: agent-action-exec <decided-request.json>", file=sys.stderr)
        return EXIT_USAGE
    config = load_config()
    with open(argv[0], encoding="utf-8") as f:
        record = json.load(f)
    agent = config["agents"][record["agent"]]
    if record.get("decision") != "approved" or record.get("sha256") != request_digest(record):
        log_action(WARNING, "EXEC_REFUSED", record["agent"], agent_tool=record.get("tool"),
                   agent_approval_id=record.get("approvalId"),
                   agent_reason="not an approved, unmodified request")
        return EXIT_DENIED
    if os.getuid() != agent["uid"]:
        log_action(WARNING, "EXEC_REFUSED", record["agent"], agent_tool=record["tool"],
                   agent_approval_id=record["approvalId"], agent_reason="wrong uid")
        return EXIT_DENIED
    tool = agent["tools"][record["tool"]]
    started = now()
    try:
        proc = subprocess.run([tool["command"], *record["args"]], capture_output=True,
                              timeout=tool["timeoutSec"], cwd=agent["stateDir"], check=False)
        code, out, err = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        code, out, err = EXIT_TIMEOUT, exc.stdout or b"", exc.stderr or b""
    result = {"approvalId": record["approvalId"], "tool": record["tool"], "exitCode": code,
              "stdout": truncate(out), "stderr": truncate(err), "startedAt": iso(started),
              "finishedAt": iso(now()), "approvedBy": record["decidedBy"]}
    results = os.path.join(agent["stateDir"], "approvals", "results")
    write_json_atomic(os.path.join(results, f"{record['id']}.json"), result)
    log_action(NOTICE, "EXEC_RESULT", record["agent"], agent_tool=record["tool"],
               agent_approval_id=record["approvalId"], agent_exit_code=code,
               agent_approver=record["decidedBy"],
               agent_stdout_sha256=hashlib.sha256(out).hexdigest())
    return 0 if code == 0 else 1


ROLES = {"tool": cmd_tool, "intake": cmd_intake, "approve": cmd_approve, "exec": cmd_exec}


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in ROLES:
        print(f"usage: {sys.argv[0]} {{{'|'.join(ROLES)}}} ...", file=sys.stderr)
        return EXIT_USAGE
    return ROLES[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
