# GPU node: NVIDIA driver, CUDA runtime, persistence daemon, device permissions and the
# narrowly scoped exceptions to the hardened baseline that GPU workloads may need.
#
# Driver. The NixOS NVIDIA module is activated by listing "nvidia" in
# services.xserver.videoDrivers; that does not enable an X server (services.xserver.enable
# stays false), it only selects the driver. The host is headless: no modesetting, no
# nvidia-settings, no power management hooks. The open kernel module is the default because
# it supports indirect branch tracking (the proprietary module makes NixOS add `ibt=off` to
# the kernel command line on kernels >= 6.2, which weakens the baseline).
#
# Devices. Upstream udev rules create /dev/nvidia* with mode 0666, i.e. every local user,
# including every agent, could drive the GPU and read its memory state. This module re-owns
# the nodes to a dedicated group with mode 0660 (a udev rule ordered after upstream's, the
# driver's own NVreg_DeviceFile* parameters for nodes created by nvidia-modprobe, and a
# oneshot that enforces and verifies the result). Only the units listed in `units` get the
# group and a DeviceAllow list for the NVIDIA character devices.
#
# W^X. Every unit keeps MemoryDenyWriteExecute=true. The review (vault finding
# "finding-cuda-wx-exception") showed that CUDA itself does not need W+X host memory — the
# upstream Ollama unit runs CUDA with MemoryDenyWriteExecute=true — only host-side JIT
# libraries (LLVM-based JITs such as Numba or XLA's CPU backend, old libffi closures) do.
# So exceptions are per unit, off by default, each with the library that needs it, the
# approver and a review date; they are published in /etc/compliance/gpu-wx-exceptions.json
# and a daily check reports exceptions past their review date.
#
# What a VM test cannot show: the driver loading, CUDA running, persistence mode and whether
# a given workload really needs an exception all require the real GPU. See
# flake/tests/gpu-node.nix for what is asserted without one.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types;
  cfg = config.compliance.gpuNode;

  gid = toString cfg.deviceGroupGid;

  # Character device groups as the driver registers them in /proc/devices (systemd's
  # DeviceAllow "char-<name>" form). systemd resolves each name to its major number and
  # allows every minor of it, so one entry covers every node of that major:
  #   char-nvidia, char-nvidiactl  major 195: /dev/nvidia0..N, /dev/nvidia-modeset and
  #                                /dev/nvidiactl. Since the 550 series the driver registers
  #                                major 195 under these two names; older drivers used the one
  #                                name "nvidia-frontend", which no longer appears, so that
  #                                entry (still in the upstream Ollama unit, where it now matches
  #                                nothing) is not used here. Either name allows the whole major;
  #                                both are listed so neither depends on the other.
  #   char-nvidia-uvm              /dev/nvidia-uvm and /dev/nvidia-uvm-tools (CUDA memory).
  #   char-nvidia-caps             /dev/nvidia-caps/nvidia-cap* (MIG capabilities).
  # Not allowed: nvidia-caps-imex-channels (multi-node IMEX), which a single-GPU host does
  # not use.
  nvidiaCharDevices = [
    "char-nvidia"
    "char-nvidiactl"
    "char-nvidia-uvm"
    "char-nvidia-caps"
  ];

  # Enforce group ownership and mode of every NVIDIA device node; exit non-zero if any node
  # stays accessible to other users. Used by udev (per event) and by the oneshot below.
  fixPermissions = pkgs.writeShellScript "gpu-device-permissions" ''
    set -u
    status=0
    for node in /dev/nvidia*; do
      [ -e "$node" ] || continue
      if [ -c "$node" ]; then
        ${pkgs.coreutils}/bin/chown root:${gid} "$node" || status=1
        ${pkgs.coreutils}/bin/chmod ${cfg.deviceMode} "$node" || status=1
      fi
    done
    # /dev/nvidia-caps holds the MIG capability nodes.
    if [ -d /dev/nvidia-caps ]; then
      ${pkgs.findutils}/bin/find /dev/nvidia-caps -type c -exec ${pkgs.coreutils}/bin/chown root:${gid} {} + -exec ${pkgs.coreutils}/bin/chmod ${cfg.deviceMode} {} + || status=1
    fi
    open="$(${pkgs.findutils}/bin/find /dev -maxdepth 2 -path '/dev/nvidia*' -type c -perm /o=rwx 2>/dev/null)"
    if [ -n "$open" ]; then
      echo "NVIDIA device nodes still accessible to other users: $open" >&2
      status=1
    fi
    exit "$status"
  '';

  udevRules = pkgs.writeTextDir "lib/udev/rules.d/99-zz-compliance-nvidia.rules" ''
    # Ordered after the NixOS NVIDIA rules (60-nvidia.rules / 99-local.rules), whose RUN
    # commands mknod the nodes world-accessible; udev runs RUN commands in rule order.
    KERNEL=="nvidia", RUN+="${fixPermissions}"
    KERNEL=="nvidia_modeset", RUN+="${fixPermissions}"
    KERNEL=="nvidia_uvm", RUN+="${fixPermissions}"
    KERNEL=="nvidia-caps*", GROUP="${cfg.deviceGroup}", MODE="${cfg.deviceMode}"
    SUBSYSTEM=="drm", KERNEL=="card*|renderD*", DRIVERS=="nvidia", GROUP="${cfg.deviceGroup}", MODE="${cfg.deviceMode}"
  '';

  exceptionType = types.submodule {
    options = {
      library = mkOption {
        type = types.str;
        example = "numba (LLVM JIT)";
        description = "The library that needs writable-and-executable memory.";
      };
      reason = mkOption {
        type = types.str;
        description = "Why the unit needs the exception, with a reference to the failing-with-the-setting transcript recorded on the GPU host.";
      };
      approvedBy = mkOption {
        type = types.str;
        description = "Who approved the exception.";
      };
      reviewBy = mkOption {
        type = types.strMatching "[0-9]{4}-[0-9]{2}-[0-9]{2}";
        description = "Date (YYYY-MM-DD) by which the exception is reviewed again; the daily check reports it afterwards.";
      };
    };
  };

  exceptionsJson = pkgs.writeText "gpu-wx-exceptions.json" (builtins.toJSON cfg.wxExceptions);

  reviewCheck = pkgs.writeShellScript "gpu-wx-exception-review" ''
    set -eu
    today="$(${pkgs.coreutils}/bin/date -u +%Y-%m-%d)"
    overdue=0
    ${lib.concatStrings (
      lib.mapAttrsToList (unit: e: ''
        if [ "${e.reviewBy}" \< "$today" ]; then
          echo "W^X exception for ${unit}.service (${e.library}) is past its review date ${e.reviewBy}" >&2
          ${pkgs.util-linux}/bin/logger -p auth.warning -t gpu-wx-exception "overdue review: ${unit}.service, ${e.library}, review by ${e.reviewBy}"
          overdue=$((overdue + 1))
        else
          echo "W^X exception for ${unit}.service (${e.library}) approved by ${e.approvedBy}, review by ${e.reviewBy}"
        fi
      '') cfg.wxExceptions
    )}
    [ "$overdue" -eq 0 ]
  '';

  unitHardening = {
    # On unless the unit has a recorded exception (mkForce false above).
    MemoryDenyWriteExecute = lib.mkDefault true;
    DevicePolicy = "closed";
    DeviceAllow = map (d: "${d} rw") nvidiaCharDevices;
    SupplementaryGroups = [ cfg.deviceGroup ];
  };
in
{
  imports = [ ../canonical ];

  options.compliance.gpuNode = {
    enable = lib.mkEnableOption "the NVIDIA GPU node (driver, CUDA runtime, persistence daemon, restricted device access)";

    driver = {
      package = mkOption {
        type = types.package;
        default = config.boot.kernelPackages.nvidiaPackages.production;
        defaultText = lib.literalExpression "config.boot.kernelPackages.nvidiaPackages.production";
        description = "NVIDIA driver package (hardware.nvidia.package). The production branch, not beta or new-feature.";
      };
      open = mkOption {
        type = types.bool;
        default = true;
        description = ''
          Use NVIDIA's open kernel module (hardware.nvidia.open). Required for IBT support;
          needs a Turing or newer GPU. Setting it to false makes NixOS add `ibt=off` to the
          kernel command line on kernels >= 6.2.
        '';
      };
    };

    persistenced = mkOption {
      type = types.bool;
      default = true;
      description = "Run nvidia-persistenced (hardware.nvidia.nvidiaPersistenced) so the driver keeps GPU state between clients, hardened with a reduced systemd sandbox.";
    };

    cuda = {
      enable = mkOption {
        type = types.bool;
        default = true;
        description = "Provide the CUDA driver libraries (libcuda from the driver) under /run/opengl-driver through hardware.graphics; CUDA applications from nixpkgs find them there.";
      };
      packages = mkOption {
        type = types.listOf types.package;
        default = [ ];
        example = lib.literalExpression "[ pkgs.cudaPackages.cuda_cudart ]";
        description = "Additional CUDA runtime packages installed system-wide. Empty by default: CUDA applications carry their own runtime in their closure.";
      };
    };

    unfreePackageNames = mkOption {
      type = types.listOf types.str;
      default = [
        "nvidia-x11"
        "nvidia-settings"
        "nvidia-persistenced"
        "cuda"
        "libcu"
        "libnv"
        "libnpp"
        "cudnn"
      ];
      description = ''
        Name prefixes of the unfree packages the GPU stack needs (driver, CUDA libraries); the
        module allows exactly these (nixpkgs.config.allowUnfreePredicate), nothing else.
      '';
    };

    deviceGroup = mkOption {
      type = types.str;
      default = "gpu";
      description = "Group that owns /dev/nvidia*; only units listed in `units` are given it.";
    };

    deviceGroupGid = mkOption {
      type = types.ints.between 400 999;
      default = 980;
      description = "Fixed GID of the device group, passed to the driver as NVreg_DeviceFileGID.";
    };

    deviceMode = mkOption {
      type = types.strMatching "0[0-7]{3}";
      default = "0660";
      description = "Mode of the NVIDIA device nodes (NVreg_DeviceFileMode): owner root, the device group, nobody else.";
    };

    units = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "ollama" ];
      description = ''
        systemd services (without `.service`) allowed to use the GPU: they get the device
        group as a supplementary group and DevicePolicy=closed with DeviceAllow for the NVIDIA
        character devices only. ai-services adds `ollama`; agent-sandbox adds agents with
        `gpu = true`.
      '';
    };

    wxExceptions = mkOption {
      type = types.attrsOf exceptionType;
      default = { };
      example = lib.literalExpression ''
        {
          agent-numba = {
            library = "numba (LLVM JIT)";
            reason = "numba.jit fails with 'cannot allocate write+execute memory'; transcript in change 142";
            approvedBy = "security lead";
            reviewBy = "2026-12-31";
          };
        }
      '';
      description = ''
        Per-unit exceptions to MemoryDenyWriteExecute=true, keyed by systemd service name.
        Empty by default. Each entry sets MemoryDenyWriteExecute=false for that one unit and
        nothing else; every other sandbox setting of the unit stays.
      '';
    };
  };

  config = lib.mkMerge [
    # Exceptions are honoured wherever the module is imported (agent-sandbox uses them
    # without a GPU), but only for the named units.
    {
      systemd.services = lib.mapAttrs (_unit: _e: {
        serviceConfig.MemoryDenyWriteExecute = lib.mkForce false;
      }) cfg.wxExceptions;

      environment.etc."compliance/gpu-wx-exceptions.json".source = exceptionsJson;

      assertions = lib.concatLists (
        lib.mapAttrsToList (unit: e: [
          {
            assertion = e.reason != "" && e.approvedBy != "" && e.library != "";
            message = "compliance.gpuNode.wxExceptions.${unit}: library, reason and approvedBy must not be empty.";
          }
          {
            # An exception for a unit that does not exist would create an empty unit.
            assertion =
              config.systemd.services.${unit}.script != ""
              || config.systemd.services.${unit}.serviceConfig ? ExecStart;
            message = "compliance.gpuNode.wxExceptions.${unit}: no such service (give the name without .service).";
          }
        ]) cfg.wxExceptions
      );
    }

    (lib.mkIf (cfg.wxExceptions != { }) {
      systemd.services.gpu-wx-exception-review = {
        description = "Report W^X exceptions past their review date";
        serviceConfig = {
          Type = "oneshot";
          ExecStart = reviewCheck;
          DynamicUser = true;
          ProtectSystem = "strict";
          ProtectHome = true;
          PrivateTmp = true;
          PrivateDevices = true;
          PrivateNetwork = true;
          NoNewPrivileges = true;
          CapabilityBoundingSet = "";
          MemoryDenyWriteExecute = true;
          RestrictAddressFamilies = [ "AF_UNIX" ];
          SystemCallFilter = [ "@system-service" ];
        };
      };
      systemd.timers.gpu-wx-exception-review = {
        description = "Daily review-date check of W^X exceptions";
        wantedBy = [ "timers.target" ];
        timerConfig = {
          OnCalendar = "daily";
          Persistent = true;
        };
      };
    })

    (lib.mkIf cfg.enable {
      # ---- Driver (headless) ------------------------------------------------------------
      services.xserver.videoDrivers = [ "nvidia" ];
      hardware.nvidia = {
        package = cfg.driver.package;
        open = cfg.driver.open;
        nvidiaPersistenced = cfg.persistenced;
        nvidiaSettings = false;
        modesetting.enable = false;
        powerManagement.enable = false;
      };
      nixpkgs.config.allowUnfreePredicate =
        pkg: lib.any (prefix: lib.hasPrefix prefix (lib.getName pkg)) cfg.unfreePackageNames;

      # ---- CUDA runtime -----------------------------------------------------------------
      hardware.graphics.enable = cfg.cuda.enable;
      environment.systemPackages = cfg.cuda.packages;

      # ---- Device permissions -----------------------------------------------------------
      users.groups.${cfg.deviceGroup}.gid = cfg.deviceGroupGid;
      boot.extraModprobeConfig = ''
        options nvidia NVreg_DeviceFileUID=0 NVreg_DeviceFileGID=${gid} NVreg_DeviceFileMode=${cfg.deviceMode} NVreg_ModifyDeviceFiles=1
      '';
      services.udev.packages = [ udevRules ];

      # ---- Units that may use the GPU ---------------------------------------------------
      systemd.services = lib.mkMerge [
        {
          gpu-device-permissions = {
            description = "Restrict NVIDIA device nodes to the GPU device group";
            wantedBy = [ "multi-user.target" ];
            after = [
              "systemd-udev-settle.service"
              "systemd-modules-load.service"
            ]
            ++ lib.optional cfg.persistenced "nvidia-persistenced.service";
            before = map (u: "${u}.service") cfg.units;
            serviceConfig = {
              Type = "oneshot";
              RemainAfterExit = true;
              ExecStart = fixPermissions;
              CapabilityBoundingSet = [
                "CAP_CHOWN"
                "CAP_FOWNER"
              ];
              NoNewPrivileges = true;
              ProtectHome = true;
              PrivateNetwork = true;
              PrivateTmp = true;
              MemoryDenyWriteExecute = true;
              RestrictAddressFamilies = [ "AF_UNIX" ];
              SystemCallFilter = [ "@system-service" ];
            };
          };
        }
        (lib.genAttrs cfg.units (_u: {
          serviceConfig = unitHardening;
          after = [ "gpu-device-permissions.service" ];
          wants = [ "gpu-device-permissions.service" ];
        }))
        # nvidia-persistenced runs as root without a sandbox upstream; it only needs the
        # device nodes and /run. (Verified on configuration only; see the test.)
        (lib.mkIf cfg.persistenced {
          nvidia-persistenced.serviceConfig = {
            NoNewPrivileges = true;
            ProtectHome = true;
            PrivateTmp = true;
            PrivateNetwork = true;
            IPAddressDeny = "any";
            RestrictAddressFamilies = [ "AF_UNIX" ];
            MemoryDenyWriteExecute = true;
            LockPersonality = true;
            RestrictRealtime = true;
          };
        })
      ];

      environment.etc."compliance/gpu-node.json".text = builtins.toJSON {
        driverVersion = cfg.driver.package.version or "unknown";
        openKernelModule = cfg.driver.open;
        persistenced = cfg.persistenced;
        deviceGroup = cfg.deviceGroup;
        deviceGroupGid = cfg.deviceGroupGid;
        deviceMode = cfg.deviceMode;
        gpuUnits = cfg.units;
        wxExceptionUnits = lib.attrNames cfg.wxExceptions;
      };

      assertions = [
        {
          assertion = !config.services.xserver.enable;
          message = "compliance.gpuNode: the GPU node is headless; services.xserver.enable must stay false.";
        }
        {
          assertion = lib.all (u: !(lib.hasSuffix ".service" u)) cfg.units;
          message = "compliance.gpuNode.units: give service names without the .service suffix.";
        }
      ];
    })
  ];
}
