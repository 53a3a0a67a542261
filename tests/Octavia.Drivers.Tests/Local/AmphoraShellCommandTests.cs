// Licensed under the Apache License, Version 2.0.

using Octavia.Drivers.Network.Local;
using Octavia.Tests.Shared;

namespace Octavia.Drivers.Tests.Local;

/// <summary><c>octavia amphora shell</c> against amphorae built by the driver (runs the built executable).</summary>
public sealed class AmphoraShellCommandTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Shell_NamespaceAmphora_RunsInsideItsNamespace()
    {
        if (!TestEnvironment.IsRoot)
        {
            Assert.Skip("needs root");
        }
        await using var bed = LocalTestBed.Create(LocalMode.Namespace);
        var id = await bed.BuildAsync();
        var ip = (await bed.Compute.GetAsync(id, Ct)).LbNetworkIp!;

        var (exit, output) = TestEnvironment.Run(TestEnvironment.OctaviaExe, "amphora", "shell", id, "--config-file", bed.ConfigFile, "--", "ip", "-o", "addr", "show", "dev", "eth-mgmt");

        exit.ShouldBe(0, output);
        output.ShouldContain(ip + "/26");
    }

    [Fact]
    public async Task Shell_LoopbackAmphora_SaysSoAndStartsInItsRunDirectory()
    {
        await using var bed = LocalTestBed.Create(LocalMode.Loopback);
        var id = await bed.BuildAsync();

        var (exit, output) = TestEnvironment.Run(TestEnvironment.OctaviaExe, "amphora", "shell", id, "--config-file", bed.ConfigFile, "--", "pwd");

        exit.ShouldBe(0, output);
        output.ShouldContain("loopback mode");
        output.ShouldContain(bed.Context.AmphoraDir(id) + "\n");
    }

    [Fact]
    public async Task Shell_UnknownAmphora_FailsWithMessage()
    {
        await using var bed = LocalTestBed.Create(LocalMode.Loopback);

        var (exit, output) = TestEnvironment.Run(TestEnvironment.OctaviaExe, "amphora", "shell", "no-such-amphora", "--config-file", bed.ConfigFile);

        exit.ShouldBe(1);
        output.ShouldContain("no local amphora no-such-amphora");
    }
}
