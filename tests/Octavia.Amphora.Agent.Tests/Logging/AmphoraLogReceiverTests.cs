// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Octavia.Amphora.Agent.Logging;

namespace Octavia.Amphora.Agent.Tests.Logging;

/// <summary>
/// The receiver fed the way HAProxy feeds it: lines written into its FIFOs (traffic in HAProxy's <c>short</c>
/// format, <c>&lt;6&gt;</c> before an info line), read back in batches cut anywhere. Every non-empty info line
/// is stored once, whole and unchanged, whatever the cuts.
/// </summary>
public sealed class AmphoraLogReceiverTests : IDisposable
{
    private const string AmphoraId = "3b0c6a52-9c52-4d8a-a0c0-5c2a1f3f1e77";
    private readonly string _dir = Directory.CreateTempSubdirectory("octavia-logrecv-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task TrafficLines_AreStoredOnceAndUnchanged_WhenTwoWritersShareTheFifo()
    {
        var random = new Random(6);
        var first = Lines("a", 3000, random);
        var second = Lines("b", 2000, random);
        using var receiver = Start(new LogSettings());

        // Two HAProxy workers (a reload) writing at once, a line per write as HAProxy does.
        await Task.WhenAll(
            Task.Run(() => WriteLines(receiver.TrafficFifo, first, random.Next()), Ct),
            Task.Run(() => WriteLines(receiver.TrafficFifo, second, random.Next()), Ct));
        await WaitForAsync(receiver, first.Count + second.Count);

        var stored = File.ReadAllLines(receiver.TrafficLogPath);
        stored.Where(l => l.StartsWith('a')).ShouldBe(first);         // each writer's lines, in order, none mixed
        stored.Where(l => l.StartsWith('b')).ShouldBe(second);
        stored.Length.ShouldBe(first.Count + second.Count);
        File.ReadAllBytes(receiver.TrafficLogPath)[^1].ShouldBe((byte)'\n');
        File.Exists(receiver.AdminLogPath).ShouldBeFalse();
    }

    [Fact]
    public async Task LinesCutAnywhere_AreStoredWhole_WithoutEmptyLinesOrOtherLevelsThanInfo()
    {
        using var receiver = Start(new LogSettings());
        var random = new Random(11);
        var lines = Lines("c", 4000, random);
        var text = string.Concat(lines.Select((l, i) => (i % 7 == 0 ? "\n" : "") + (i % 5 == 0 ? "<1>Server be/s1 is DOWN.\n<4>Proxy fe stopped.\n" : "") + "<6>" + l + "\n"));
        using (var fifo = OpenFifo(receiver.TrafficFifo))
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            for (var at = 0; at < bytes.Length;)
            {
                // One writer, so cutting lines does not mix them; pauses let the receiver read half lines.
                var size = Math.Min(bytes.Length - at, random.Next(1, random.Next(3) == 0 ? 200 : 100_000));
                fifo.Write(bytes, at, size);
                at += size;
                if (random.Next(20) == 0)
                {
                    await Task.Delay(random.Next(1, 15), Ct);
                }
            }
        }
        await WaitForAsync(receiver, lines.Count);
        File.ReadAllLines(receiver.TrafficLogPath).ShouldBe(lines);     // upstream's local0.=info: alerts are admin lines
    }

    [Fact]
    public async Task Stop_ReturnsPromptly_WhileHaproxyHoldsTheFifo_AndKeepsALastLineWithoutNewline()
    {
        var receiver = Start(new LogSettings());
        using var fifo = OpenFifo(receiver.TrafficFifo);
        fifo.Write("<6>one\n<6>tw"u8);
        await WaitForAsync(receiver, 1);
        var sw = Stopwatch.StartNew();
        receiver.Dispose();
        sw.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(5));
        File.ReadAllText(receiver.TrafficLogPath).ShouldBe("one\ntw\n");
    }

    [Fact]
    public async Task LinesWrittenWhileTheAgentRestarts_WaitInTheFifo_ForTheNextReceiver()
    {
        // Something that is not a FIFO where one belongs is replaced.
        Directory.CreateDirectory(_dir);
        await File.WriteAllTextAsync(new AgentPaths(_dir, _dir).TrafficLogFifoPath, "stale", Ct);
        var before = Lines("d", 100, new Random(12));
        var during = Lines("e", 100, new Random(13));
        using var first = Start(new LogSettings());
        using var fifo = OpenFifo(first.TrafficFifo);            // HAProxy keeps its end across the restart
        WriteLines(fifo, before);
        await WaitForAsync(first, before.Count);
        first.Dispose();

        WriteLines(fifo, during);
        using var second = Start(new LogSettings());
        await WaitForAsync(second, during.Count);
        second.Dispose();
        File.ReadAllLines(first.TrafficLogPath).ShouldBe(before.Concat(during));
    }

    [Fact]
    public async Task WithForwarders_StoredLinesAreTheSame_AndEachLineTravelsWithAnRfc5424Header()
    {
        using var tenant = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        using var admin = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        tenant.Client.ReceiveBufferSize = 8 * 1024 * 1024;
        var traffic = Lines("t", 300, new Random(7));
        var adminLines = new[] { "<141>1 2026-12-06T20:00:00.000000+00:00 amp haproxy 12 - - Proxy fe started.", "<139>1 2026-12-06T20:00:01.000000+00:00 amp haproxy 12 - - Server be/s1 is DOWN." };
        var settings = new LogSettings
        {
            TenantTargets = [(IPEndPoint)tenant.Client.LocalEndPoint!],
            AdminTargets = [(IPEndPoint)admin.Client.LocalEndPoint!],
        };
        using var receiver = Start(settings);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        var forwarded = ReceiveAsync(tenant, traffic.Count, timeout.Token);
        var forwardedAdmin = ReceiveAsync(admin, adminLines.Length, timeout.Token);

        WriteLines(receiver.TrafficFifo, traffic, seed: 8);
        using (var fifo = OpenFifo(receiver.AdminFifo))
        {
            fifo.Write(Encoding.UTF8.GetBytes(string.Concat(adminLines.Select(l => l + "\n"))));
        }
        await WaitForAsync(receiver, traffic.Count + adminLines.Length);

        File.ReadAllLines(receiver.TrafficLogPath).ShouldBe(traffic);
        File.ReadAllLines(receiver.AdminLogPath).ShouldBe(adminLines);
        var header = new Regex(@"^<134>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z " + Regex.Escape(AmphoraId) + " haproxy - - - ");
        (await forwarded).ShouldAllBe(l => header.IsMatch(l));
        (await forwarded).Select(l => header.Replace(l, "")).ShouldBe(traffic);
        (await forwardedAdmin).ShouldBe(adminLines);
    }

    [Fact]
    public async Task AgentRecords_GoToTheAdminLog_AsOneRfc5424LineEach_KeepalivedAlways_HaproxyConsoleOnlyWithForwardAllLogs()
    {
        using var admin = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var tap = new AdminLogTap(forwardAllLogs: false);
        using var receiver = Start(new LogSettings { AdminTargets = [(IPEndPoint)admin.Client.LocalEndPoint!] }, tap);
        using var factory = LoggerFactory.Create(b => b.AddProvider(tap).SetMinimumLevel(LogLevel.Trace));
        var logger = factory.CreateLogger("Octavia.Amphora.Agent.Haproxy.HaproxyManager");
        var framework = factory.CreateLogger("Microsoft.AspNetCore.Hosting.Diagnostics");
        logger.LogInformation("agent says\nhello");
        logger.LogDebug("the agent's debug records stay out");
        Octavia.Amphora.Agent.Log.KeepalivedOutput(logger, "(VI_1) Entering MASTER STATE");
        Octavia.Amphora.Agent.Log.HaproxyOutput(logger, "lb1", "[NOTICE] only with forward_all_logs");
        framework.LogInformation("Request starting");
        framework.LogWarning("framework warning");
        logger.LogError("{Long}", new string('x', 10_000));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        var forwarded = await ReceiveAsync(admin, 4, timeout.Token);
        await WaitForAsync(receiver, 4);

        var stored = File.ReadAllLines(receiver.AdminLogPath);
        stored.ShouldBe(forwarded);
        var header = @"^<{0}>1 \d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{6}}Z " + Regex.Escape(AmphoraId) + " {1} - - - ";
        stored[0].ShouldMatch(string.Format(System.Globalization.CultureInfo.InvariantCulture, header, 142, "amphora-agent") + "agent says hello$");   // local1.info
        stored[1].ShouldMatch(string.Format(System.Globalization.CultureInfo.InvariantCulture, header, 142, "Keepalived") + @"keepalived: \(VI_1\) Entering MASTER STATE$");
        stored[2].ShouldMatch(string.Format(System.Globalization.CultureInfo.InvariantCulture, header, 140, "amphora-agent") + "framework warning$");
        stored[3].ShouldMatch(string.Format(System.Globalization.CultureInfo.InvariantCulture, header, 139, "amphora-agent") + "x+$");   // local1.err
        Encoding.UTF8.GetByteCount(stored[3]).ShouldBe(4095);           // one atomic write into the FIFO
    }

    [Fact]
    public async Task TrafficLog_IsRotatedAtItsLimit_BetweenLines()
    {
        var line = new string('x', 1000);
        var count = (int)(AmphoraLogReceiver.RotateBytes / 1001) + 2000;
        using var receiver = Start(new LogSettings());
        WriteLines(receiver.TrafficFifo, Enumerable.Range(0, count).Select(i => $"{i:D8} {line}").ToList(), seed: 10);
        await WaitForAsync(receiver, count);

        var old = File.ReadAllLines(receiver.TrafficLogPath + ".1");
        var current = File.ReadAllLines(receiver.TrafficLogPath);
        old.Concat(current).Select(l => int.Parse(l[..8], System.Globalization.CultureInfo.InvariantCulture)).ShouldBe(Enumerable.Range(0, count));
        old.Concat(current).ShouldAllBe(l => l.Length == 1009);
        new FileInfo(receiver.TrafficLogPath + ".1").Length.ShouldBeGreaterThanOrEqualTo(AmphoraLogReceiver.RotateBytes);
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

    private Receiver Start(LogSettings logs, AdminLogTap? adminLog = null)
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
            AmphoraId = AmphoraId,
            Logs = logs,
        };
        var paths = new AgentPaths(_dir, settings.BaseCertDir);
        var receiver = new AmphoraLogReceiver(settings, paths, NullLogger<AmphoraLogReceiver>.Instance, adminLog);
        receiver.StartAsync(Ct).GetAwaiter().GetResult();
        return new Receiver(receiver, paths);
    }

    /// <summary>Lines like HAProxy's: some long, some with UTF-8 and quotes, none empty.</summary>
    private static List<string> Lines(string prefix, int count, Random random) => Enumerable.Range(0, count)
        .Select(i => $"{prefix}{i} 127.0.0.1 {random.Next(1024, 65535)} \"GET /{new string('p', random.Next(0, random.Next(2) == 0 ? 40 : 3000))}?q=é€ HTTP/1.1\" 200 {random.Next()} - \"\" be srv {random.Next(100)} ----")
        .ToList();

    /// <summary>The FIFO opened as HAProxy's shell opens it: read-write, so the open never waits.</summary>
    private static FileStream OpenFifo(string path) => new(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, bufferSize: 0);

    private static void WriteLines(string fifo, IReadOnlyList<string> lines, int seed)
    {
        using var stream = OpenFifo(fifo);
        WriteLines(stream, lines, seed);
    }

    /// <summary>A line per write with the info level in front, as HAProxy's <c>log stdout format short</c> writes them; a pause now and then.</summary>
    private static void WriteLines(FileStream fifo, IReadOnlyList<string> lines, int seed = 0)
    {
        var random = new Random(seed);
        foreach (var line in lines)
        {
            fifo.Write(Encoding.UTF8.GetBytes("<6>" + line + "\n"));
            if (random.Next(500) == 0)
            {
                Thread.Sleep(random.Next(1, 15));
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
    private sealed class Receiver(AmphoraLogReceiver inner, AgentPaths paths) : IDisposable
    {
        public string TrafficFifo => paths.TrafficLogFifoPath;

        public string AdminFifo => paths.AdminLogFifoPath;

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
