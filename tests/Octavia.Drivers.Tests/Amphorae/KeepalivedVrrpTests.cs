// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Octavia.Core.Model;
using Octavia.Drivers.Amphorae;
using Octavia.Drivers.Tests.Amphorae.Support;
using Octavia.Tests.Shared;
using AmphoraEntity = Octavia.Core.Model.Amphora;

namespace Octavia.Drivers.Tests.Amphorae;

/// <summary>keepalived.conf rendering, and two amphora namespaces on a bridge electing one VIP holder.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class KeepalivedVrrpTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static (LoadBalancer Lb, AmphoraEntity A, AmphoraEntity B) ActiveStandby(string vip)
    {
        var lb = new LoadBalancer
        {
            Id = Guid.NewGuid().ToString(),
            ProjectId = "p1",
            Topology = Topologies.ActiveStandby,
            Vip = new Vip { IpAddress = vip },
            VrrpGroup = new VrrpGroup { VrrpGroupName = "odpgroup", VrrpAuthType = "PASS", VrrpAuthPass = "0dpPa55w", AdvertInt = 1 },
        };
        var vrid = RandomNumberGenerator.GetInt32(1, 255);
        var a = new AmphoraEntity
        {
            Id = Guid.NewGuid().ToString(),
            Status = ProvisioningStatus.Allocated,
            Role = AmphoraRoles.Master,
            VrrpIp = "198.18.20.11",
            VrrpInterface = "eth1",
            VrrpId = vrid,
            VrrpPriority = 100,
            LoadBalancerId = lb.Id,
        };
        var b = new AmphoraEntity
        {
            Id = Guid.NewGuid().ToString(),
            Status = ProvisioningStatus.Allocated,
            Role = AmphoraRoles.Backup,
            VrrpIp = "198.18.20.12",
            VrrpInterface = "eth1",
            VrrpId = vrid,
            VrrpPriority = 90,
            LoadBalancerId = lb.Id,
        };
        lb.Amphorae.AddRange([a, b]);
        return (lb, a, b);
    }

    [Fact]
    public void Render_ActiveStandby_MatchesUpstreamShapeWithoutVirtualServer()
    {
        var (lb, a, _) = ActiveStandby("198.18.20.100");
        lb.AdditionalVips.Add(new AdditionalVip { LoadBalancerId = lb.Id, SubnetId = "s6", IpAddress = "2001:db8::10" });

        var conf = KeepalivedConfigRenderer.Render(lb, a, new KeepalivedOptions(),
            new KeepalivedVipSubnet("198.18.20.0/24", "198.18.20.1", [new Octavia.Core.Drivers.HostRoute("10.0.0.0/8", "198.18.20.254")]));

        conf.ShouldContain("vrrp_instance odpgroup {");
        conf.ShouldContain("    state BACKUP\n    interface eth1\n");
        conf.ShouldContain("    priority 100\n    nopreempt\n    accept\n    garp_master_refresh 5\n    garp_master_refresh_repeat 2\n    advert_int 1\n");
        conf.ShouldContain("        auth_type PASS\n        auth_pass 0dpPa55w\n");
        conf.ShouldContain("    unicast_src_ip 198.18.20.11\n    unicast_peer {\n        198.18.20.12\n    }");
        conf.ShouldContain("    virtual_ipaddress {\n        198.18.20.100\n    }");
        conf.ShouldContain("    virtual_ipaddress_excluded {\n        2001:db8::10\n    }");
        conf.ShouldContain("        198.18.20.0/24 dev eth1 src 198.18.20.100 scope link table 1\n        default via 198.18.20.1 dev eth1 onlink table 1\n        10.0.0.0/8 dev eth1 gateway 198.18.20.254 onlink table 1\n");
        conf.ShouldContain("        from 198.18.20.100/32 table 1 priority 100\n");
        conf.ShouldContain("    track_script {\n        check_script\n    }");
        conf.ShouldNotContain("virtual_server");
    }

    [Fact]
    public void Render_NoVrrpGroup_FailsClearly()
    {
        var (lb, a, _) = ActiveStandby("198.18.20.100");
        lb.VrrpGroup = null;

        Should.Throw<HaproxyConfigException>(() => KeepalivedConfigRenderer.Render(lb, a, new KeepalivedOptions()))
            .Message.ShouldContain("no VRRP group");
    }

    private static void Ip(params string[] args)
    {
        var (rc, output) = TestEnvironment.Run("ip", args);
        if (rc != 0)
        {
            throw new InvalidOperationException($"ip {string.Join(' ', args)}: {output}");
        }
    }

    private static bool HasVip(string ns, string vip) =>
        TestEnvironment.Run("ip", "-n", ns, "-4", "addr", "show", "dev", "eth1").Output.Contains($" {vip}/", StringComparison.Ordinal);

    private static Process StartIn(string ns, string file, params string[] args)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "netns", "exec", ns, file }.Concat(args))
        {
            psi.ArgumentList.Add(a);
        }
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    private static async Task<string[]> WaitForSingleHolderAsync(string[] namespaces, string vip, TimeSpan timeout, string? notOn = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        var stableSince = DateTime.MaxValue;
        string[] holders = [];
        while (DateTime.UtcNow < deadline)
        {
            var now = namespaces.Where(ns => HasVip(ns, vip)).ToArray();
            if (now.Length == 1 && now[0] != notOn)
            {
                if (holders.SequenceEqual(now))
                {
                    if (DateTime.UtcNow - stableSince > TimeSpan.FromSeconds(1.5))
                    {
                        return now;
                    }
                }
                else
                {
                    stableSince = DateTime.UtcNow;
                }
            }
            else
            {
                stableSince = DateTime.MaxValue;
            }
            holders = now;
            await Task.Delay(100, Ct);
        }
        throw new TimeoutException($"VIP holders: [{string.Join(", ", holders)}]");
    }

    [Fact]
    public async Task TwoAmphorae_OneHoldsVip_MasterKeepalivedStops_VipMovesAndTrafficFollows()
    {
        if (!TestEnvironment.IsRoot)
        {
            Assert.Skip("needs root");
        }
        if (!TestEnvironment.HasProgram("keepalived") || !TestEnvironment.HasProgram("haproxy") || !TestEnvironment.HasProgram("socat"))
        {
            Assert.Skip("needs keepalived, haproxy and socat");
        }
        const string vip = "198.18.20.100";
        var suffix = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        var bridge = "odpb" + suffix;
        string[] namespaces = ["odpn" + suffix + "a", "odpn" + suffix + "b"];
        var dir = Directory.CreateTempSubdirectory("odp-vrrp-").FullName;
        File.SetUnixFileMode(dir, (UnixFileMode)0b111_101_101);
        var processes = new List<Process>();
        HttpBackend? member = null;
        try
        {
            Ip("link", "add", bridge, "type", "bridge");
            Ip("link", "set", bridge, "up");
            Ip("addr", "add", "198.18.20.1/24", "dev", bridge);
            member = await HttpBackend.StartAsync("member", "198.18.20.1");

            var (lb, a, b) = ActiveStandby(vip);
            var pool = new Pool { Id = Guid.NewGuid().ToString(), Protocol = Protocols.Http, LbAlgorithm = LbAlgorithms.RoundRobin };
            pool.Members.Add(new Member { Id = Guid.NewGuid().ToString(), IpAddress = member.Address, ProtocolPort = member.Port, Weight = 1 });
            lb.Listeners.Add(new Listener { Id = Guid.NewGuid().ToString(), Protocol = Protocols.Http, ProtocolPort = 80, DefaultPool = pool });

            var amps = new[] { a, b };
            for (var i = 0; i < 2; i++)
            {
                var ns = namespaces[i];
                var amp = amps[i];
                var veth = $"odpv{suffix}{(char)('a' + i)}";
                Ip("netns", "add", ns);
                Ip("-n", ns, "link", "set", "lo", "up");
                Ip("link", "add", veth, "type", "veth", "peer", "name", "eth1", "netns", ns);
                Ip("link", "set", veth, "master", bridge, "up");
                Ip("-n", ns, "addr", "add", amp.VrrpIp + "/24", "dev", "eth1");
                Ip("-n", ns, "link", "set", "eth1", "up");
                TestEnvironment.Run("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ip_nonlocal_bind=1");

                var ampDir = Path.Combine(dir, "amp" + i);
                Directory.CreateDirectory(Path.Combine(ampDir, lb.Id));
                File.SetUnixFileMode(ampDir, (UnixFileMode)0b111_101_101);
                var render = new RenderOptions { BasePath = ampDir, BaseCertDir = Path.Combine(ampDir, "certs"), LogHttp = "127.0.0.1:9", LogServer = "127.0.0.1:9" };
                var haproxyCfg = Path.Combine(ampDir, "haproxy.cfg");
                File.WriteAllText(haproxyCfg, HaproxyConfigRenderer.Render(lb, amp, render));
                processes.Add(StartIn(ns, "haproxy", "-W", "-db", "-L", HaproxyConfigRenderer.PeerName(amp.Id), "-f", haproxyCfg));

                var check = Path.Combine(ampDir, "check.sh");
                File.WriteAllText(check, KeepalivedConfigRenderer.CheckScript(ampDir));
                File.SetUnixFileMode(check, (UnixFileMode)0b111_101_101);
                var conf = Path.Combine(ampDir, "keepalived.conf");
                File.WriteAllText(conf, KeepalivedConfigRenderer.Render(lb, amp,
                    new KeepalivedOptions { CheckScriptPath = check, VrrpCheckInterval = 1 },
                    new KeepalivedVipSubnet("198.18.20.0/24", null)));
                processes.Add(StartIn(ns, "keepalived", "-n", "-l", "-D", "-f", conf,
                    "-p", Path.Combine(ampDir, "k.pid"), "-r", Path.Combine(ampDir, "vrrp.pid"), "-c", Path.Combine(ampDir, "chk.pid")));
            }

            var master = (await WaitForSingleHolderAsync(namespaces, vip, TimeSpan.FromSeconds(20)))[0];
            using (var client = Scenario.Client("198.18.20.1"))
            {
                (await client.GetStringAsync($"http://{vip}/", Ct)).ShouldBe("member");
            }

            // SIGTERM, as an orderly stop: keepalived gives the VIP up (SIGKILL would leave it on both).
            var masterIndex = Array.IndexOf(namespaces, master);
            var keepalived = processes[(masterIndex * 2) + 1];
            TestEnvironment.Run("kill", "-TERM", keepalived.Id.ToString(CultureInfo.InvariantCulture));
            var after = await WaitForSingleHolderAsync(namespaces, vip, TimeSpan.FromSeconds(15), notOn: master);

            after[0].ShouldNotBe(master);
            using var again = Scenario.Client("198.18.20.1", newConnectionEachRequest: true);
            string? body = null;
            for (var attempt = 0; attempt < 30 && body is null; attempt++)
            {
                try
                {
                    body = await again.GetStringAsync($"http://{vip}/", Ct);
                }
                catch (HttpRequestException)
                {
                    await Task.Delay(200, Ct);
                }
            }
            body.ShouldBe("member");
        }
        finally
        {
            foreach (var p in processes)
            {
                try
                {
                    if (!p.HasExited)
                    {
                        p.Kill(entireProcessTree: true);
                        p.WaitForExit(5000);
                    }
                }
                catch (InvalidOperationException)
                {
                }
                p.Dispose();
            }
            foreach (var ns in namespaces)
            {
                TestEnvironment.Run("ip", "netns", "del", ns);
            }
            TestEnvironment.Run("ip", "link", "del", bridge);
            if (member is not null)
            {
                await member.DisposeAsync();
            }
            Directory.Delete(dir, recursive: true);
        }
    }
}
