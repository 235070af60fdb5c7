# Authentication: three wrong passwords lock the account (even the right password is then
# refused until an administrator resets it), at the console and through sudo alike; failed
# logons are delayed; new passwords must satisfy the length, character-class and dictionary
# rules. sshd takes keys only, so it has no password stack to lock (see ssh-and-remote-access).
{ pkgs, complianceLib, ... }:
complianceLib.mkComplianceTest {
  name = "authentication-and-lockout";
  controls = [
    "nist-800-53/AC-7"
    "nist-800-53/IA-5(1)"
    "nist-800-53/IA-2"
    "nist-800-53/IA-6"
    "nist-800-53/IA-11"
    "disa-stig/V-268081"
    "disa-stig/V-268126"
    "disa-stig/V-268127"
    "disa-stig/V-268128"
    "disa-stig/V-268129"
    "disa-stig/V-268130"
    "disa-stig/V-268132"
    "disa-stig/V-268133"
    "disa-stig/V-268134"
    "disa-stig/V-268145"
    "disa-stig/V-268155"
    "disa-stig/V-268156"
    "disa-stig/V-268169"
    "disa-stig/V-268170"
    "disa-stig/V-268171"
    "disa-stig/V-268181"
    "pci-dss/8.3.4"
    "pci-dss/8.3.6"
    "pci-dss/8.3.7"
    "pci-dss/8.3.9"
    "pci-dss/10.2.1.4"
    "hipaa/§164.308(a)(5)(ii)(C)"
    "hipaa/§164.308(a)(5)(ii)(D)"
    "hitrust/01.d"
    "hitrust/01.p"
    "hitrust/01.r"
  ];

  nodes.machine =
    { pkgs, ... }:
    {
      imports = [
        ../modules/stig-baseline
        ../modules/accounts
        complianceLib.testSecretsModule
      ];
      compliance.secrets.enable = true;
      compliance.stigBaseline.enable = true;
      compliance.accounts = {
        enable = true;
        admins.opsadmin = { };
      };
      environment.systemPackages = [ pkgs.pamtester ];
    };

  testScript =
    { nodes, ... }:
    let
      canon = nodes.machine.compliance.canonical;
    in
    ''
      import re
      import secrets
      import shlex

      deny = ${toString canon.lockout.denyCount}
      password = open("${complianceLib.testSecrets}/admin-password").read().strip()

      def login(pw):
          return f"printf '%s\\n' {shlex.quote(pw)} | pamtester login opsadmin authenticate"

      machine.wait_for_unit("multi-user.target")

      with subtest("PAM and login.defs carry the lockout and delay settings",
                   controls=["nist-800-53/AC-7", "nist-800-53/IA-5(1)", "nist-800-53/IA-6",
                             "disa-stig/V-268081", "disa-stig/V-268130", "disa-stig/V-268132",
                             "disa-stig/V-268133", "disa-stig/V-268171", "disa-stig/V-268181",
                             "pci-dss/8.3.4", "pci-dss/8.3.9", "hipaa/§164.308(a)(5)(ii)(D)",
                             "hitrust/01.p", "hitrust/01.r"]):
          line = machine.succeed("grep -F pam_faillock.so /etc/pam.d/login | grep -F preauth")
          for arg in ["deny=${toString canon.lockout.denyCount}",
                      "fail_interval=${toString canon.lockout.failIntervalSec}",
                      "unlock_time=${toString canon.lockout.unlockTimeSec}"]:
              assert arg in line, f"{arg} missing in {line!r}"
          assert "silent" in line.split(), f"pam_faillock reports account state: {line!r}"
          machine.succeed("grep -E '^FAIL_DELAY\\s+${toString canon.lockout.failDelaySec}$' /etc/login.defs")
          machine.succeed("grep -E '^PASS_MAX_DAYS\\s+${toString canon.password.maxAgeDays}$' /etc/login.defs")
          machine.succeed("grep -E '^PASS_MIN_DAYS\\s+${toString canon.password.minAgeDays}$' /etc/login.defs")
          machine.succeed("grep -F pam_faildelay.so /etc/pam.d/login")
          machine.succeed("grep -E '^ENCRYPT_METHOD\\s+${canon.password.hashMethod}$' /etc/login.defs")
          machine.succeed("grep -E '^UMASK\\s+077$' /etc/login.defs")

      with subtest("console, su and sudo count failures in the auth phase; sshd checks no password",
                   controls=["nist-800-53/AC-7", "disa-stig/V-268081", "pci-dss/8.3.4",
                             "hipaa/§164.308(a)(5)(ii)(C)", "hitrust/01.p"]):
          for svc in ["login", "su", "sudo"]:
              stack = machine.succeed(f"cat /etc/pam.d/{svc}").splitlines()
              auth = [l.split() for l in stack if l.startswith("auth") and "pam_faillock.so" in l]
              assert any("preauth" in l for l in auth), f"{svc}: no auth-phase pam_faillock preauth"
              assert any("authfail" in l for l in auth), f"{svc}: no auth-phase pam_faillock authfail"
          # sshd takes keys only: no password module in its auth phase and no faillock rule, so
          # a key logon cannot clear a lock set here (ssh-and-remote-access checks the keys).
          machine.wait_for_unit("sshd.service")
          effective = machine.succeed("${nodes.machine.services.openssh.package}/bin/sshd -T").splitlines()
          assert "passwordauthentication no" in effective, effective
          assert "kbdinteractiveauthentication no" in effective, effective
          sshd_pam = machine.succeed("cat /etc/pam.d/sshd")
          assert "pam_faillock.so" not in sshd_pam, sshd_pam
          assert not re.search(r"^auth\s.*pam_unix\.so", sshd_pam, re.M), sshd_pam

      with subtest("the correct password is accepted before any failure",
                   controls=["nist-800-53/IA-2", "hitrust/01.d"]):
          machine.succeed(login(password))

      with subtest("consecutive failures lock the account",
                   controls=["nist-800-53/AC-7", "disa-stig/V-268081", "pci-dss/8.3.4",
                             "pci-dss/10.2.1.4", "hipaa/§164.308(a)(5)(ii)(C)", "hitrust/01.p"]):
          for _ in range(deny):
              machine.fail(login("Wrong-" + secrets.token_hex(6)))
          records = machine.succeed("faillock --user opsadmin")
          failures = [l for l in records.splitlines() if l.rstrip().endswith(" V")]
          assert len(failures) >= deny, records
          machine.fail(login(password))

      with subtest("only an administrator unlocks it",
                   controls=["nist-800-53/AC-7", "disa-stig/V-268081", "pci-dss/8.3.4",
                             "hipaa/§164.308(a)(5)(ii)(C)", "hitrust/01.p"]):
          machine.succeed("faillock --user opsadmin --reset")
          machine.succeed(login(password))

      with subtest("failures through sudo's stack lock the account too",
                   controls=["nist-800-53/AC-7", "disa-stig/V-268081", "pci-dss/8.3.4",
                             "hipaa/§164.308(a)(5)(ii)(C)", "hitrust/01.p"]):
          for _ in range(deny):
              machine.fail(f"printf '%s\\n' {shlex.quote('Wrong-' + secrets.token_hex(6))} | pamtester sudo opsadmin authenticate")
          machine.fail(login(password))
          machine.succeed("faillock --user opsadmin --reset")
          machine.succeed(login(password))

      with subtest("sudo asks for the password every time",
                   controls=["nist-800-53/IA-6", "nist-800-53/IA-11", "disa-stig/V-268155",
                             "disa-stig/V-268156"]):
          machine.succeed("grep -Fx 'Defaults timestamp_timeout=${toString canon.session.sudoTimestampTimeoutMin}' /etc/sudoers")
          machine.fail("su opsadmin -c 'sudo -n true'")
          machine.succeed("grep -Fx 'Defaults !visiblepw' /etc/sudoers")

      with subtest("password quality rules reject weak passwords",
                   controls=["nist-800-53/IA-5(1)", "disa-stig/V-268126", "disa-stig/V-268127",
                             "disa-stig/V-268128", "disa-stig/V-268129", "disa-stig/V-268134",
                             "disa-stig/V-268145", "disa-stig/V-268169", "disa-stig/V-268170",
                             "pci-dss/8.3.6", "pci-dss/8.3.7", "hipaa/§164.308(a)(5)(ii)(D)",
                             "hitrust/01.r"]):
          conf = machine.succeed("cat /etc/security/pwquality.conf").splitlines()
          for setting in ["minlen=${toString canon.password.minLength}",
                          "minclass=${toString canon.password.minClasses}",
                          "difok=${toString canon.password.minDifferentChars}",
                          "dictcheck=1", "ucredit=-1", "lcredit=-1", "dcredit=-1", "ocredit=-1"]:
              assert setting in conf, f"{setting} missing from pwquality.conf"
          passwd_pam = machine.succeed("cat /etc/pam.d/passwd")
          assert "pam_pwquality.so" in passwd_pam, passwd_pam
          assert re.search(r"pam_pwhistory\.so.*remember=${toString canon.password.history}", passwd_pam), passwd_pam
          short = "Aa1!" + secrets.token_hex(2)
          machine.fail(f"echo {shlex.quote(short)} | pwscore")
          one_class = secrets.token_hex(12)
          machine.fail(f"echo {shlex.quote(one_class)} | pwscore")
          strong = "Aa1!" + secrets.token_hex(12)
          machine.succeed(f"echo {shlex.quote(strong)} | pwscore")
    '';
}
