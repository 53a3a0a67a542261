// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Globalization;

namespace Octavia.EndToEnd.Tests;

/// <summary>
/// A private ACTIVE_STANDBY deployment for the "oha" tests: its own bridges and subnets (management
/// 198.18.52.0/24, tenant 198.18.53.0/24), its own API and heartbeat ports, short heartbeat settings.
/// </summary>
internal sealed class ActiveStandbyDeployment
{
    public const string TenantHost = "198.18.53.1";
    public const string ManagementHost = "198.18.52.1";
    public const string MgmtBridge = "oha-mgmt";
    public const string TenantBridge = "oha-priv";

    public ActiveStandbyDeployment(ITestOutputHelper output)
    {
        State = Deployment.TempDir("oha-stack-");
        ApiPort = FreeTcpPort();
        var heartbeatPort = FreeUdpPort();
        var extra = Path.Combine(State, "..", Path.GetFileName(State) + ".ini");
        ExtraConf = Path.GetFullPath(extra);
        // The heartbeat timeout must outlast a failover flow: the health manager drops heartbeats it
        // processes later than one interval (upstream does too), which a loaded machine can cause.
        File.WriteAllText(ExtraConf, $"""
            [local_networks]
            networks = name=lb-mgmt-net,subnet=lb-mgmt-subnet,cidr=198.18.52.0/24,gateway=none,host={ManagementHost},bridge={MgmtBridge}
            networks = name=private,subnet=private-subnet,cidr=198.18.53.0/24,gateway={TenantHost},host={TenantHost},bridge={TenantBridge}

            [health_manager]
            bind_ip = {ManagementHost}
            bind_port = {heartbeatPort}
            controller_ip_port_list = {ManagementHost}:{heartbeatPort}
            heartbeat_interval = 2
            heartbeat_timeout = 20
            health_check_interval = 2

            [controller_worker]
            loadbalancer_topology = ACTIVE_STANDBY

            """);
        var env = new Dictionary<string, string>
        {
            ["OCTAVIA_STACK_DIR"] = State,
            ["OCTAVIA_API_PORT"] = ApiPort.ToString(CultureInfo.InvariantCulture),
            ["OCTAVIA_OPENRC"] = Path.Combine(State, "openrc"),
            ["OCTAVIA_STACK_EXTRA_CONF"] = ExtraConf,
            ["OS_AUTH_TYPE"] = "none",
            ["OS_ENDPOINT"] = $"http://127.0.0.1:{ApiPort}",
        };
        Shell = new Shell(RepoRoot, env, output);
    }

    public string State { get; }

    public string ExtraConf { get; }

    public int ApiPort { get; }

    public Shell Shell { get; }

    /// <summary>An amphora as <c>amphora show</c> reports it.</summary>
    public sealed record Amp(string Id, string ComputeId, string Role, string Status, string? VrrpIp, string? HaIp);

    public List<Amp> Amphorae(string lb)
    {
        var list = Deployment.Json(Shell.Run($"openstack loadbalancer amphora list --loadbalancer {lb} -f json"))["items"]!.AsArray();
        return [.. list.Select(a =>
        {
            var shown = Deployment.Json(Shell.Run($"openstack loadbalancer amphora show {(string)a!["id"]!} -f json"));
            return new Amp((string)shown["id"]!, (string)shown["compute_id"]!, (string?)shown["role"] ?? "", (string)shown["status"]!,
                (string?)shown["vrrp_ip"], (string?)shown["ha_ip"]);
        })];
    }

    /// <summary>The amphora directory the local compute driver made.</summary>
    public string AmphoraDir(string computeId) => Path.Combine(State, "local", "amphorae", computeId);

    /// <summary>True when the namespace of <paramref name="computeId"/> holds <paramref name="vip"/>.</summary>
    public static bool HoldsVip(string computeId, string vip) =>
        Run("ip", "-n", "amphora-" + computeId, "-o", "-4", "addr", "show").Output.Contains($" {vip}/32 ", StringComparison.Ordinal);

    /// <summary>Waits until exactly one of <paramref name="amphorae"/> holds the VIP; returns it, or null.</summary>
    public static async Task<Amp?> VipHolderAsync(IReadOnlyList<Amp> amphorae, string vip, int seconds = 60)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(seconds))
        {
            var holders = amphorae.Where(a => HoldsVip(a.ComputeId, vip)).ToList();
            if (holders.Count == 1)
            {
                return holders[0];
            }
            await Task.Delay(500, TestContext.Current.CancellationToken);
        }
        return null;
    }

    /// <summary>
    /// The amphora "dies": its VRRP link goes down, SIGKILL to its agent, HAProxy and keepalived (found by PID from /proc, as their
    /// command lines name the amphora's directory), then its namespace is deleted. Returns the PIDs killed.
    /// </summary>
    public List<int> Kill(string computeId)
    {
        // Its link goes first, as when a VM dies: a keepalived child outliving its parent for a moment
        // would otherwise send a priority-0 advertisement and hand the VIP over early.
        Run("ip", "-n", "amphora-" + computeId, "link", "set", "eth-vip", "down");
        var pids = Deployment.ProcessesMentioning(AmphoraDir(computeId)).OrderDescending().ToList();
        foreach (var pid in pids)
        {
            try
            {
                using var p = Process.GetProcessById(pid);
                p.Kill();
            }
            catch (ArgumentException)
            {
            }
            catch (InvalidOperationException)
            {
            }
        }
        Run("ip", "netns", "delete", "amphora-" + computeId);
        return pids;
    }

    public void Delete()
    {
        if (Directory.Exists(State))
        {
            Directory.Delete(State, recursive: true);
        }
        File.Delete(ExtraConf);
    }
}

/// <summary>
/// Steady client load on a URL (a new connection per request, one at a time, every 20 ms) until stopped;
/// counts answered and failed requests and the longest time without an answer.
/// </summary>
internal sealed class VipLoad : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly List<(TimeSpan At, bool Ok)> _results = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public VipLoad(string url)
    {
        _loop = Task.Run(() => LoopAsync(url));
    }

    public TimeSpan Now => _clock.Elapsed;

    private async Task LoopAsync(string url)
    {
        using var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero, ConnectTimeout = TimeSpan.FromSeconds(1) };
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(2) };
        while (!_stop.IsCancellationRequested)
        {
            bool ok;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, url);
                request.Headers.ConnectionClose = true;
                using var response = await client.SendAsync(request, _stop.Token);
                ok = response.IsSuccessStatusCode;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                ok = false;
            }
            lock (_results)
            {
                _results.Add((_clock.Elapsed, ok));
            }
            try
            {
                await Task.Delay(20, _stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    /// <summary>Answered, failed, the longest time without an answer and the first answer after <paramref name="since"/>, over results after <paramref name="since"/>.</summary>
    public (int Ok, int Failed, TimeSpan LongestGap, TimeSpan? FirstOkAfter) Summary(TimeSpan since)
    {
        List<(TimeSpan At, bool Ok)> results;
        lock (_results)
        {
            results = [.. _results.Where(r => r.At >= since)];
        }
        var last = since;
        var gap = TimeSpan.Zero;
        TimeSpan? firstOk = null;
        foreach (var r in results.Where(r => r.Ok))
        {
            firstOk ??= r.At;
            gap = r.At - last > gap ? r.At - last : gap;
            last = r.At;
        }
        var tail = (results.Count > 0 ? results[^1].At : since) - last;
        gap = tail > gap ? tail : gap;
        return (results.Count(r => r.Ok), results.Count(r => !r.Ok), gap, firstOk);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}
