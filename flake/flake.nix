{
  description = "Hardened LAN-only NixOS server for local GPU inference and sandboxed AI agents, with compliance modules and VM tests";

  inputs = {
    # nixos-26.05 (current stable), pinned to the channel release nixos-26.05.10529.
    # Track the branch with `nix flake update` on a machine with network access; the
    # resulting flake.lock is committed.
    nixpkgs.url = "github:NixOS/nixpkgs/c508844df6c28fa6dabc1b6af70f3ccbd65c5201";

    # sops-nix master of 2026-06-20, which supports nixos-26.05.
    sops-nix = {
      url = "github:Mic92/sops-nix/420f8d2e9882911f65cfac15cc706f639ba96cca";
      inputs.nixpkgs.follows = "nixpkgs";
    };
  };

  outputs =
    {
      self,
      nixpkgs,
      sops-nix,
      ...
    }:
    let
      system = "x86_64-linux";
      pkgs = nixpkgs.legacyPackages.${system};
      inherit (nixpkgs) lib;

      sopsModule = sops-nix.nixosModules.sops;

      # The git revision of the flake source, recorded in every test's evidence. A flake
      # evaluated from an unclean tree has only dirtyRev ("<rev>-dirty"), one outside git none.
      flakeRev = self.rev or self.dirtyRev or "unknown";

      mkLib = pkgs: import ./lib { inherit pkgs sopsModule flakeRev; };
      complianceLib = mkLib pkgs;

      # Modules that declare or read sops secrets carry the sops-nix module with them.
      withSops = path: {
        imports = [
          sopsModule
          path
        ];
      };

      testNames = [
        "ssh-and-remote-access"
        "authentication-and-lockout"
        "audit-logging"
        "file-integrity"
        "network-boundary"
        "kernel-hardening"
        "accounts"
        "secrets-and-evidence"
        "time-sync"
        "boot-and-coredump"
        "gpu-node"
        "agent-sandbox"
        "ai-services"
      ];

      tests = lib.genAttrs testNames (
        name: import (./tests + "/${name}.nix") { inherit pkgs complianceLib; }
      );
    in
    {
      nixosModules = {
        canonical = ./modules/canonical;
        meta = ./modules/meta;
        secrets = withSops ./modules/secrets;
        stig-baseline = ./modules/stig-baseline;
        accounts = withSops ./modules/accounts;
        audit-and-aide = withSops ./modules/audit-and-aide;
        lan-only-network = ./modules/lan-only-network;
        gpu-node = ./modules/gpu-node;
        agent-sandbox = withSops ./modules/agent-sandbox;
        ai-services = withSops ./modules/ai-services;

        default = {
          imports = [
            sopsModule
            ./modules/canonical
            ./modules/meta
            ./modules/secrets
            ./modules/stig-baseline
            ./modules/accounts
            ./modules/audit-and-aide
            ./modules/lan-only-network
            ./modules/gpu-node
            ./modules/agent-sandbox
            ./modules/ai-services
          ];
        };
      };

      nixosConfigurations.ai-server = nixpkgs.lib.nixosSystem {
        modules = [
          sopsModule
          ./hosts/ai-server
        ];
      };

      # Each check fails when its test failed; its evidence (the test run, which always
      # succeeds and writes evidence.json) is the check's `evidence` attribute.
      checks.${system} = tests;

      # Evidence for kbgen (flake/README.md, "Evidence"): `evidence-<test>` is one test run
      # with its `evidence.json`; `evidence` is a folder with one `<test>.json` per test.
      packages.${system} =
        lib.mapAttrs' (name: test: lib.nameValuePair "evidence-${name}" test.evidence) tests
        // {
          evidence = pkgs.runCommand "compliance-evidence" { } (
            ''
              mkdir -p "$out"
            ''
            + lib.concatMapStrings (name: ''
              cp ${tests.${name}.evidence}/evidence.json "$out/${name}.json"
            '') testNames
          );

          # NixOS's option set as the host evaluates it (nixpkgs at the pinned revision,
          # sops-nix and these modules), for `kbgen --nixos-options` (flake/README.md,
          # "Upstream options"): result/share/doc/nixos/options.json. Invisible and internal
          # options are included, so renamed and removed options are listed (with "Alias of"
          # or no description); nixpkgs declarations are made relative to nixpkgs
          # (nixos/modules/...nix) so that kbgen links them at the pinned revision.
          nixos-options =
            (pkgs.nixosOptionsDoc {
              inherit (self.nixosConfigurations.ai-server) options;
              transformOptions =
                opt:
                opt
                // {
                  visible = true;
                  internal = false;
                  declarations = map (
                    decl: lib.removePrefix "${nixpkgs}/" (toString decl)
                  ) opt.declarations;
                };
            }).optionsJSON;
        };

      # nixfmt-rfc-style: the RFC 166 formatter, which nixpkgs now ships as `nixfmt`
      # (`nixfmt-rfc-style` became a deprecated alias and was removed in 2026).
      formatter.${system} = pkgs.nixfmt;

      lib = complianceLib // {
        forPkgs = mkLib;
      };
    };
}
