# Host hardening baseline derived from the DISA Anduril NixOS STIG and NIST SP 800-53 CM-6/CM-7:
# kernel and sysctl hardening, module blacklist, SSH daemon, PAM (faillock, pwquality,
# pwhistory), login.defs, logon banners, core dumps, boot loader, sudo and Nix daemon access.
# All numbers come from compliance.canonical.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types;
  cfg = config.compliance.stigBaseline;
  canon = config.compliance.canonical;
  meta = config.compliance.meta;

  pamPackage = config.security.pam.package;
  pamServices = config.security.pam.services;

  bannerText =
    canon.banner.text
    + "Highest data classification processed on this system: ${lib.toUpper meta.dataClassification.highestProcessed}\n";
  bannerFile = pkgs.writeText "logon-banner" bannerText;

  faillockSettings = {
    audit = true;
    silent = true;
    deny = canon.lockout.denyCount;
    fail_interval = canon.lockout.failIntervalSec;
    unlock_time = canon.lockout.unlockTimeSec;
    even_deny_root = true;
    dir = "/var/log/faillock";
  };

  # Account lockout for one PAM service: pam_faillock preauth before the password modules,
  # authfail right after pam_unix, and the account-phase check that also resets the counter
  # after a successful logon.
  lockoutRules = svc: {
    failDelay = {
      enable = true;
      delay = canon.lockout.failDelaySec * 1000000;
    };
    rules.auth = lib.mkIf pamServices.${svc}.unixAuth {
      faillock-preauth = {
        order = pamServices.${svc}.rules.auth.rootok.order + 50;
        control = "required";
        modulePath = "${pamPackage}/lib/security/pam_faillock.so";
        settings = faillockSettings // {
          preauth = true;
        };
      };
      faillock-authfail = {
        order = pamServices.${svc}.rules.auth.unix.order + 10;
        control = "[default=die]";
        modulePath = "${pamPackage}/lib/security/pam_faillock.so";
        settings = faillockSettings // {
          authfail = true;
        };
      };
    };
    rules.account.faillock = {
      order = pamServices.${svc}.rules.account.unix.order + 10;
      control = "required";
      modulePath = "${pamPackage}/lib/security/pam_faillock.so";
      settings = {
        dir = "/var/log/faillock";
      };
    };
  };

  # Password quality and reuse for one PAM service that changes passwords.
  passwordRules = svc: {
    rules.password = {
      pwquality = {
        order = pamServices.${svc}.rules.password.unix.order - 20;
        control = "requisite";
        modulePath = "${pkgs.libpwquality.lib}/lib/security/pam_pwquality.so";
        settings = {
          retry = 3;
        };
      };
      pwhistory = {
        order = pamServices.${svc}.rules.password.unix.order - 10;
        control = "requisite";
        modulePath = "${pamPackage}/lib/security/pam_pwhistory.so";
        settings = {
          remember = canon.password.history;
          use_authtok = true;
          enforce_for_root = true;
        };
      };
      unix.settings = {
        nullok = lib.mkForce false;
        yescrypt = lib.mkForce (canon.password.hashMethod == "YESCRYPT");
        sha512 = canon.password.hashMethod == "SHA512";
        shadow = true;
        use_authtok = true;
      };
    };
  };

  bootPolicy = {
    systemdBootEditor = config.boot.loader.systemd-boot.editor;
    protectKernelImage = config.security.protectKernelImage;
    kernelParams = config.boot.kernelParams;
    blacklistedKernelModules = config.boot.blacklistedKernelModules;
    coredumpStorage = config.systemd.coredump.settings.Coredump.Storage or null;
  };
in
{
  imports = [
    ../canonical
    ../meta
  ];

  options.compliance.stigBaseline = {
    enable = lib.mkEnableOption "the STIG-derived host hardening baseline";

    blacklistedKernelModules = mkOption {
      type = types.listOf types.str;
      default = [
        # Rarely used file systems (CM-7).
        "cramfs"
        "freevxfs"
        "jffs2"
        "hfs"
        "hfsplus"
        "udf"
        # Uncommon network protocols with a history of kernel vulnerabilities.
        "dccp"
        "sctp"
        "rds"
        "tipc"
        "n_hdlc"
        "ax25"
        "netrom"
        "rose"
        "atm"
        "can"
        # DMA-capable and removable-media buses a rack server does not use.
        "firewire-core"
        "firewire-ohci"
        "thunderbolt"
        "usb-storage"
        "uas"
        # Bluetooth (STIG V-268147).
        "bluetooth"
        "btusb"
      ];
      description = "Kernel modules that are never autoloaded and whose explicit loading is refused.";
    };

    pam = {
      lockoutServices = mkOption {
        type = types.listOf types.str;
        default = [
          "login"
          "su"
          "sudo"
        ];
        description = ''
          PAM services that count failed password logons with pam_faillock and lock the account
          (STIG V-268081). sshd is not listed: it accepts public keys only, so nixpkgs builds its
          PAM service without password authentication (unixAuth follows PasswordAuthentication
          and KbdInteractiveAuthentication), the auth-phase faillock rules are never added to it
          and there is no password to guess over SSH. Listed anyway, sshd would get only the
          account-phase rule, which never refuses a logon and clears the failure record on every
          successful key logon, undoing a lock set at the console or by sudo before an
          administrator has reset it. An assertion requires sshd here as soon as password or
          keyboard-interactive logon is turned on.
        '';
      };
      passwordServices = mkOption {
        type = types.listOf types.str;
        default = [
          "passwd"
          "chpasswd"
        ];
        description = "PAM services that change passwords and enforce pwquality and pwhistory.";
      };
    };

    ssh = {
      enable = mkOption {
        type = types.bool;
        default = true;
        description = "Run the hardened SSH daemon for remote administration.";
      };
      allowGroups = mkOption {
        type = types.listOf types.str;
        default = [ "wheel" ];
        description = "Only members of these groups may log in over SSH (administrators).";
      };
    };
  };

  config = lib.mkIf cfg.enable {
    # ---- Kernel -------------------------------------------------------------------------
    # Priority 90 so the baseline wins over distribution defaults set at normal priority.
    boot.kernel.sysctl = lib.mapAttrs (_: lib.mkOverride 90) canon.kernel.sysctl;
    boot.blacklistedKernelModules = cfg.blacklistedKernelModules;
    # Blacklisting only stops autoloading; `install … false` also refuses `modprobe <module>`.
    boot.extraModprobeConfig = lib.concatMapStrings (
      m: "install ${m} ${pkgs.coreutils}/bin/false\n"
    ) cfg.blacklistedKernelModules;
    boot.kernelParams = [
      "slab_nomerge"
      "init_on_alloc=1"
      "page_alloc.shuffle=1"
      "randomize_kstack_offset=on"
      "vsyscall=none"
    ];
    security.protectKernelImage = true;
    security.apparmor.enable = lib.mkDefault true;

    # ---- Boot integrity -----------------------------------------------------------------
    boot.loader.systemd-boot.editor = false;
    boot.loader.systemd-boot.configurationLimit = lib.mkDefault 10;
    boot.tmp.cleanOnBoot = true;

    # ---- Core dumps ---------------------------------------------------------------------
    # systemd-coredump stays the handler (with it disabled the kernel would write `core`
    # into the working directory) but stores nothing.
    systemd.coredump.enable = true;
    systemd.coredump.settings.Coredump = {
      Storage = "none";
      ProcessSizeMax = "0";
    };

    # ---- Wireless and Bluetooth ---------------------------------------------------------
    networking.wireless.enable = false;
    hardware.bluetooth.enable = false;

    # ---- SSH ----------------------------------------------------------------------------
    services.openssh = {
      enable = lib.mkDefault cfg.ssh.enable;
      settings = {
        PermitRootLogin = canon.ssh.permitRootLogin;
        PasswordAuthentication = false;
        KbdInteractiveAuthentication = false;
        PermitEmptyPasswords = false;
        PubkeyAuthentication = true;
        HostbasedAuthentication = false;
        IgnoreRhosts = true;
        UsePAM = true;
        Ciphers = canon.ssh.ciphers;
        Macs = canon.ssh.macs;
        KexAlgorithms = canon.ssh.kexAlgorithms;
        MaxAuthTries = canon.ssh.maxAuthTries;
        LoginGraceTime = canon.ssh.loginGraceTimeSec;
        ClientAliveInterval = canon.session.sshClientAliveIntervalSec;
        ClientAliveCountMax = canon.session.sshClientAliveCountMax;
        MaxSessions = canon.session.maxLoginsPerUser;
        MaxStartups = "10:30:60";
        LogLevel = canon.ssh.logLevel;
        X11Forwarding = false;
        AllowTcpForwarding = false;
        AllowAgentForwarding = false;
        AllowStreamLocalForwarding = false;
        PermitTunnel = false;
        PermitUserEnvironment = false;
        Compression = false;
        StrictModes = true;
        UseDns = false;
        AllowGroups = cfg.ssh.allowGroups;
        Banner = "${bannerFile}";
      };
    };

    # ---- Logon banners ------------------------------------------------------------------
    environment.etc."issue".text = bannerText;
    environment.etc."issue.net".text = bannerText;

    # ---- PAM: lockout, delay, password quality and reuse ---------------------------------
    # If sshd ever accepts passwords, its stack must count failures like the others.
    assertions = [
      {
        assertion =
          !(pamServices ? sshd && pamServices.sshd.unixAuth) || lib.elem "sshd" cfg.pam.lockoutServices;
        message = "compliance.stigBaseline.pam.lockoutServices must include sshd when sshd accepts passwords or keyboard-interactive logons.";
      }
    ];

    security.pam.services = lib.mkMerge [
      (lib.genAttrs cfg.pam.lockoutServices lockoutRules)
      (lib.genAttrs cfg.pam.passwordServices passwordRules)
    ];

    environment.etc."security/faillock.conf".text = ''
      dir = /var/log/faillock
      audit
      silent
      deny = ${toString canon.lockout.denyCount}
      fail_interval = ${toString canon.lockout.failIntervalSec}
      unlock_time = ${toString canon.lockout.unlockTimeSec}
      even_deny_root
    '';

    environment.etc."security/pwquality.conf".text = ''
      minlen=${toString canon.password.minLength}
      minclass=${toString canon.password.minClasses}
      ${lib.optionalString (canon.password.minClasses == 4) ''
        dcredit=-1
        ucredit=-1
        lcredit=-1
        ocredit=-1
      ''}difok=${toString canon.password.minDifferentChars}
      dictcheck=${if canon.password.dictCheck then "1" else "0"}
      usercheck=1
      enforcing=1
      enforce_for_root
      retry=3
    '';

    security.loginDefs.settings = {
      PASS_MAX_DAYS = canon.password.maxAgeDays;
      PASS_MIN_DAYS = canon.password.minAgeDays;
      PASS_WARN_AGE = 7;
      FAIL_DELAY = canon.lockout.failDelaySec;
      ENCRYPT_METHOD = canon.password.hashMethod;
      SHA_CRYPT_MIN_ROUNDS = 65536;
      UMASK = "077";
    };

    security.pam.loginLimits = [
      {
        domain = "*";
        type = "hard";
        item = "core";
        value = 0;
      }
      {
        domain = "*";
        type = "soft";
        item = "core";
        value = 0;
      }
      {
        domain = "*";
        type = "hard";
        item = "maxlogins";
        value = canon.session.maxLoginsPerUser;
      }
    ];

    systemd.tmpfiles.rules = [
      "d /var/log/faillock 0700 root root -"
    ];

    # `faillock` (to unlock accounts, since unlock_time is 0) and `pwscore`.
    environment.systemPackages = [
      pamPackage
      pkgs.libpwquality
    ];

    # ---- Session timeout ----------------------------------------------------------------
    environment.interactiveShellInit = ''
      TMOUT=${toString canon.session.shellTimeoutSec}
      readonly TMOUT
      export TMOUT
    '';

    # ---- Privilege escalation -----------------------------------------------------------
    security.sudo = {
      enable = true;
      execWheelOnly = true;
      wheelNeedsPassword = true;
      extraConfig = ''
        Defaults timestamp_timeout=${toString canon.session.sudoTimestampTimeoutMin}
        Defaults passwd_tries=${toString canon.lockout.denyCount}
        Defaults use_pty
        Defaults env_reset
        Defaults !visiblepw
        Defaults logfile=/var/log/sudo.log
      '';
    };

    # ---- Nix daemon ---------------------------------------------------------------------
    nix.settings = {
      allowed-users = [
        "root"
        "@wheel"
      ];
      trusted-users = [ "root" ];
      require-sigs = true;
      sandbox = true;
    };

    # ---- Least functionality ------------------------------------------------------------
    environment.defaultPackages = lib.mkDefault [ ];

    # ---- Evidence of the boot and kernel policy as evaluated -----------------------------
    environment.etc."compliance/boot-policy.json".text = builtins.toJSON bootPolicy;
  };
}
