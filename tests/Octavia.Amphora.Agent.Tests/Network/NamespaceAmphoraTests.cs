// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Octavia.Amphora.Agent.Tests.Infrastructure;
using Octavia.Tests.Shared;

namespace Octavia.Amphora.Agent.Tests.Network;

/// <summary>The real agent inside an amphora namespace: plugging, traffic through the VIP, keepalived, heartbeats, shutdown.</summary>
public sealed class NamespaceAmphoraTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task WaitForAgentAsync(RunningAgent agent, NamespaceAmphora ns)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(60))
        {
            try
            {
                var r = await agent.Client.GetAsync("/1.0/info", Ct);
                if (r.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(200, Ct);
        }
        throw new TimeoutException("agent did not answer in the namespace:\n" + ns.AgentOutput);
    }

    [Fact]
    public async Task AgentInNamespace_PlugsVipAndNetworkByMac_ServesTheVip_RunsKeepalived_AndStopsEverythingOnSigterm()
    {
        if (!TestEnvironment.IsRoot)
        {
            Assert.Skip("needs root");
        }
        await using var ns = NamespaceAmphora.Create();
        using var heartbeats = new UdpClient(new IPEndPoint(IPAddress.Parse(ns.HostMgmtIp), 0));
        var hbPort = ((IPEndPoint)heartbeats.Client.LocalEndPoint!).Port;
        await using var agent = RunningAgent.Prepare($"""
            [health_manager]
            controller_ip_port_list = {ns.HostMgmtIp}:{hbPort}
            """, heartbeatInterval: 1, bindHost: ns.AmphoraMgmtIp);
        var vipMac = ns.AddVeth("v", "eth1", "198.18.10.17/28");
        var memberMac = ns.AddVeth("n", "eth2", "198.18.10.33/28");
        ns.StartAgent(agent.ConfigPath);
        await WaitForAgentAsync(agent, ns);

        // Plug the VIP on the interface with the VIP port's MAC.
        var vipBody = new JsonObject
        {
            ["subnet_cidr"] = "198.18.10.16/28",
            ["gateway"] = "198.18.10.17",
            ["mac_address"] = vipMac,
            ["vrrp_ip"] = "198.18.10.18",
            ["mtu"] = 1450,
            ["host_routes"] = new JsonArray(new JsonObject { ["destination"] = "203.0.113.0/24", ["nexthop"] = "198.18.10.17" }),
            ["additional_vips"] = new JsonArray(),
        };
        var plug = await agent.Client.PostAsync("/1.0/plug/vip/198.18.10.20", new StringContent(vipBody.ToJsonString(), System.Text.Encoding.UTF8, "application/json"), Ct);
        plug.StatusCode.ShouldBe(HttpStatusCode.Accepted, ns.AgentOutput);
        (await plug.BodyAsync()).ToJsonString().ShouldBe("{\"message\":\"OK\",\"details\":\"VIPs plugged on interface eth1: 198.18.10.20\"}");
        ns.Addresses("eth1").ShouldBe(["198.18.10.18/28", "198.18.10.20/32"], ignoreOrder: true);
        ((int)ns.Link("eth1")["mtu"]!).ShouldBe(1450);
        ns.Routes().ShouldContain("default via 198.18.10.17 dev eth1 onlink");
        ns.Routes().ShouldContain("203.0.113.0/24 via 198.18.10.17 dev eth1 onlink");
        ns.Routes("table", "1").ShouldContain("198.18.10.16/28 dev eth1 scope link src 198.18.10.20");

        // A neighbour that still maps the VIP to another amphora's MAC (as after a failover); Linux only lets a
        // gratuitous ARP override an entry older than locktime (1 s).
        var hostVipLink = "oagv" + ns.Name[3..];
        TestEnvironment.Run("ip", "neigh", "replace", "198.18.10.20", "lladdr", "02:00:00:00:00:aa", "dev", hostVipLink, "nud", "stale").ExitCode.ShouldBe(0);
        var staleSince = Stopwatch.StartNew();

        var again = await agent.Client.PostAsync("/1.0/plug/vip/198.18.10.20", new StringContent(vipBody.ToJsonString()), Ct);
        again.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await again.BodyAsync()).ToJsonString().ShouldBe("{\"message\":\"Interface already exists\"}");

        var unknownMac = (JsonObject)vipBody.DeepClone();
        unknownMac["mac_address"] = "02:00:00:00:00:99";
        var notFound = await agent.Client.PostAsync("/1.0/plug/vip/198.18.10.20", new StringContent(unknownMac.ToJsonString()), Ct);
        notFound.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await notFound.BodyAsync()).ToJsonString().ShouldBe("{\"details\":\"No suitable network interface found\"}");

        var bad = await agent.Client.PostAsync("/1.0/plug/vip/198.18.10.20", new StringContent("{\"mac_address\": \"x\"}"), Ct);
        bad.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await bad.BodyAsync()).ToJsonString().ShouldBe("{\"error\":\"400 Bad Request: Invalid subnet information\",\"http_code\":400}");

        // Plug a member network.
        var netBody = new JsonObject
        {
            ["mac_address"] = memberMac,
            ["fixed_ips"] = new JsonArray(new JsonObject { ["ip_address"] = "198.18.10.34", ["subnet_cidr"] = "198.18.10.32/28", ["host_routes"] = new JsonArray() }),
            ["mtu"] = 1400,
        };
        var plugNet = await agent.Client.PostAsync("/1.0/plug/network", new StringContent(netBody.ToJsonString()), Ct);
        plugNet.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        (await plugNet.BodyAsync()).ToJsonString().ShouldBe("{\"message\":\"OK\",\"details\":\"Plugged on interface eth2\"}");
        ns.Addresses("eth2").ShouldBe(["198.18.10.34/28"]);
        ((int)ns.Link("eth2")["mtu"]!).ShouldBe(1400);
        var replug = await agent.Client.PostAsync("/1.0/plug/network", new StringContent(netBody.ToJsonString()), Ct);
        ((string?)(await replug.BodyAsync())["details"]).ShouldBe("Updated existing interface eth2");

        var iface = await agent.Client.GetAsync("/1.0/interface/198.18.10.20", Ct);
        (await iface.BodyAsync()).ToJsonString().ShouldBe("{\"message\":\"OK\",\"interface\":\"eth1\"}");

        // A load balancer on the VIP, with its member on the member network, reached from the host through the VIP.
        await using var backend = await HttpBackend.StartAsync("member-ns", "198.18.10.33");
        string lb = Guid.NewGuid().ToString(), listener = Guid.NewGuid().ToString();
        var config = TestConfigs.Haproxy(agent.BasePath, lb, listener, Guid.NewGuid().ToString(), Guid.NewGuid().ToString(), 8080, backend.Port, bindAddress: "198.18.10.20")
            .Replace("127.0.0.1:" + backend.Port, "198.18.10.33:" + backend.Port, StringComparison.Ordinal);
        (await agent.PutTextAsync($"/1.0/loadbalancer/{agent.AmphoraId}/{lb}/haproxy", config)).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        await Task.Delay(TimeSpan.FromMilliseconds(Math.Max(0, 1200 - staleSince.ElapsedMilliseconds)), Ct);
        (await agent.Client.PutAsync($"/1.0/loadbalancer/{lb}/start", null, Ct)).StatusCode.ShouldBe(HttpStatusCode.Accepted, ns.AgentOutput);

        // Starting HAProxy announced the VIP (gratuitous ARP): the neighbour now has this amphora's MAC.
        var neighbour = "";
        for (var i = 0; i < 20 && !neighbour.Contains(vipMac, StringComparison.OrdinalIgnoreCase); i++)
        {
            await Task.Delay(100, Ct);
            neighbour = TestEnvironment.Run("ip", "neigh", "show", "198.18.10.20", "dev", hostVipLink).Output;
        }
        neighbour.ShouldContain(vipMac, Case.Insensitive, ns.AgentOutput);
        using (var plain = new HttpClient())
        {
            (await plain.GetStringAsync("http://198.18.10.20:8080/", Ct)).ShouldBe("member-ns");
        }

        // Heartbeats reach the controller address on the management network.
        using (var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct))
        {
            cts.CancelAfter(TimeSpan.FromSeconds(10));
            var beat = await heartbeats.ReceiveAsync(cts.Token);
            beat.RemoteEndPoint.Address.ToString().ShouldBe(ns.AmphoraMgmtIp);
        }

        // keepalived with a VRRP-only config; unicast with no peer, so it becomes MASTER and adds its VIP.
        var vrrp = $$"""
            vrrp_script check_script {
              script {{agent.BasePath}}/vrrp/check_script.sh
              interval 1
              fall 2
              rise 2
            }
            vrrp_instance {{lb.Replace("-", "", StringComparison.Ordinal)[..10]}} {
              state BACKUP
              interface eth1
              virtual_router_id 42
              priority 100
              nopreempt
              accept
              advert_int 1
              unicast_src_ip 198.18.10.18
              unicast_peer {
                198.18.10.19
              }
              virtual_ipaddress {
                198.18.10.21
              }
              track_script {
                check_script
              }
            }
            """;
        (await agent.Client.PutAsync("/1.0/vrrp/upload", new StringContent(vrrp), Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        var kstart = await agent.Client.PutAsync("/1.0/vrrp/start", null, Ct);
        kstart.StatusCode.ShouldBe(HttpStatusCode.Accepted, await kstart.Content.ReadAsStringAsync(Ct) + ns.AgentOutput);
        (await kstart.BodyAsync()).ToJsonString().ShouldBe("{\"message\":\"OK\",\"details\":\"keepalived started\"}");
        var kpid = int.Parse(File.ReadAllText(Path.Combine(agent.BasePath, "vrrp", "octavia-keepalived.pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        var sw = Stopwatch.StartNew();
        while (!ns.Addresses("eth1").Contains("198.18.10.21/32") && sw.Elapsed < TimeSpan.FromSeconds(20))
        {
            await Task.Delay(200, Ct);
        }
        ns.Addresses("eth1").ShouldContain("198.18.10.21/32", ns.AgentOutput);

        // keepalived's output is in the amphora's admin log, where upstream's --log-facility puts it.
        var adminLog = Path.Combine(agent.BasePath, "logs", "admin.log");
        for (sw.Restart(); !(File.Exists(adminLog) && File.ReadAllText(adminLog).Contains("Entering MASTER STATE", StringComparison.Ordinal)) && sw.Elapsed < TimeSpan.FromSeconds(10);)
        {
            await Task.Delay(100, Ct);
        }
        File.ReadLines(adminLog).ShouldContain(l => l.Contains(" Keepalived - - - ", StringComparison.Ordinal) && l.Contains("Entering MASTER STATE", StringComparison.Ordinal), ns.AgentOutput);

        // Stopping keepalived stops the heartbeats (a configured but dead VRRP instance must fail over).
        (await agent.Client.PutAsync("/1.0/vrrp/stop", null, Ct)).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        Octavia.Amphora.Agent.Os.Posix.IsAlive(kpid).ShouldBeFalse(ns.AgentOutput);
        await Task.Delay(1500, Ct);
        while (heartbeats.Available > 0)
        {
            IPEndPoint? from = null;
            heartbeats.Receive(ref from);
        }
        using (var quiet = CancellationTokenSource.CreateLinkedTokenSource(Ct))
        {
            quiet.CancelAfter(TimeSpan.FromSeconds(2.5));
            await Should.ThrowAsync<OperationCanceledException>(async () => await heartbeats.ReceiveAsync(quiet.Token));
        }
        (await agent.Client.PutAsync("/1.0/vrrp/start", null, Ct)).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        kpid = int.Parse(File.ReadAllText(Path.Combine(agent.BasePath, "vrrp", "octavia-keepalived.pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture);

        // SIGTERM stops the agent and everything it started.
        var hpid = int.Parse(File.ReadAllText(Path.Combine(agent.BasePath, lb, lb + ".pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        (await ns.StopAgentAsync(TimeSpan.FromSeconds(30))).ShouldBeTrue();
        Octavia.Amphora.Agent.Os.Posix.IsAlive(hpid).ShouldBeFalse(ns.AgentOutput);
        Octavia.Amphora.Agent.Os.Posix.IsAlive(kpid).ShouldBeFalse(ns.AgentOutput);
    }
}
