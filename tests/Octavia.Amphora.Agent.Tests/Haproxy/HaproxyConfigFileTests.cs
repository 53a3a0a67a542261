// Licensed under the Apache License, Version 2.0.

using Octavia.Amphora.Agent.Haproxy;

namespace Octavia.Amphora.Agent.Tests.Haproxy;

public sealed class HaproxyConfigFileTests
{
    private const string Config = """
        global
            daemon
            user nobody
            group nogroup
            maxconn 4000
            stats socket /var/lib/octavia/lb1.sock mode 0666 level user

        defaults
            timeout connect 5000

        frontend 11111111-aaaa
            maxconn 50000
            bind 10.0.0.5:443 ssl crt-list /var/lib/octavia/certs/lb1/11111111-aaaa.pem
            mode http
            default_backend p1:11111111-aaaa

        frontend 22222222-bbbb
            bind 10.0.0.5:22
            mode tcp
            default_backend p2:22222222-bbbb

        backend p1:11111111-aaaa
            mode http

        """;

    [Fact]
    public void Listeners_ReportModeAndTerminatedHttpsLikeUpstream()
    {
        HaproxyConfigFile.Listeners(Config).ShouldBe([
            new HaproxyListener("11111111-aaaa", "TERMINATED_HTTPS"),
            new HaproxyListener("22222222-bbbb", "TCP"),
        ]);
    }

    [Fact]
    public void GlobalMaxconn_IgnoresFrontendMaxconn()
    {
        HaproxyConfigFile.GlobalMaxconn(Config).ShouldBe(4000);
        HaproxyConfigFile.GlobalMaxconn("global\n    daemon\n").ShouldBeNull();
    }

    [Fact]
    public void StatsSocket_AndBindCount_AreRead()
    {
        HaproxyConfigFile.StatsSocket(Config).ShouldBe("/var/lib/octavia/lb1.sock");
        HaproxyConfigFile.BindCount(Config).ShouldBe(2);
    }

    [Fact]
    public void StripGroup_RemovesGroupLinesAsUpstreamDoes()
    {
        var stripped = HaproxyConfigFile.StripGroup(Config);
        stripped.ShouldNotContain("group nogroup");
        stripped.ShouldContain("user nobody");
    }

    [Fact]
    public void BindAddresses_AreTheVipsUpstreamAnnounces()
    {
        HaproxyConfigFile.BindAddresses("""
            frontend a
                bind 198.18.10.20:443 ssl crt-list /x
                bind 2001:db8::5:80
                bind ipv6@[2001:db8::6]:81,198.18.10.21:82
                bind 0.0.0.0:8080
                bind *:8081
            """).Select(a => a.ToString()).ShouldBe(["198.18.10.20", "2001:db8::5", "2001:db8::6"]);
    }

    [Fact]
    public void GratuitousArpFrame_IsABroadcastRequestForTheVip()
    {
        byte[] mac = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];
        var frame = Octavia.Amphora.Agent.Network.IpAdvertisement.GratuitousArpFrame(mac, System.Net.IPAddress.Parse("198.18.10.20"));
        Convert.ToHexString(frame).ShouldBe(
            "FFFFFFFFFFFF" + "021122334455" + "0806" +                 // Ethernet: broadcast, from the amphora, ARP
            "0001" + "0800" + "06" + "04" + "0001" +                   // Ethernet/IPv4, request
            "021122334455" + "C6120A14" + "FFFFFFFFFFFF" + "C6120A14"); // sender = target = the VIP
    }
}
