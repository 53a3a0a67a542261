// Licensed under the Apache License, Version 2.0.

using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Octavia.Amphora.Agent.Heartbeat;
using Octavia.Amphora.Agent.Tests.Infrastructure;
using Octavia.Tests.Shared;

namespace Octavia.Amphora.Agent.Tests.Heartbeat;

public sealed class HeartbeatTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Checks the trailer independently of the codec and returns the JSON body.</summary>
    private static JsonObject Open(byte[] packet, string key)
    {
        packet.Length.ShouldBeGreaterThan(64);
        var payload = packet[..^64];
        Encoding.ASCII.GetString(packet[^64..]).ShouldBe(Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), payload)));
        using var z = new ZLibStream(new MemoryStream(payload), CompressionMode.Decompress);
        using var json = new MemoryStream();
        z.CopyTo(json);
        return (JsonObject)JsonNode.Parse(json.ToArray())!;
    }

    private static async Task<(int Sent, int Received)> RawRequestAsync(int port, string request)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port, Ct);
        var stream = tcp.GetStream();
        var bytes = Encoding.ASCII.GetBytes(request);
        await stream.WriteAsync(bytes, Ct);
        using var response = new MemoryStream();
        await stream.CopyToAsync(response, Ct);
        return (bytes.Length, (int)response.Length);
    }

    private static async Task<JsonObject> BeatAsync(RunningAgent agent)
    {
        (await agent.Service<HeartbeatSender>().BeatAsync(Ct)).ShouldBeTrue();
        var packet = await agent.ReceiveHeartbeatAsync(TimeSpan.FromSeconds(5));
        packet.ShouldNotBeNull();
        return Open(packet, agent.HeartbeatKey);
    }

    [Fact]
    public async Task Heartbeat_AfterTraffic_IsSignedV3WithDeltasMatchingTheTraffic()
    {
        await using var backend = await HttpBackend.StartAsync("member-a");
        await using var agent = await RunningAgent.StartAsync();
        string lb = Guid.NewGuid().ToString(), tcpListener = Guid.NewGuid().ToString(), httpListener = Guid.NewGuid().ToString();
        string tcpPool = Guid.NewGuid().ToString(), httpPool = Guid.NewGuid().ToString(), member = Guid.NewGuid().ToString();
        int tcpPort = TestEnvironment.FreeTcpPort(), httpPort = TestEnvironment.FreeTcpPort();
        // TCP mode counts raw bytes, so rx/tx can be checked to the byte; HTTP mode counts request errors.
        var config = $"""
            global
                maxconn 1000
                stats socket {agent.BasePath}/{lb}.sock mode 0666 level user
            defaults
                timeout connect 5000
                timeout client 50000
                timeout server 50000
            frontend {tcpListener}
                bind 127.0.0.1:{tcpPort}
                mode tcp
                default_backend {tcpPool}:{tcpListener}
            frontend {httpListener}
                bind 127.0.0.1:{httpPort}
                mode http
                default_backend {httpPool}:{httpListener}
            backend {tcpPool}:{tcpListener}
                mode tcp
                server {member} 127.0.0.1:{backend.Port}
            backend {httpPool}:{httpListener}
                mode http
                server {member} 127.0.0.1:{backend.Port}

            """;
        (await agent.PutTextAsync($"/1.0/loadbalancer/{agent.AmphoraId}/{lb}/haproxy", config)).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        (await agent.Client.PutAsync($"/1.0/loadbalancer/{lb}/start", null, Ct)).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        agent.DrainHeartbeats();

        var first = await BeatAsync(agent);
        var seq = (long)first["seq"]!;

        int sent = 0, received = 0;
        const int requests = 7;
        for (var i = 0; i < requests; i++)
        {
            var (s, r) = await RawRequestAsync(tcpPort, "GET / HTTP/1.1\r\nHost: lb\r\nConnection: close\r\n\r\n");
            sent += s;
            received += r;
        }
        await RawRequestAsync(httpPort, "GET / HTTP/1.1\r\nHost: lb\r\nConnection: close\r\n\r\n");
        await RawRequestAsync(httpPort, "NOT-HTTP\r\n\r\n");

        var second = await BeatAsync(agent);
        ((int)second["ver"]!).ShouldBe(3);
        ((string?)second["id"]).ShouldBe(agent.AmphoraId);
        ((long)second["seq"]!).ShouldBe(seq + 1);
        var tcp = second["listeners"]![tcpListener]!;
        ((string?)tcp["status"]).ShouldBe("OPEN");
        ((long)tcp["stats"]!["totconns"]!).ShouldBe(requests);
        ((long)tcp["stats"]!["rx"]!).ShouldBe(sent);
        ((long)tcp["stats"]!["tx"]!).ShouldBe(received);
        ((long)tcp["stats"]!["conns"]!).ShouldBe(0);
        ((long)tcp["stats"]!["ereq"]!).ShouldBe(0);
        var http = second["listeners"]![httpListener]!;
        ((long)http["stats"]!["totconns"]!).ShouldBe(2);
        ((long)http["stats"]!["ereq"]!).ShouldBe(1);
        var p = second["pools"]![$"{tcpPool}:{tcpListener}"]!;
        ((string?)p["status"]).ShouldBe("UP");
        ((string?)p["members"]![member]).ShouldBe("no check");
        second["pools"]!.AsObject().Count.ShouldBe(2);

        var third = await BeatAsync(agent);
        var quiet = third["listeners"]![tcpListener]!["stats"]!;
        ((long)quiet["totconns"]!).ShouldBe(0);
        ((long)quiet["rx"]!).ShouldBe(0);
        ((long)quiet["tx"]!).ShouldBe(0);

        var persisted = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(agent.BasePath, "stats_counters.json"), Ct))!;
        ((long)persisted[tcpListener]!["stot"]!).ShouldBe(requests);
        ((long)persisted[tcpListener]!["bin"]!).ShouldBe(sent);
    }

    [Fact]
    public async Task HeartbeatLoop_WithTwoControllers_SendsEveryIntervalRoundRobin()
    {
        using var second = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var secondPort = ((IPEndPoint)second.Client.LocalEndPoint!).Port;
        await using var agent = await RunningAgent.StartAsync(heartbeatInterval: 1, extraConfig: "");
        // Point the list at both receivers through the hot-reload path the controller uses.
        var text = (await File.ReadAllTextAsync(agent.ConfigPath, Ct)).Replace(
            $"controller_ip_port_list = 127.0.0.1:{agent.HeartbeatPort}", $"controller_ip_port_list = 127.0.0.1:{agent.HeartbeatPort}, 127.0.0.1:{secondPort}", StringComparison.Ordinal);
        (await agent.Client.PutAsync("/1.0/config", new StringContent(text), Ct)).StatusCode.ShouldBe(HttpStatusCode.Accepted);

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(TimeSpan.FromSeconds(15));
        long Seq(UdpReceiveResult r) => (long)Open(r.Buffer, agent.HeartbeatKey)["seq"]!;
        // The first receiver may still hold beats sent before the reload: the second one only sees new ones.
        var b = Seq(await second.ReceiveAsync(cts.Token));
        long a;
        do
        {
            a = Seq(await agent.Heartbeats.ReceiveAsync(cts.Token));
        }
        while (a < b);
        a.ShouldBe(b + 1);
        Seq(await second.ReceiveAsync(cts.Token)).ShouldBe(a + 1);
    }

    [Fact]
    public async Task PutConfig_WithNewHeartbeatKey_SignsTheNextBeatWithIt()
    {
        await using var agent = await RunningAgent.StartAsync();
        agent.DrainHeartbeats();
        var text = (await File.ReadAllTextAsync(agent.ConfigPath, Ct)).Replace(agent.HeartbeatKey, "rotated-key", StringComparison.Ordinal);
        var put = await agent.Client.PutAsync("/1.0/config", new StringContent(text), Ct);
        put.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        (await put.BodyAsync()).ToJsonString().ShouldBe("{\"message\":\"OK\"}");
        (await File.ReadAllTextAsync(agent.ConfigPath, Ct)).ShouldContain("rotated-key");

        (await agent.Service<HeartbeatSender>().BeatAsync(Ct)).ShouldBeTrue();
        // The start-up beat can still be in flight on a loaded machine: beats signed with the old key may
        // arrive first, but only with a lower sequence number than the beat signed with the new one.
        var oldSeqs = new List<long>();
        while (true)
        {
            var packet = (await agent.ReceiveHeartbeatAsync(TimeSpan.FromSeconds(5))).ShouldNotBeNull();
            if (Signed(packet, agent.HeartbeatKey))
            {
                oldSeqs.Add(Open(packet, agent.HeartbeatKey)["seq"]!.GetValue<long>());
                continue;
            }
            var beat = Open(packet, "rotated-key");
            beat["id"]!.GetValue<string>().ShouldBe(agent.AmphoraId);
            oldSeqs.ShouldAllBe(seq => seq < beat["seq"]!.GetValue<long>());
            break;
        }
    }

    private static bool Signed(byte[] packet, string key) =>
        packet.Length > 64 && Encoding.ASCII.GetString(packet[^64..]) == Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), packet[..^64]));

    [Fact]
    public async Task PutConfig_WithInvalidValue_Returns500AndKeepsTheFile()
    {
        await using var agent = await RunningAgent.StartAsync();
        var before = await File.ReadAllTextAsync(agent.ConfigPath, Ct);
        var put = await agent.Client.PutAsync("/1.0/config", new StringContent("[health_manager]\nheartbeat_interval = often\n"), Ct);
        put.StatusCode.ShouldBe(HttpStatusCode.InternalServerError);
        ((string?)(await put.BodyAsync())["message"]).ShouldBe("Unable to update amphora-agent configuration.");
        (await File.ReadAllTextAsync(agent.ConfigPath, Ct)).ShouldBe(before);
    }

    [Fact]
    public async Task Heartbeat_WhenKeepalivedIsConfiguredButNotRunning_IsNotSent()
    {
        await using var agent = await RunningAgent.StartAsync();
        var upload = await agent.Client.PutAsync("/1.0/vrrp/upload", new StringContent("vrrp_instance v1 {\n  state BACKUP\n  interface eth-none\n  virtual_router_id 1\n}\n"), Ct);
        upload.StatusCode.ShouldBe(HttpStatusCode.OK);
        agent.DrainHeartbeats();
        (await agent.Service<HeartbeatSender>().BeatAsync(Ct)).ShouldBeFalse();
        (await agent.ReceiveHeartbeatAsync(TimeSpan.FromMilliseconds(300))).ShouldBeNull();
    }

    [Fact]
    public async Task VrrpUpload_WithVirtualServer_Returns400()
    {
        await using var agent = await RunningAgent.StartAsync();
        var upload = await agent.Client.PutAsync("/1.0/vrrp/upload", new StringContent("virtual_server 10.0.0.1 80 {\n}\n"), Ct);
        upload.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        ((string?)(await upload.BodyAsync())["details"])!.ShouldContain("IPVS");
        File.Exists(Path.Combine(agent.BasePath, "vrrp", "octavia-keepalived.conf")).ShouldBeFalse();
    }
}
