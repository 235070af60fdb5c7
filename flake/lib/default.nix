# Compliance helpers shared by the flake's checks.
#
#   mkComplianceTest { name, controls, nodes, testScript, ... }
#     A NixOS VM test (pkgs.testers.runNixOSTest) that records the controls it verifies.
#     `controls` is a non-empty list of `framework-id/CONTROL-ID` strings; it is kept in the
#     derivation's `passthru.controls` so kbgen and reviewers can trace a check to controls.
#     Every node imports the sops-nix module, so the compliance modules can be imported by
#     path (`imports = [ ../modules/accounts ];`).
#
#   testSecrets / testSecretsModule
#     A throw-away sops file, generated at build time for VM tests only: a fresh age identity
#     (an ed25519 SSH key), a random administrator password and its SHA-512 crypt hash, and an
#     evidence signing key. Nothing is committed to the repository and nothing is reused
#     outside the tests.
{ pkgs, sopsModule }:
let
  inherit (pkgs) lib;

  frameworks = [
    "nist-800-53"
    "disa-stig"
    "pci-dss"
    "hipaa"
    "hitrust"
    "owasp-llm"
    "owasp-agentic"
    "nist-ai-rmf"
    "eu-ai-act"
    "iso-42001"
    "mitre-atlas"
  ];

  validControl =
    control:
    let
      parts = builtins.match "([a-z0-9-]+)/(.+)" control;
    in
    parts != null && builtins.elem (builtins.head parts) frameworks;

  testSecrets =
    pkgs.runCommand "compliance-test-secrets"
      {
        nativeBuildInputs = [
          pkgs.sops
          pkgs.ssh-to-age
          pkgs.openssh
          pkgs.openssl
        ];
      }
      ''
        export HOME="$TMPDIR"
        mkdir -p "$out"

        # Age identity of the test host, as an ed25519 SSH key (sops.age.sshKeyPaths).
        ssh-keygen -q -t ed25519 -N "" -C sops-test-host -f "$out/sops-host-key"
        recipient="$(ssh-to-age < "$out/sops-host-key.pub")"

        # Evidence signing key.
        ssh-keygen -q -t ed25519 -N "" -C compliance-evidence-test -f "$out/evidence-signing-key"

        # Random administrator password that satisfies the password policy, and its hash.
        password="Aa1!$(openssl rand -hex 16)"
        printf '%s' "$password" > "$out/admin-password"
        hash="$(printf '%s' "$password" | openssl passwd -6 -stdin)"

        {
          printf "opsadmin-password-hash: '%s'\n" "$hash"
          printf 'evidence-signing-key: |\n'
          sed 's/^/  /' "$out/evidence-signing-key"
        } > plain.yaml

        sops --encrypt --age "$recipient" --input-type yaml --output-type yaml plain.yaml > "$out/secrets.yaml"
        rm plain.yaml
      '';

  testSecretsModule = {
    compliance.secrets = {
      enable = true;
      sopsFile = "${testSecrets}/secrets.yaml";
      ageKeyFile = null;
      ageSshKeyPaths = [ "${testSecrets}/sops-host-key" ];
    };
  };

  mkComplianceTest =
    {
      name,
      controls,
      nodes,
      testScript,
      ...
    }@args:
    assert lib.assertMsg (controls != [ ]) "mkComplianceTest ${name}: controls must not be empty";
    assert lib.assertMsg (lib.all validControl controls)
      "mkComplianceTest ${name}: every control must be framework-id/CONTROL-ID with a known framework id";
    pkgs.testers.runNixOSTest (
      builtins.removeAttrs args [ "controls" ]
      // {
        name = "compliance-${name}";
        defaults = {
          imports = [
            sopsModule
            (args.defaults or { })
          ];
        };
        passthru = (args.passthru or { }) // {
          inherit controls;
        };
      }
    );
in
{
  inherit
    frameworks
    validControl
    mkComplianceTest
    testSecrets
    testSecretsModule
    ;
}
