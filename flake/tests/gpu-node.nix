# GPU node: what can be shown without a GPU.
#
# The VM has no NVIDIA device, so the driver cannot load, CUDA cannot run, nvidia-persistenced
# cannot keep a device in persistence mode and no workload can show that it needs (or does not
# need) writable-and-executable memory. Those checks belong on the real host (see the vault's
# finding on the W^X exception). This test proves the configuration around them:
#   - the driver is the open kernel module built for the running kernel, there is no X server
#     and no `ibt=off` on the kernel command line;
#   - NVIDIA device nodes (created here by hand with the NVIDIA major number, world-accessible
#     as the upstream udev rules would create them) are re-owned to the GPU group with mode
#     0660: a user outside the group cannot open them, a group member can;
#   - the driver is told the same owner, group and mode (NVreg_DeviceFile*), and the udev rule
#     that fixes nodes after upstream's mknod is installed;
#   - only the units listed in compliance.gpuNode.units get DeviceAllow for the NVIDIA
#     character device groups (by their current /proc/devices names) and the GPU group;
#   - W^X stays on for every unit except the one with a recorded exception: a probe that maps
#     writable+executable memory is refused in the normal GPU unit and allowed only in the
#     excepted unit, and an exception past its review date is reported.
{ pkgs, complianceLib, ... }:
let
  # Maps one anonymous page writable and executable, as a JIT compiler would.
  wxProbe = pkgs.writeScript "wx-probe" ''
    #!${pkgs.python3}/bin/python3
    import mmap
    import sys

    try:
        mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    except PermissionError:
        print("write+execute mapping denied")
        sys.exit(1)
    print("write+execute mapping allowed")
  '';

  probeUnit = {
    serviceConfig = {
      Type = "oneshot";
      DynamicUser = true;
      ExecStart = wxProbe;
    };
  };
in
complianceLib.mkComplianceTest {
  name = "gpu-node";
  controls = [
    "nist-800-53/AC-3"
    "nist-800-53/AC-6"
    "nist-800-53/CM-6"
    "nist-800-53/CM-7"
    "nist-800-53/SI-16"
    "owasp-agentic/T11"
    "iso-42001/A.4.5"
    "nist-ai-rmf/MAP 4.2"
  ];

  # The NVIDIA driver is unfree; the module allows exactly the GPU packages through
  # nixpkgs.config, which needs a per-node nixpkgs instead of the shared read-only one.
  node.pkgsReadOnly = false;

  nodes.machine = {
    imports = [ ../modules/gpu-node ];
    virtualisation.memorySize = 2048;

    compliance.gpuNode = {
      enable = true;
      units = [
        "gpu-probe"
        "gpu-jit"
      ];
      wxExceptions.gpu-jit = {
        library = "simulated LLVM JIT (test probe)";
        reason = "exercises the exception mechanism in the VM test; no real workload";
        approvedBy = "compliance test";
        reviewBy = "2000-01-01";
      };
    };

    systemd.services.gpu-probe = probeUnit;
    systemd.services.gpu-jit = probeUnit;
    systemd.services.not-gpu = probeUnit;

    users.users.gpuuser = {
      isNormalUser = true;
      extraGroups = [ "gpu" ];
    };
    users.users.alice.isNormalUser = true;
  };

  testScript = ''
    machine.wait_for_unit("multi-user.target")

    def prop(unit, name):
        return machine.succeed(f"systemctl show {unit} -p {name} --value").strip()

    with subtest("headless open-module driver, no X server, IBT left on"):
        machine.succeed("modinfo -F version nvidia")
        license = machine.succeed("modinfo -F license nvidia").strip()
        assert license == "Dual MIT/GPL", f"expected the open kernel module, got license {license!r}"
        machine.fail("systemctl is-active display-manager.service")
        machine.fail("grep -qw 'ibt=off' /proc/cmdline")
        machine.succeed("test -e /run/opengl-driver/lib")
        machine.succeed("grep -q '\"openKernelModule\":true' /etc/compliance/gpu-node.json")

    with subtest("NVIDIA device nodes belong to the gpu group, mode 0660"):
        machine.succeed("grep -q 'NVreg_DeviceFileMode=0660' /etc/modprobe.d/nixos.conf")
        gid = machine.succeed("getent group gpu | cut -d: -f3").strip()
        machine.succeed(f"grep -q 'NVreg_DeviceFileGID={gid}' /etc/modprobe.d/nixos.conf")
        machine.succeed("test -e /etc/udev/rules.d/99-zz-compliance-nvidia.rules")
        machine.succeed("udevadm verify /etc/udev/rules.d/99-zz-compliance-nvidia.rules")
        # Nodes as the upstream udev rules create them: world read-write.
        machine.succeed("mknod -m 666 /dev/nvidia0 c 195 0")
        machine.succeed("mknod -m 666 /dev/nvidiactl c 195 255")
        machine.succeed("systemctl restart gpu-device-permissions.service")
        for node in ["/dev/nvidia0", "/dev/nvidiactl"]:
            perms = machine.succeed(f"stat -c '%a %U %G' {node}").strip()
            assert perms == "660 root gpu", f"{node}: {perms}"
        machine.fail("runuser -u alice -- test -r /dev/nvidia0")
        machine.fail("runuser -u alice -- test -w /dev/nvidiactl")
        machine.succeed("runuser -u gpuuser -- test -r /dev/nvidia0")
        machine.succeed("runuser -u gpuuser -- test -w /dev/nvidiactl")

    with subtest("only the listed units get the GPU devices and group"):
        for unit in ["gpu-probe", "gpu-jit"]:
            assert prop(unit, "DevicePolicy") == "closed", unit
            allow = prop(unit, "DeviceAllow")
            assert "char-nvidia-uvm rw" in allow and "char-nvidiactl rw" in allow, allow
            # Since the 550 series /proc/devices names major 195 "nvidia" and "nvidiactl";
            # the old "nvidia-frontend" group matches nothing and is not listed.
            assert "char-nvidia rw" in allow and "char-nvidia-caps rw" in allow, allow
            assert "nvidia-frontend" not in allow, allow
            assert "gpu" in prop(unit, "SupplementaryGroups").split(), unit
        assert "nvidia" not in prop("not-gpu", "DeviceAllow")
        assert "gpu" not in prop("not-gpu", "SupplementaryGroups").split()

    with subtest("W^X stays on except for the unit with a recorded exception"):
        assert prop("gpu-probe", "MemoryDenyWriteExecute") == "yes"
        assert prop("gpu-jit", "MemoryDenyWriteExecute") == "no"
        assert prop("nvidia-persistenced", "MemoryDenyWriteExecute") == "yes"
        assert prop("gpu-device-permissions", "MemoryDenyWriteExecute") == "yes"
        machine.fail("systemctl start gpu-probe.service")
        machine.succeed("journalctl -u gpu-probe --no-pager | grep -q 'write+execute mapping denied'")
        machine.succeed("systemctl start gpu-jit.service")
        machine.succeed("journalctl -u gpu-jit --no-pager | grep -q 'write+execute mapping allowed'")
        machine.succeed("grep -q 'simulated LLVM JIT' /etc/compliance/gpu-wx-exceptions.json")
        machine.fail("grep -q gpu-probe /etc/compliance/gpu-wx-exceptions.json")

    with subtest("an exception past its review date is reported"):
        machine.succeed("systemctl is-enabled gpu-wx-exception-review.timer")
        machine.fail("systemctl start gpu-wx-exception-review.service")
        machine.succeed("journalctl -t gpu-wx-exception --no-pager | grep -q 'overdue review: gpu-jit.service'")

    with subtest("nvidia-persistenced is configured with a reduced sandbox"):
        # It cannot start without a GPU; its unit settings are what is checked here.
        assert prop("nvidia-persistenced", "NoNewPrivileges") == "yes"
        assert prop("nvidia-persistenced", "PrivateNetwork") == "yes"
        assert prop("nvidia-persistenced", "ProtectHome") == "yes"
  '';
}
