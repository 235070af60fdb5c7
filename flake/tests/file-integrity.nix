# File integrity: AIDE records a baseline at first boot, the scheduled check passes while
# nothing changes, fails and raises an alert when a watched file is modified or a file is
# planted, and passes again once the change is accepted as the new baseline.
{ pkgs, complianceLib, ... }:
complianceLib.mkComplianceTest {
  name = "file-integrity";
  controls = [
    "nist-800-53/SI-7"
    "nist-800-53/SI-7(1)"
    "nist-800-53/SI-7(7)"
    "nist-800-53/CM-3"
    "nist-800-53/AU-6(1)"
    "nist-800-53/CM-8(3)"
    "nist-800-53/IR-4"
    "nist-800-53/IR-4(1)"
    "nist-800-53/SI-3"
    "nist-800-53/SI-4(5)"
    "disa-stig/V-268153"
    "pci-dss/11.5.2"
    "hipaa/§164.312(c)(1)"
    "hipaa/§164.312(c)(2)"
    "hipaa/§164.308(a)(5)(ii)(B)"
    "hipaa/§164.308(a)(6)(ii)"
    "hitrust/10.h"
    "hitrust/09.b"
    "hitrust/09.j"
    "hitrust/11.a"
  ];

  nodes.machine = {
    imports = [ ../modules/audit-and-aide ];
    compliance.auditAndAide = {
      enable = true;
      aide.paths = [
        "/srv/fim-canary"
        "/etc/ssh"
      ];
    };
    systemd.tmpfiles.rules = [
      "d /srv/fim-canary 0700 root root -"
      "f /srv/fim-canary/watched 0600 root root - baseline-content"
    ];
  };

  testScript = ''
    machine.wait_for_unit("multi-user.target")
    machine.wait_for_unit("aide-init.service")

    with subtest("a baseline database exists and the schedule is active"):
        machine.succeed("test -s /var/lib/aide/aide.db.gz")
        machine.succeed("systemctl is-active aide-check.timer")
        machine.succeed("grep -F '/srv/fim-canary COMPLIANCE' /etc/aide/aide.conf")

    with subtest("an unchanged system passes the check"):
        machine.succeed("systemctl start aide-check.service")

    with subtest("a modified and a planted file are detected and alerted"):
        machine.succeed("echo tampered >> /srv/fim-canary/watched")
        machine.succeed("echo planted > /srv/fim-canary/planted")
        machine.fail("systemctl start aide-check.service")
        log = machine.succeed("journalctl -u aide-check.service --no-pager")
        assert "/srv/fim-canary/watched" in log, log
        assert "/srv/fim-canary/planted" in log, log
        machine.succeed("journalctl -t aide-check -p alert --no-pager | grep -F 'detected file changes'")
        machine.succeed("find /var/log/aide -name 'aide-check-*.log' | grep -q .")

    with subtest("an approved change becomes the new baseline"):
        machine.succeed("systemctl start aide-rebaseline.service")
        machine.succeed("systemctl start aide-check.service")
  '';
}
