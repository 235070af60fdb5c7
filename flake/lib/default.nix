# Compliance helpers shared by the flake's checks.
#
#   mkComplianceTest { name, controls, nodes, testScript, ... }
#     A NixOS VM test (pkgs.testers.runNixOSTest) that records the controls it verifies and
#     leaves evidence of its result. `controls` is a non-empty list of `framework-id/CONTROL-ID`
#     strings. Every node imports the sops-nix module, so the compliance modules can be
#     imported by path (`imports = [ ../modules/accounts ];`).
#
#     The result is two derivations (flake/README.md, "Evidence"):
#       - the test run, `passthru.evidence`: it runs the VMs and ALWAYS succeeds, writing
#         `$out/evidence.json` (kbgen evidence format 1) that says `passed` or `failed`, with
#         one assertion per `with subtest("name"):` block of the testScript;
#       - the returned check, which copies that file to `$out/evidence.json` and fails when
#         it does not say `passed`, so `nix flake check` fails on a failed test.
#     The check carries `passthru.controls`, `passthru.evidence` and the test's `driver`,
#     `driverInteractive`, `nodes` and `config`.
#
#     A subtest names the controls it checks, each one of the test's `controls`:
#       with subtest("weak passwords are rejected", controls=["pci-dss/8.3.6"]):
#     An untagged subtest checks the test's whole control list. Tags written as literal
#     lists are checked when the test is evaluated, all of them again when the test runs.
#
#     The testScript (a string, or a function `{ nodes, ... }: ''...''`) is written to a file
#     of its own and run by ./evidence-recorder.py, so its line numbers are unchanged: line N
#     of a traceback is line N of the testScript string (unless an interpolation inserts line
#     breaks before it). The driver's type check and lint
#     see only the two-line launcher (the testScript itself passes through Python's compiler
#     when it runs: a syntax error is a failed result with its line).
#
#   testSecrets / testSecretsModule
#     A throw-away sops file, generated at build time for VM tests only: a fresh age identity
#     (an ed25519 SSH key), a random administrator password and its SHA-512 crypt hash, and an
#     evidence signing key. Nothing is committed to the repository and nothing is reused
#     outside the tests.
#
#   flakeRev: the git revision recorded in evidence (`self.rev or self.dirtyRev or "unknown"`,
#   passed by flake.nix).
{
  pkgs,
  sopsModule,
  flakeRev ? "unknown",
}:
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

  system = pkgs.stdenv.hostPlatform.system;

  # Runs a testScript with `subtest` recording and writes the evidence; see its docstring.
  evidenceRecorder = ./evidence-recorder.py;

  # The quoted strings of every `, controls=[...]` keyword argument in a testScript: the
  # subtest tags written as literal lists. (A list built at run time is checked when it runs.)
  subtestTags =
    script:
    let
      afterKeyword = builtins.tail (
        builtins.filter builtins.isString (
          builtins.split ",[[:space:]]*controls[[:space:]]*=[[:space:]]*\\[" script
        )
      );
      listText = text: builtins.head (builtins.split "]" text);
      quoted =
        text:
        map (m: if builtins.elemAt m 0 != null then builtins.elemAt m 0 else builtins.elemAt m 1) (
          builtins.filter builtins.isList (builtins.split "\"([^\"]*)\"|'([^']*)'" text)
        );
    in
    lib.concatMap (text: quoted (listText text)) afterKeyword;

  checkedScript =
    name: controls: script:
    let
      unknown = builtins.filter (tag: !(builtins.elem tag controls)) (subtestTags script);
    in
    if unknown == [ ] then
      script
    else
      throw "mkComplianceTest ${name}: subtest controls ${builtins.toJSON unknown} are not in the test's controls";

  # The testScript the driver runs: a launcher that hands the author's script (a file of its
  # own, so its line numbers stay those of the testScript string) to the recorder. A function
  # `{ nodes, ... }: ''...''` stays a function with the same arguments (the test framework
  # passes only the arguments a testScript function names).
  recordingScript =
    { name, controls }:
    testScript:
    let
      meta = pkgs.writeText "compliance-${name}-evidence-meta.json" (
        builtins.toJSON {
          test = name;
          inherit controls system;
          flake_rev = flakeRev;
        }
      );
      launcher =
        script:
        let
          file = pkgs.writeText "compliance-${name}-test-script.py" (checkedScript name controls script);
        in
        ''
          import runpy
          runpy.run_path("${evidenceRecorder}")["run"](globals(), "${file}", "${meta}")
        '';
    in
    if lib.isFunction testScript then
      lib.setFunctionArgs (args: launcher (testScript args)) (lib.functionArgs testScript)
    else
      launcher testScript;

  # The check: fails unless the test run's evidence says `passed`, and keeps a copy of it.
  evidenceCheck =
    {
      name,
      controls,
      testRun,
    }:
    pkgs.runCommand "compliance-check-${name}"
      {
        nativeBuildInputs = [ pkgs.jq ];
        passthru =
          builtins.intersectAttrs {
            driver = null;
            driverInteractive = null;
            nodes = null;
            config = null;
          } testRun
          // {
            inherit controls;
            evidence = testRun;
          };
      }
      ''
        evidence=${testRun}/evidence.json
        if ! jq -e '.kbgen_evidence == 1 and (.result == "passed" or .result == "failed")' "$evidence" > /dev/null; then
          echo "compliance test ${name}: $evidence is missing or is not kbgen evidence version 1" >&2
          exit 1
        fi
        mkdir -p "$out"
        cp "$evidence" "$out/evidence.json"
        if [ "$(jq -r .result "$evidence")" != passed ]; then
          echo "compliance test ${name} FAILED (evidence: $evidence)" >&2
          jq -r '(.error // empty | "  run: " + .),
                 (.assertions[] | select(.result != "passed") | "  subtest \"" + .name + "\": " + (.error // "failed"))' \
            "$evidence" >&2
          exit 1
        fi
        echo "compliance test ${name} passed: $(jq '.assertions | length' "$evidence") assertions"
      '';

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
    let
      # Always succeeds (the recorder catches every failure of the script) and writes
      # $out/evidence.json.
      testRun = pkgs.testers.runNixOSTest (
        builtins.removeAttrs args [ "controls" ]
        // {
          name = "compliance-${name}";
          defaults = {
            imports = [
              sopsModule
              (args.defaults or { })
            ];
          };
          testScript = recordingScript { inherit name controls; } testScript;
          passthru = (args.passthru or { }) // {
            inherit controls;
          };
        }
      );
    in
    evidenceCheck { inherit name controls testRun; };
in
{
  inherit
    frameworks
    validControl
    subtestTags
    mkComplianceTest
    testSecrets
    testSecretsModule
    ;
}
