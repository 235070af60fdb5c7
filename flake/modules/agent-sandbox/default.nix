# Agent sandbox: one static UID per agent, a hardened systemd service per agent, an egress
# allow-list, resource quotas, a tool allow-list, a human approval gate for side-effecting
# tools and an action log in the journal and the audit trail.
#
#   Identity     agent <name> runs as system user `agent-<name>` with a fixed UID (not
#                DynamicUser), so auditd records, file ownership and nftables `skuid` rules
#                attribute every action to that agent for good.
#   Isolation    ProtectSystem=strict, ProtectHome, PrivateTmp, PrivateDevices (unless the agent
#                uses the GPU), NoNewPrivileges, an empty CapabilityBoundingSet, namespaces,
#                realtime and SUID/SGID restricted, SystemCallFilter=@system-service minus the
#                dangerous sets, MemoryDenyWriteExecute (per-unit exceptions only through
#                compliance.gpuNode.wxExceptions). Writable: the agent's state directory only.
#   Network      IPAddressDeny=any plus IPAddressAllow for the agent's allow-list (by default
#                only the host's own LAN address, where the TLS inference proxy listens; not
#                127.0.0.1, so Ollama and its runner ports on loopback are out of reach).
#                With lan-only-network enabled, the agent's UID is also a restricted egress UID
#                in nftables, with the same allow-list.
#   Resources    MemoryMax (swap 0), CPUQuota, TasksMax, RuntimeMaxSec.
#   Tools        /etc/agent-sandbox/<name>/policy.json lists the allowed tools, each `read`
#                (runs in the sandbox) or `effect` (needs a human approval). The runner calls
#                tools through `agent-tool run <tool> ...` (in the unit's PATH).
#   Approval     `effect` calls are queued: the agent writes the request to its outbox, a
#                root intake unit moves it into /var/lib/agent-approvals (where the agent can
#                no longer change it), an operator in the approver group decides with
#                `sudo agent-approve approve|deny <id>`, and an approved call runs as the
#                agent's user in a transient unit with the agent's sandbox plus only the
#                tool's declared extra paths and addresses. No decision in time means denied.
#   Logging      every request, denial, queueing, decision (with the approver), execution and
#                result goes to the journal (SYSLOG_IDENTIFIER=agent-action, structured
#                AGENT_* fields); auditd records every execve of an agent UID and every
#                change to the approval queue.
#
# What the sandbox does not do: stop prompt injection or a wrong plan; protect against root or
# a kernel exploit; check what a `read` tool does beyond what the sandbox allows (the
# allow-list is enforced by agent-tool, a program the agent could bypass by calling the binary
# itself; the sandbox is the hard boundary, the approval gate guards everything that needs
# more than the sandbox allows).
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types;
  cfg = config.compliance.agentSandbox;
  canon = config.compliance.canonical;
  gpu = config.compliance.gpuNode;

  stateRoot = "/var/lib/agents";
  enabledAgents = lib.filterAttrs (_: a: a.enable) cfg.agents;

  toolType = types.submodule (
    { name, ... }:
    {
      options = {
        command = mkOption {
          type = types.str;
          example = lib.literalExpression ''"''${pkgs.ripgrep}/bin/rg"'';
          description = "Absolute path of the program (a store path); the agent's arguments are passed to it as a list, never through a shell.";
        };
        risk = mkOption {
          type = types.enum [
            "read"
            "effect"
          ];
          description = ''
            `read`: runs inside the agent's sandbox without approval. `effect`: changes
            something outside the agent's own state (or needs more than its sandbox allows)
            and waits for a human approval.
          '';
        };
        description = mkOption {
          type = types.str;
          default = name;
          description = "What the tool does; shown to the approver.";
        };
        timeoutSec = mkOption {
          type = types.ints.positive;
          default = 300;
          description = "Longest run time of one call.";
        };
        extraReadWritePaths = mkOption {
          type = types.listOf types.str;
          default = [ ];
          description = "Paths an approved `effect` call may write in addition to the agent's state directory.";
        };
        extraAllowedAddresses = mkOption {
          type = types.listOf types.str;
          default = [ ];
          description = "Addresses (CIDR) an approved `effect` call may reach in addition to the agent's allow-list.";
        };
      };
    }
  );

  agentType = types.submodule (
    { name, ... }:
    {
      options = {
        enable = mkOption {
          type = types.bool;
          default = true;
          description = "Run this agent. Disabling keeps its account and state (stopping the unit is the kill switch; `systemctl mask` keeps it stopped).";
        };
        uid = mkOption {
          type = types.ints.between 400 999;
          description = "Fixed system UID (and GID of the agent's own group).";
        };
        user = mkOption {
          type = types.str;
          default = "agent-${name}";
          description = "System account of the agent.";
        };
        description = mkOption {
          type = types.str;
          default = "Sandboxed AI agent ${name}";
          description = "Purpose of the agent (GECOS field and unit description).";
        };
        command = mkOption {
          type = types.str;
          example = lib.literalExpression ''"''${myAgentRunner}/bin/runner --config /etc/agent-sandbox/demo/policy.json"'';
          description = "ExecStart of the agent runner. It reads its tool allow-list from $AGENT_POLICY and calls tools through `agent-tool`.";
        };
        environment = mkOption {
          type = types.attrsOf types.str;
          default = { };
          description = "Extra environment variables of the agent unit (no secrets: use `sopsSecrets`).";
        };
        sopsSecrets = mkOption {
          type = types.attrsOf types.str;
          default = { };
          example = {
            "client.crt" = "agent-demo-client-cert";
            "client.key" = "agent-demo-client-key";
          };
          description = ''
            Credentials for the agent (for example its TLS client certificate for the inference
            proxy): credential id -> key in the sops file. They are decrypted root-only by
            sops-nix and passed with LoadCredential, readable by the agent under
            $CREDENTIALS_DIRECTORY only.
          '';
        };
        allowedAddresses = mkOption {
          type = types.listOf types.str;
          default = [ "${canon.network.listenAddress}/32" ];
          defaultText = lib.literalExpression ''[ "''${config.compliance.canonical.network.listenAddress}/32" ]'';
          description = ''
            IPAddressAllow of the agent: every other address is denied (IPAddressDeny=any).
            The default is the host's LAN address only, where the TLS inference proxy listens;
            loopback is deliberately not included.
          '';
        };
        readOnlyPaths = mkOption {
          type = types.listOf types.str;
          default = [ ];
          description = "Input directories bind-mounted read-only into the agent's namespace (BindReadOnlyPaths).";
        };
        memoryMax = mkOption {
          type = types.str;
          default = "4G";
          description = "MemoryMax of the agent unit (hard limit; swap is disabled for the unit).";
        };
        cpuQuota = mkOption {
          type = types.str;
          default = "200%";
          description = "CPUQuota of the agent unit (100% = one CPU).";
        };
        tasksMax = mkOption {
          type = types.ints.positive;
          default = 64;
          description = "TasksMax: processes and threads the agent may have at once.";
        };
        runtimeMaxSec = mkOption {
          type = types.nullOr types.str;
          default = null;
          example = "8h";
          description = "RuntimeMaxSec: the unit is stopped after this long (null: no limit).";
        };
        gpu = mkOption {
          type = types.bool;
          default = false;
          description = "Give the agent the NVIDIA devices (requires compliance.gpuNode.enable).";
        };
        approvalTimeoutSec = mkOption {
          type = types.ints.positive;
          default = 3600;
          description = "How long an `effect` call waits for a decision before it counts as denied.";
        };
        tools = mkOption {
          type = types.attrsOf toolType;
          default = { };
          description = "The agent's tool allow-list; anything else is refused and logged.";
        };
      };
    }
  );

  agentUnit = name: "agent-${name}";
  stateDir = name: "${stateRoot}/${name}";

  # Sandbox properties shared by the agent unit and the transient units that run approved
  # `effect` calls (as systemd-run -p properties). Paths and addresses are added per call.
  sandboxProperties = name: a: [
    "ProtectSystem=strict"
    "ProtectHome=yes"
    "PrivateTmp=yes"
    "PrivateDevices=${if a.gpu then "no" else "yes"}"
    "NoNewPrivileges=yes"
    "CapabilityBoundingSet="
    "AmbientCapabilities="
    "RestrictNamespaces=yes"
    "RestrictRealtime=yes"
    "RestrictSUIDSGID=yes"
    "LockPersonality=yes"
    # A W^X exception of the agent (compliance.gpuNode.wxExceptions) also applies to its
    # approved calls; every other agent keeps the protection.
    "MemoryDenyWriteExecute=${if gpu.wxExceptions ? ${agentUnit name} then "no" else "yes"}"
    "ProtectKernelTunables=yes"
    "ProtectKernelModules=yes"
    "ProtectKernelLogs=yes"
    "ProtectControlGroups=yes"
    "ProtectClock=yes"
    "ProtectHostname=yes"
    "ProtectProc=invisible"
    "RemoveIPC=yes"
    "KeyringMode=private"
    "UMask=0077"
    "SystemCallArchitectures=native"
    "SystemCallFilter=@system-service"
    "SystemCallFilter=~${lib.concatStringsSep " " cfg.deniedSyscallSets}"
    "SystemCallErrorNumber=EPERM"
    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6"
    "IPAddressDeny=any"
    "MemoryMax=${a.memoryMax}"
    "MemorySwapMax=0"
    "CPUQuota=${a.cpuQuota}"
    "TasksMax=${toString a.tasksMax}"
  ];

  sandboxJson = name: a: {
    properties = sandboxProperties name a;
    ipAddressAllow = a.allowedAddresses;
  };

  toolsJson = a: lib.mapAttrs (_: t: { inherit (t) command risk description timeoutSec extraReadWritePaths extraAllowedAddresses; }) a.tools;

  policyFor = name: a: {
    agent = name;
    stateDir = stateDir name;
    queueDir = cfg.approval.queueDir;
    approvalTimeoutSec = a.approvalTimeoutSec;
    tools = toolsJson a;
  };

  programs = pkgs.runCommand "agent-sandbox-programs" { } ''
    mkdir -p $out/bin $out/libexec
    cp ${./agent_sandbox.py} $out/libexec/agent_sandbox.py
    for role in tool:agent-tool intake:agent-approval-intake approve:agent-approve exec:agent-action-exec; do
      cat > $out/bin/''${role#*:} <<EOF
    #!${pkgs.runtimeShell}
    exec ${pkgs.python3}/bin/python3 -I $out/libexec/agent_sandbox.py ''${role%%:*} "\$@"
    EOF
      chmod 0555 $out/bin/''${role#*:}
    done
  '';

  configJson = pkgs.writeText "agent-sandbox-config.json" (
    builtins.toJSON {
      queueDir = cfg.approval.queueDir;
      approverGroup = cfg.approval.approverGroup;
      systemdRun = "${config.systemd.package}/bin/systemd-run";
      execProgram = "${programs}/bin/agent-action-exec";
      agents = lib.mapAttrs (name: a: {
        inherit (a) user uid approvalTimeoutSec;
        group = a.user;
        gid = a.uid;
        stateDir = stateDir name;
        tools = toolsJson a;
        sandbox = sandboxJson name a;
      }) enabledAgents;
    }
  );

  addrFamily = addr: if lib.hasInfix ":" addr then "ip6" else "ip";
  isLocal =
    addr:
    lib.hasPrefix "127." addr
    || addr == "::1/128"
    || addr == "::1"
    || lib.hasPrefix "${canon.network.listenAddress}/" addr
    || addr == canon.network.listenAddress;

  agentService =
    name: a:
    let
      propertyToAttr =
        p:
        let
          m = builtins.match "([A-Za-z]+)=(.*)" p;
        in
        {
          name = builtins.elemAt m 0;
          value = builtins.elemAt m 1;
        };
      # SystemCallFilter appears twice (allow set, then deny sets); keep both as a list.
      single = lib.filter (p: !(lib.hasPrefix "SystemCallFilter=" p)) (sandboxProperties name a);
    in
    {
      description = a.description;
      wantedBy = [ "multi-user.target" ];
      after = [ "network.target" ] ++ lib.optional a.gpu "gpu-device-permissions.service";
      path = [
        programs
        pkgs.coreutils
      ];
      environment = a.environment // {
        AGENT_NAME = name;
        AGENT_POLICY = "/etc/agent-sandbox/${name}/policy.json";
        AGENT_STATE_DIR = stateDir name;
        HOME = stateDir name;
      };
      serviceConfig = builtins.listToAttrs (map propertyToAttr single) // {
        Type = "simple";
        ExecStart = a.command;
        User = a.user;
        Group = a.user;
        StateDirectory = "agents/${name}";
        StateDirectoryMode = "0700";
        WorkingDirectory = stateDir name;
        ReadWritePaths = [ (stateDir name) ];
        BindReadOnlyPaths = a.readOnlyPaths;
        IPAddressAllow = a.allowedAddresses;
        SystemCallFilter = [
          "@system-service"
          "~${lib.concatStringsSep " " cfg.deniedSyscallSets}"
        ];
        ProcSubset = "pid";
        Restart = "on-failure";
        RestartSec = "10s";
        SyslogIdentifier = agentUnit name;
        LoadCredential = lib.mapAttrsToList (id: secret: "${id}:${config.sops.secrets.${secret}.path}") a.sopsSecrets;
      }
      // lib.optionalAttrs (a.runtimeMaxSec != null) { RuntimeMaxSec = a.runtimeMaxSec; }
      // lib.optionalAttrs a.gpu { DevicePolicy = "closed"; };
    };
in
{
  imports = [
    ../canonical
    ../gpu-node
    ../lan-only-network
    ../audit-and-aide
    ../secrets
  ];

  options.compliance.agentSandbox = {
    enable = lib.mkEnableOption "sandboxed AI agents (UID per agent, systemd isolation, egress allow-list, quotas, tool allow-list, approval gate, action log)";

    agents = mkOption {
      type = types.attrsOf agentType;
      default = { };
      description = "The agents, by name (lower-case letters, digits, `-`).";
    };

    deniedSyscallSets = mkOption {
      type = types.listOf types.str;
      default = [
        "@privileged"
        "@mount"
        "@debug"
        "@module"
        "@reboot"
        "@swap"
        "@raw-io"
        "@clock"
        "@cpu-emulation"
        "@obsolete"
      ];
      description = "System call sets removed from @system-service for agent units.";
    };

    approval = {
      queueDir = mkOption {
        type = types.str;
        default = "/var/lib/agent-approvals";
        description = "Root-owned approval queue: `pending/` (readable by the approver group) and `decided/` (each decision readable by its agent).";
      };
      approverGroup = mkOption {
        type = types.str;
        default = "agent-approvers";
        description = "Group of the people who may approve or deny `effect` calls (with sudo; they must also be administrators).";
      };
      approvers = mkOption {
        type = types.listOf types.str;
        default = [ ];
        example = [ "opsadmin" ];
        description = "Named approvers (members of the approver group).";
      };
      expireSchedule = mkOption {
        type = types.str;
        default = "*:0/5";
        description = "systemd OnCalendar expression of the job that marks unanswered requests as expired (denied).";
      };
    };
  };

  config = lib.mkIf cfg.enable (
    lib.mkMerge [
      {
        assertions = lib.flatten (
          lib.mapAttrsToList (name: a: [
            {
              assertion = builtins.match "[a-z0-9][a-z0-9-]*" name != null;
              message = "compliance.agentSandbox.agents.${name}: names are lower-case letters, digits and '-'.";
            }
            {
              assertion = a.sopsSecrets == { } || config.compliance.secrets.enable;
              message = "compliance.agentSandbox.agents.${name}.sopsSecrets needs compliance.secrets.enable.";
            }
            {
              assertion = !a.gpu || gpu.enable;
              message = "compliance.agentSandbox.agents.${name}.gpu needs compliance.gpuNode.enable.";
            }
            {
              assertion = lib.all (t: t.risk == "effect" || (t.extraReadWritePaths == [ ] && t.extraAllowedAddresses == [ ])) (
                lib.attrValues a.tools
              );
              message = "compliance.agentSandbox.agents.${name}: only `effect` tools may declare extra paths or addresses.";
            }
            {
              assertion = lib.all (t: lib.hasPrefix "/nix/store/" t.command || lib.hasPrefix "/run/current-system/sw/bin/" t.command) (
                lib.attrValues a.tools
              );
              message = "compliance.agentSandbox.agents.${name}: tool commands must be store paths.";
            }
          ]) cfg.agents
          ++ [
            {
              assertion =
                let
                  uids = lib.mapAttrsToList (_: a: a.uid) cfg.agents;
                in
                lib.length uids == lib.length (lib.unique uids);
              message = "compliance.agentSandbox: every agent needs its own UID.";
            }
          ]
        );

        # ---- Identities ------------------------------------------------------------------
        users.users = lib.mapAttrs' (
          name: a:
          lib.nameValuePair a.user {
            isSystemUser = true;
            inherit (a) uid description;
            group = a.user;
            home = stateDir name;
            createHome = false;
            hashedPassword = "!";
            shell = "${pkgs.shadow}/bin/nologin";
          }
        ) cfg.agents;
        users.groups = lib.mapAttrs' (_: a: lib.nameValuePair a.user { gid = a.uid; }) cfg.agents // {
          ${cfg.approval.approverGroup}.members = cfg.approval.approvers;
        };

        # ---- Policy files ----------------------------------------------------------------
        environment.etc =
          lib.mapAttrs' (
            name: a:
            lib.nameValuePair "agent-sandbox/${name}/policy.json" {
              text = builtins.toJSON (policyFor name a);
              mode = "0444";
            }
          ) enabledAgents
          // {
            "agent-sandbox/config.json".source = configJson;
          };

        environment.systemPackages = [ programs ];

        # ---- Directories -----------------------------------------------------------------
        systemd.tmpfiles.rules = [
          "d ${stateRoot} 0755 root root -"
          "d ${cfg.approval.queueDir} 0711 root root -"
          "d ${cfg.approval.queueDir}/pending 2750 root ${cfg.approval.approverGroup} -"
          "d ${cfg.approval.queueDir}/decided 0711 root root -"
        ]
        ++ lib.concatLists (
          lib.mapAttrsToList (name: a: [
            "d ${stateDir name} 0700 ${a.user} ${a.user} -"
            "d ${stateDir name}/approvals 0700 ${a.user} ${a.user} -"
            "d ${stateDir name}/approvals/outbox 0700 ${a.user} ${a.user} -"
            "d ${stateDir name}/approvals/results 0700 ${a.user} ${a.user} -"
          ]) enabledAgents
        );

        # The audit watch below needs the queue directory before the rules load at boot.
        system.activationScripts.agentSandboxDirs = ''
          ${pkgs.coreutils}/bin/install -d -m 0711 ${lib.escapeShellArg cfg.approval.queueDir}
        '';

        # ---- Agent units -----------------------------------------------------------------
        systemd.services = lib.mkMerge [
          (lib.mapAttrs' (name: a: lib.nameValuePair (agentUnit name) (agentService name a)) enabledAgents)

          # Intake: one instance per agent, started by the agent's outbox path unit.
          {
            "agent-approval-intake@" = {
              description = "Move approval requests of agent %i into the approval queue";
              serviceConfig = {
                Type = "oneshot";
                ExecStart = "${programs}/bin/agent-approval-intake %i";
                ProtectSystem = "strict";
                ReadWritePaths = [
                  cfg.approval.queueDir
                  "${stateRoot}/%i/approvals/outbox"
                ];
                ProtectHome = true;
                PrivateTmp = true;
                PrivateDevices = true;
                PrivateNetwork = true;
                NoNewPrivileges = true;
                CapabilityBoundingSet = [
                  "CAP_DAC_OVERRIDE"
                  "CAP_CHOWN"
                  "CAP_FOWNER"
                ];
                RestrictAddressFamilies = [ "AF_UNIX" ];
                MemoryDenyWriteExecute = true;
                LockPersonality = true;
                SystemCallFilter = [ "@system-service" ];
                UMask = "0077";
              };
            };

            agent-approval-expire = {
              description = "Deny approval requests that got no decision in time";
              serviceConfig = {
                Type = "oneshot";
                ExecStart = "${programs}/bin/agent-approve expire";
                ProtectSystem = "strict";
                ReadWritePaths = [ cfg.approval.queueDir ];
                ProtectHome = true;
                PrivateTmp = true;
                PrivateNetwork = true;
                NoNewPrivileges = true;
                CapabilityBoundingSet = [ "CAP_CHOWN" ];
                RestrictAddressFamilies = [ "AF_UNIX" ];
                MemoryDenyWriteExecute = true;
                SystemCallFilter = [ "@system-service" ];
                UMask = "0077";
              };
            };
          }
        ];

        systemd.paths = lib.mapAttrs' (
          name: _a:
          lib.nameValuePair "agent-approval-intake-${name}" {
            description = "Watch the approval outbox of agent ${name}";
            wantedBy = [ "paths.target" ];
            pathConfig = {
              DirectoryNotEmpty = "${stateDir name}/approvals/outbox";
              Unit = "agent-approval-intake@${name}.service";
            };
          }
        ) enabledAgents;

        systemd.timers.agent-approval-expire = {
          description = "Expire unanswered agent approval requests";
          wantedBy = [ "timers.target" ];
          timerConfig = {
            OnCalendar = cfg.approval.expireSchedule;
            Persistent = true;
          };
        };

        # ---- Audit trail -----------------------------------------------------------------
        compliance.auditAndAide.extraAuditRules =
          lib.concatLists (
            lib.mapAttrsToList (_name: a: [
              "-a always,exit -F arch=b64 -S execve -F uid=${toString a.uid} -k agent-exec"
              "-a always,exit -F arch=b32 -S execve -F uid=${toString a.uid} -k agent-exec"
            ]) cfg.agents
          )
          ++ [ "-w ${cfg.approval.queueDir} -p wa -k agent-approval" ];

        # ---- Network: second layer in nftables (lan-only-network) ------------------------
        compliance.lanOnlyNetwork.egress.restrictedUsers = lib.mapAttrsToList (_: a: a.user) cfg.agents;
        compliance.lanOnlyNetwork.egress.restrictedAllowRules = lib.concatLists (
          lib.mapAttrsToList (
            _name: a:
            map (addr: "meta skuid ${toString a.uid} ${addrFamily addr} daddr ${addr}") (
              lib.filter (addr: !(isLocal addr)) (
                a.allowedAddresses ++ lib.concatMap (t: t.extraAllowedAddresses) (lib.attrValues a.tools)
              )
            )
          ) enabledAgents
        );

        # ---- Secrets for agents (sops-nix, root-only, passed as credentials) -------------
        compliance.secrets.managed = lib.mkMerge (
          lib.mapAttrsToList (
            name: a:
            lib.mapAttrs' (
              id: secret:
              lib.nameValuePair secret {
                description = "Credential ${id} of agent ${name}";
                restartUnits = [ "${agentUnit name}.service" ];
              }
            ) a.sopsSecrets
          ) cfg.agents
        );
      }

      # ---- GPU agents --------------------------------------------------------------------
      {
        compliance.gpuNode.units = lib.mapAttrsToList (name: _: agentUnit name) (
          lib.filterAttrs (_: a: a.gpu) enabledAgents
        );
      }
    ]
  );
}
