# Remote access: the effective sshd configuration is the hardened one, only FIPS-approved
# algorithms are negotiated, root cannot log in even with a valid key, the banner is shown
# before authentication, sshd listens on the LAN address only, and it offers public-key
# authentication only (its PAM stack checks no password, so failed-password lockout does not
# apply to SSH; it is tested for the console, su and sudo in authentication-and-lockout).
{ pkgs, complianceLib, ... }:
let
  inherit (pkgs) lib;
in
complianceLib.mkComplianceTest {
  name = "ssh-and-remote-access";
  controls = [
    "nist-800-53/AC-17"
    "nist-800-53/AC-17(2)"
    "nist-800-53/AC-8"
    "nist-800-53/AC-7"
    "nist-800-53/AC-12"
    "nist-800-53/SC-8(1)"
    "nist-800-53/SC-10"
    "nist-800-53/SC-13"
    "nist-800-53/IA-2"
    "nist-800-53/AC-6(2)"
    "nist-800-53/AC-17(1)"
    "nist-800-53/AC-17(3)"
    "nist-800-53/AC-17(4)"
    "nist-800-53/IA-2(1)"
    "nist-800-53/IA-2(8)"
    "nist-800-53/IA-5(2)"
    "nist-800-53/IA-7"
    "nist-800-53/MA-4"
    "nist-800-53/RA-2"
    "nist-800-53/SC-2"
    "nist-800-53/SC-8"
    "nist-800-53/SC-23"
    "disa-stig/V-268082"
    "disa-stig/V-268083"
    "disa-stig/V-268088"
    "disa-stig/V-268089"
    "disa-stig/V-268137"
    "disa-stig/V-268142"
    "disa-stig/V-268143"
    "disa-stig/V-268157"
    "disa-stig/V-268159"
    "disa-stig/V-268176"
    "pci-dss/2.2.7"
    "pci-dss/8.2.8"
    "pci-dss/7.2.2"
    "pci-dss/8.3.1"
    "pci-dss/8.4.2"
    "hipaa/§164.312(a)(2)(iii)"
    "hipaa/§164.312(e)(1)"
    "hipaa/§164.312(e)(2)(ii)"
    "hipaa/§164.312(d)"
    "hipaa/§164.312(e)(2)(i)"
    "hitrust/01.p"
    "hitrust/01.t"
    "hitrust/07.e"
    "hitrust/09.s"
    "hitrust/10.f"
  ];

  nodes.server =
    { config, ... }:
    {
      imports = [
        ../modules/stig-baseline
        ../modules/accounts
        ../modules/lan-only-network
        complianceLib.testSecretsModule
      ];
      compliance.secrets.enable = true;
      compliance.stigBaseline.enable = true;
      compliance.accounts = {
        enable = true;
        admins.opsadmin = { };
      };
      compliance.lanOnlyNetwork = {
        enable = true;
        timeSync.enable = false;
      };
      compliance.canonical.network = {
        lanCidr = "192.168.1.0/24";
        listenAddress = config.networking.primaryIPAddress;
      };
    };

  nodes.client = { };

  testScript =
    { nodes, ... }:
    let
      canon = nodes.server.compliance.canonical;
      sshd = "${nodes.server.services.openssh.package}/bin/sshd";
      expected = [
        "permitrootlogin ${canon.ssh.permitRootLogin}"
        "passwordauthentication no"
        "kbdinteractiveauthentication no"
        "permitemptypasswords no"
        "pubkeyauthentication yes"
        "hostbasedauthentication no"
        "ignorerhosts yes"
        "usepam yes"
        "x11forwarding no"
        "allowtcpforwarding no"
        "allowagentforwarding no"
        "permittunnel no"
        "allowgroups wheel"
        "maxauthtries ${toString canon.ssh.maxAuthTries}"
        "logingracetime ${toString canon.ssh.loginGraceTimeSec}"
        "clientaliveinterval ${toString canon.session.sshClientAliveIntervalSec}"
        "clientalivecountmax ${toString canon.session.sshClientAliveCountMax}"
        "loglevel ${canon.ssh.logLevel}"
        "ciphers ${lib.concatStringsSep "," canon.ssh.ciphers}"
        "macs ${lib.concatStringsSep "," canon.ssh.macs}"
        "kexalgorithms ${lib.concatStringsSep "," canon.ssh.kexAlgorithms}"
      ];
    in
    ''
      import json
      import re

      SSH = "ssh -4 -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=10"
      server_ip = "${nodes.server.networking.primaryIPAddress}"

      start_all()
      server.wait_for_unit("sshd.service")
      client.wait_until_succeeds("ssh-keyscan -4 -T 3 server 2>/dev/null | grep -q ssh-ed25519")

      with subtest("sshd runs with the hardened effective configuration"):
          effective = server.succeed("${sshd} -T").splitlines()
          for line in json.loads('${builtins.toJSON expected}'):
              assert line in effective, f"sshd -T does not report {line!r}"
          assert any(l.startswith("banner /nix/store/") for l in effective), "no logon banner"

      with subtest("sshd listens on the LAN address only",
                   controls=["nist-800-53/AC-17(3)", "hipaa/§164.312(e)(1)"]):
          listening = server.succeed("ss -Htln 'sport = :22'")
          assert f"{server_ip}:22" in listening, listening
          assert "0.0.0.0:22" not in listening and "[::]:22" not in listening, listening

      with subtest("an administrator logs in with a key and sees the banner first",
                   controls=["nist-800-53/AC-8", "nist-800-53/IA-2", "nist-800-53/IA-5(2)",
                             "disa-stig/V-268083", "hitrust/01.p"]):
          client.succeed("install -d -m 0700 /root/.ssh")
          client.succeed("ssh-keygen -q -t ed25519 -N ''' -f /root/.ssh/id_ed25519")
          pub = client.succeed("cat /root/.ssh/id_ed25519.pub").strip()
          server.succeed("install -d -m 0700 -o opsadmin -g users /home/opsadmin/.ssh")
          server.succeed(f"echo '{pub}' > /home/opsadmin/.ssh/authorized_keys")
          server.succeed("chown opsadmin:users /home/opsadmin/.ssh/authorized_keys")
          server.succeed("chmod 0600 /home/opsadmin/.ssh/authorized_keys")
          out = client.succeed(f"{SSH} opsadmin@server id -un 2>&1")
          assert "restricted information system" in out, out
          assert "opsadmin" in out, out

      with subtest("algorithms outside the approved lists are refused",
                   controls=["nist-800-53/AC-17(2)", "nist-800-53/SC-8(1)", "nist-800-53/SC-13",
                             "nist-800-53/IA-7", "nist-800-53/SC-8", "nist-800-53/SC-23",
                             "disa-stig/V-268089", "disa-stig/V-268157", "pci-dss/2.2.7",
                             "hipaa/§164.312(e)(2)(ii)", "hipaa/§164.312(e)(2)(i)",
                             "hitrust/10.f"]):
          client.fail(f"{SSH} -c chacha20-poly1305@openssh.com opsadmin@server true")
          client.fail(f"{SSH} -m hmac-sha1 opsadmin@server true")
          client.fail(f"{SSH} -o KexAlgorithms=curve25519-sha256 opsadmin@server true")

      with subtest("root cannot log in, even with an authorized key",
                   controls=["nist-800-53/AC-6(2)", "nist-800-53/AC-17(4)", "disa-stig/V-268137",
                             "hipaa/§164.312(d)"]):
          server.succeed("install -d -m 0700 /root/.ssh")
          server.succeed(f"echo '{pub}' > /root/.ssh/authorized_keys")
          client.fail(f"{SSH} root@server true")

      with subtest("the console banner is the same notice",
                   controls=["nist-800-53/AC-8", "disa-stig/V-268082", "hitrust/01.p"]):
          server.succeed("grep -F 'restricted information system' /etc/issue")

      with subtest("sshd offers public keys only, so there is no password to guess or lock",
                   controls=["nist-800-53/AC-17", "nist-800-53/IA-2", "nist-800-53/IA-2(8)",
                             "nist-800-53/IA-5(2)", "disa-stig/V-268176", "pci-dss/8.3.1",
                             "pci-dss/8.4.2", "hipaa/§164.312(d)"]):
          # The server lists the methods that may continue after the "none" probe.
          status, out = client.execute(f"{SSH} -o PreferredAuthentications=none opsadmin@server true 2>&1")
          assert status != 0 and "Permission denied (publickey)" in out, out
          # No password check runs in sshd's PAM stack, and so no faillock rule either: the
          # lockout lives in the console, su and sudo stacks (authentication-and-lockout).
          sshd_pam = server.succeed("cat /etc/pam.d/sshd")
          assert not re.search(r"^auth\s.*pam_unix\.so", sshd_pam, re.M), sshd_pam
          assert "pam_faillock.so" not in sshd_pam, sshd_pam

      with subtest("both banners carry the host's classification marking",
                   controls=["nist-800-53/AC-8", "nist-800-53/RA-2", "hitrust/07.e"]):
          marking = "Highest data classification processed on this system: ${lib.toUpper nodes.server.compliance.meta.dataClassification.highestProcessed}"
          assert marking in out, out
          server.succeed(f"grep -F '{marking}' /etc/issue")
    '';
}
