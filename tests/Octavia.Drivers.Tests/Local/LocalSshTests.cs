// Licensed under the Apache License, Version 2.0.

using Octavia.Core.Drivers;
using Octavia.Drivers.Compute.Local;
using Octavia.Drivers.Network.Local;
using Octavia.Tests.Shared;

namespace Octavia.Drivers.Tests.Local;

/// <summary><c>amp_ssh_key_name</c> on the local compute driver: a real sshd per amphora, real ssh logins.</summary>
public sealed class LocalSshTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Build_KeyNameWithoutPublicKeyFile_FailsNamingTheExpectedPath()
    {
        await using var bed = LocalTestBed.Create(LocalMode.Loopback);
        var id = Guid.NewGuid().ToString();
        bed.Track(id);

        var error = await Should.ThrowAsync<InvalidOperationException>(() => bed.Compute.BuildAsync(bed.Request(id) with { KeyName = "nokey" }, Ct));

        error.Message.ShouldContain(Path.Combine(bed.Context.StateDir, "keys", "nokey.pub"));
        (await bed.Compute.GetAsync(id, Ct)).Status.ShouldBe(ComputeStatus.Error);
    }

    [Fact]
    public async Task Build_WithKey_SshdAcceptsThatKeyOnTheManagementAddress_DeleteStopsIt()
    {
        if (!TestEnvironment.HasProgram("ssh") || !File.Exists("/usr/sbin/sshd"))
        {
            Assert.Skip("needs openssh-server and openssh-client");
        }
        await using var bed = LocalTestBed.Create(LocalMode.Loopback);
        var keys = Path.Combine(bed.Context.StateDir, "keys");
        Directory.CreateDirectory(keys);
        var key = Path.Combine(keys, "ops");
        TestEnvironment.Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).ExitCode.ShouldBe(0);
        var id = Guid.NewGuid().ToString();
        bed.Track(id);

        await bed.Compute.BuildAsync(bed.Request(id) with { KeyName = "ops" }, Ct);

        var instance = await bed.Compute.GetAsync(id, Ct);
        var record = LocalComputeDriver.ReadInstance(bed.Context.AmphoraDir(id))!;
        var sshd = ProcessIdentity.Parse(record.Sshd!)!.Value;
        HostProcesses.IsAlive(sshd).ShouldBeTrue();
        var user = Environment.UserName;
        string[] Ssh(string identity) =>
            ["-i", identity, "-p", "2222", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
             "-o", "ConnectTimeout=10", $"{user}@{instance.LbNetworkIp}", "id -un; cat " + Path.Combine(bed.Context.AmphoraDir(id), "amphora-agent.conf")];
        // sshd may still be binding its socket right after the build returns.
        (int ExitCode, string Output) login = (-1, "");
        for (var i = 0; i < 50 && login.ExitCode != 0; i++)
        {
            login = TestEnvironment.Run("ssh", Ssh(key));
            if (login.ExitCode != 0)
            {
                await Task.Delay(200, Ct);
            }
        }
        login.ExitCode.ShouldBe(0, login.Output);
        login.Output.ShouldContain(user);
        login.Output.ShouldContain("amphora_id = " + id);

        var other = Path.Combine(bed.Root, "other");
        TestEnvironment.Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other).ExitCode.ShouldBe(0);
        TestEnvironment.Run("ssh", Ssh(other)).ExitCode.ShouldNotBe(0);

        await bed.Compute.DeleteAsync(id, Ct);
        HostProcesses.IsAlive(sshd).ShouldBeFalse();
    }
}
