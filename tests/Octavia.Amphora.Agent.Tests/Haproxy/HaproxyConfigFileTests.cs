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
}
