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

    # No service accounts are declared here: Ollama runs as the upstream unit's DynamicUser,
    # the audit proxy has its own account from ai-services, Nginx the one of the NixOS nginx
    # module that ai-services enables, and each agent gets its own `agent-<name>` account
    # with a fixed UID from agent-sandbox. (Shared `ai-inference` and `ai-agent` accounts
    # were declared here before; nothing ran as them.)
    accounts = {
      enable = true;
      admins.opsadmin = {
        uid = 1000;
        description = "Platform administrator";
        sshPublicKeys = opsadminKeys;
      };
    };

    auditAndAide.enable = true;

    # agent-sandbox adds the UID of every declared agent to egress.restrictedUsers. An agent
    # may then reach only its own allow-list, by default the TLS inference gateway on this
    # host's LAN address with its own client certificate; 127.0.0.1, where Ollama listens, is
    # outside its IPAddressAllow, and the ai-services nftables rule admits only the audit
    # proxy's UID to the Ollama port.
    lanOnlyNetwork.enable = true;

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
