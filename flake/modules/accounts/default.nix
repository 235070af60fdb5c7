# Accounts: immutable, declarative user database.
#
# `users.mutableUsers = false` makes the NixOS configuration the only source of accounts:
# every activation rewrites /etc/passwd, /etc/group and /etc/shadow from it, so an account
# added by hand disappears at the next switch. Administrators get their password hash from
# sops (never from the store) and their SSH keys from this configuration; service accounts
# have fixed UIDs (the egress filter matches on them), no password and no login shell.
# A timer writes an access review to the evidence directory.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types;
  cfg = config.compliance.accounts;
  canon = config.compliance.canonical;
  secretsEnabled = config.compliance.secrets.enable;

  adminType = types.submodule (
    { name, ... }:
    {
      options = {
        uid = mkOption {
          type = types.nullOr types.int;
          default = null;
          description = "Fixed UID, or null to let NixOS allocate one.";
        };
        description = mkOption {
          type = types.str;
          default = "Administrator ${name}";
          description = "GECOS field.";
        };
        sshPublicKeys = mkOption {
          type = types.listOf types.singleLineStr;
          default = [ ];
          description = "OpenSSH public keys allowed to log in as this administrator.";
        };
        passwordSecret = mkOption {
          type = types.nullOr types.str;
          default = "${name}-password-hash";
          description = ''
            Key in the sops file holding the crypt(3) hash of the administrator's password
            (used for console logons and sudo). Null leaves the account without a password.
          '';
        };
        expires = mkOption {
          type = types.nullOr (types.strMatching "[0-9]{4}-[0-9]{2}-[0-9]{2}");
          default = null;
          description = "Expiry date (YYYY-MM-DD); set it for emergency and temporary accounts (STIG V-268079: at most 72 hours).";
        };
      };
    }
  );

  serviceType = types.submodule {
    options = {
      uid = mkOption {
        type = types.ints.between 400 999;
        description = "Fixed system UID (and GID of the account's own group).";
      };
      description = mkOption {
        type = types.str;
        default = "";
        description = "GECOS field.";
      };
      home = mkOption {
        type = types.str;
        default = "/var/empty";
        description = "Home directory; service state belongs in a StateDirectory, not here.";
      };
      extraGroups = mkOption {
        type = types.listOf types.str;
        default = [ ];
        description = "Supplementary groups of the service account. GPU access is not granted this way: /dev/nvidia* belongs to the gpu-node device group, which only the units in compliance.gpuNode.units receive.";
      };
    };
  };

  adminUser =
    name: a:
    {
      isNormalUser = true;
      inherit (a) description;
      extraGroups = [ "wheel" ];
      openssh.authorizedKeys.keys = a.sshPublicKeys;
    }
    // lib.optionalAttrs (a.uid != null) { inherit (a) uid; }
    // lib.optionalAttrs (a.expires != null) { inherit (a) expires; }
    // lib.optionalAttrs (secretsEnabled && a.passwordSecret != null) {
      hashedPasswordFile = config.sops.secrets.${a.passwordSecret}.path;
    };

  serviceUser = name: s: {
    isSystemUser = true;
    inherit (s) uid description home extraGroups;
    group = name;
    createHome = false;
    hashedPassword = "!";
    shell = "${pkgs.shadow}/bin/nologin";
  };

  adminsWithSecret = lib.filterAttrs (_: a: a.passwordSecret != null) cfg.admins;

  declared = pkgs.writeText "declared-accounts.json" (
    builtins.toJSON {
      admins = lib.mapAttrs (_: a: {
        inherit (a) description sshPublicKeys expires;
        groups = [ "wheel" ];
        passwordFromSops = secretsEnabled && a.passwordSecret != null;
      }) cfg.admins;
      serviceAccounts = lib.mapAttrs (_: s: {
        inherit (s)
          uid
          description
          home
          extraGroups
          ;
      }) cfg.serviceAccounts;
      rootLocked = cfg.lockRoot;
    }
  );

  declaredNames = lib.attrNames cfg.admins ++ lib.attrNames cfg.serviceAccounts;

  accessReview = pkgs.writeShellApplication {
    name = "compliance-access-review";
    runtimeInputs = [
      pkgs.coreutils
      pkgs.gawk
      pkgs.getent
      pkgs.shadow
      pkgs.openssh
      pkgs.nettools
      config.security.pam.package
    ];
    text = ''
      out_dir=${lib.escapeShellArg "${canon.evidence.dir}/access-review"}
      stamp="$(date -u +%Y%m%dT%H%M%SZ)"
      install -d -m 0700 "$out_dir"
      out="$out_dir/access-review-$stamp.txt"
      declared_names=" ${lib.concatStringsSep " " declaredNames} root "

      {
        echo "# Access review $stamp on $(hostname)"
        echo
        echo "## Declared accounts (NixOS configuration, users.mutableUsers = false)"
        cat ${declared}
        echo
        echo
        echo "## /etc/passwd"
        getent passwd
        echo
        echo "## Accounts with a login shell"
        getent passwd | awk -F: '$7 !~ /nologin$/ && $7 != "" { print $1 " uid=" $3 " shell=" $7 }'
        echo
        echo "## Privileged group membership"
        getent group wheel
        echo
        echo "## Password status and aging of human accounts"
        getent passwd | awk -F: '$3 >= 1000 && $3 < 60000 { print $1 }' | while read -r user; do
          passwd -S "$user" || true
          chage -l "$user" || true
        done
        echo
        echo "## Failed logon records (pam_faillock)"
        faillock --dir /var/log/faillock || true
        echo
        echo "## SSH authorized keys"
        for f in /etc/ssh/authorized_keys.d/*; do
          [ -e "$f" ] || continue
          echo "$f:"
          ssh-keygen -lf "$f" || true
        done
        echo
        echo "## Interactive accounts not declared in the configuration"
        getent passwd | awk -F: '$3 >= 1000 && $3 < 60000 { print $1 }' | while read -r user; do
          case "$declared_names" in
            *" $user "*) ;;
            *) echo "UNDECLARED $user" ;;
          esac
        done
        echo "# end of review"
      } > "$out"
      chmod 0400 "$out"
      echo "access review written to $out"
    '';
  };
in
{
  imports = [
    ../canonical
    ../secrets
  ];

  options.compliance.accounts = {
    enable = lib.mkEnableOption "immutable declarative accounts and access-review evidence";

    lockRoot = mkOption {
      type = types.bool;
      default = true;
      description = "Lock the root password; administrators use sudo (STIG V-268138).";
    };

    admins = mkOption {
      type = types.attrsOf adminType;
      default = { };
      description = "Administrators: members of `wheel`, SSH keys from the configuration, password hash from sops.";
    };

    serviceAccounts = mkOption {
      type = types.attrsOf serviceType;
      default = { };
      description = "Non-interactive service accounts with fixed UIDs.";
    };

    accessReview = {
      enable = mkOption {
        type = types.bool;
        default = true;
        description = "Write a periodic access review to the evidence directory.";
      };
      schedule = mkOption {
        type = types.str;
        default = canon.evidence.accessReviewSchedule;
        defaultText = lib.literalExpression "config.compliance.canonical.evidence.accessReviewSchedule";
        description = "systemd OnCalendar expression of the access review.";
      };
    };
  };

  config = lib.mkIf cfg.enable {
    assertions = [
      {
        assertion = cfg.admins != { };
        message = "compliance.accounts: declare at least one administrator.";
      }
    ];

    users.mutableUsers = false;

    users.users = lib.mkMerge [
      # "!" as the only password option of root: no password can ever match.
      (lib.mkIf cfg.lockRoot { root.initialHashedPassword = "!"; })
      (lib.mapAttrs adminUser cfg.admins)
      (lib.mapAttrs serviceUser cfg.serviceAccounts)
    ];

    users.groups = lib.mapAttrs (_: s: { gid = s.uid; }) cfg.serviceAccounts;

    compliance.secrets.managed = lib.mkIf secretsEnabled (
      lib.mapAttrs' (
        name: a:
        lib.nameValuePair a.passwordSecret {
          neededForUsers = true;
          description = "crypt(3) hash of the password of administrator ${name}";
        }
      ) adminsWithSecret
    );

    # Password aging for administrators with a password. NixOS writes new shadow entries with
    # a last-change day of 1 (1970) and keeps the aging fields of existing entries, so the
    # last-change date is set here, and reset whenever the hash in sops changes: aging then
    # measures the real rotation of the declarative password. Key-only accounts get no aging,
    # which would only expire a password that does not exist.
    system.activationScripts.complianceAccountAging = lib.mkIf secretsEnabled (
      lib.stringAfter [ "users" ] ''
        aging_state=/var/lib/compliance/accounts
        ${pkgs.coreutils}/bin/install -d -m 0700 "$aging_state"
        ${lib.concatStrings (
          lib.mapAttrsToList (name: a: ''
            hash_file=${lib.escapeShellArg config.sops.secrets.${a.passwordSecret}.path}
            if ${pkgs.getent}/bin/getent passwd ${lib.escapeShellArg name} >/dev/null && [ -r "$hash_file" ]; then
              sum="$(${pkgs.coreutils}/bin/sha256sum "$hash_file" | ${pkgs.coreutils}/bin/cut -d' ' -f1)"
              if [ "$(${pkgs.coreutils}/bin/cat "$aging_state/${name}.sum" 2>/dev/null || true)" != "$sum" ]; then
                ${pkgs.shadow}/bin/chage -d "$(${pkgs.coreutils}/bin/date -u +%Y-%m-%d)" ${lib.escapeShellArg name}
                echo "$sum" > "$aging_state/${name}.sum"
              fi
              ${pkgs.shadow}/bin/chage \
                -m ${toString canon.password.minAgeDays} \
                -M ${toString canon.password.maxAgeDays} \
                -W 7 \
                -I ${toString canon.password.inactiveDays} \
                ${lib.escapeShellArg name}
            fi
          '') adminsWithSecret
        )}
      ''
    );

    environment.systemPackages = [ accessReview ];

    systemd.services.compliance-access-review = lib.mkIf cfg.accessReview.enable {
      description = "Write an account access review to the evidence directory";
      serviceConfig = {
        Type = "oneshot";
        ExecStart = "${accessReview}/bin/compliance-access-review";
        UMask = "0077";
        PrivateTmp = true;
        NoNewPrivileges = true;
      };
    };

    systemd.timers.compliance-access-review = lib.mkIf cfg.accessReview.enable {
      description = "Periodic account access review";
      wantedBy = [ "timers.target" ];
      timerConfig = {
        OnCalendar = cfg.accessReview.schedule;
        Persistent = true;
        RandomizedDelaySec = "1h";
      };
    };
  };
}
