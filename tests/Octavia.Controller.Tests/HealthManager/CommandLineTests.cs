// Licensed under the Apache License, Version 2.0.

using Octavia.Tests.Shared;

namespace Octavia.Controller.Tests.HealthManager;

/// <summary>The <c>octavia health-manager</c> and <c>octavia housekeeping</c> processes refuse bad configuration clearly.</summary>
public sealed class CommandLineTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ohm-cli-" + Guid.NewGuid().ToString("N")[..8]);

    public CommandLineTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Config(string text)
    {
        var path = Path.Combine(_dir, "octavia.conf");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void HealthManager_WithoutHeartbeatKey_ExitsWithConfigurationError()
    {
        var config = Config($"[database]\nconnection = sqlite:///{_dir}/o.db\n[health_manager]\nbind_ip = 127.0.0.1\nbind_port = {TestEnvironment.FreeUdpPort()}\n");

        var (exit, output) = TestEnvironment.Run(TestEnvironment.OctaviaExe, "health-manager", "--config-file", config);

        exit.ShouldBe(1);
        output.ShouldContain("heartbeat_key");
    }

    [Fact]
    public void Housekeeping_BadDatabaseUrl_ExitsWithConfigurationError()
    {
        var config = Config("[database]\nconnection = oracle://x@y/z\n");

        var (exit, output) = TestEnvironment.Run(TestEnvironment.OctaviaExe, "housekeeping", "--config-file", config);

        exit.ShouldBe(1);
        output.ShouldContain("[database] connection");
    }
}
