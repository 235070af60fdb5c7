# Kernel hardening: every canonical sysctl is in effect at runtime, blacklisted modules can
# neither be autoloaded nor loaded explicitly, and the hardening boot parameters are active.
{ pkgs, complianceLib, ... }:
complianceLib.mkComplianceTest {
  name = "kernel-hardening";
  controls = [
    "nist-800-53/CM-6"
    "nist-800-53/CM-7"
    "nist-800-53/SC-5"
    "nist-800-53/SC-39"
    "nist-800-53/SI-16"
    "nist-800-53/AC-6(1)"
    "nist-800-53/AC-18"
    "nist-800-53/AC-18(3)"
    "nist-800-53/CM-2"
    "nist-800-53/CM-5"
    "nist-800-53/CM-7(5)"
    "nist-800-53/CM-11"
    "nist-800-53/MP-7"
    "nist-800-53/SR-3"
    "nist-800-53/SR-11"
    "disa-stig/V-268141"
    "disa-stig/V-268139"
    "disa-stig/V-268146"
    "disa-stig/V-268147"
    "disa-stig/V-268152"
    "disa-stig/V-268154"
    "disa-stig/V-268160"
    "disa-stig/V-268161"
    "disa-stig/V-268173"
    "pci-dss/2.2.1"
    "pci-dss/2.2.4"
    "pci-dss/2.2.6"
    "hipaa/§164.310(d)(1)"
    "hitrust/09.o"
    "hitrust/10.h"
  ];

  nodes.machine = {
    imports = [ ../modules/stig-baseline ];
    compliance.stigBaseline.enable = true;
  };

  testScript =
    { nodes, ... }:
    ''
      import json

      sysctls = json.loads('${builtins.toJSON nodes.machine.compliance.canonical.kernel.sysctl}')
      modules = json.loads('${builtins.toJSON nodes.machine.compliance.stigBaseline.blacklistedKernelModules}')

      machine.wait_for_unit("multi-user.target")
      machine.wait_for_unit("systemd-sysctl.service")

      with subtest("canonical sysctls are in effect",
                   controls=["nist-800-53/CM-6", "nist-800-53/SC-5", "nist-800-53/SC-39",
                             "nist-800-53/SI-16", "nist-800-53/CM-2", "disa-stig/V-268141",
                             "disa-stig/V-268160", "disa-stig/V-268161", "pci-dss/2.2.1",
                             "pci-dss/2.2.6"]):
          for key, value in sysctls.items():
              actual = machine.succeed(f"sysctl -n {key}").strip()
              assert actual == str(value), f"{key}: expected {value}, got {actual}"

      with subtest("blacklisted modules cannot be loaded",
                   controls=["nist-800-53/CM-6", "nist-800-53/CM-7", "nist-800-53/AC-18",
                             "nist-800-53/AC-18(3)", "nist-800-53/MP-7", "disa-stig/V-268139",
                             "disa-stig/V-268147", "pci-dss/2.2.4", "hipaa/§164.310(d)(1)",
                             "hitrust/09.o"]):
          nixos_conf = machine.succeed("cat /etc/modprobe.d/nixos.conf")
          for module in modules:
              assert f"blacklist {module}" in nixos_conf, f"{module} is not blacklisted"
              assert f"install {module} " in nixos_conf, f"{module} has no install override"
              machine.fail(f"modprobe {module}")
              loaded = module.replace("-", "_")
              machine.fail(f"grep -q '^{loaded} ' /proc/modules")

      with subtest("hardening boot parameters and kernel image protection are active",
                   controls=["nist-800-53/CM-6", "nist-800-53/SI-16", "disa-stig/V-268160"]):
          cmdline = machine.succeed("cat /proc/cmdline").split()
          for param in ["slab_nomerge", "init_on_alloc=1", "page_alloc.shuffle=1", "vsyscall=none"]:
              assert param in cmdline, f"{param} missing from the kernel command line"
          assert machine.succeed("cat /proc/sys/kernel/kexec_load_disabled").strip() == "1"

      with subtest("AppArmor is an active security module", controls=["disa-stig/V-268173"]):
          machine.succeed("grep -qw apparmor /sys/kernel/security/lsm")

      with subtest("no wireless supplicant is configured",
                   controls=["nist-800-53/AC-18", "nist-800-53/AC-18(3)", "disa-stig/V-268146"]):
          machine.fail("systemctl cat wpa_supplicant.service")

      with subtest("the Nix daemon serves privileged users only and requires signatures",
                   controls=["nist-800-53/AC-6(1)", "nist-800-53/CM-5", "nist-800-53/CM-7(5)",
                             "nist-800-53/CM-11", "nist-800-53/SR-3", "nist-800-53/SR-11",
                             "disa-stig/V-268152", "disa-stig/V-268154", "hitrust/10.h"]):
          nix_conf = machine.succeed("cat /etc/nix/nix.conf").splitlines()
          for line in ["allowed-users = root @wheel", "trusted-users = root", "require-sigs = true"]:
              assert line in nix_conf, f"nix.conf lacks {line!r}"
    '';
}
