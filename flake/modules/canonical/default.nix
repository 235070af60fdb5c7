# Canonical, cross-framework values.
#
# Every value that more than one framework constrains (NIST SP 800-53 r5 moderate, DISA
# Anduril NixOS STIG, PCI DSS v4.0, HIPAA Security Rule, HITRUST CSF v11) is declared here
# exactly once, with a literal default that is the strictest of the framework requirements.
# The other compliance modules read `config.compliance.canonical.*` and never redeclare these
# numbers. `vault/registers/resolved-settings.yaml` has one row per option below; its `value`
# must equal the literal default.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types;
  canon = config.compliance.canonical;
in
{
  options.compliance.canonical = {
    password = {
      minLength = mkOption {
        type = types.ints.between 8 128;
        default = 15;
        description = "Minimum password length (pam_pwquality minlen). STIG V-268134 requires 15; PCI DSS 8.3.6 requires 12; the stricter 15 applies.";
      };
      minClasses = mkOption {
        type = types.ints.between 1 4;
        default = 4;
        description = "Number of character classes (upper, lower, digit, other) a new password must contain (STIG V-268126, V-268127, V-268128, V-268145).";
      };
      minDifferentChars = mkOption {
        type = types.ints.unsigned;
        default = 8;
        description = "Characters that must change between the old and the new password (pam_pwquality difok, STIG V-268129).";
      };
      history = mkOption {
        type = types.ints.unsigned;
        default = 24;
        description = "Number of previous passwords that may not be reused (pam_pwhistory remember). PCI DSS 8.3.7 requires at least 4, the GPOS SRG 5.";
      };
      maxAgeDays = mkOption {
        type = types.ints.positive;
        default = 60;
        description = "Maximum password lifetime in days (PASS_MAX_DAYS, chage -M). STIG V-268133 requires 60; PCI DSS 8.3.9 allows 90.";
      };
      minAgeDays = mkOption {
        type = types.ints.unsigned;
        default = 1;
        description = "Minimum password lifetime in days (PASS_MIN_DAYS, chage -m), STIG V-268132.";
      };
      inactiveDays = mkOption {
        type = types.ints.positive;
        default = 35;
        description = "Days after password expiry before the account is disabled (chage -I). STIG requires 35; PCI DSS 8.2.6 allows 90.";
      };
      hashMethod = mkOption {
        type = types.enum [
          "SHA512"
          "YESCRYPT"
        ];
        default = "SHA512";
        description = "Password hashing method (login.defs ENCRYPT_METHOD, pam_unix). SHA-512 crypt uses a FIPS 140-3 approved hash (STIG V-268130, V-268175).";
      };
      dictCheck = mkOption {
        type = types.bool;
        default = true;
        description = "Reject passwords found in the cracklib dictionary (pam_pwquality dictcheck, STIG V-268169).";
      };
    };

    lockout = {
      denyCount = mkOption {
        type = types.ints.positive;
        default = 3;
        description = "Consecutive failed logons before the account is locked (pam_faillock deny). STIG V-268081 requires 3; PCI DSS 8.3.4 allows 10.";
      };
      failIntervalSec = mkOption {
        type = types.ints.positive;
        default = 900;
        description = "Window in seconds in which failed logons are counted (pam_faillock fail_interval, STIG V-268081).";
      };
      unlockTimeSec = mkOption {
        type = types.ints.unsigned;
        default = 0;
        description = "Seconds until a locked account unlocks by itself; 0 means only an administrator unlocks it (pam_faillock unlock_time, STIG V-268081). PCI DSS 8.3.4 needs at least 30 minutes.";
      };
      failDelaySec = mkOption {
        type = types.ints.unsigned;
        default = 4;
        description = "Delay in seconds after a failed logon attempt (login.defs FAIL_DELAY, pam_faildelay), STIG V-268171.";
      };
    };

    session = {
      sshClientAliveIntervalSec = mkOption {
        type = types.ints.positive;
        default = 600;
        description = "sshd ClientAliveInterval: idle SSH sessions are probed after this many seconds (STIG V-268142; PCI DSS 8.2.8 requires 15 minutes or less).";
      };
      sshClientAliveCountMax = mkOption {
        type = types.ints.unsigned;
        default = 1;
        description = "sshd ClientAliveCountMax: unanswered probes before the SSH connection is dropped (STIG V-268143).";
      };
      shellTimeoutSec = mkOption {
        type = types.ints.positive;
        default = 600;
        description = "TMOUT for interactive shells, read-only, so idle sessions terminate after 10 minutes (NIST AC-12, PCI DSS 8.2.8, HIPAA automatic logoff).";
      };
      maxLoginsPerUser = mkOption {
        type = types.ints.positive;
        default = 10;
        description = "Concurrent sessions per account (pam_limits maxlogins, STIG V-268085).";
      };
      sudoTimestampTimeoutMin = mkOption {
        type = types.ints.unsigned;
        default = 0;
        description = "sudo timestamp_timeout in minutes; 0 forces re-authentication for every privileged command (STIG V-268155, NIST IA-11).";
      };
    };

    logRetention = {
      journaldMaxRetention = mkOption {
        type = types.str;
        default = "1year";
        description = "journald MaxRetentionSec. PCI DSS 10.5.1 requires 12 months of audit history.";
      };
      journaldSystemMaxUse = mkOption {
        type = types.str;
        default = "8G";
        description = "journald SystemMaxUse: disk budget of the persistent journal (NIST AU-4). Spread over the one-year journaldMaxRetention, 8 GiB is 8192 MiB / 365 days = about 22 MiB of stored (compressed) journal per day; the host's daily journal volume has not been measured, so whether a whole year fits is not known. When the budget is full journald deletes the oldest files first, so this is an upper bound and the twelve months rest on the log backups.";
      };
      auditMaxLogFileMB = mkOption {
        type = types.ints.positive;
        default = 100;
        description = "auditd max_log_file in MiB before rotation.";
      };
      auditNumLogs = mkOption {
        type = types.ints.between 2 999;
        default = 50;
        description = "auditd num_logs: rotated audit logs kept on the host (50 x 100 MiB) before the oldest is removed.";
      };
      auditSpaceLeft = mkOption {
        type = types.strMatching "[0-9]+%";
        default = "25%";
        description = "auditd space_left: act when free space on the audit volume drops below 25 % (STIG V-268103). audit-and-aide sets space_left_action = SYSLOG, which logs the event but notifies nobody, so STIG V-268101 (notify the SA and ISSO at 75 % usage) stays an open finding.";
      };
      auditAdminSpaceLeft = mkOption {
        type = types.strMatching "[0-9]+%";
        default = "10%";
        description = "auditd admin_space_left: last-chance threshold at 10 % free (STIG V-268104). audit-and-aide sets admin_space_left_action = SYSLOG, which logs the event but notifies nobody, so STIG V-268102 (notify the SA and ISSO at 90 % usage) stays an open finding; this value only places its threshold.";
      };
      auditDiskFullAction = mkOption {
        type = types.enum [
          "HALT"
          "SINGLE"
          "SYSLOG"
        ];
        default = "HALT";
        description = "auditd disk_full_action: stop the system rather than run without an audit trail (STIG V-268105, NIST AU-5).";
      };
    };

    tls = {
      minProtocol = mkOption {
        type = types.enum [
          "TLSv1.2"
          "TLSv1.3"
        ];
        default = "TLSv1.2";
        description = "Lowest TLS version any listener may negotiate (NIST SP 800-52r2, PCI DSS 4.2.1).";
      };
      cipherList = mkOption {
        type = types.str;
        default = "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256";
        description = "OpenSSL cipher list for TLS 1.2: forward-secret AEAD suites approved by NIST SP 800-52r2.";
      };
      tls13CipherSuites = mkOption {
        type = types.str;
        default = "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256";
        description = "OpenSSL TLS 1.3 cipher suites: the AES-GCM suites (FIPS-approved), excluding ChaCha20-Poly1305.";
      };
    };

    ssh = {
      ciphers = mkOption {
        type = types.listOf types.str;
        default = [
          "aes256-ctr"
          "aes192-ctr"
          "aes128-ctr"
        ];
        description = "sshd Ciphers: the FIPS 140-3 approved ciphers required by STIG V-268089.";
      };
      macs = mkOption {
        type = types.listOf types.str;
        default = [
          "hmac-sha2-512"
          "hmac-sha2-256"
        ];
        description = "sshd MACs: the FIPS 140-3 approved MACs required by STIG V-268157.";
      };
      kexAlgorithms = mkOption {
        type = types.listOf types.str;
        default = [
          "ecdh-sha2-nistp521"
          "ecdh-sha2-nistp384"
          "ecdh-sha2-nistp256"
          "diffie-hellman-group-exchange-sha256"
        ];
        description = "sshd KexAlgorithms restricted to FIPS-approved key exchanges (NIST SC-13, AC-17(2)).";
      };
      maxAuthTries = mkOption {
        type = types.ints.positive;
        default = 3;
        description = "sshd MaxAuthTries per connection, aligned with the lockout deny count.";
      };
      loginGraceTimeSec = mkOption {
        type = types.ints.positive;
        default = 60;
        description = "sshd LoginGraceTime: seconds an unauthenticated connection may stay open.";
      };
      permitRootLogin = mkOption {
        type = types.enum [
          "no"
          "prohibit-password"
        ];
        default = "no";
        description = "sshd PermitRootLogin: root never logs in directly (STIG V-268137).";
      };
      logLevel = mkOption {
        type = types.enum [
          "INFO"
          "VERBOSE"
        ];
        default = "VERBOSE";
        description = "sshd LogLevel: VERBOSE records key fingerprints of every login (STIG V-268088).";
      };
    };

    kernel = {
      sysctl = mkOption {
        type = types.attrsOf (
          types.oneOf [
            types.int
            types.str
          ]
        );
        default = {
          "kernel.kptr_restrict" = 1;
          "kernel.randomize_va_space" = 2;
          "kernel.dmesg_restrict" = 1;
          "kernel.kexec_load_disabled" = 1;
          "kernel.sysrq" = 0;
          "kernel.yama.ptrace_scope" = 1;
          "kernel.unprivileged_bpf_disabled" = 1;
          "kernel.perf_event_paranoid" = 2;
          "net.core.bpf_jit_harden" = 2;
          "dev.tty.ldisc_autoload" = 0;
          "fs.protected_hardlinks" = 1;
          "fs.protected_symlinks" = 1;
          "fs.protected_fifos" = 2;
          "fs.protected_regular" = 2;
          "fs.suid_dumpable" = 0;
          "vm.mmap_min_addr" = 65536;
          "net.ipv4.tcp_syncookies" = 1;
          "net.ipv4.ip_forward" = 0;
          "net.ipv4.conf.all.accept_redirects" = 0;
          "net.ipv4.conf.default.accept_redirects" = 0;
          "net.ipv4.conf.all.secure_redirects" = 0;
          "net.ipv4.conf.default.secure_redirects" = 0;
          "net.ipv4.conf.all.send_redirects" = 0;
          "net.ipv4.conf.default.send_redirects" = 0;
          "net.ipv4.conf.all.accept_source_route" = 0;
          "net.ipv4.conf.default.accept_source_route" = 0;
          "net.ipv4.conf.all.log_martians" = 1;
          "net.ipv4.icmp_echo_ignore_broadcasts" = 1;
          "net.ipv4.icmp_ignore_bogus_error_responses" = 1;
          "net.ipv6.conf.all.accept_redirects" = 0;
          "net.ipv6.conf.default.accept_redirects" = 0;
          "net.ipv6.conf.all.accept_source_route" = 0;
          "net.ipv6.conf.default.accept_source_route" = 0;
          "net.ipv6.conf.all.accept_ra" = 0;
          "net.ipv6.conf.default.accept_ra" = 0;
        };
        description = "Kernel hardening sysctls (STIG V-268141, V-268160, V-268161; NIST SC-39, SI-16, CM-6).";
      };
    };

    network = {
      lanCidr = mkOption {
        type = types.str;
        default = "10.20.0.0/24";
        description = "The only IPv4 network the server talks to. Listeners accept connections from it and egress is limited to it.";
      };
      listenAddress = mkOption {
        type = types.str;
        default = "10.20.0.10";
        description = "The server's LAN address; network services bind to it instead of the wildcard address.";
      };
      allowedTcpPorts = mkOption {
        type = types.listOf types.port;
        default = [
          22
          443
        ];
        description = "TCP ports reachable from the LAN: SSH administration and the TLS inference gateway. Everything else is dropped.";
      };
      allowedUdpPorts = mkOption {
        type = types.listOf types.port;
        default = [ ];
        description = "UDP ports reachable from the LAN. None: the server serves no UDP protocol.";
      };
    };

    timeSync = {
      servers = mkOption {
        type = types.listOf types.str;
        default = [ "10.20.0.1" ];
        description = "Authoritative LAN time servers (STIG V-268149, PCI DSS 10.6.2).";
      };
      maxPollSec = mkOption {
        type = types.ints.positive;
        default = 60;
        description = "Longest interval in seconds between clock comparisons with the time server (STIG V-268150).";
      };
    };

    banner = {
      text = mkOption {
        type = types.str;
        default = "NOTICE: This is a restricted information system, provided for authorized use only.\nBy using this system you consent to the following conditions:\n- All activity on this system is monitored, recorded and audited; users have no expectation of privacy.\n- Data stored on or passing through this system, including regulated health (ePHI) and payment card data, may be inspected and disclosed to authorized investigators.\n- Unauthorized access or use is prohibited and may lead to disciplinary action and civil and criminal penalties.\nDisconnect now if you are not an authorized user.\n";
        description = "System use notification shown before every logon, console and SSH (NIST AC-8; STIG V-268082, V-268083).";
      };
    };

    aide = {
      checkSchedule = mkOption {
        type = types.str;
        default = "*-*-* 04:15:00";
        description = "systemd OnCalendar expression of the AIDE integrity check: daily, stricter than the weekly minimum of PCI DSS 11.5.2.";
      };
    };

    evidence = {
      dir = mkOption {
        type = types.str;
        default = "/var/lib/compliance/evidence";
        description = "Directory that receives sealed evidence snapshots and access reviews.";
      };
      retentionDays = mkOption {
        type = types.ints.positive;
        default = 2190;
        description = "Days evidence is kept: six years, the HIPAA documentation retention of 45 CFR 164.316(b)(2)(i), longer than PCI DSS 10.5.1's one year.";
      };
      snapshotSchedule = mkOption {
        type = types.str;
        default = "daily";
        description = "systemd OnCalendar expression of the sealed evidence snapshot.";
      };
      accessReviewSchedule = mkOption {
        type = types.str;
        default = "monthly";
        description = "systemd OnCalendar expression of the account access review (PCI DSS 7.2.4 requires at least every six months).";
      };
    };
  };

  config = {
    # The resolved values, as evaluated, for auditors and for the evidence snapshots.
    environment.etc."compliance/canonical.json".text = builtins.toJSON canon;
  };
}
