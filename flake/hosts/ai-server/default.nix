# ai-server: the production host.
#
# Composes every compliance module of this flake, including the AI modules (gpu-node,
# agent-sandbox, ai-services); those are imported only if present, so the host also evaluates
# in a checkout without them.
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
      # agent-sandbox adds the UID of every declared agent to this list.
      egress.restrictedUsers = [ "ai-agent" ];
    };

    # GPU: NVIDIA production driver (open kernel module), CUDA driver libraries, persistence
    # daemon, /dev/nvidia* restricted to the gpu group. No W^X exception is declared: none
    # has been shown to be needed on this host (vault finding on the W^X exception).
    gpuNode.enable = true;

    # Inference: Ollama on loopback behind the TLS gateway on the LAN address. The sops file
    # holds ai-gateway-tls-cert, ai-gateway-tls-key and ai-gateway-client-ca (see README).
    # Models are added here after intake, with the manifest and weights digests recorded
    # on the intake machine; until then the store is empty and nothing is served.
    aiServices = {
      enable = true;
      models.declared = [ ];
      audit.readers = [ ];
    };

    # Agents are added by reviewed change (name, UID, runner, tools, allow-list).
    agentSandbox = {
      enable = true;
      approval.approvers = [ "opsadmin" ];
    };
  };

  system.stateVersion = "26.05";
}
