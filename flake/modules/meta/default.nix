# System metadata: threat model, data classification and tenancy.
#
# These values are not settings of any daemon; they describe the system so that other
# modules can act on them (the logon banner carries the classification marking, the evidence
# snapshots embed the threat model) and so that the assumptions the controls rely on are
# recorded next to the code that enforces them.
{ config, lib, ... }:
let
  inherit (lib) mkOption types;
  cfg = config.compliance.meta;

  levelType = types.submodule {
    options = {
      name = mkOption {
        type = types.str;
        description = "Short name of the classification level.";
      };
      description = mkOption {
        type = types.str;
        description = "What data belongs to this level.";
      };
      handling = mkOption {
        type = types.str;
        description = "Handling rule for data of this level on this host.";
      };
    };
  };
in
{
  options.compliance.meta = {
    systemName = mkOption {
      type = types.str;
      default = "ai-server";
      description = "Name of the system in evidence and reports.";
    };

    tenancy = mkOption {
      type = types.enum [
        "single-tenant"
        "multi-tenant"
      ];
      default = "single-tenant";
      description = ''
        Tenancy model. The controls in this flake assume one organization owns every workload and
        every account on the host; multi-tenant isolation (per-tenant keys, per-tenant audit
        separation) is not implemented, so anything but single-tenant is rejected.
      '';
    };

    dataClassification = {
      levels = mkOption {
        type = types.listOf levelType;
        default = [
          {
            name = "public";
            description = "Information approved for release.";
            handling = "No restriction.";
          }
          {
            name = "internal";
            description = "Operational data: model weights, prompts without personal data, configuration.";
            handling = "LAN only; access by authenticated staff.";
          }
          {
            name = "confidential";
            description = "Personal data that is not regulated health or payment data.";
            handling = "LAN only; encrypted at rest; access logged.";
          }
          {
            name = "restricted";
            description = "Regulated data: ePHI (HIPAA) and cardholder data (PCI DSS).";
            handling = "LAN only; encrypted at rest; every access audited; evidence retained six years.";
          }
        ];
        description = "Classification levels, lowest first.";
      };
      highestProcessed = mkOption {
        type = types.str;
        default = "restricted";
        description = "Highest classification level the host may process; drives the banner marking.";
      };
    };

    threatModel = {
      methodology = mkOption {
        type = types.str;
        default = "STRIDE per trust boundary";
        description = "Method used to derive the threats.";
      };
      assets = mkOption {
        type = types.listOf types.str;
        default = [
          "model weights and inference configuration"
          "prompts and completions, which may contain ePHI or cardholder data"
          "agent workspaces and tool credentials"
          "audit trail and sealed evidence"
          "sops age key and decrypted secrets"
        ];
        description = "Assets the controls protect.";
      };
      adversaries = mkOption {
        type = types.listOf types.str;
        default = [
          "a compromised or prompt-injected AI agent running under its sandbox account"
          "an unauthenticated host on the LAN"
          "an insider holding a valid non-administrative account"
          "an attacker with physical access to the powered-off server or its disks"
        ];
        description = "Adversaries considered.";
      };
      trustBoundaries = mkOption {
        type = types.listOf types.str;
        default = [
          "LAN to host (nftables input policy)"
          "host to anywhere (per-UID nftables egress policy)"
          "agent sandbox account to the rest of the host"
          "administrator to root (sudo with re-authentication)"
        ];
        description = "Trust boundaries the controls enforce.";
      };
      assumptions = mkOption {
        type = types.listOf types.str;
        default = [
          "the server has no route to the internet; updates arrive through the LAN"
          "the LAN time server and resolver are trusted"
          "the sops age key is provisioned out of band onto the encrypted root file system"
        ];
        description = "Assumptions the controls rely on; a broken assumption is a residual risk.";
      };
      outOfScope = mkOption {
        type = types.listOf types.str;
        default = [
          "organizational controls (policies, training, contracts), covered by the vault's policies"
          "physical security of the server room"
        ];
        description = "What this host configuration does not address.";
      };
    };
  };

  config = {
    assertions = [
      {
        assertion = cfg.tenancy == "single-tenant";
        message = "compliance.meta.tenancy: only single-tenant operation is implemented by this flake.";
      }
      {
        assertion = lib.any (l: l.name == cfg.dataClassification.highestProcessed) cfg.dataClassification.levels;
        message = "compliance.meta.dataClassification.highestProcessed must name one of compliance.meta.dataClassification.levels.";
      }
    ];

    # Submodule values carry the module system's `_module` attribute, so the JSON is spelled out.
    environment.etc."compliance/meta.json".text = builtins.toJSON {
      inherit (cfg) systemName tenancy threatModel;
      dataClassification = {
        inherit (cfg.dataClassification) highestProcessed;
        levels = map (l: { inherit (l) name description handling; }) cfg.dataClassification.levels;
      };
    };
  };
}
