# AI services: Ollama on loopback behind an Nginx TLS gateway, with pinned model digests, a
# prompt/completion audit log, limits and health checks.
#
#   LAN client --TLS 1.2/1.3 + client certificate--> nginx (LAN address, port 443)
#     | endpoint allow-list, limit_req / limit_conn per certificate subject, body size limit,
#     | JSON access log to the journal
#     v  Unix socket /run/ai-audit-proxy.sock (mode 0660, group nginx)
#   ai-audit-proxy (user ai-audit): refuses undeclared models, writes the metadata and
#     | content audit logs, streams answers back
#     v  TCP 127.0.0.1:11434 (nftables: only the ai-audit UID may connect)
#   ollama (upstream NixOS unit, DynamicUser, MemoryDenyWriteExecute=true, loopback only),
#     reading a root-owned, read-only model store that ai-model-verify checks against the
#     declared sha256 digests before every start and on a timer.
#
# Why the audit proxy: Nginx cannot log response bodies, and the review requires prompt and
# completion, split into metadata (kept like audit logs, 12 months) and content (Restricted,
# 30 days, readable only by the audit-reader group). Because the proxy is the only client of
# Ollama, the nftables rule names its UID; Nginx reaches it through a Unix socket that only
# the nginx group can open, so the chain "only Nginx reaches Ollama" holds end to end.
#
# Model intake (see the vault's supply-chain policy): pull on an intake machine, copy the
# store to `models.dir` (root-owned, group ai-models, no write bits for group/other), record
# the manifest and weights digests in `models.declared`, rebuild. Anything undeclared or
# changed makes the verification fail, and Ollama does not start (fail closed).
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types;
  cfg = config.compliance.aiServices;
  canon = config.compliance.canonical;
  gpu = config.compliance.gpuNode;
  nginxUser = config.services.nginx.user;
  nginxGroup = config.services.nginx.group;

  socketPath = "/run/ai-audit-proxy.sock";
  secretPath = name: config.sops.secrets.${name}.path;

  sha256Digest = types.strMatching "sha256:[0-9a-f]{64}";

  modelType = types.submodule {
    options = {
      name = mkOption {
        type = types.str;
        example = "llama3.2";
        description = "Model name as clients request it (without tag).";
      };
      tag = mkOption {
        type = types.str;
        default = "latest";
        description = "Model tag. Tags are mutable upstream; the digests below are what is pinned.";
      };
      registry = mkOption {
        type = types.str;
        default = "registry.ollama.ai";
        description = "Registry the model came from (directory under manifests/).";
      };
      namespace = mkOption {
        type = types.str;
        default = "library";
        description = "Registry namespace of the model.";
      };
      manifestDigest = mkOption {
        type = sha256Digest;
        description = "sha256 of the stored manifest file; it lists (and so pins) the digest of every layer.";
      };
      modelDigest = mkOption {
        type = types.nullOr sha256Digest;
        default = null;
        description = "sha256 of the weights layer (application/vnd.ollama.image.model), as recorded at intake.";
      };
    };
  };

  # Paths the gateway forwards (the proxy enforces the same list); everything else is 404,
  # model management is 403.
  allowedPaths = [
    "/api/(chat|generate|embed|embeddings|show|tags|version|ps)"
    "/v1/(chat/completions|completions|embeddings|models)"
  ];
  modelPaths = [
    "/api/(chat|generate|embed|embeddings|show)"
    "/v1/(chat/completions|completions|embeddings)"
  ];

  gatewayConfig = pkgs.writeText "ai-gateway.json" (
    builtins.toJSON {
      modelsDir = cfg.models.dir;
      refuseUndeclared = cfg.models.refuseUndeclared;
      models = cfg.models.declared;
      ollama = {
        host = "127.0.0.1";
        port = cfg.ollama.port;
      };
      proxy = { inherit allowedPaths modelPaths; };
      audit = {
        inherit (cfg.audit) dir contentRetentionDays metadataRetentionDays;
        maxContentBytes = cfg.audit.maxContentBytes;
      };
    }
  );

  gateway = role: "${pkgs.python3}/bin/python3 -I ${./ai_gateway.py} ${role} --config ${gatewayConfig}";

  tlsProtocols = if canon.tls.minProtocol == "TLSv1.3" then "TLSv1.3" else "TLSv1.2 TLSv1.3";

  proxyLocation = {
    proxyPass = "http://ai_gateway";
    extraConfig = ''
      proxy_http_version 1.1;
      proxy_set_header Host localhost;
      proxy_set_header Connection "";
      proxy_set_header X-Client-Identity $ssl_client_s_dn;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Request-Id $request_id;
      proxy_buffering off;
      proxy_request_buffering on;
      proxy_read_timeout ${toString cfg.proxy.readTimeoutSec}s;
      proxy_send_timeout 60s;
    '';
  };

  reverify = pkgs.writeShellScript "ai-model-reverify" ''
    if ${gateway "verify"}; then
      exit 0
    fi
    ${pkgs.util-linux}/bin/logger -p auth.crit -t ai-model-verify "model store does not match the declared digests; stopping ollama.service"
    ${config.systemd.package}/bin/systemctl stop ollama.service
    exit 1
  '';

  healthCheck = pkgs.writeShellApplication {
    name = "ai-health-check";
    runtimeInputs = [
      pkgs.curl
      pkgs.openssl
      pkgs.util-linux
    ];
    text = ''
      failed=0
      fail() {
        echo "FAIL $1" >&2
        logger -p daemon.err -t ai-health-check "$1"
        failed=1
      }

      # 1. Ollama answers on loopback (this unit runs as the one UID allowed to connect).
      if ! curl -fsS --max-time 10 -o /dev/null http://127.0.0.1:${toString cfg.ollama.port}/api/version; then
        fail "ollama does not answer on 127.0.0.1:${toString cfg.ollama.port}"
      fi

      # 2. The TLS gateway answers and still demands a client certificate (400 without one).
      code="$(curl -sk --max-time 10 -o /dev/null -w '%{http_code}' https://${canon.network.listenAddress}:${toString cfg.proxy.port}/api/version || true)"
      if [ "$code" != "400" ]; then
        fail "TLS gateway answered $code without a client certificate (expected 400)"
      fi

      # 3. The gateway certificate is valid for at least the warning period.
      if ! openssl x509 -noout -checkend ${toString (cfg.health.certificateWarningDays * 86400)} -in ${secretPath cfg.proxy.tls.certificateSecretName} > /dev/null; then
        fail "gateway certificate expires within ${toString cfg.health.certificateWarningDays} days"
      fi

      if [ "$failed" -eq 0 ]; then
        echo "ai services healthy"
      fi
      exit "$failed"
    '';
  };

  commonHardening = {
    ProtectSystem = "strict";
    ProtectHome = true;
    PrivateTmp = true;
    PrivateDevices = true;
    NoNewPrivileges = true;
    ProtectKernelTunables = true;
    ProtectKernelModules = true;
    ProtectKernelLogs = true;
    ProtectControlGroups = true;
    ProtectClock = true;
    ProtectHostname = true;
    RestrictNamespaces = true;
    RestrictRealtime = true;
    RestrictSUIDSGID = true;
    LockPersonality = true;
    MemoryDenyWriteExecute = true;
    SystemCallArchitectures = "native";
    SystemCallFilter = [
      "@system-service"
      "~@privileged"
    ];
  };
in
{
  imports = [
    ../canonical
    ../gpu-node
    ../secrets
    ../audit-and-aide
  ];

  options.compliance.aiServices = {
    enable = lib.mkEnableOption "local inference: Ollama on loopback behind the Nginx TLS gateway, pinned models, audit log and health checks";

    ollama = {
      package = mkOption {
        type = types.package;
        default = if gpu.enable && gpu.cuda.enable then pkgs.ollama-cuda else pkgs.ollama;
        defaultText = lib.literalExpression "if config.compliance.gpuNode.enable then pkgs.ollama-cuda else pkgs.ollama";
        description = "Ollama package (services.ollama.package); acceleration is chosen by package on nixos-26.05.";
      };
      port = mkOption {
        type = types.port;
        default = 11434;
        description = "Loopback port of Ollama (services.ollama.port).";
      };
      maxQueue = mkOption {
        type = types.ints.positive;
        default = 64;
        description = "OLLAMA_MAX_QUEUE: queued requests before Ollama answers 503 (upstream default 512).";
      };
      numParallel = mkOption {
        type = types.ints.positive;
        default = 2;
        description = "OLLAMA_NUM_PARALLEL: requests a loaded model serves at once.";
      };
      maxLoadedModels = mkOption {
        type = types.ints.positive;
        default = 1;
        description = "OLLAMA_MAX_LOADED_MODELS: models resident in VRAM at once.";
      };
      keepAlive = mkOption {
        type = types.str;
        default = "5m";
        description = "OLLAMA_KEEP_ALIVE: how long an idle model stays in (V)RAM.";
      };
    };

    auditProxy = {
      user = mkOption {
        type = types.str;
        default = "ai-audit";
        description = "Account of the audit proxy, the only UID allowed to connect to the Ollama port.";
      };
      uid = mkOption {
        type = types.ints.between 400 999;
        default = 985;
        description = "Fixed UID (and GID) of the audit proxy account; the nftables rule matches it.";
      };
    };

    proxy = {
      serverName = mkOption {
        type = types.str;
        default = config.networking.hostName;
        defaultText = lib.literalExpression "config.networking.hostName";
        description = "server_name of the TLS gateway.";
      };
      port = mkOption {
        type = types.port;
        default = 443;
        description = "TLS port on the LAN address; must be in compliance.canonical.network.allowedTcpPorts.";
      };
      clientMaxBodySize = mkOption {
        type = types.str;
        default = "8m";
        description = "client_max_body_size: prompts including images, not files. Larger bodies get 413.";
      };
      maxConnectionsPerClient = mkOption {
        type = types.ints.positive;
        default = 8;
        description = "limit_conn: concurrent connections per client certificate subject.";
      };
      rateLimit = {
        rate = mkOption {
          type = types.strMatching "[0-9]+r/[sm]";
          default = "2r/s";
          description = "limit_req_zone rate per client certificate subject.";
        };
        burst = mkOption {
          type = types.ints.unsigned;
          default = 10;
          description = "limit_req burst; requests beyond it are answered 429 at once.";
        };
      };
      readTimeoutSec = mkOption {
        type = types.ints.positive;
        default = 600;
        description = "proxy_read_timeout for streamed generation.";
      };
      tls = {
        certificateSecretName = mkOption {
          type = types.str;
          default = "ai-gateway-tls-cert";
          description = "Key in the sops file holding the gateway's certificate chain (PEM).";
        };
        keySecretName = mkOption {
          type = types.str;
          default = "ai-gateway-tls-key";
          description = "Key in the sops file holding the gateway's private key (PEM).";
        };
        clientCaSecretName = mkOption {
          type = types.str;
          default = "ai-gateway-client-ca";
          description = "Key in the sops file holding the team CA that issues client certificates to people and agents.";
        };
      };
    };

    models = {
      dir = mkOption {
        type = types.str;
        default = "/var/lib/ai-models";
        description = "Model store (services.ollama.models): root-owned, readable by Ollama through the ai-models group, writable by nobody else.";
      };
      declared = mkOption {
        type = types.listOf modelType;
        default = [ ];
        description = "The approved models with their pinned digests; only these are served.";
      };
      refuseUndeclared = mkOption {
        type = types.bool;
        default = true;
        description = "Fail verification when the store holds a manifest that is not declared.";
      };
      verifySchedule = mkOption {
        type = types.str;
        default = "hourly";
        description = "systemd OnCalendar expression of the re-verification that stops Ollama on a mismatch.";
      };
    };

    audit = {
      dir = mkOption {
        type = types.str;
        default = "/var/log/ai-audit";
        description = "Directory of the daily metadata-YYYY-MM-DD.jsonl and content-YYYY-MM-DD.jsonl files.";
      };
      readerGroup = mkOption {
        type = types.str;
        default = "ai-audit-readers";
        description = "Group that may read the audit logs (content is Restricted data).";
      };
      readers = mkOption {
        type = types.listOf types.str;
        default = [ ];
        description = "Members of the reader group (at most two people, by policy).";
      };
      contentRetentionDays = mkOption {
        type = types.ints.positive;
        default = 30;
        description = "Days prompt and completion content is kept (decision of the system owner while no high-risk use exists).";
      };
      metadataRetentionDays = mkOption {
        type = types.ints.positive;
        default = 365;
        description = "Days request metadata (identity, model digest, token counts, hashes) is kept, like other audit records.";
      };
      maxContentBytes = mkOption {
        type = types.ints.positive;
        default = 1048576;
        description = "Prompt and completion bytes recorded per request; longer texts are cut.";
      };
    };

    health = {
      enable = mkOption {
        type = types.bool;
        default = true;
        description = "Run the end-to-end health check on a timer.";
      };
      schedule = mkOption {
        type = types.str;
        default = "*:0/5";
        description = "systemd OnCalendar expression of the health check.";
      };
      certificateWarningDays = mkOption {
        type = types.ints.positive;
        default = 21;
        description = "The health check fails when the gateway certificate expires within this many days.";
      };
    };
  };

  config = lib.mkIf cfg.enable {
    assertions = [
      {
        assertion = config.compliance.secrets.enable;
        message = "compliance.aiServices: the TLS key comes from sops; enable compliance.secrets.";
      }
      {
        assertion = lib.elem cfg.proxy.port canon.network.allowedTcpPorts;
        message = "compliance.aiServices.proxy.port must be in compliance.canonical.network.allowedTcpPorts.";
      }
      {
        assertion = !config.services.ollama.openFirewall && config.services.ollama.host == "127.0.0.1";
        message = "compliance.aiServices: Ollama must listen on 127.0.0.1 only, without a firewall opening.";
      }
    ];

    # ---- Accounts ---------------------------------------------------------------------
    users.users.${cfg.auditProxy.user} = {
      isSystemUser = true;
      uid = cfg.auditProxy.uid;
      group = cfg.auditProxy.user;
      description = "AI gateway audit proxy";
      home = "/var/empty";
      createHome = false;
      hashedPassword = "!";
      shell = "${pkgs.shadow}/bin/nologin";
    };
    users.groups.${cfg.auditProxy.user}.gid = cfg.auditProxy.uid;
    users.groups.${cfg.audit.readerGroup}.members = cfg.audit.readers;
    users.groups.ai-models = { };

    # ---- Secrets ----------------------------------------------------------------------
    compliance.secrets.managed = {
      ${cfg.proxy.tls.certificateSecretName} = {
        description = "TLS certificate of the inference gateway";
        mode = "0444";
        restartUnits = [ "nginx.service" ];
      };
      ${cfg.proxy.tls.keySecretName} = {
        description = "TLS private key of the inference gateway";
        owner = nginxUser;
        mode = "0400";
        restartUnits = [ "nginx.service" ];
      };
      ${cfg.proxy.tls.clientCaSecretName} = {
        description = "CA that issues client certificates for the inference gateway";
        mode = "0444";
        restartUnits = [ "nginx.service" ];
      };
    };

    # ---- Ollama -----------------------------------------------------------------------
    services.ollama = {
      enable = true;
      package = cfg.ollama.package;
      host = "127.0.0.1";
      port = cfg.ollama.port;
      openFirewall = false;
      models = cfg.models.dir;
      # Models arrive only through intake and the declared digests, never by pull.
      loadModels = [ ];
      syncModels = false;
      environmentVariables = {
        OLLAMA_MAX_QUEUE = toString cfg.ollama.maxQueue;
        OLLAMA_NUM_PARALLEL = toString cfg.ollama.numParallel;
        OLLAMA_MAX_LOADED_MODELS = toString cfg.ollama.maxLoadedModels;
        OLLAMA_KEEP_ALIVE = cfg.ollama.keepAlive;
        # The store is read-only to Ollama; nothing to prune.
        OLLAMA_NOPRUNE = "1";
      };
    };

    systemd.services.ollama = {
      requires = [ "ai-model-verify.service" ];
      after = [ "ai-model-verify.service" ];
      serviceConfig = {
        SupplementaryGroups = [ "ai-models" ];
        IPAddressDeny = "any";
        IPAddressAllow = [ "localhost" ];
      };
    };

    compliance.gpuNode.units = [ "ollama" ];

    # ---- Model store and digest verification ------------------------------------------
    systemd.tmpfiles.rules = [
      "d ${cfg.models.dir} 0750 root ai-models -"
      "d ${cfg.audit.dir} 2750 ${cfg.auditProxy.user} ${cfg.audit.readerGroup} -"
    ];

    # The audit watches below need both directories before the rules load at boot.
    system.activationScripts.aiServicesDirs = ''
      ${pkgs.coreutils}/bin/install -d -m 0750 ${lib.escapeShellArg cfg.models.dir} ${lib.escapeShellArg cfg.audit.dir}
    '';

    # Runs before every start of Ollama (Requires + After, and no RemainAfterExit, so each
    # start of ollama.service runs it again); a failure keeps Ollama down.
    systemd.services.ai-model-verify = {
      description = "Verify the model store against the pinned digests";
      after = [ "local-fs.target" ];
      serviceConfig = commonHardening // {
        Type = "oneshot";
        ExecStart = gateway "verify";
        ReadOnlyPaths = [ "-${cfg.models.dir}" ];
        CapabilityBoundingSet = [ "CAP_DAC_READ_SEARCH" ];
        PrivateNetwork = true;
        RestrictAddressFamilies = [ "AF_UNIX" ];
        UMask = "0077";
      };
    };

    systemd.services.ai-model-reverify = {
      description = "Re-verify the model store and stop Ollama on a mismatch";
      serviceConfig = commonHardening // {
        Type = "oneshot";
        ExecStart = reverify;
        ReadOnlyPaths = [ "-${cfg.models.dir}" ];
        CapabilityBoundingSet = [ "CAP_DAC_READ_SEARCH" ];
        PrivateNetwork = true;
        RestrictAddressFamilies = [ "AF_UNIX" ];
        UMask = "0077";
      };
    };
    systemd.timers.ai-model-reverify = {
      description = "Periodic model digest verification";
      wantedBy = [ "timers.target" ];
      timerConfig = {
        OnCalendar = cfg.models.verifySchedule;
        Persistent = true;
      };
    };

    # ---- Audit proxy ------------------------------------------------------------------
    systemd.sockets.ai-audit-proxy = {
      description = "Socket of the AI audit proxy (Nginx only)";
      wantedBy = [ "sockets.target" ];
      listenStreams = [ socketPath ];
      socketConfig = {
        SocketUser = "root";
        SocketGroup = nginxGroup;
        SocketMode = "0660";
      };
    };

    systemd.services.ai-audit-proxy = {
      description = "AI audit proxy: prompt and completion logging between Nginx and Ollama";
      requires = [ "ai-audit-proxy.socket" ];
      after = [
        "ai-audit-proxy.socket"
        "ollama.service"
      ];
      serviceConfig = commonHardening // {
        ExecStart = gateway "proxy";
        User = cfg.auditProxy.user;
        Group = cfg.auditProxy.user;
        ReadWritePaths = [ cfg.audit.dir ];
        CapabilityBoundingSet = "";
        RestrictAddressFamilies = [
          "AF_UNIX"
          "AF_INET"
          "AF_INET6"
        ];
        IPAddressDeny = "any";
        IPAddressAllow = [ "localhost" ];
        UMask = "0027";
        Restart = "on-failure";
        RestartSec = "2s";
        MemoryMax = "1G";
        TasksMax = 256;
      };
    };

    # Only the audit proxy's UID may open connections to the Ollama port on loopback; Nginx
    # reaches the proxy through its socket. Works with or without lan-only-network (its own
    # table; a reject in any table is final).
    networking.nftables.enable = true;
    networking.nftables.tables.ai-services = {
      family = "inet";
      content = ''
        chain output {
          type filter hook output priority filter - 1; policy accept;
          ip daddr 127.0.0.0/8 tcp dport ${toString cfg.ollama.port} meta skuid != ${toString cfg.auditProxy.uid} counter log prefix "ai-ollama-deny: " level info reject with tcp reset
          ip6 daddr ::1 tcp dport ${toString cfg.ollama.port} meta skuid != ${toString cfg.auditProxy.uid} counter log prefix "ai-ollama-deny: " level info reject with tcp reset
        }
      '';
    };

    # ---- Audit log retention and reads ------------------------------------------------
    systemd.services.ai-audit-retention = {
      description = "Delete AI audit logs past their retention";
      serviceConfig = commonHardening // {
        Type = "oneshot";
        ExecStart = gateway "retention";
        User = cfg.auditProxy.user;
        Group = cfg.auditProxy.user;
        ReadWritePaths = [ cfg.audit.dir ];
        CapabilityBoundingSet = "";
        PrivateNetwork = true;
        RestrictAddressFamilies = [ "AF_UNIX" ];
      };
    };
    systemd.timers.ai-audit-retention = {
      description = "Daily retention of the AI audit logs";
      wantedBy = [ "timers.target" ];
      timerConfig = {
        OnCalendar = "daily";
        Persistent = true;
      };
    };

    compliance.auditAndAide.extraAuditRules = [
      "-w ${cfg.audit.dir} -p r -k ai-audit-content-read"
      "-w ${cfg.models.dir} -p wa -k ai-model-store"
    ];

    # ---- Nginx TLS gateway ------------------------------------------------------------
    services.nginx = {
      enable = true;
      serverTokens = false;
      sslProtocols = tlsProtocols;
      sslCiphers = canon.tls.cipherList;
      clientMaxBodySize = cfg.proxy.clientMaxBodySize;
      upstreams.ai_gateway.servers."unix:${socketPath}" = { };
      # commonHttpConfig comes before the virtual hosts, so the log format and zones exist
      # when the server block uses them.
      commonHttpConfig = ''
        ssl_conf_command Ciphersuites ${canon.tls.tls13CipherSuites};
        ssl_prefer_server_ciphers on;
        ssl_session_tickets off;

        limit_req_zone $ssl_client_s_dn zone=ai_req:10m rate=${cfg.proxy.rateLimit.rate};
        limit_conn_zone $ssl_client_s_dn zone=ai_conn:10m;

        log_format ai_gateway escape=json '{"time":"$time_iso8601","client":"$remote_addr",'
          '"identity":"$ssl_client_s_dn","verify":"$ssl_client_verify","request_id":"$request_id",'
          '"method":"$request_method","uri":"$uri","status":"$status","bytes_in":"$request_length",'
          '"bytes_out":"$bytes_sent","request_time":"$request_time","tls":"$ssl_protocol",'
          '"cipher":"$ssl_cipher"}';
      '';
      virtualHosts.${cfg.proxy.serverName} = {
        default = true;
        onlySSL = true;
        listen = [
          {
            addr = canon.network.listenAddress;
            port = cfg.proxy.port;
            ssl = true;
          }
        ];
        sslCertificate = secretPath cfg.proxy.tls.certificateSecretName;
        sslCertificateKey = secretPath cfg.proxy.tls.keySecretName;
        extraConfig = ''
          ssl_verify_client on;
          ssl_client_certificate ${secretPath cfg.proxy.tls.clientCaSecretName};
          ssl_verify_depth 2;

          client_max_body_size ${cfg.proxy.clientMaxBodySize};
          client_body_buffer_size ${cfg.proxy.clientMaxBodySize};
          client_body_timeout 30s;
          client_header_timeout 15s;
          send_timeout 60s;

          limit_req zone=ai_req burst=${toString cfg.proxy.rateLimit.burst} nodelay;
          limit_req_status 429;
          limit_conn ai_conn ${toString cfg.proxy.maxConnectionsPerClient};
          limit_conn_status 429;

          add_header Strict-Transport-Security "max-age=31536000" always;
          add_header X-Content-Type-Options nosniff always;

          access_log syslog:server=unix:/run/systemd/journal/dev-log,tag=ai_gateway,severity=info ai_gateway;
        '';
        locations = {
          "/".return = "404";
          "~ ^/api/(pull|push|create|copy|delete|blobs)".return = "403";
          "~ ^${builtins.elemAt allowedPaths 0}$" = proxyLocation;
          "~ ^${builtins.elemAt allowedPaths 1}$" = proxyLocation;
        };
      };
    };

    systemd.services.nginx = {
      wants = [ "network-online.target" ];
      after = [
        "network-online.target"
        "ai-audit-proxy.socket"
      ];
    };

    # ---- Health -----------------------------------------------------------------------
    systemd.services.ai-health-check = lib.mkIf cfg.health.enable {
      description = "End-to-end health check of Ollama and the TLS gateway";
      after = [
        "ollama.service"
        "nginx.service"
      ];
      serviceConfig = commonHardening // {
        Type = "oneshot";
        ExecStart = "${healthCheck}/bin/ai-health-check";
        User = cfg.auditProxy.user;
        Group = cfg.auditProxy.user;
        CapabilityBoundingSet = "";
        RestrictAddressFamilies = [
          "AF_UNIX"
          "AF_INET"
          "AF_INET6"
        ];
        IPAddressDeny = "any";
        IPAddressAllow = [
          "localhost"
          canon.network.listenAddress
        ];
      };
    };
    systemd.timers.ai-health-check = lib.mkIf cfg.health.enable {
      description = "Periodic health check of the AI services";
      wantedBy = [ "timers.target" ];
      timerConfig = {
        OnBootSec = "5m";
        OnCalendar = cfg.health.schedule;
      };
    };

    environment.etc."compliance/ai-services.json".text = builtins.toJSON {
      ollama = {
        inherit (cfg.ollama) port maxQueue numParallel maxLoadedModels keepAlive;
        host = "127.0.0.1";
        package = cfg.ollama.package.name;
      };
      gateway = {
        inherit (cfg.proxy) serverName port clientMaxBodySize maxConnectionsPerClient;
        inherit (cfg.proxy) rateLimit readTimeoutSec;
        listenAddress = canon.network.listenAddress;
        tlsProtocols = tlsProtocols;
        clientCertificateRequired = true;
        forwardedPaths = allowedPaths;
      };
      models = cfg.models.declared;
      audit = {
        inherit (cfg.audit) dir readerGroup contentRetentionDays metadataRetentionDays;
      };
    };
  };
}
