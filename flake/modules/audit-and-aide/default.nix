# Audit and integrity: auditd with STIG rules written for NixOS paths, journald retention,
# AIDE file-integrity checks on a timer, and sealed evidence snapshots (sha256 manifest signed
# with an ed25519 key that sops-nix provides).
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types;
  cfg = config.compliance.auditAndAide;
  canon = config.compliance.canonical;
  secretsEnabled = config.compliance.secrets.enable;
  evidenceDir = canon.evidence.dir;

  both = rule: [
    "-a always,exit -F arch=b64 ${rule}"
    "-a always,exit -F arch=b32 ${rule}"
  ];
  userAction = "-F auid>=1000 -F auid!=unset";

  # STIG audit rules (V-268091, V-268094..V-268100, V-268119, V-268163..V-268167) with the
  # paths a NixOS system actually has: setuid programs live in /run/wrappers/bin and the
  # system profile in /run/current-system/sw/bin.
  auditRules =
    [ "--loginuid-immutable" ]
    # Execution of privileged functions.
    ++ both "-S execve -C uid!=euid -F euid=0 -k execpriv"
    ++ both "-S execve -C gid!=egid -F egid=0 -k execpriv"
    # Mounts, deletions, kernel modules.
    ++ both "-S mount ${userAction} -k privileged-mount"
    ++ both "-S rename,unlink,rmdir,renameat,unlinkat ${userAction} -k delete"
    ++ both "-S init_module,finit_module,delete_module ${userAction} -k module_chng"
    # Unsuccessful access to files.
    ++ both "-S open,creat,truncate,ftruncate,openat,open_by_handle_at -F exit=-EACCES ${userAction} -k access"
    ++ both "-S open,creat,truncate,ftruncate,openat,open_by_handle_at -F exit=-EPERM ${userAction} -k access"
    # Permission and ownership changes.
    ++ both "-S chown,fchown,lchown,fchownat ${userAction} -k perm_mod"
    ++ both "-S chmod,fchmod,fchmodat ${userAction} -k perm_mod"
    ++ both "-S setxattr,fsetxattr,lsetxattr,removexattr,fremovexattr,lremovexattr ${userAction} -k perm_mod"
    # Privileged commands.
    ++ map (p: "-a always,exit -F path=${p} -F perm=x ${userAction} -k privileged") [
      "/run/wrappers/bin/sudo"
      "/run/wrappers/bin/su"
      "/run/wrappers/bin/passwd"
      "/run/current-system/sw/bin/usermod"
      "/run/current-system/sw/bin/chage"
      "/run/current-system/sw/bin/chcon"
    ]
    # Account databases, logons, configuration generations, secrets and evidence.
    ++ [
      "-w /etc/passwd -p wa -k identity"
      "-w /etc/group -p wa -k identity"
      "-w /etc/shadow -p wa -k identity"
      "-w /etc/security/opasswd -p wa -k identity"
      "-w /etc/sudoers -p wa -k identity"
      "-w /var/log/lastlog -p wa -k logins"
      "-w /var/log/faillock -p wa -k logins"
      "-w /nix/var/nix/profiles -p wa -k nixos-generation"
      "-w /var/lib/sops-nix -p rwa -k secrets"
      "-w ${evidenceDir} -p wa -k evidence"
    ]
    ++ cfg.extraAuditRules;

  aideConf = pkgs.writeText "aide.conf" ''
    database_in=file:/var/lib/aide/aide.db.gz
    database_out=file:/var/lib/aide/aide.db.new.gz
    gzip_dbout=yes
    report_url=stdout

    COMPLIANCE = p+i+n+u+g+s+m+c+l+sha512

    ${lib.concatMapStrings (p: "${p} COMPLIANCE\n") cfg.aide.paths}
    ${lib.concatMapStrings (e: "!${e}\n") cfg.aide.excludes}
  '';

  aideCmd = "${pkgs.aide}/bin/aide --config=/etc/aide/aide.conf";

  aideInit = pkgs.writeShellApplication {
    name = "compliance-aide-init";
    runtimeInputs = [ pkgs.coreutils ];
    text = ''
      ${aideCmd} --init
      mv -f /var/lib/aide/aide.db.new.gz /var/lib/aide/aide.db.gz
      chmod 0600 /var/lib/aide/aide.db.gz
    '';
  };

  aideCheck = pkgs.writeShellApplication {
    name = "compliance-aide-check";
    runtimeInputs = [
      pkgs.coreutils
      pkgs.util-linux
    ];
    text = ''
      stamp="$(date -u +%Y%m%dT%H%M%SZ)"
      report="/var/log/aide/aide-check-$stamp.log"
      rc=0
      ${aideCmd} --check > "$report" 2>&1 || rc=$?
      chmod 0400 "$report"
      cat "$report"
      if [ "$rc" -eq 0 ]; then
        echo "AIDE: no differences"
        exit 0
      fi
      if [ "$rc" -lt 8 ]; then
        logger -p auth.alert -t aide-check "AIDE detected file changes (rc=$rc), report $report"
        exit 1
      fi
      logger -p auth.alert -t aide-check "AIDE failed (rc=$rc), report $report"
      exit "$rc"
    '';
  };

  aideRebaseline = pkgs.writeShellApplication {
    name = "compliance-aide-rebaseline";
    runtimeInputs = [
      pkgs.coreutils
      pkgs.util-linux
    ];
    text = ''
      # Accept the current state after an approved change (for example a nixos-rebuild).
      rc=0
      ${aideCmd} --update > /dev/null 2>&1 || rc=$?
      if [ "$rc" -ge 8 ]; then
        echo "aide --update failed with $rc" >&2
        exit "$rc"
      fi
      mv -f /var/lib/aide/aide.db.new.gz /var/lib/aide/aide.db.gz
      chmod 0600 /var/lib/aide/aide.db.gz
      logger -p auth.notice -t aide-rebaseline "AIDE baseline replaced by $(id -un)"
    '';
  };

  snapshot = pkgs.writeShellApplication {
    name = "compliance-evidence-snapshot";
    runtimeInputs = [
      pkgs.coreutils
      pkgs.findutils
      pkgs.gnugrep
      pkgs.openssh
      pkgs.audit
      pkgs.nftables
      pkgs.procps
      pkgs.e2fsprogs
      pkgs.nettools
      pkgs.util-linux
      config.systemd.package
    ];
    text = ''
      base=${lib.escapeShellArg "${evidenceDir}/snapshots"}
      key=${lib.escapeShellArg (if cfg.evidence.signingKeyFile == null then "" else cfg.evidence.signingKeyFile)}
      stamp="$(date -u +%Y%m%dT%H%M%SZ)"
      dir="$base/$stamp"
      install -d -m 0700 "$base" "$dir"
      cd "$dir"

      latest() {
        find "$1" -maxdepth 1 -type f -printf '%T@ %p\n' 2>/dev/null | sort -n | tail -n 1 | cut -d' ' -f2-
      }

      {
        echo "host: $(hostname)"
        echo "taken: $stamp"
        echo "nixos-version: $(cat /run/current-system/nixos-version 2>/dev/null || echo unknown)"
        echo "current-system: $(readlink -f /run/current-system)"
        echo "booted-system: $(readlink -f /run/booted-system)"
        echo "kernel: $(uname -r)"
      } > system.txt

      for f in canonical.json meta.json boot-policy.json; do
        if [ -e "/etc/compliance/$f" ]; then cp "/etc/compliance/$f" "$f"; fi
      done

      auditctl -s > audit-status.txt 2>&1 || true
      auditctl -l > audit-rules.txt 2>&1 || true
      nft list ruleset > nftables.txt 2>&1 || true
      if [ -x ${lib.escapeShellArg "${config.services.openssh.package}/bin/sshd"} ]; then
        ${config.services.openssh.package}/bin/sshd -T > sshd-effective.txt 2>&1 || true
      fi
      sysctl -a 2> /dev/null | grep -E '^(kernel|net|fs|vm|dev)\.' > sysctl.txt || true
      systemctl --failed --no-legend --plain > failed-units.txt 2>&1 || true

      for src in /var/log/aide ${lib.escapeShellArg "${evidenceDir}/access-review"} ${lib.escapeShellArg "${evidenceDir}/secrets"}; do
        last="$(latest "$src")"
        if [ -n "$last" ]; then cp "$last" "latest-$(basename "$src")-$(basename "$last")"; fi
      done

      find . -maxdepth 1 -type f ! -name 'MANIFEST*' -printf '%P\0' | sort -z | xargs -0 sha256sum > MANIFEST.sha256

      if [ -n "$key" ] && [ -r "$key" ]; then
        ssh-keygen -q -Y sign -f "$key" -n ${lib.escapeShellArg cfg.evidence.signingNamespace} MANIFEST.sha256
      else
        echo "unsigned: no evidence signing key is configured" > MANIFEST.UNSIGNED
        logger -p auth.warning -t compliance-evidence "snapshot $stamp is not signed"
      fi

      chmod 0400 ./*
      chattr +i ./* 2> /dev/null || true
      chmod 0500 "$dir"

      # Retention: remove snapshots older than the canonical evidence retention.
      find "$base" -mindepth 1 -maxdepth 1 -type d -mtime +${toString canon.evidence.retentionDays} -print0 |
        while IFS= read -r -d "" old; do
          chattr -R -i "$old" 2> /dev/null || true
          chmod -R u+w "$old"
          rm -rf -- "$old"
        done

      echo "evidence snapshot written to $dir"
    '';
  };

  verify = pkgs.writeShellApplication {
    name = "compliance-evidence-verify";
    runtimeInputs = [
      pkgs.coreutils
      pkgs.openssh
    ];
    text = ''
      # Usage: compliance-evidence-verify SNAPSHOT_DIR TRUSTED_PUBLIC_KEY
      dir="$1"
      pub="$2"
      cd "$dir"
      sha256sum --strict --check MANIFEST.sha256
      principal="evidence"
      allowed="$(mktemp)"
      trap 'rm -f "$allowed"' EXIT
      printf '%s namespaces="%s" %s\n' "$principal" ${lib.escapeShellArg cfg.evidence.signingNamespace} "$(cut -d' ' -f1,2 "$pub")" > "$allowed"
      ssh-keygen -Y verify -f "$allowed" -I "$principal" -n ${lib.escapeShellArg cfg.evidence.signingNamespace} \
        -s MANIFEST.sha256.sig < MANIFEST.sha256
    '';
  };
in
{
  imports = [
    ../canonical
    ../secrets
  ];

  options.compliance.auditAndAide = {
    enable = lib.mkEnableOption "auditd, journald retention, AIDE and sealed evidence snapshots";

    immutableRules = mkOption {
      type = types.bool;
      default = true;
      description = "Lock the audit configuration (auditctl -e 2) until reboot.";
    };

    extraAuditRules = mkOption {
      type = types.listOf types.str;
      default = [ ];
      description = "Additional auditctl rules appended after the baseline.";
    };

    aide = {
      paths = mkOption {
        type = types.listOf types.str;
        default = [
          "/boot"
          "/etc"
          "/root/.ssh"
          "/var/lib/sops-nix"
          "/nix/var/nix/profiles"
        ];
        description = "Path expressions AIDE records and checks.";
      };
      excludes = mkOption {
        type = types.listOf types.str;
        default = [
          "/etc/mtab$"
          "/etc/resolv\\.conf$"
          "/etc/adjtime$"
          "/etc/\\.clean$"
          "/etc/\\.updated$"
        ];
        description = "Regular expressions AIDE ignores (volatile files).";
      };
      schedule = mkOption {
        type = types.str;
        default = canon.aide.checkSchedule;
        defaultText = lib.literalExpression "config.compliance.canonical.aide.checkSchedule";
        description = "systemd OnCalendar expression of the integrity check.";
      };
    };

    evidence = {
      enable = mkOption {
        type = types.bool;
        default = true;
        description = "Take sealed evidence snapshots on a timer.";
      };
      signingKeyFile = mkOption {
        type = types.nullOr types.str;
        default = if secretsEnabled then config.sops.secrets."evidence-signing-key".path else null;
        defaultText = lib.literalExpression ''config.sops.secrets."evidence-signing-key".path when compliance.secrets is enabled'';
        description = "OpenSSH ed25519 private key that signs each snapshot manifest (ssh-keygen -Y sign).";
      };
      signingNamespace = mkOption {
        type = types.str;
        default = "compliance-evidence";
        description = "ssh-keygen signature namespace of evidence manifests.";
      };
      schedule = mkOption {
        type = types.str;
        default = canon.evidence.snapshotSchedule;
        defaultText = lib.literalExpression "config.compliance.canonical.evidence.snapshotSchedule";
        description = "systemd OnCalendar expression of the evidence snapshot.";
      };
    };
  };

  config = lib.mkIf cfg.enable {
    # ---- auditd -------------------------------------------------------------------------
    security.auditd.enable = true;
    security.auditd.settings = {
      log_format = "ENRICHED";
      log_group = "root";
      flush = "INCREMENTAL_ASYNC";
      freq = 50;
      max_log_file = canon.logRetention.auditMaxLogFileMB;
      num_logs = canon.logRetention.auditNumLogs;
      max_log_file_action = "ROTATE";
      space_left = canon.logRetention.auditSpaceLeft;
      space_left_action = "SYSLOG";
      admin_space_left = canon.logRetention.auditAdminSpaceLeft;
      admin_space_left_action = "SYSLOG";
      disk_full_action = canon.logRetention.auditDiskFullAction;
      disk_error_action = "HALT";
    };

    # Audit log directory mode 0700 (STIG V-268113). The upstream auditd unit creates
    # /var/log/audit through `LogsDirectory = "audit"` without a mode, so systemd makes it
    # 0755. systemd applies the LogsDirectory mode every time the unit starts, also to a
    # directory that already exists, so a tmpfiles rule or an activation-script chmod would
    # be undone at the next start of auditd; setting the unit's own mode is what sticks.
    systemd.services.auditd.serviceConfig.LogsDirectoryMode = "0700";

    security.audit = {
      enable = if cfg.immutableRules then "lock" else true;
      failureMode = "printk";
      backlogLimit = 8192;
      rules = auditRules;
    };

    # Audit processes started before auditd, with a backlog large enough for boot.
    boot.kernelParams = [
      "audit=1"
      "audit_backlog_limit=8192"
    ];

    # Directories the audit watches need before the rules are loaded early in boot.
    system.activationScripts.complianceAuditDirs = ''
      ${pkgs.coreutils}/bin/install -d -m 0700 ${lib.escapeShellArg evidenceDir} /var/lib/sops-nix /var/log/faillock /var/log/aide /var/lib/aide
      for f in /etc/security/opasswd /var/log/lastlog; do
        if [ ! -e "$f" ]; then
          ${pkgs.coreutils}/bin/install -D -m 0600 /dev/null "$f"
        fi
      done
    '';

    # ---- journald -----------------------------------------------------------------------
    # `services.journald.extraConfig` is the option on the pinned nixos-26.05. nixpkgs
    # master (the future 26.11) removes it in favour of `services.journald.settings.Journal`
    # and fails evaluation on any definition of it; the migration is planned in the vault note
    # "Option renames across NixOS releases".
    services.journald.extraConfig = ''
      Compress=yes
      Seal=yes
      SystemMaxUse=${canon.logRetention.journaldSystemMaxUse}
      MaxRetentionSec=${canon.logRetention.journaldMaxRetention}
      MaxFileSec=1month
    '';

    # ---- AIDE ---------------------------------------------------------------------------
    environment.etc."aide/aide.conf" = {
      source = aideConf;
      mode = "0400";
    };

    environment.systemPackages = [
      pkgs.aide
      aideCheck
      aideRebaseline
      snapshot
      verify
    ];

    systemd.services.aide-init = {
      description = "Initialise the AIDE database";
      wantedBy = [ "multi-user.target" ];
      after = [
        "local-fs.target"
        "systemd-tmpfiles-setup.service"
      ];
      unitConfig.ConditionPathExists = "!/var/lib/aide/aide.db.gz";
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        ExecStart = "${aideInit}/bin/compliance-aide-init";
        Nice = 19;
        IOSchedulingClass = "idle";
        UMask = "0077";
      };
    };

    systemd.services.aide-check = {
      description = "AIDE file integrity check";
      after = [ "aide-init.service" ];
      unitConfig.ConditionPathExists = "/var/lib/aide/aide.db.gz";
      serviceConfig = {
        Type = "oneshot";
        ExecStart = "${aideCheck}/bin/compliance-aide-check";
        Nice = 19;
        IOSchedulingClass = "idle";
        UMask = "0077";
      };
    };

    systemd.timers.aide-check = {
      description = "Scheduled AIDE file integrity check";
      wantedBy = [ "timers.target" ];
      timerConfig = {
        OnCalendar = cfg.aide.schedule;
        Persistent = true;
        RandomizedDelaySec = "30m";
      };
    };

    systemd.services.aide-rebaseline = {
      description = "Accept the current file system state as the AIDE baseline";
      serviceConfig = {
        Type = "oneshot";
        ExecStart = "${aideRebaseline}/bin/compliance-aide-rebaseline";
        UMask = "0077";
      };
    };

    # ---- Evidence -----------------------------------------------------------------------
    compliance.secrets.managed = lib.mkIf (secretsEnabled && cfg.evidence.enable) {
      "evidence-signing-key" = {
        description = "OpenSSH ed25519 key that signs evidence manifests";
        mode = "0400";
      };
    };

    systemd.services.compliance-evidence-snapshot = lib.mkIf cfg.evidence.enable {
      description = "Take a sealed compliance evidence snapshot";
      after = [
        "auditd.service"
        "aide-init.service"
      ];
      serviceConfig = {
        Type = "oneshot";
        ExecStart = "${snapshot}/bin/compliance-evidence-snapshot";
        UMask = "0077";
        PrivateTmp = true;
      };
    };

    systemd.timers.compliance-evidence-snapshot = lib.mkIf cfg.evidence.enable {
      description = "Scheduled compliance evidence snapshot";
      wantedBy = [ "timers.target" ];
      timerConfig = {
        OnCalendar = cfg.evidence.schedule;
        Persistent = true;
        RandomizedDelaySec = "30m";
      };
    };
  };
}
