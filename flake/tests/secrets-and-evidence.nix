# Secrets and evidence: sops secrets are decrypted to a RAM file system, root-only, and stay
# encrypted in the store; the rotation check reports stale secrets; evidence snapshots are
# sealed with a sha256 manifest signed by the sops-provided key, a forged file or a foreign
# key fails verification.
{ pkgs, complianceLib, ... }:
complianceLib.mkComplianceTest {
  name = "secrets-and-evidence";
  controls = [
    "mitre-atlas/AML.T0055"
    "nist-800-53/SC-12"
    "nist-800-53/SC-28"
    "nist-800-53/IA-5(6)"
    "nist-800-53/AU-9"
    "nist-800-53/AU-11"
    "nist-800-53/SI-7"
    "disa-stig/V-268144"
    "nist-800-53/AC-3"
    "nist-800-53/AU-6"
    "nist-800-53/CA-7"
    "nist-800-53/CM-2(2)"
    "nist-800-53/CM-8"
    "nist-800-53/IA-5"
    "nist-800-53/SC-28(1)"
    "pci-dss/8.6.2"
    "pci-dss/8.6.3"
    "pci-dss/10.3.2"
    "pci-dss/3.6.1"
    "pci-dss/10.3.4"
    "hipaa/§164.312(c)(1)"
    "hipaa/§164.312(c)(2)"
    "hipaa/§164.316(b)(2)(i)"
    "hipaa/§164.308(a)(1)(ii)(D)"
    "hipaa/§164.312(a)(2)(iv)"
    "hipaa/§164.316(b)(1)"
    "hitrust/06.c"
    "hitrust/09.ac"
    "hitrust/10.g"
    "hitrust/11.e"
  ];

  nodes.machine = {
    imports = [
      ../modules/secrets
      ../modules/accounts
      ../modules/audit-and-aide
      complianceLib.testSecretsModule
    ];
    compliance.secrets.enable = true;
    compliance.accounts = {
      enable = true;
      admins.opsadmin = { };
    };
    compliance.auditAndAide.enable = true;
  };

  testScript =
    { nodes, ... }:
    let
      fixture = complianceLib.testSecrets;
      evidence = nodes.machine.compliance.canonical.evidence.dir;
    in
    ''
      machine.wait_for_unit("multi-user.target")

      with subtest("decrypted secrets are root-only and kept in RAM"):
          machine.succeed("test \"$(stat -L -c '%a %U' /run/secrets/evidence-signing-key)\" = '400 root'")
          machine.succeed("findmnt -n -o FSTYPE --target /run/secrets.d | grep -Ex 'ramfs|tmpfs'")
          machine.succeed("grep -q 'ENC\\[AES256_GCM' ${fixture}/secrets.yaml")
          machine.fail("grep -q 'PRIVATE KEY' ${fixture}/secrets.yaml")

      with subtest("the rotation check passes for fresh secrets and flags stale ones"):
          machine.succeed("systemctl is-active compliance-secrets-age.timer")
          machine.succeed("systemctl start compliance-secrets-age.service")
          machine.succeed("grep -E '^OK +evidence-signing-key ' ${evidence}/secrets/secrets-age-*.txt")
          machine.fail("compliance-secrets-age-check 0")
          machine.succeed("journalctl -t compliance-secrets --no-pager | grep -F 'older than 0 days'")

      with subtest("an evidence snapshot is sealed and verifies"):
          machine.succeed("systemctl is-active compliance-evidence-snapshot.timer")
          machine.succeed("systemctl start compliance-evidence-snapshot.service")
          snap = machine.succeed("find ${evidence}/snapshots -mindepth 1 -maxdepth 1 -type d | sort | tail -n 1").strip()
          for name in ["MANIFEST.sha256", "MANIFEST.sha256.sig", "system.txt", "audit-rules.txt", "canonical.json", "meta.json"]:
              machine.succeed(f"test -s {snap}/{name}")
          machine.succeed(f"compliance-evidence-verify {snap} ${fixture}/evidence-signing-key.pub")

      with subtest("a signature check with another key fails"):
          machine.succeed("ssh-keygen -q -t ed25519 -N ''' -f /tmp/foreign")
          machine.fail(f"compliance-evidence-verify {snap} /tmp/foreign.pub")

      with subtest("a forged evidence file is detected"):
          machine.succeed(f"chattr -i {snap}/system.txt || true")
          machine.succeed(f"chmod u+w {snap} {snap}/system.txt")
          machine.succeed(f"echo forged >> {snap}/system.txt")
          machine.fail(f"compliance-evidence-verify {snap} ${fixture}/evidence-signing-key.pub")

      with subtest("snapshots are kept for the retention period and pruned only after it"):
          retention = ${toString nodes.machine.compliance.canonical.evidence.retentionDays}
          machine.succeed("install -d -m 0700 ${evidence}/snapshots/retained ${evidence}/snapshots/expired")
          machine.succeed(f"touch -d '{retention - 1} days ago' ${evidence}/snapshots/retained")
          machine.succeed(f"touch -d '{retention + 2} days ago' ${evidence}/snapshots/expired")
          machine.succeed("systemctl start compliance-evidence-snapshot.service")
          machine.succeed("test -d ${evidence}/snapshots/retained")
          machine.fail("test -e ${evidence}/snapshots/expired")
    '';
}
