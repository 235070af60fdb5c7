# AI services: Ollama answers on loopback only and only to the audit proxy's UID; the LAN sees
# a TLS gateway that refuses plain HTTP, TLS 1.1, weak cipher suites and clients without a
# certificate from the team CA; model management is closed and only declared models are
# served; prompts and completions are logged with the client identity, readable only by the
# audit-reader group, and aged out per retention; body size and request rate are limited;
# a model whose digest no longer matches is refused: Ollama is stopped and does not start.
#
# No real model is used: a VM has no GPU and no network to fetch weights, and even the
# smallest real model would make the test slow and large. The test installs a tiny fake
# model (a few bytes of "weights", a config blob and a manifest, with digests computed here)
# into the store and runs the real Ollama package. Ollama lists it but cannot load it, so a
# generate request for it ends in an Ollama error; what is tested is that the request passes
# the gateway, is attributed and logged, and that tampering with the blob is caught.
{ pkgs, complianceLib, ... }:
let
  # ---- Fake model store -------------------------------------------------------------
  weights = "tiny fake model weights for the VM test, not a GGUF file\n";
  modelConfig = builtins.toJSON {
    model_format = "gguf";
    model_family = "llama";
    model_type = "1M";
    file_type = "F16";
  };
  hex = builtins.hashString "sha256";
  digest = s: "sha256:${hex s}";
  manifest = builtins.toJSON {
    schemaVersion = 2;
    mediaType = "application/vnd.docker.distribution.manifest.v2+json";
    config = {
      mediaType = "application/vnd.docker.container.image.v1+json";
      digest = digest modelConfig;
      size = builtins.stringLength modelConfig;
    };
    layers = [
      {
        mediaType = "application/vnd.ollama.image.model";
        digest = digest weights;
        size = builtins.stringLength weights;
      }
    ];
  };
  weightsBlob = "/var/lib/ai-models/blobs/sha256-${hex weights}";
  modelStore = pkgs.runCommand "tinyfake-model-store" { } ''
    mkdir -p $out/blobs $out/manifests/registry.ollama.ai/library/tinyfake
    cp ${pkgs.writeText "weights" weights} $out/blobs/sha256-${hex weights}
    cp ${pkgs.writeText "config" modelConfig} $out/blobs/sha256-${hex modelConfig}
    cp ${pkgs.writeText "manifest" manifest} $out/manifests/registry.ollama.ai/library/tinyfake/latest
  '';

  # ---- Throw-away PKI and sops file (test only) ---------------------------------------
  # A team CA that signs the gateway certificate and the client certificate of alice, and
  # a rogue CA for mallory. The gateway's certificate, key and the team CA are encrypted
  # into a sops file for the test host's age identity from complianceLib.testSecrets.
  pki =
    pkgs.runCommand "ai-services-test-pki"
      {
        nativeBuildInputs = [
          pkgs.openssl
          pkgs.sops
          pkgs.ssh-to-age
        ];
      }
      ''
        export HOME="$TMPDIR"
        mkdir -p "$out"
        cd "$out"
        newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }

        newkey ca.key
        openssl req -x509 -new -key ca.key -days 30 -subj "/CN=test team CA" -out ca.pem
        newkey rogue-ca.key
        openssl req -x509 -new -key rogue-ca.key -days 30 -subj "/CN=rogue CA" -out rogue-ca.pem

        sign() { # name subject ca extfile
          newkey "$1.key"
          openssl req -new -key "$1.key" -subj "$2" -out "$1.csr"
          openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial -days 30 -extfile "$4" -out "$1.pem"
        }
        printf 'subjectAltName=DNS:ai-server\nextendedKeyUsage=serverAuth\n' > server.ext
        printf 'extendedKeyUsage=clientAuth\n' > client.ext
        sign server "/CN=ai-server" ca server.ext
        sign alice "/CN=alice/O=team" ca client.ext
        sign mallory "/CN=mallory/O=team" rogue-ca client.ext

        recipient="$(ssh-to-age < ${complianceLib.testSecrets}/sops-host-key.pub)"
        {
          printf 'ai-gateway-tls-cert: |\n'
          sed 's/^/  /' server.pem
          printf 'ai-gateway-tls-key: |\n'
          sed 's/^/  /' server.key
          printf 'ai-gateway-client-ca: |\n'
          sed 's/^/  /' ca.pem
        } > plain.yaml
        sops --encrypt --age "$recipient" --input-type yaml --output-type yaml plain.yaml > secrets.yaml
        rm plain.yaml ./*.csr
      '';
in
complianceLib.mkComplianceTest {
  name = "ai-services";
  controls = [
    "nist-800-53/AC-14"
    "nist-800-53/SC-7(3)"
    "nist-800-53/SI-10"
    "pci-dss/8.3.1"
    "pci-dss/10.2.1"
    "pci-dss/10.2.2"
    "pci-dss/10.3.1"
    "hipaa/§164.312(e)(2)(i)"
    "hipaa/§164.312(e)(2)(ii)"
    "hipaa/§164.312(a)(2)(i)"
    "hitrust/01.q"
    "hitrust/09.m"
    "hitrust/09.s"
    "hitrust/10.f"
    "disa-stig/V-268159"
    "iso-42001/A.6.2.5"
    "iso-42001/A.6.2.4"
    "mitre-atlas/AML.T0011"
    "mitre-atlas/AML.T0057"
    "nist-ai-rmf/MEASURE 2.8"
    "nist-800-53/AC-3"
    "nist-800-53/AC-4"
    "nist-800-53/SC-7(5)"
    "nist-800-53/SC-5"
    "nist-800-53/SC-8"
    "nist-800-53/SC-8(1)"
    "nist-800-53/SC-13"
    "nist-800-53/IA-2"
    "nist-800-53/IA-3"
    "nist-800-53/IA-5(2)"
    "nist-800-53/CM-7"
    "nist-800-53/AU-2"
    "nist-800-53/AU-3"
    "nist-800-53/AU-9"
    "nist-800-53/AU-11"
    "nist-800-53/AU-12"
    "nist-800-53/SI-4"
    "nist-800-53/SI-7"
    "nist-800-53/SI-7(1)"
    "nist-800-53/SI-12"
    "nist-800-53/SR-11"
    "hipaa/§164.312(b)"
    "hipaa/§164.312(d)"
    "hipaa/§164.312(e)(1)"
    "owasp-llm/LLM02:2025"
    "owasp-llm/LLM03:2025"
    "owasp-llm/LLM04:2025"
    "owasp-llm/LLM10:2025"
    "owasp-agentic/T8"
    "owasp-agentic/T9"
    "mitre-atlas/AML.T0010"
    "mitre-atlas/AML.T0018"
    "mitre-atlas/AML.T0024"
    "mitre-atlas/AML.T0029"
    "mitre-atlas/AML.T0034"
    "mitre-atlas/AML.T0040"
    "mitre-atlas/AML.T0058"
    "nist-ai-rmf/MANAGE 2.4"
    "nist-ai-rmf/MANAGE 3.2"
    "nist-ai-rmf/MEASURE 2.4"
    "nist-ai-rmf/MEASURE 2.7"
    "eu-ai-act/Art. 12"
    "eu-ai-act/Art. 15"
    "eu-ai-act/Art. 19"
    "nist-ai-rmf/GOVERN 1.6"
    "nist-ai-rmf/MEASURE 2.10"
    "iso-42001/A.6.2.6"
    "iso-42001/A.6.2.8"
    "iso-42001/A.7.5"
  ];

  nodes.server =
    { config, ... }:
    {
      imports = [
        ../modules/ai-services
        ../modules/lan-only-network
      ];
      virtualisation.vlans = [ 1 ];
      virtualisation.memorySize = 2048;

      compliance.canonical.network = {
        lanCidr = "192.168.1.0/24";
        listenAddress = config.networking.primaryIPAddress;
      };
      compliance.lanOnlyNetwork = {
        enable = true;
        timeSync.enable = false;
      };
      compliance.secrets = {
        enable = true;
        sopsFile = "${pki}/secrets.yaml";
        ageKeyFile = null;
        ageSshKeyPaths = [ "${complianceLib.testSecrets}/sops-host-key" ];
      };

      compliance.aiServices = {
        enable = true;
        proxy = {
          clientMaxBodySize = "64k";
          rateLimit = {
            rate = "2r/s";
            burst = 5;
          };
        };
        models.declared = [
          {
            name = "tinyfake";
            manifestDigest = digest manifest;
            modelDigest = digest weights;
          }
        ];
        audit.readers = [ "auditor" ];
      };

      # Model intake stand-in: copy the fake store in before the first verification.
      systemd.services.install-test-model = {
        wantedBy = [ "ai-model-verify.service" ];
        before = [ "ai-model-verify.service" ];
        after = [ "systemd-tmpfiles-setup.service" ];
        unitConfig.ConditionPathExists = "!/var/lib/ai-models/manifests";
        serviceConfig = {
          Type = "oneshot";
          RemainAfterExit = true;
        };
        script = ''
          cp -r --no-preserve=mode,ownership ${modelStore}/. /var/lib/ai-models/
          chown -R root:ai-models /var/lib/ai-models
          chmod -R u=rwX,g=rX,o= /var/lib/ai-models
        '';
      };

      users.users.auditor.isNormalUser = true;
      users.users.alice.isNormalUser = true;
      environment.systemPackages = [
        pkgs.curl
        pkgs.openssl
      ];
    };

  nodes.client = {
    virtualisation.vlans = [ 1 ];
    environment.systemPackages = [
      pkgs.curl
      pkgs.openssl
    ];
  };

  testScript =
    { nodes, ... }:
    ''
      import json
      import time

      server_ip = "${nodes.server.networking.primaryIPAddress}"
      pki = "${pki}"
      base = f"--resolve ai-server:443:{server_ip} --cacert {pki}/ca.pem"
      alice = f"{base} --cert {pki}/alice.pem --key {pki}/alice.key"
      mallory = f"{base} --cert {pki}/mallory.pem --key {pki}/mallory.key"


      def status(args, path, extra=""):
          # At most two requests a second, under the gateway's rate limit (2r/s).
          time.sleep(0.6)
          return client.succeed(
              f"curl -s -o /tmp/body -w '%{{http_code}}' --max-time 60 {args} {extra} https://ai-server{path}"
          ).strip()


      start_all()
      server.wait_for_unit("ollama.service")
      server.wait_for_unit("nginx.service")
      server.wait_for_unit("ai-audit-proxy.socket")
      server.wait_until_succeeds("ss -Htln 'sport = :11434' | grep -q 127.0.0.1:11434")
      client.wait_for_unit("multi-user.target")

      with subtest("Ollama listens on loopback only; the gateway on the LAN address only"):
          out = server.succeed("ss -Htln 'sport = :11434'")
          assert "127.0.0.1:11434" in out, out
          for wildcard in ["0.0.0.0:11434", "[::]:11434", "*:11434"]:
              assert wildcard not in out, out
          out = server.succeed("ss -Htln 'sport = :443'")
          assert f"{server_ip}:443" in out and "0.0.0.0:443" not in out, out
          assert server.succeed("ss -Htln 'sport = :80'").strip() == ""
          client.fail(f"curl -s --max-time 5 http://{server_ip}:11434/")

      with subtest("only the audit proxy's UID may connect to the Ollama port"):
          server.succeed("runuser -u ai-audit -- curl -fsS --max-time 5 -o /dev/null http://127.0.0.1:11434/api/version")
          server.fail("curl -fsS --max-time 5 -o /dev/null http://127.0.0.1:11434/api/version")
          server.fail("runuser -u alice -- curl -fsS --max-time 5 -o /dev/null http://127.0.0.1:11434/api/version")
          server.wait_until_succeeds("journalctl -k --no-pager | grep -q ai-ollama-deny")
          server.succeed("nft list table inet ai-services | grep -q skuid")

      with subtest("plain HTTP is refused"):
          client.fail(f"curl -s --max-time 5 -o /dev/null http://{server_ip}/")
          code = client.succeed(f"curl -s -o /dev/null -w '%{{http_code}}' --max-time 5 http://{server_ip}:443/").strip()
          assert code == "400", code

      with subtest("TLS 1.1 and weak cipher suites are refused; TLS 1.2 and 1.3 work"):
          s_client = f"openssl s_client -connect {server_ip}:443 -servername ai-server -CAfile {pki}/ca.pem -cert {pki}/alice.pem -key {pki}/alice.key"
          rc, out = client.execute(f"echo | {s_client} -tls1_1 -cipher 'DEFAULT@SECLEVEL=0' 2>&1")
          assert "New, TLSv1.1" not in out and ("alert" in out or "(NONE)" in out or rc != 0), out
          client.succeed(f"echo | {s_client} -tls1_2 2>&1 | grep -q 'New, TLSv1.2'")
          client.succeed(f"echo | {s_client} -tls1_3 2>&1 | grep -q 'New, TLSv1.3'")
          client.fail(f"echo | {s_client} -tls1_2 -cipher AES128-SHA 2>&1 | grep -q 'New, TLSv1.2'")
          client.fail(f"echo | {s_client} -tls1_3 -ciphersuites TLS_CHACHA20_POLY1305_SHA256 2>&1 | grep -q 'New, TLSv1.3'")

      with subtest("clients need a certificate from the team CA"):
          assert status(base, "/api/version") == "400"
          assert status(mallory, "/api/version") == "400"
          assert status(alice, "/api/version") == "200"

      with subtest("model management is closed; only declared models are served"):
          assert status(alice, "/api/pull", "-d '{\"model\":\"llama3\"}'") == "403"
          assert status(alice, "/api/create", "-d '{\"model\":\"x\"}'") == "403"
          assert status(alice, "/api/delete", "-X DELETE -d '{\"model\":\"tinyfake\"}'") == "403"
          assert status(alice, "/anything-else") == "404"
          assert status(alice, "/api/generate", "-d '{\"model\":\"undeclared\",\"prompt\":\"hi\",\"stream\":false}'") == "403"
          # Declared: forwarded to Ollama (which cannot load the fake weights and answers
          # with an error of its own, not the gateway's 403).
          code = status(alice, "/api/generate", "-d '{\"model\":\"tinyfake\",\"prompt\":\"audit-canary-prompt-7f3\",\"stream\":false}'")
          assert code not in ("403", "404", "429"), code

      with subtest("prompts and completions are logged with identity, content restricted"):
          audit = "/var/log/ai-audit"
          server.wait_until_succeeds(f"grep -h audit-canary-prompt-7f3 {audit}/content-*.jsonl | grep -q 'CN=alice'")
          server.succeed(f"grep -h tinyfake {audit}/metadata-*.jsonl | grep 'CN=alice' | grep -q '\"model_digest\": \"${digest manifest}\"'")
          server.succeed(f"grep -h undeclared {audit}/metadata-*.jsonl | grep -q 'not declared'")
          server.fail(f"grep -q audit-canary-prompt-7f3 {audit}/metadata-*.jsonl")
          assert server.succeed(f"stat -c '%a %U %G' {audit}").strip() == "2750 ai-audit ai-audit-readers"
          for f in server.succeed(f"ls {audit}").split():
              assert server.succeed(f"stat -c '%a %G' {audit}/{f}").strip() == "640 ai-audit-readers", f
          server.fail(f"runuser -u alice -- cat {audit}/content-*.jsonl")
          server.succeed(f"runuser -u auditor -- sh -c 'cat {audit}/content-*.jsonl' | grep -q audit-canary")
          server.succeed("journalctl -t ai_gateway --no-pager | grep -q 'CN=alice'")
          server.succeed("journalctl -u ai-audit-proxy --no-pager | grep -q '/api/generate'")

      with subtest("audit logs are aged out per retention"):
          old = "2000-01-01"
          mid = server.succeed("date -u -d '-100 days' +%F").strip()
          for day in [old, mid]:
              for kind in ["content", "metadata"]:
                  server.succeed(f"runuser -u ai-audit -- touch {audit}/{kind}-{day}.jsonl")
          server.succeed("systemctl start ai-audit-retention.service")
          server.fail(f"test -e {audit}/content-{old}.jsonl")
          server.fail(f"test -e {audit}/metadata-{old}.jsonl")
          server.fail(f"test -e {audit}/content-{mid}.jsonl")
          server.succeed(f"test -e {audit}/metadata-{mid}.jsonl")
          server.succeed("systemctl is-enabled ai-audit-retention.timer")

      with subtest("request bodies are limited"):
          client.succeed("head -c 100000 /dev/zero | tr '\\0' a > /tmp/big")
          assert status(alice, "/api/generate", "--data-binary @/tmp/big") == "413"

      with subtest("the request rate is limited per client identity"):
          time.sleep(5)
          codes = client.succeed(
              f"for i in $(seq 1 20); do curl -s -o /dev/null -w '%{{http_code}}\\n' --max-time 10 {alice} https://ai-server/api/version; done"
          ).split()
          assert "200" in codes and "429" in codes, codes

      with subtest("deployed models and gateway settings are inventoried"):
          inventory = json.loads(server.succeed("cat /etc/compliance/ai-services.json"))
          assert [m["manifestDigest"] for m in inventory["models"]] == ["${digest manifest}"], inventory
          assert inventory["ollama"]["host"] == "127.0.0.1", inventory
          assert inventory["gateway"]["clientCertificateRequired"] is True, inventory
          assert inventory["audit"]["contentRetentionDays"] == 30, inventory

      with subtest("the health check passes"):
          time.sleep(3)
          server.succeed("systemctl start ai-health-check.service")
          server.succeed("systemctl is-enabled ai-health-check.timer")

      with subtest("a model whose digest does not match is refused"):
          server.succeed("systemctl start ai-model-verify.service")
          server.succeed("cp ${weightsBlob} /tmp/weights.orig")
          server.succeed("echo tampered >> ${weightsBlob}")
          server.fail("systemctl start ai-model-reverify.service")
          server.wait_until_fails("systemctl is-active ollama.service")
          server.succeed("journalctl -t ai-model-verify --no-pager | grep -q 'blob digest mismatch'")
          server.fail("systemctl start ollama.service")
          time.sleep(1)
          assert status(alice, "/api/version") == "502"
          # An undeclared model is refused the same way.
          server.succeed("cp /tmp/weights.orig ${weightsBlob}")
          server.succeed("install -d -m 0750 /var/lib/ai-models/manifests/registry.ollama.ai/library/intruder")
          server.succeed("install -m 0640 /var/lib/ai-models/manifests/registry.ollama.ai/library/tinyfake/latest /var/lib/ai-models/manifests/registry.ollama.ai/library/intruder/latest")
          server.fail("systemctl start ollama.service")
          server.succeed("journalctl -t ai-model-verify --no-pager | grep -q 'undeclared model in the store: registry.ollama.ai/library/intruder:latest'")
          # Restored to the declared state, Ollama starts again.
          server.succeed("rm -r /var/lib/ai-models/manifests/registry.ollama.ai/library/intruder")
          server.succeed("systemctl start ollama.service")
          server.wait_until_succeeds("ss -Htln 'sport = :11434' | grep -q 127.0.0.1:11434")
          assert status(alice, "/api/version") == "200"
  '';
}
