# Accounts: the user database is exactly the declared one (an account added by hand vanishes
# at the next activation), root is locked, the administrator's SHA-512 hash comes from sops,
# password aging applies, service accounts cannot log in, emergency accounts expire, and the
# access review lists the accounts in the evidence directory.
{ pkgs, complianceLib, ... }:
complianceLib.mkComplianceTest {
  name = "accounts";
  controls = [
    "nist-800-53/AC-2"
    "nist-800-53/AC-2(2)"
    "nist-800-53/AC-2(3)"
    "nist-800-53/AC-6(5)"
    "nist-800-53/IA-2"
    "nist-800-53/IA-4"
    "nist-800-53/IA-5(1)"
    "nist-800-53/AC-2(1)"
    "nist-800-53/AC-6"
    "nist-800-53/AC-6(7)"
    "nist-800-53/IA-4(4)"
    "disa-stig/V-268079"
    "disa-stig/V-268130"
    "disa-stig/V-268135"
    "disa-stig/V-268138"
    "disa-stig/V-268174"
    "disa-stig/V-268175"
    "pci-dss/7.2.4"
    "pci-dss/2.2.2"
    "pci-dss/7.2.5"
    "pci-dss/8.2.1"
    "pci-dss/8.2.2"
    "pci-dss/8.2.4"
    "pci-dss/8.2.5"
    "pci-dss/8.2.6"
    "pci-dss/8.3.2"
    "pci-dss/8.6.1"
    "hipaa/§164.308(a)(4)(ii)(C)"
    "hipaa/§164.312(a)(2)(i)"
    "hipaa/§164.308(a)(3)(ii)(C)"
    "hipaa/§164.312(a)(1)"
    "hipaa/§164.312(a)(2)(ii)"
    "hitrust/01.e"
    "hitrust/01.q"
    "hitrust/01.b"
    "hitrust/01.c"
    "hitrust/02.i"
  ];

  nodes.machine = {
    imports = [
      ../modules/accounts
      complianceLib.testSecretsModule
    ];
    compliance.secrets.enable = true;
    compliance.accounts = {
      enable = true;
      admins.opsadmin = { };
      admins.breakglass = {
        passwordSecret = null;
        expires = "2030-01-01";
      };
      serviceAccounts.svc-inference = {
        uid = 990;
        description = "Inference service";
      };
    };
  };

  testScript =
    { nodes, ... }:
    let
      canon = nodes.machine.compliance.canonical;
    in
    ''
      import re

      machine.wait_for_unit("multi-user.target")

      with subtest("root is locked and the administrator's hash comes from sops"):
          assert machine.succeed("passwd -S root").split()[1] == "L"
          groups = machine.succeed("id -nG opsadmin").split()
          assert "wheel" in groups, groups
          hashed = machine.succeed("getent shadow opsadmin").split(":")[1]
          assert hashed.startswith("$6$"), "administrator hash is not SHA-512 crypt"
          machine.succeed("test \"$(stat -c '%a %U' /run/secrets-for-users/opsadmin-password-hash)\" = '400 root'")

      with subtest("password aging follows the canonical policy"):
          aging = machine.succeed("chage -l opsadmin")
          assert re.search(r"Maximum number of days between password change\s*:\s*${toString canon.password.maxAgeDays}\b", aging), aging
          assert re.search(r"Minimum number of days between password change\s*:\s*${toString canon.password.minAgeDays}\b", aging), aging
          for field in ["Password expires", "Password inactive"]:
              value = aging.split(field)[1].splitlines()[0]
              assert "never" not in value, f"{field}: {value}"

      with subtest("service accounts cannot log in"):
          entry = machine.succeed("getent passwd svc-inference").strip().split(":")
          assert entry[2] == "990", entry
          assert entry[6].endswith("nologin"), entry
          assert machine.succeed("passwd -S svc-inference").split()[1] == "L"

      with subtest("emergency accounts carry an expiry date"):
          machine.succeed("chage -l breakglass | grep -E 'Account expires\\s*:\\s*Jan 01, 2030'")

      with subtest("an account created by hand does not survive activation"):
          machine.succeed("useradd -m intruder")
          machine.succeed("getent passwd intruder")
          machine.succeed("/run/current-system/activate")
          machine.fail("getent passwd intruder")

      with subtest("the access review records the declared accounts"):
          machine.succeed("systemctl is-active compliance-access-review.timer")
          machine.succeed("systemctl start compliance-access-review.service")
          review = machine.succeed("cat ${canon.evidence.dir}/access-review/access-review-*.txt")
          for name in ["opsadmin", "breakglass", "svc-inference"]:
              assert name in review, f"{name} missing from the access review"
          assert "UNDECLARED" not in review, review

      with subtest("no two accounts share a UID"):
          shared = machine.succeed("awk -F: 'seen[$3]++ { print $1 }' /etc/passwd").strip()
          assert shared == "", f"accounts sharing a UID: {shared}"
    '';
}
