// Licensed under the Apache License, Version 2.0.

using Octavia.Amphora.Agent.Haproxy;

namespace Octavia.Amphora.Agent.Tests.Haproxy;

/// <summary>Each amphora's HAProxy uses its own stats socket and server-state file, whatever the controller rendered.</summary>
public sealed class LocalizedPathsTests
{
    private const string Rendered = """
        global
            daemon
            stats socket /controller/run/lb1.sock mode 0666 level user
            server-state-file /controller/run/lb1/servers-state

        defaults
            load-server-state-from-file global

        """;

    [Fact]
    public void LocalizePaths_RewritesSocketAndStateFile_KeepsTheRest()
    {
        var local = HaproxyConfigFile.LocalizePaths(Rendered, "unix@../lb1.sock", "/amp/lb/lb1/servers-state");

        local.ShouldContain("    stats socket unix@../lb1.sock mode 0666 level user\n");
        local.ShouldContain("    server-state-file /amp/lb/lb1/servers-state\n");
        local.ShouldContain("    load-server-state-from-file global\n");
        local.ShouldNotContain("/controller/");
    }

    [Fact]
    public void StatsSocket_OfALocalizedConfig_ResolvesToTheAmphorasSocket()
    {
        var paths = new AgentPaths("/var/lib/amp-1/lb", "/certs");
        var local = HaproxyConfigFile.LocalizePaths(Rendered, AgentPaths.HaproxySockConfigPath("lb1"), paths.StateFilePath("lb1"));

        var written = HaproxyConfigFile.StatsSocket(local).ShouldNotBeNull();
        paths.FromHaproxyDir("lb1", written).ShouldBe(paths.HaproxySockPath("lb1"));
        paths.FromHaproxyDir("lb1", "/elsewhere/x.sock").ShouldBe("/elsewhere/x.sock");
    }

    [Fact]
    public void HaproxySockConfigPath_StaysShortForAnyBasePath()
    {
        // sun_path holds 108 bytes; the relative form does not grow with a local amphora's deep directory.
        AgentPaths.HaproxySockConfigPath("0b0e6f0c-4a3e-4d54-9d2e-6f0d1b7a0001").Length.ShouldBeLessThan(60);
    }
}
