# LAN-only network boundary.
#
# Ingress: the nftables firewall drops everything except the canonical TCP/UDP ports, and
# those only from the LAN CIDR. Services bind to the LAN address, not to the wildcard.
# Egress: a separate nftables output chain with a default-drop policy lets the host talk to
# the LAN only, and lets the sandboxed service accounts (matched by UID with `meta skuid`)
# talk to nothing but the host itself. Time comes from the LAN time server through chrony.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types;
  cfg = config.compliance.lanOnlyNetwork;
  canon = config.compliance.canonical;
  net = canon.network;

  portSet = ports: lib.concatMapStringsSep ", " toString ports;

  restrictedUids = map (
    u:
    let
      uid = config.users.users.${u}.uid;
    in
    if uid == null then throw "compliance.lanOnlyNetwork: user ${u} needs a fixed uid" else uid
  ) cfg.egress.restrictedUsers;

  # chrony maxpoll is a power of two; take the largest one that does not exceed maxPollSec.
  log2Floor =
    n:
    let
      go = e: power: if power * 2 > n then e else go (e + 1) (power * 2);
    in
    go 0 1;
  maxPoll = log2Floor canon.timeSync.maxPollSec;

  egressRuleset = ''
    chain output {
      type filter hook output priority filter; policy drop;

      oifname "lo" accept comment "the host may always talk to itself"
      ct state established,related accept
      ct state invalid drop

      ${lib.optionalString (restrictedUids != [ ]) ''
        ${lib.concatMapStrings (r: "meta skuid { ${portSet restrictedUids} } ${r} accept\n") cfg.egress.restrictedAllowRules}
        meta skuid { ${portSet restrictedUids} } counter log prefix "compliance-egress-uid-drop: " level info drop comment "sandboxed service accounts"
      ''}
      ip daddr ${net.lanCidr} accept comment "LAN"
      ip6 daddr fe80::/10 accept comment "IPv6 link-local"
      ip6 nexthdr icmpv6 accept comment "neighbour discovery"
      udp sport 68 udp dport 67 accept comment "DHCPv4 client"
      ${lib.concatMapStrings (r: "${r} accept\n") cfg.egress.extraAllowRules}
      ${lib.optionalString cfg.egress.allowInternet ''accept comment "internet egress explicitly allowed"''}
      counter log prefix "compliance-egress-drop: " level info
    }
  '';
in
{
  imports = [ ../canonical ];

  options.compliance.lanOnlyNetwork = {
    enable = lib.mkEnableOption "the LAN-only network boundary (nftables ingress and per-UID egress, LAN time sync)";

    egress = {
      enable = mkOption {
        type = types.bool;
        default = true;
        description = "Filter outbound traffic with a default-drop policy.";
      };
      restrictedUsers = mkOption {
        type = types.listOf types.str;
        default = [ ];
        example = [ "ai-agent" ];
        description = ''
          Accounts (with a fixed uid) whose processes may only talk to the host itself, through
          the loopback interface, plus `restrictedAllowRules`. Intended for AI agent sandboxes.
        '';
      };
      restrictedAllowRules = mkOption {
        type = types.listOf types.str;
        default = [ ];
        example = [ "ip daddr 10.20.0.5 tcp dport 443" ];
        description = "nftables matches that restricted accounts may additionally reach.";
      };
      extraAllowRules = mkOption {
        type = types.listOf types.str;
        default = [ ];
        description = "nftables matches every other process may reach besides the LAN.";
      };
      allowInternet = mkOption {
        type = types.bool;
        default = false;
        description = "Allow non-restricted processes to reach any destination (breaks the LAN-only boundary).";
      };
    };

    timeSync.enable = mkOption {
      type = types.bool;
      default = true;
      description = "Synchronise the clock with the canonical LAN time servers using chrony.";
    };
  };

  config = lib.mkIf cfg.enable (
    lib.mkMerge [
      {
        networking.nftables.enable = true;

        networking.firewall = {
          enable = true;
          # Nothing is opened for every source address; the canonical ports are opened for
          # the LAN only, below.
          allowedTCPPorts = lib.mkForce [ ];
          allowedUDPPorts = lib.mkForce [ ];
          allowedTCPPortRanges = lib.mkForce [ ];
          allowedUDPPortRanges = lib.mkForce [ ];
          allowPing = false;
          rejectPackets = false;
          logRefusedConnections = true;
          checkReversePath = "strict";
          extraInputRules = ''
            ${lib.optionalString (
              net.allowedTcpPorts != [ ]
            ) "ip saddr ${net.lanCidr} tcp dport { ${portSet net.allowedTcpPorts} } accept"}
            ${lib.optionalString (
              net.allowedUdpPorts != [ ]
            ) "ip saddr ${net.lanCidr} udp dport { ${portSet net.allowedUdpPorts} } accept"}
            ip saddr ${net.lanCidr} icmp type echo-request limit rate 10/second accept
          '';
        };

        # Listeners bind to the LAN address.
        services.openssh.openFirewall = false;
        services.openssh.listenAddresses = [
          {
            addr = net.listenAddress;
            port = builtins.head config.services.openssh.ports;
          }
        ];
        systemd.services.sshd = lib.mkIf config.services.openssh.enable {
          wants = [ "network-online.target" ];
          after = [ "network-online.target" ];
        };

        assertions = [
          {
            assertion = lib.all (p: lib.elem p net.allowedTcpPorts) config.services.openssh.ports;
            message = "compliance.lanOnlyNetwork: the SSH port must be in compliance.canonical.network.allowedTcpPorts.";
          }
          {
            assertion = cfg.egress.restrictedUsers == [ ] || cfg.egress.enable;
            message = "compliance.lanOnlyNetwork: egress.restrictedUsers needs egress.enable.";
          }
        ];

        environment.systemPackages = [ pkgs.nftables ];
      }

      (lib.mkIf cfg.egress.enable {
        networking.nftables.tables.compliance-egress = {
          family = "inet";
          content = egressRuleset;
        };
      })

      (lib.mkIf cfg.timeSync.enable {
        networking.timeServers = canon.timeSync.servers;
        services.chrony = {
          enable = true;
          # Servers are written below with a bounded polling interval instead.
          servers = [ ];
          initstepslew.enabled = false;
          extraConfig = ''
            ${lib.concatMapStrings (
              s: "server ${s} iburst minpoll ${toString (lib.min 4 maxPoll)} maxpoll ${toString maxPoll}\n"
            ) canon.timeSync.servers}
            makestep 1.0 3
            # Client only: no NTP service and no remote command port.
            port 0
            cmdport 0
          '';
        };
      })
    ]
  );
}
