# Audit logging: auditd runs with locked rules, the STIG rules are loaded, a change to an
# account database and a privileged execution are recorded and found with ausearch, the audit
# log directory is 0700 and its log 0600, and auditd and journald are configured with the
# canonical retention settings.
{ pkgs, complianceLib, ... }:
complianceLib.mkComplianceTest {
  name = "audit-logging";
  controls = [
    "eu-ai-act/Art. 19"
    "eu-ai-act/Art. 26"
    "nist-800-53/AU-2"
    "nist-800-53/AU-3"
    "nist-800-53/AU-4"
    "nist-800-53/AU-5"
    "nist-800-53/AU-9"
    "nist-800-53/AU-11"
    "nist-800-53/AU-12"
    "nist-800-53/AC-6(9)"
    "nist-800-53/AC-2(4)"
    "nist-800-53/AU-3(1)"
    "nist-800-53/AU-7"
    "nist-800-53/AU-7(1)"
    "nist-800-53/AU-9(4)"
    "nist-800-53/CM-8(1)"
    "nist-800-53/SI-4"
    "nist-800-53/SI-12"
    "disa-stig/V-268080"
    "disa-stig/V-268090"
    "disa-stig/V-268091"
    "disa-stig/V-268092"
    "disa-stig/V-268093"
    "disa-stig/V-268094"
    "disa-stig/V-268095"
    "disa-stig/V-268096"
    "disa-stig/V-268097"
    "disa-stig/V-268098"
    "disa-stig/V-268099"
    "disa-stig/V-268100"
    "disa-stig/V-268101"
    "disa-stig/V-268102"
    "disa-stig/V-268103"
    "disa-stig/V-268104"
    "disa-stig/V-268105"
    "disa-stig/V-268106"
    "disa-stig/V-268110"
    "disa-stig/V-268111"
    "disa-stig/V-268112"
    "disa-stig/V-268113"
    "disa-stig/V-268114"
    "disa-stig/V-268119"
    "disa-stig/V-268148"
    "disa-stig/V-268163"
    "disa-stig/V-268164"
    "disa-stig/V-268165"
    "disa-stig/V-268166"
    "disa-stig/V-268167"
    "pci-dss/10.2.1"
    "pci-dss/10.2.1.2"
    "pci-dss/10.2.1.3"
    "pci-dss/10.2.1.5"
    "pci-dss/10.2.1.6"
    "pci-dss/10.2.1.7"
    "pci-dss/10.2.2"
    "pci-dss/10.3.1"
    "pci-dss/10.3.2"
    "pci-dss/10.5.1"
    "pci-dss/10.7.2"
    "hipaa/§164.312(b)"
    "hitrust/09.aa"
    "hitrust/09.ac"
    "hitrust/09.ab"
    "hitrust/09.ad"
  ];

  nodes.machine = {
    imports = [ ../modules/audit-and-aide ];
    compliance.auditAndAide.enable = true;
    users.users.alice = {
      isNormalUser = true;
      extraGroups = [ "wheel" ];
    };
  };

  testScript =
    { nodes, ... }:
    let
      canon = nodes.machine.compliance.canonical;
      auditdConf = [
        "disk_full_action = ${canon.logRetention.auditDiskFullAction}"
        "space_left = ${canon.logRetention.auditSpaceLeft}"
        "admin_space_left = ${canon.logRetention.auditAdminSpaceLeft}"
        "max_log_file = ${toString canon.logRetention.auditMaxLogFileMB}"
        "num_logs = ${toString canon.logRetention.auditNumLogs}"
        "max_log_file_action = ROTATE"
        "log_group = root"
        "disk_error_action = HALT"
        "space_left_action = SYSLOG"
        "admin_space_left_action = SYSLOG"
      ];
    in
    ''
      import json

      machine.wait_for_unit("auditd.service")

      with subtest("the kernel audits from boot and the rules are locked",
                   controls=["nist-800-53/AU-3", "nist-800-53/AU-9", "nist-800-53/AU-12",
                             "nist-800-53/SI-4", "disa-stig/V-268080", "disa-stig/V-268092",
                             "disa-stig/V-268093", "disa-stig/V-268119", "pci-dss/10.2.1",
                             "pci-dss/10.2.1.6", "pci-dss/10.2.2", "hipaa/§164.312(b)",
                             "hitrust/09.aa", "hitrust/09.ac"]):
          machine.succeed("grep -qw 'audit=1' /proc/cmdline")
          machine.succeed("grep -qw 'audit_backlog_limit=8192' /proc/cmdline")
          machine.wait_until_succeeds("auditctl -s | grep -qx 'enabled 2'")
          status = machine.succeed("auditctl -s")
          assert "loginuid_immutable 1 locked" in status, status
          machine.wait_until_succeeds("ausearch -m DAEMON_START")

      with subtest("the STIG rule set is loaded",
                   controls=["nist-800-53/AU-2", "nist-800-53/AU-9", "nist-800-53/AC-6(9)",
                             "nist-800-53/AC-2(4)", "nist-800-53/AU-7", "nist-800-53/CM-8(1)",
                             "disa-stig/V-268094", "disa-stig/V-268095", "disa-stig/V-268096",
                             "disa-stig/V-268097", "disa-stig/V-268098", "disa-stig/V-268099",
                             "disa-stig/V-268100", "disa-stig/V-268163", "disa-stig/V-268164",
                             "disa-stig/V-268165", "disa-stig/V-268166", "pci-dss/10.2.1.5",
                             "pci-dss/10.2.1.7", "pci-dss/10.3.2", "hipaa/§164.312(b)",
                             "hitrust/09.aa", "hitrust/09.ac", "hitrust/09.ab", "hitrust/09.ad"]):
          rules = machine.succeed("auditctl -l")
          for key in ["execpriv", "identity", "perm_mod", "privileged-mount", "delete",
                      "module_chng", "access", "logins", "privileged", "nixos-generation"]:
              assert f"key={key}" in rules or f"-k {key}" in rules, f"no audit rule with key {key}"
          for needle in ["mount", "rename", "unlinkat", "init_module", "delete_module", "chown",
                         "chmod", "setxattr", "removexattr", "open_by_handle_at", "exit=-EACCES",
                         "exit=-EPERM", "/run/wrappers/bin/sudo", "/run/current-system/sw/bin/usermod",
                         "/run/current-system/sw/bin/chage", "/etc/security/opasswd", "/var/log/lastlog"]:
              assert needle in rules, f"no audit rule covers {needle}"
          machine.fail("auditctl -D")
          machine.fail("systemctl cat cron.service")

      with subtest("a change to the account database is recorded",
                   controls=["nist-800-53/AC-2(4)", "nist-800-53/AU-7(1)", "disa-stig/V-268090",
                             "disa-stig/V-268167", "pci-dss/10.2.1.5", "hipaa/§164.312(b)",
                             "hitrust/09.aa"]):
          machine.succeed("touch /etc/shadow")
          machine.wait_until_succeeds("ausearch -i -k identity | grep -F /etc/shadow")

      with subtest("execution with elevated privileges is recorded",
                   controls=["nist-800-53/AC-6(9)", "nist-800-53/AU-7(1)", "disa-stig/V-268090",
                             "disa-stig/V-268091", "disa-stig/V-268148", "pci-dss/10.2.1.2",
                             "pci-dss/10.2.1.3", "hipaa/§164.312(b)", "hitrust/09.aa",
                             "hitrust/09.ad"]):
          machine.succeed("su alice -c 'sudo -n true' || true")
          machine.wait_until_succeeds("ausearch -i -k execpriv | grep -F sudo")

      with subtest("auditd keeps and protects its logs as configured",
                   controls=["nist-800-53/AU-4", "nist-800-53/AU-5", "nist-800-53/AU-9",
                             "nist-800-53/AU-3(1)", "nist-800-53/AU-9(4)", "disa-stig/V-268101",
                             "disa-stig/V-268102", "disa-stig/V-268103", "disa-stig/V-268104",
                             "disa-stig/V-268105", "disa-stig/V-268106", "disa-stig/V-268110",
                             "disa-stig/V-268111", "disa-stig/V-268112", "disa-stig/V-268113",
                             "disa-stig/V-268114", "pci-dss/10.2.2", "pci-dss/10.3.1",
                             "pci-dss/10.5.1", "pci-dss/10.7.2", "hitrust/09.ac"]):
          conf = machine.succeed("cat /etc/audit/auditd.conf").splitlines()
          for line in json.loads('${builtins.toJSON auditdConf}'):
              assert line in conf, f"auditd.conf lacks {line!r}"
          assert "log_format = ENRICHED" in conf, "auditd does not write ENRICHED records"
          assert machine.succeed("stat -c %a /var/log/audit/audit.log").strip() == "600"
          assert machine.succeed("stat -c %U:%G /var/log/audit/audit.log").strip() == "root:root"
          assert machine.succeed("stat -c %U:%G /var/log/audit").strip() == "root:root"
          # V-268113: the directory itself is 0700, set through the unit's LogsDirectoryMode
          # (the upstream unit would leave it 0755).
          assert machine.succeed("stat -c %a /var/log/audit").strip() == "700"
          assert machine.succeed("systemctl show auditd -p LogsDirectoryMode --value").strip() == "0700"

      with subtest("journald is configured with the canonical retention and disk budget",
                   controls=["eu-ai-act/Art. 19", "eu-ai-act/Art. 26", "nist-800-53/AU-4",
                             "nist-800-53/AU-11", "nist-800-53/SI-12", "pci-dss/10.5.1"]):
          journald = machine.succeed("cat /etc/systemd/journald.conf").splitlines()
          assert "MaxRetentionSec=${canon.logRetention.journaldMaxRetention}" in journald, journald
          assert "SystemMaxUse=${canon.logRetention.journaldSystemMaxUse}" in journald, journald
    '';
}
