// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using Octavia.Amphora.Agent.Logging;

namespace Octavia.Amphora.Agent.Tests.Logging;

/// <summary>
/// The receiver fed the way HAProxy's ring forwarder feeds it (stream connections to its abstract
/// socket, lines cut anywhere): every non-empty line is stored once, whole and unchanged, whatever the cuts.
/// </summary>
public sealed class AmphoraLogReceiverTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("octavia-logrecv-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task TrafficLines_AreStoredOnceAndUnchanged_HoweverTheStreamIsCut()
    {
        var random = new Random(6);
        var first = Lines("a", 3000, random);
        var second = Lines("b", 2000, random);
        using var receiver = await StartAsync(new LogSettings());

        // Two HAProxy workers (a reload) writing at once, each cutting its stream at random places.
        await Task.WhenAll(SendAsync(receiver.TrafficTarget, first, random.Next()), SendAsync(receiver.TrafficTarget, second, random.Next()));
        await WaitForAsync(receiver, first.Count + second.Count);

        var stored = File.ReadAllLines(receiver.TrafficLogPath);
        stored.Where(l => l.StartsWith('a')).ShouldBe(first);         // each connection's lines, in order, none mixed
        stored.Where(l => l.StartsWith('b')).ShouldBe(second);
        stored.Length.ShouldBe(first.Count + second.Count);
        File.ReadAllBytes(receiver.TrafficLogPath)[^1].ShouldBe((byte)'\n');
        File.Exists(receiver.AdminLogPath).ShouldBeFalse();
    }

    [Fact]
    public async Task EmptyLines_AreSkipped_AndALastLineWithoutNewline_IsStoredWhenTheConnectionCloses()
    {
        using var receiver = await StartAsync(new LogSettings());
        using (var connection = Connect(receiver.TrafficTarget))
        {
            connection.Send("\none\n\n\ntwo\nthr"u8);
            await Task.Delay(50, Ct);
            connection.Send("ee\n\nfour"u8);
        }
        await WaitForAsync(receiver, 4);
        File.ReadAllText(receiver.TrafficLogPath).ShouldBe("one\ntwo\nthree\nfour\n");
        receiver.Received.ShouldBe(4);
    }

    [Fact]
    public async Task Stop_ReturnsPromptly_WhileHaproxyIsStillConnected()
    {
        var receiver = await StartAsync(new LogSettings());
        using var connection = Connect(receiver.TrafficTarget);
        connection.Send("one\n"u8);
        await WaitForAsync(receiver, 1);
        var sw = Stopwatch.StartNew();
        receiver.Dispose();
        sw.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(5));
        File.ReadAllText(receiver.TrafficLogPath).ShouldBe("one\n");
    }

    [Fact]
    public async Task WithForwarders_StoredLinesAreTheSame_AndEachLineTravelsWithAnRfc5424Header()
    {
        using var tenant = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        using var admin = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        tenant.Client.ReceiveBufferSize = 8 * 1024 * 1024;
        var random = new Random(7);
        var traffic = Lines("t", 300, random);
        var adminLines = new[] { "<133>1 2026-12-06T20:00:00.000000+00:00 amp haproxy 12 - - Proxy fe started.", "<131>1 2026-12-06T20:00:01.000000+00:00 amp haproxy 12 - - Server be/s1 is DOWN." };
        var settings = new LogSettings
        {
            TenantTargets = [(IPEndPoint)tenant.Client.LocalEndPoint!],
            AdminTargets = [(IPEndPoint)admin.Client.LocalEndPoint!],
        };
        using var receiver = await StartAsync(settings);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        var forwarded = ReceiveAsync(tenant, traffic.Count, timeout.Token);
        var forwardedAdmin = ReceiveAsync(admin, adminLines.Length, timeout.Token);

        // Empty lines in the stream (skipped) and forwarders: the stored file must be the same as without them.
        await SendAsync(receiver.TrafficTarget, traffic, seed: 8, emptyLines: true);
        await SendAsync(receiver.AdminTarget, adminLines, seed: 9);
        await WaitForAsync(receiver, traffic.Count + adminLines.Length);

        File.ReadAllLines(receiver.TrafficLogPath).ShouldBe(traffic);
        File.ReadAllLines(receiver.AdminLogPath).ShouldBe(adminLines);
        var header = new Regex(@"^<134>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z " + Regex.Escape(AmphoraId) + "-[0-9a-f]{32} haproxy - - - ");
        (await forwarded).ShouldAllBe(l => header.IsMatch(l));
        (await forwarded).Select(l => header.Replace(l, "")).ShouldBe(traffic);
        (await forwardedAdmin).ShouldBe(adminLines);
    }

    private static async Task<List<string>> ReceiveAsync(UdpClient client, int count, CancellationToken ct)
    {
        var received = new List<string>();
        while (received.Count < count)
        {
            received.Add(Encoding.UTF8.GetString((await client.ReceiveAsync(ct)).Buffer));
        }
        return received;
    }

    [Fact]
    public async Task TrafficLog_IsRotatedAtItsLimit_BetweenLines()
    {
        var line = new string('x', 1000);
        var count = (int)(AmphoraLogReceiver.RotateBytes / 1001) + 2000;
        using var receiver = await StartAsync(new LogSettings());
        await SendAsync(receiver.TrafficTarget, Enumerable.Range(0, count).Select(i => $"{i:D8} {line}").ToList(), seed: 10);
        await WaitForAsync(receiver, count);

        var old = File.ReadAllLines(receiver.TrafficLogPath + ".1");
        var current = File.ReadAllLines(receiver.TrafficLogPath);
        old.Concat(current).Select(l => int.Parse(l[..8], System.Globalization.CultureInfo.InvariantCulture)).ShouldBe(Enumerable.Range(0, count));
        old.Concat(current).ShouldAllBe(l => l.Length == 1009);
        new FileInfo(receiver.TrafficLogPath + ".1").Length.ShouldBeGreaterThanOrEqualTo(AmphoraLogReceiver.RotateBytes);
    }

    private const string AmphoraId = "3b0c6a52-9c52-4d8a-a0c0-5c2a1f3f1e77";

    private async Task<Receiver> StartAsync(LogSettings logs)
    {
        var settings = new AgentSettings
        {
            BasePath = _dir,
            BaseCertDir = Path.Combine(_dir, "certs"),
            BindHost = "127.0.0.1",
            BindPort = 0,
            HaproxyCmd = "haproxy",
            ServerCertPath = "",
            ServerCaPath = "",
            TlsProtocols = System.Security.Authentication.SslProtocols.Tls12,
            // Abstract socket names are per network namespace: unique per test, as amphora ids are.
            AmphoraId = AmphoraId + "-" + Guid.NewGuid().ToString("N"),
            Logs = logs,
        };
        var receiver = new AmphoraLogReceiver(settings, new AgentPaths(_dir, settings.BaseCertDir), NullLogger<AmphoraLogReceiver>.Instance);
        await receiver.StartAsync(Ct);
        return new Receiver(receiver);
    }

    /// <summary>Lines like HAProxy's: some long, some with UTF-8 and quotes, none empty.</summary>
    private static List<string> Lines(string prefix, int count, Random random) => Enumerable.Range(0, count)
        .Select(i => $"{prefix}{i} 127.0.0.1 {random.Next(1024, 65535)} \"GET /{new string('p', random.Next(0, random.Next(2) == 0 ? 40 : 3000))}?q=é€ HTTP/1.1\" 200 {random.Next()} - \"\" be srv {random.Next(100)} ----")
        .ToList();

    private static Socket Connect(string target)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Connect(new UnixDomainSocketEndPoint("\0" + target["abns@".Length..].PadRight(107, '\0')));
        return socket;
    }

    /// <summary>Sends the lines, newline-terminated, in pieces of random sizes with short pauses between some.</summary>
    private static async Task SendAsync(string target, IReadOnlyList<string> lines, int seed, bool emptyLines = false)
    {
        var random = new Random(seed);
        var text = string.Concat(lines.Select(l => (emptyLines && random.Next(10) == 0 ? "\n" : "") + l + "\n"));
        var bytes = Encoding.UTF8.GetBytes(text);
        using var socket = Connect(target);
        for (var at = 0; at < bytes.Length;)
        {
            var size = Math.Min(bytes.Length - at, random.Next(1, random.Next(3) == 0 ? 200 : 100_000));
            at += socket.Send(bytes.AsSpan(at, size));
            if (random.Next(20) == 0)
            {
                await Task.Delay(random.Next(1, 15), Ct);
            }
        }
    }

    private static async Task WaitForAsync(Receiver receiver, int lines)
    {
        for (var sw = Stopwatch.StartNew(); receiver.Received < lines && sw.Elapsed < TimeSpan.FromSeconds(30);)
        {
            await Task.Delay(20, Ct);
        }
        receiver.Received.ShouldBe(lines);
    }

    /// <summary>A started receiver that is stopped (files closed) before the test reads them.</summary>
    private sealed class Receiver(AmphoraLogReceiver inner) : IDisposable
    {
        public string TrafficTarget => inner.TrafficTarget;

        public string AdminTarget => inner.AdminTarget;

        public string TrafficLogPath => inner.TrafficLogPath;

        public string AdminLogPath => inner.AdminLogPath;

        public long Received => inner.Received;

        public void Dispose()
        {
            inner.StopAsync(CancellationToken.None).GetAwaiter().GetResult();
            inner.Dispose();
        }
    }
}
