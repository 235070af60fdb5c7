# Time synchronisation: chrony on the server synchronises to the LAN time server named in the
# canonical settings, to no other source, and polls it at least once a minute.
{ pkgs, complianceLib, ... }:
complianceLib.mkComplianceTest {
  name = "time-sync";
  controls = [
    "nist-800-53/AU-8"
    "disa-stig/V-268149"
    "disa-stig/V-268150"
    "disa-stig/V-268151"
    "pci-dss/10.6.1"
    "pci-dss/10.6.2"
    "pci-dss/10.6.3"
    "hipaa/§164.312(b)"
    "hitrust/09.af"
  ];

  nodes.ntpserver = {
    services.chrony = {
      enable = true;
      servers = [ ];
      initstepslew.enabled = false;
      extraConfig = ''
        local stratum 8
        allow 192.168.1.0/24
      '';
    };
    networking.firewall.allowedUDPPorts = [ 123 ];
  };

  nodes.machine =
    { config, nodes, ... }:
    {
      imports = [ ../modules/lan-only-network ];
      compliance.lanOnlyNetwork.enable = true;
      compliance.canonical.network = {
        lanCidr = "192.168.1.0/24";
        listenAddress = config.networking.primaryIPAddress;
      };
      compliance.canonical.timeSync.servers = [ nodes.ntpserver.networking.primaryIPAddress ];
    };

  testScript =
    { nodes, ... }:
    ''
      import math

      server_ip = "${nodes.ntpserver.networking.primaryIPAddress}"
      max_poll = int(math.floor(math.log2(${toString nodes.machine.compliance.canonical.timeSync.maxPollSec})))

      start_all()
      ntpserver.wait_for_unit("chronyd.service")
      machine.wait_for_unit("chronyd.service")

      with subtest("the clock is synchronised to the LAN time server",
                   controls=["nist-800-53/AU-8", "disa-stig/V-268149", "disa-stig/V-268151",
                             "pci-dss/10.6.1", "hipaa/§164.312(b)", "hitrust/09.af"]):
          machine.wait_until_succeeds(f"chronyc -n sources | grep -E '^\\^\\* +{server_ip} '", timeout=300)
          machine.succeed("chronyc -n tracking | grep -E '^Leap status +: Normal'")

      with subtest("no other time source is configured",
                   controls=["nist-800-53/AU-8", "disa-stig/V-268149", "pci-dss/10.6.2",
                             "hitrust/09.af"]):
          sources = [l for l in machine.succeed("chronyc -n sources").splitlines() if l.startswith("^")]
          assert len(sources) == 1, sources
          assert server_ip in sources[0], sources

      with subtest("the server is polled at least once a minute",
                   controls=["nist-800-53/AU-8", "disa-stig/V-268150", "pci-dss/10.6.2",
                             "hitrust/09.af"]):
          fields = sources[0].split()
          poll = int(fields[3])
          assert poll <= max_poll, f"poll interval 2^{poll} s exceeds 2^{max_poll} s"
          assert 2 ** poll <= ${toString nodes.machine.compliance.canonical.timeSync.maxPollSec}

      with subtest("chrony serves no time and accepts no remote commands",
                   controls=["pci-dss/10.6.3", "hitrust/09.af"]):
          machine.fail("ss -Hlun | grep -E ':(123|323)\\s'")
    '';
}
