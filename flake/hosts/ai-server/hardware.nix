# Hardware and disk layout of ai-server: an x86_64 rack server with one NVMe system disk.
#
#   nvme0n1p1  1 GiB   GPT label "ESP": EFI system partition, vfat, /boot (systemd-boot)
#   nvme0n1p2  rest    GPT label "cryptroot": LUKS2 container, opened as /dev/mapper/cryptroot
#                        └─ LVM volume group "vg0"
#                             ├─ root   64 GiB   ext4  /
#                             ├─ nix   512 GiB   ext4  /nix
#                             ├─ log    64 GiB   ext4  /var/log   (audit trail, journal)
#                             ├─ home   32 GiB   ext4  /home
#                             ├─ swap   32 GiB   swap             (inside LUKS, so encrypted)
#                             └─ data   rest     ext4  /var/lib   (models, agent workspaces,
#                                                                  sops age key)
#
# Partitions are addressed by GPT partition label and LVM name, so the configuration does not
# depend on the order in which the kernel enumerates disks.
{
  config,
  lib,
  modulesPath,
  ...
}:
{
  imports = [ (modulesPath + "/installer/scan/not-detected.nix") ];

  nixpkgs.hostPlatform = "x86_64-linux";

  boot = {
    initrd = {
      availableKernelModules = [
        "nvme"
        "xhci_pci"
        "ahci"
        "usbhid"
        "sd_mod"
      ];
      kernelModules = [ "dm-snapshot" ];
      luks.devices.cryptroot = {
        device = "/dev/disk/by-partlabel/cryptroot";
        allowDiscards = true;
        bypassWorkqueues = true;
      };
    };
    kernelModules = [ "kvm-amd" ];

    loader = {
      systemd-boot.enable = true;
      efi.canTouchEfiVariables = true;
      timeout = 3;
    };

    tmp.useTmpfs = true;
  };

  fileSystems = {
    "/" = {
      device = "/dev/vg0/root";
      fsType = "ext4";
      options = [ "noatime" ];
    };
    "/boot" = {
      device = "/dev/disk/by-partlabel/ESP";
      fsType = "vfat";
      options = [
        "fmask=0077"
        "dmask=0077"
        "nodev"
        "nosuid"
        "noexec"
      ];
    };
    "/nix" = {
      device = "/dev/vg0/nix";
      fsType = "ext4";
      options = [
        "noatime"
        "nodev"
      ];
    };
    "/var/log" = {
      device = "/dev/vg0/log";
      fsType = "ext4";
      options = [
        "noatime"
        "nodev"
        "nosuid"
        "noexec"
      ];
      neededForBoot = true;
    };
    "/home" = {
      device = "/dev/vg0/home";
      fsType = "ext4";
      options = [
        "noatime"
        "nodev"
        "nosuid"
      ];
    };
    "/var/lib" = {
      device = "/dev/vg0/data";
      fsType = "ext4";
      options = [
        "noatime"
        "nodev"
        "nosuid"
      ];
      neededForBoot = true;
    };
  };

  swapDevices = [ { device = "/dev/vg0/swap"; } ];

  hardware.cpu.amd.updateMicrocode = lib.mkDefault config.hardware.enableRedistributableFirmware;
}
