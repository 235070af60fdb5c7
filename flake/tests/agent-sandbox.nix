# Agent sandbox: an agent runs as its own UID in a hardened unit; the "model-written" code it
# executes cannot write outside its state directory, cannot read another agent's state,
# cannot reach addresses outside its allow-list (a LAN peer, Ollama's loopback port), has no
# capabilities, cannot map writable+executable memory and is held to its task quota; tools
# off the allow-list are refused; an `effect` tool waits for a named human approver, runs
# only after approval (with exactly the extra path it declares), is refused when denied and
# counts as denied when nobody decides; every step is in the journal with the agent's UID,
# and auditd records the agent's executions.
#
# The agent runner here is a stand-in (the real runner is an LLM client that is not part of
# the flake): it executes the scripts the test driver drops into its inbox, inside the
# sandbox, and records their output and exit status.
{ pkgs, complianceLib, ... }:
let
  testRunner = pkgs.writeShellScript "test-agent-runner" ''
    set -u
    inbox="$AGENT_STATE_DIR/inbox"
    mkdir -p "$inbox"
    while true; do
      for task in "$inbox"/*.sh; do
        [ -e "$task" ] || continue
        base="''${task%.sh}"
        mv "$task" "$base.run"
        ${pkgs.bash}/bin/bash "$base.run" > "$base.out" 2>&1
        echo "$?" > "$base.rc"
      done
      sleep 0.5
    done
  '';

  listener = addr: port: {
    description = "Test listener on ${addr}:${toString port}";
    wantedBy = [ "multi-user.target" ];
    after = [ "network-online.target" ];
    wants = [ "network-online.target" ];
    serviceConfig.ExecStart = "${pkgs.python3}/bin/python3 -m http.server ${toString port} --bind ${addr} --directory /var/empty";
  };
in
complianceLib.mkComplianceTest {
  name = "agent-sandbox";
  controls = [
    "nist-800-53/CA-9"
    "nist-800-53/IA-4"
    "pci-dss/1.3.2"
    "pci-dss/7.2.5"
    "hitrust/01.m"
    "hitrust/09.ad"
    "owasp-llm/LLM01:2025"
    "owasp-llm/LLM05:2025"
    "owasp-llm/LLM08:2025"
    "owasp-agentic/T1"
    "owasp-agentic/T6"
    "owasp-agentic/T9"
    "owasp-agentic/T14"
    "mitre-atlas/AML.T0051"
    "mitre-atlas/AML.T0070"
    "mitre-atlas/AML.T0080"
    "nist-ai-rmf/MEASURE 2.7"
    "iso-42001/A.6.2.4"
    "nist-800-53/AC-3"
    "nist-800-53/AC-4"
    "nist-800-53/AC-5"
    "nist-800-53/AC-6"
    "nist-800-53/AC-6(10)"
    "nist-800-53/AU-2"
    "nist-800-53/AU-3"
    "nist-800-53/AU-12"
    "nist-800-53/CM-7"
    "nist-800-53/SC-7(5)"
    "nist-800-53/SC-39"
    "nist-800-53/SI-16"
    "owasp-llm/LLM06:2025"
    "owasp-llm/LLM10:2025"
    "owasp-agentic/T2"
    "owasp-agentic/T3"
    "owasp-agentic/T4"
    "owasp-agentic/T8"
    "owasp-agentic/T10"
    "owasp-agentic/T11"
    "owasp-agentic/T13"
    "mitre-atlas/AML.T0025"
    "mitre-atlas/AML.T0050"
    "mitre-atlas/AML.T0053"
    "mitre-atlas/AML.T0086"
    "mitre-atlas/AML.T0101"
    "nist-ai-rmf/MAP 3.5"
    "nist-ai-rmf/MANAGE 2.4"
    "nist-ai-rmf/MEASURE 2.8"
    "eu-ai-act/Art. 12"
    "eu-ai-act/Art. 14"
    "iso-42001/A.4.4"
    "iso-42001/A.6.2.8"
  ];

  nodes.server =
    { config, ... }:
    {
      imports = [ ../modules/agent-sandbox ];
      virtualisation.vlans = [ 1 ];
      virtualisation.memorySize = 1536;

      compliance.canonical.network = {
        lanCidr = "192.168.1.0/24";
        listenAddress = config.networking.primaryIPAddress;
      };

      compliance.auditAndAide = {
        enable = true;
        evidence.enable = false;
      };

      compliance.agentSandbox = {
        enable = true;
        approval.approvers = [ "alice" ];
        agents.demo = {
          uid = 960;
          command = "${testRunner}";
          memoryMax = "512M";
          cpuQuota = "50%";
          tasksMax = 32;
          approvalTimeoutSec = 20;
          tools = {
            list-files = {
              command = "${pkgs.coreutils}/bin/ls";
              risk = "read";
              description = "List files in the agent's state directory";
            };
            publish = {
              command = "${pkgs.coreutils}/bin/cp";
              risk = "effect";
              description = "Copy a report to the shared outbox";
              extraReadWritePaths = [ "/srv/outbox" ];
            };
          };
        };
        agents.other = {
          uid = 961;
          command = "${testRunner}";
        };
      };

      # The outbox is writable for agent-demo by file permissions; only the approved
      # transient unit gets it as a writable path in its mount namespace.
      systemd.tmpfiles.rules = [ "d /srv/outbox 0755 agent-demo agent-demo -" ];

      systemd.services.agent-demo.path = [
        pkgs.curl
        pkgs.python3
        pkgs.util-linux
      ];

      systemd.services.lan-listener = listener config.networking.primaryIPAddress 8080;
      systemd.services.loopback-listener = listener "127.0.0.1" 11434;

      users.users.alice = {
        isNormalUser = true;
        extraGroups = [ "wheel" ];
      };
      users.users.mallory.isNormalUser = true;
      environment.systemPackages = [ pkgs.curl ];
    };

  nodes.peer = {
    virtualisation.vlans = [ 1 ];
    networking.firewall.allowedTCPPorts = [ 8000 ];
    systemd.services.peer-listener = listener "0.0.0.0" 8000;
  };

  testScript =
    { nodes, ... }:
    ''
      import json

      server_lan = "${nodes.server.networking.primaryIPAddress}"
      peer_lan = "${nodes.peer.networking.primaryIPAddress}"
      task_no = 0


      def submit(agent, script):
          global task_no
          task_no += 1
          base = f"/var/lib/agents/{agent}/inbox/t{task_no}"
          server.wait_until_succeeds(f"test -d /var/lib/agents/{agent}/inbox")
          server.succeed(f"cat > {base}.tmp << 'TASK_EOF'\n{script}\nTASK_EOF")
          server.succeed(f"mv {base}.tmp {base}.sh")
          return base


      def result(base, timeout=60):
          server.wait_until_succeeds(f"test -e {base}.rc", timeout=timeout)
          rc = int(server.succeed(f"cat {base}.rc").strip())
          return rc, server.succeed(f"cat {base}.out")


      def in_agent(script, agent="demo"):
          return result(submit(agent, script))


      def prop(unit, name):
          return server.succeed(f"systemctl show {unit} -p {name} --value").strip()


      start_all()
      server.wait_for_unit("agent-demo.service")
      server.wait_for_unit("agent-other.service")
      server.wait_for_unit("lan-listener.service")
      server.wait_for_unit("loopback-listener.service")
      peer.wait_for_unit("peer-listener.service")
      server.wait_until_succeeds(f"curl -fsS --max-time 5 -o /dev/null http://{peer_lan}:8000/")

      with subtest("each agent runs as its own fixed UID in a hardened unit"):
          rc, out = in_agent("id -u")
          assert rc == 0 and out.strip() == "960", out
          rc, out = in_agent("id -u", agent="other")
          assert rc == 0 and out.strip() == "961", out
          assert prop("agent-demo", "ProtectSystem") == "strict"
          assert prop("agent-demo", "ProtectHome") == "yes"
          assert prop("agent-demo", "PrivateTmp") == "yes"
          assert prop("agent-demo", "NoNewPrivileges") == "yes"
          assert prop("agent-demo", "CapabilityBoundingSet") == ""
          assert prop("agent-demo", "MemoryDenyWriteExecute") == "yes"
          assert set(prop("agent-demo", "RestrictAddressFamilies").split()) == {"AF_UNIX", "AF_INET", "AF_INET6"}
          assert prop("agent-demo", "ReadWritePaths") == "/var/lib/agents/demo"
          assert prop("agent-demo", "MemoryMax") == str(512 * 1024 * 1024)
          assert prop("agent-demo", "MemorySwapMax") == "0"
          assert prop("agent-demo", "TasksMax") == "32"
          assert prop("agent-demo", "CPUQuotaPerSecUSec") == "500ms"
          exposure = server.succeed("systemd-analyze security agent-demo.service | tail -n 1")
          score = float(exposure.split(":")[1].split()[0])
          assert score <= 4.5, exposure

      with subtest("the agent cannot write outside its state directory"):
          rc, _ = in_agent("touch /var/lib/agents/demo/allowed && echo report > /var/lib/agents/demo/report.txt")
          assert rc == 0
          for target in ["/etc/agent-was-here", "/var/lib/agent-was-here", "/srv/outbox/direct",
                         "/var/lib/agents/other/x", "/root/x", "/home/alice/x", "/nix/store/x"]:
              rc, out = in_agent(f"touch {target}")
              assert rc != 0, f"agent could write {target}: {out}"
          server.fail("test -e /srv/outbox/direct")
          rc, _ = in_agent("touch /tmp/private-probe")
          assert rc == 0
          server.fail("test -e /tmp/private-probe")

      with subtest("agents cannot read each other's state"):
          server.succeed("echo other-secret > /var/lib/agents/other/notes && chown agent-other: /var/lib/agents/other/notes")
          rc, out = in_agent("cat /var/lib/agents/other/notes")
          assert rc != 0 and "other-secret" not in out, out

      with subtest("egress is limited to the allow-list"):
          rc, out = in_agent(f"curl -fsS --max-time 5 -o /dev/null http://{server_lan}:8080/")
          assert rc == 0, f"allow-listed address unreachable: {out}"
          rc, out = in_agent(f"curl -fsS --max-time 5 -o /dev/null http://{peer_lan}:8000/")
          assert rc != 0, f"agent reached a LAN peer outside its allow-list: {out}"
          rc, out = in_agent("curl -fsS --max-time 5 -o /dev/null http://127.0.0.1:11434/")
          assert rc != 0, f"agent reached a loopback service: {out}"
          # The same destinations are reachable for the host itself: the sandbox is the cause.
          server.succeed(f"curl -fsS --max-time 5 -o /dev/null http://{peer_lan}:8000/")
          server.succeed("curl -fsS --max-time 5 -o /dev/null http://127.0.0.1:11434/")
          assert "0.0.0.0/0" in prop("agent-demo", "IPAddressDeny")
          assert prop("agent-demo", "IPAddressAllow").split() in ([server_lan], [f"{server_lan}/32"])

      with subtest("no privileges, no namespaces, no write+execute memory"):
          rc, out = in_agent("grep CapEff /proc/self/status")
          assert "0000000000000000" in out, out
          rc, out = in_agent("/run/wrappers/bin/su -c true root < /dev/null")
          assert rc != 0, out
          rc, out = in_agent("unshare --user --map-root-user true")
          assert rc != 0, out
          rc, out = in_agent("python3 -c 'import mmap; mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)'")
          assert rc != 0 and "PermissionError" in out, out

      with subtest("the task quota holds"):
          rc, out = in_agent(
              "python3 -c 'import os, time\n"
              "pids = []\n"
              "try:\n"
              "    for _ in range(100):\n"
              "        pid = os.fork()\n"
              "        if pid == 0:\n"
              "            time.sleep(30)\n"
              "            os._exit(0)\n"
              "        pids.append(pid)\n"
              "except OSError:\n"
              "    print(\"refused after\", len(pids))\n"
              "for p in pids:\n"
              "    os.kill(p, 9)\n"
              "'"
          )
          assert "refused after" in out, out
          started = int(out.split("refused after")[1].split()[0])
          assert started < 32, out

      with subtest("tools off the allow-list are refused and logged"):
          rc, out = in_agent("agent-tool run rm -rf /var/lib/agents/demo")
          assert rc == 126, out
          server.succeed("test -e /var/lib/agents/demo/report.txt")
          rc, out = in_agent("agent-tool run list-files /var/lib/agents/demo")
          assert rc == 0 and "report.txt" in out, out
          server.succeed("journalctl -t agent-action AGENT_ACTION=DENY_NOT_ALLOWLISTED _UID=960 -o cat --no-pager | grep -q rm")
          policy = json.loads(server.succeed("cat /etc/agent-sandbox/demo/policy.json"))
          assert {n: t["risk"] for n, t in policy["tools"].items()} == {"list-files": "read", "publish": "effect"}, policy

      with subtest("an effect tool waits for a named approver"):
          base = submit("demo", "agent-tool run publish report.txt /srv/outbox/report.txt")
          server.wait_until_succeeds("agent-approve list | grep -q publish", timeout=30)
          server.fail("test -e /srv/outbox/report.txt")
          approval_id = server.succeed("agent-approve list | cut -f1").strip()
          pending = json.loads(server.succeed(f"agent-approve show {approval_id}"))
          assert pending["args"] == ["report.txt", "/srv/outbox/report.txt"], pending
          # The agent can neither read nor change the queue.
          rc, _ = in_agent("ls /var/lib/agent-approvals/pending", agent="other")
          assert rc != 0
          # Only members of the approver group decide, and only through sudo (SUDO_USER).
          server.fail(f"SUDO_USER=mallory agent-approve approve {approval_id}")
          server.fail(f"runuser -u alice -- agent-approve approve {approval_id}")
          server.succeed(f"SUDO_USER=alice agent-approve approve {approval_id}")
          rc, out = result(base)
          assert rc == 0, out
          server.succeed("test \"$(stat -c %U /srv/outbox/report.txt)\" = agent-demo")
          server.succeed(f"journalctl -t agent-action AGENT_ACTION=APPROVED AGENT_APPROVER=alice AGENT_APPROVAL_ID={approval_id} -o cat --no-pager | grep -q publish")
          server.wait_until_succeeds(f"journalctl -t agent-action AGENT_ACTION=EXEC_RESULT AGENT_APPROVAL_ID={approval_id} _UID=960 -o cat --no-pager | grep -q publish")

      with subtest("a denied effect call does not run"):
          base = submit("demo", "agent-tool run publish report.txt /srv/outbox/denied.txt")
          server.wait_until_succeeds("agent-approve list | grep -q denied.txt", timeout=30)
          approval_id = server.succeed("agent-approve list | cut -f1").strip()
          server.succeed(f"SUDO_USER=alice agent-approve deny {approval_id} not needed")
          rc, out = result(base)
          assert rc == 77, out
          server.fail("test -e /srv/outbox/denied.txt")
          server.succeed(f"journalctl -t agent-action AGENT_ACTION=DENIED AGENT_APPROVAL_ID={approval_id} -o cat --no-pager | grep -q alice")

      with subtest("no decision in time counts as denied"):
          base = submit("demo", "agent-tool run publish report.txt /srv/outbox/late.txt")
          server.wait_until_succeeds("agent-approve list | grep -q late.txt", timeout=30)
          rc, out = result(base, timeout=90)
          assert rc == 78, out
          server.succeed("systemctl start agent-approval-expire.service")
          server.fail("agent-approve list | grep -q late.txt")
          server.fail("test -e /srv/outbox/late.txt")
          server.succeed("journalctl -t agent-action AGENT_ACTION=EXPIRED -o cat --no-pager | grep -q publish")

      with subtest("auditd records the agent's executions"):
          server.succeed("auditctl -l | grep -q 'uid=960'")
          server.succeed("ausearch -k agent-exec -ui 960 > /dev/null")
          server.succeed("ausearch -k agent-approval > /dev/null")

      with subtest("stopping the unit ends the agent (kill switch)"):
          server.succeed("systemctl stop agent-other.service")
          server.fail("pgrep -u agent-other")
    '';
}
