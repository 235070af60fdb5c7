# ai-server: the production host.
#
# Composes every compliance module of this flake and, once another engineer has written them,
# the AI modules (gpu-node, agent-sandbox, ai-services); they are imported only if present.
{ config, lib, ... }:
let
  canon = config.compliance.canonical;

  aiModules = builtins.filter (dir: builtins.pathExists (dir + "/default.nix")) [
    ../../modules/gpu-node
    ../../modules/agent-sandbox
    ../../modules/ai-services
  ];

  lanPrefixLength = lib.toInt (lib.last (lib.splitString "/" canon.network.lanCidr));

  # Operator SSH keys are public data; they are committed under ./keys by the operators.
  keyFile = ./keys/opsadmin.pub;
  opsadminKeys = lib.optionals (builtins.pathExists keyFile) (
    lib.filter (line: line != "" && !(lib.hasPrefix "#" line)) (
      lib.splitString "\n" (builtins.readFile keyFile)
    )
  );
in
{
  imports = [
    ./hardware.nix
    ../../modules/canonical
    ../../modules/meta
    ../../modules/secrets
    ../../modules/stig-baseline
    ../../modules/accounts
    ../../modules/audit-and-aide
    ../../modules/lan-only-network
  ]
  ++ aiModules;

  networking = {
    hostName = "ai-server";
    useDHCP = false;
    # Static LAN address and no default route: the server reaches the LAN only. LAN peers
    # (time server, operators) are addressed by IP, so no resolver is configured.
    interfaces.eno1.ipv4.addresses = [
      {
        address = canon.network.listenAddress;
        prefixLength = lanPrefixLength;
      }
    ];
  };

  time.timeZone = "UTC";

  compliance = {
    stigBaseline.enable = true;

    secrets.enable = true;

    accounts = {
      enable = true;
      admins.opsadmin = {
        uid = 1000;
        description = "Platform administrator";
        sshPublicKeys = opsadminKeys;
      };
      serviceAccounts = {
        ai-inference = {
          uid = 990;
          description = "Local GPU inference service";
          extraGroups = [
            "video"
            "render"
          ];
        };
        ai-agent = {
          uid = 991;
          description = "Sandboxed AI agents";
        };
      };
    };

    auditAndAide.enable = true;

    lanOnlyNetwork = {
      enable = true;
      # Agents reach the inference API on this host (through loopback) and nothing else.
      egress.restrictedUsers = [ "ai-agent" ];
    };
  };

  system.stateVersion = "26.05";
}
