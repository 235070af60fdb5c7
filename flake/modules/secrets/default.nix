# Secrets: sops-nix declarations and rotation monitoring.
#
# Secrets are never written into the Nix store or into this repository in clear text. They
# live in a sops-encrypted YAML file, are decrypted at activation with the host's age key
# (kept on the LUKS-encrypted root file system) and appear under /run/secrets (or
# /run/secrets-for-users for password hashes, which are needed before users are created).
# Other modules request the secrets they need through `compliance.secrets.managed.<name>`
# and read `config.sops.secrets.<name>.path`.
#
# This module needs the sops-nix NixOS module; the flake's nixosModules.secrets imports it.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types;
  cfg = config.compliance.secrets;
  canon = config.compliance.canonical;

  managedType = types.submodule (
    { name, ... }:
    {
      options = {
        description = mkOption {
          type = types.str;
          default = "";
          description = "What the secret is for; appears in the rotation report.";
        };
        owner = mkOption {
          type = types.str;
          default = "root";
          description = "Owner of the decrypted file (ignored for secrets needed for users, which are root-owned).";
        };
        group = mkOption {
          type = types.nullOr types.str;
          default = null;
          description = "Group of the decrypted file; null keeps the owner's primary group.";
        };
        mode = mkOption {
          type = types.strMatching "0[0-7]{3}";
          default = "0400";
          description = "Permissions of the decrypted file.";
        };
        neededForUsers = mkOption {
          type = types.bool;
          default = false;
          description = "Decrypt before users are created (password hashes for hashedPasswordFile).";
        };
        restartUnits = mkOption {
          type = types.listOf types.str;
          default = [ ];
          description = "Units restarted when the secret changes.";
        };
        lastRotated = mkOption {
          type = types.nullOr (types.strMatching "[0-9]{4}-[0-9]{2}-[0-9]{2}");
          default = null;
          description = ''
            Date (YYYY-MM-DD) the secret was last rotated. When null, the sops file's own
            `sops.lastmodified` timestamp is used, which sops updates on every edit.
          '';
        };
      };
    }
  );

  ageCheck = pkgs.writeShellApplication {
    name = "compliance-secrets-age-check";
    runtimeInputs = with pkgs; [
      coreutils
      yq-go
      util-linux
    ];
    text = ''
      # Usage: compliance-secrets-age-check [max-age-days]
      # Reports every managed secret whose last rotation is older than the cadence and exits
      # non-zero if there is one, so the systemd unit fails and the failure is visible.
      cadence="''${1:-${toString cfg.rotationCadenceDays}}"
      sops_file=${lib.escapeShellArg (toString cfg.sopsFile)}
      report_dir=${lib.escapeShellArg "${canon.evidence.dir}/secrets"}
      now="$(date -u +%s)"
      stamp="$(date -u +%Y%m%dT%H%M%SZ)"

      install -d -m 0700 "$report_dir"
      report="$report_dir/secrets-age-$stamp.txt"

      if [ ! -r "$sops_file" ]; then
        echo "sops file $sops_file is missing or unreadable" | tee "$report" >&2
        logger -p auth.alert -t compliance-secrets "sops file $sops_file is missing"
        exit 2
      fi

      file_ts="$(yq '.sops.lastmodified' "$sops_file")"
      if [ -z "$file_ts" ] || [ "$file_ts" = "null" ]; then
        echo "no sops.lastmodified metadata in $sops_file" | tee "$report" >&2
        exit 2
      fi

      stale=0
      check() {
        local name="$1" rotated="$2" ts epoch age
        if [ -n "$rotated" ]; then ts="$rotated"; else ts="$file_ts"; fi
        epoch="$(date -u -d "$ts" +%s)"
        age=$(( (now - epoch) / 86400 ))
        if [ "$age" -ge "$cadence" ]; then
          echo "STALE  $name  last rotated $ts ($age days, cadence $cadence days)"
          stale=$((stale + 1))
        else
          echo "OK     $name  last rotated $ts ($age days, cadence $cadence days)"
        fi
      }

      {
        echo "# secrets rotation report $stamp"
        echo "# sops file: $sops_file (lastmodified $file_ts)"
        ${lib.concatMapStringsSep "\n" (
          name:
          "check ${lib.escapeShellArg name} ${
            lib.escapeShellArg (
              if cfg.managed.${name}.lastRotated == null then "" else cfg.managed.${name}.lastRotated
            )
          }"
        ) (lib.attrNames cfg.managed)}
        echo "# stale secrets: $stale"
      } > "$report"

      cat "$report"
      chmod 0400 "$report"
      if [ "$stale" -gt 0 ]; then
        logger -p auth.alert -t compliance-secrets "$stale secret(s) older than $cadence days, see $report"
        exit 1
      fi
    '';
  };
in
{
  imports = [ ../canonical ];

  options.compliance.secrets = {
    enable = lib.mkEnableOption "sops-nix secret provisioning and rotation monitoring";

    sopsFile = mkOption {
      type = types.either types.path types.str;
      default = "/var/lib/sops-nix/secrets.yaml";
      description = ''
        The sops-encrypted secrets file. A Nix path (for example `./secrets/ai-server.yaml`)
        is copied to the store, which is safe because the file is encrypted, and is validated at
        build time. A string is an absolute path on the host, for a file delivered out of band;
        it is not validated at build time.
      '';
    };

    ageKeyFile = mkOption {
      type = types.nullOr types.str;
      default = "/var/lib/sops-nix/key.txt";
      description = "Host age identity used to decrypt the sops file; it must not be in the Nix store.";
    };

    ageSshKeyPaths = mkOption {
      type = types.listOf types.str;
      default = [ ];
      description = "SSH ed25519 private keys converted to age identities for decryption (in addition to, or instead of, ageKeyFile).";
    };

    rotationCadenceDays = mkOption {
      type = types.ints.positive;
      default = 90;
      description = ''
        Maximum age in days of a secret before the rotation check reports it: 90 days, the
        common cryptoperiod for system and application account credentials (PCI DSS 8.6.3,
        NIST IA-5).
      '';
    };

    rotationCheckSchedule = mkOption {
      type = types.str;
      default = "daily";
      description = "systemd OnCalendar expression of the rotation check.";
    };

    managed = mkOption {
      type = types.attrsOf managedType;
      default = { };
      description = "Secrets provided by sops-nix, by key in the sops file.";
    };
  };

  config = lib.mkIf cfg.enable {
    assertions = [
      {
        assertion = cfg.ageKeyFile != null || cfg.ageSshKeyPaths != [ ];
        message = "compliance.secrets: set ageKeyFile or ageSshKeyPaths so sops-nix can decrypt.";
      }
    ];

    sops = {
      defaultSopsFile = cfg.sopsFile;
      # Only a file that is part of the flake can be checked at build time.
      validateSopsFiles = builtins.isPath cfg.sopsFile;
      age.keyFile = cfg.ageKeyFile;
      age.sshKeyPaths = cfg.ageSshKeyPaths;
      # No implicit GnuPG import of the RSA host key: the age identity is the only key source.
      gnupg.sshKeyPaths = [ ];
      secrets = lib.mapAttrs (
        _name: s:
        {
          inherit (s) mode neededForUsers restartUnits;
        }
        // lib.optionalAttrs (!s.neededForUsers) { inherit (s) owner; }
        // lib.optionalAttrs (!s.neededForUsers && s.group != null) { inherit (s) group; }
      ) cfg.managed;
    };

    systemd.tmpfiles.rules = [
      "d /var/lib/sops-nix 0700 root root -"
    ];

    environment.systemPackages = [ ageCheck ];

    systemd.services.compliance-secrets-age = {
      description = "Report sops secrets older than the rotation cadence";
      after = [ "local-fs.target" ];
      serviceConfig = {
        Type = "oneshot";
        ExecStart = "${ageCheck}/bin/compliance-secrets-age-check";
        UMask = "0077";
        PrivateTmp = true;
        ProtectHome = true;
        NoNewPrivileges = true;
      };
    };

    systemd.timers.compliance-secrets-age = {
      description = "Daily check of secret ages against the rotation cadence";
      wantedBy = [ "timers.target" ];
      timerConfig = {
        OnCalendar = cfg.rotationCheckSchedule;
        Persistent = true;
        RandomizedDelaySec = "15m";
      };
    };
  };
}
