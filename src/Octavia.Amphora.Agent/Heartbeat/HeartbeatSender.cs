// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Octavia.Amphora.Agent.Haproxy;
using Octavia.Amphora.Agent.Keepalived;
using Octavia.Core.Heartbeat;

namespace Octavia.Amphora.Agent.Heartbeat;

/// <summary>
/// Upstream's health daemon: every <c>heartbeat_interval</c> it sends a v3 message, signed with
/// <c>heartbeat_key</c>, to the next controller of <c>controller_ip_port_list</c> (round robin). When a
/// keepalived configuration exists it sends only while keepalived runs, so a dead VRRP instance fails over.
/// </summary>
internal sealed class HeartbeatSender(
    AgentSettings settings,
    AgentPaths paths,
    HaproxyManager haproxy,
    KeepalivedManager keepalived,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    ILogger<HeartbeatSender> logger) : BackgroundService
{
    private readonly StatsCounters _counters = new(paths.StatsCountersPath);
    private readonly SemaphoreSlim _beatLock = new(1, 1);
    private long _seq;
    private int _next;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The first beat waits until the REST API listens: building it (and JIT-compiling that code) on
        // the start-up path would delay the moment the controller can reach a new amphora. Continuing
        // inline sends it before the host's StartAsync returns, as before, only after Kestrel listens.
        var started = new TaskCompletionSource();
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        using (stoppingToken.Register(() => started.TrySetCanceled(stoppingToken)))
        {
            try
            {
                await started.Task.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await BeatAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.HeartbeatFailed(logger, ex.Message);
            }
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(settings.Mutable.HeartbeatInterval), time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One beat: check keepalived, build, sign and send. Returns false when nothing was sent.</summary>
    internal async Task<bool> BeatAsync(CancellationToken ct)
    {
        await _beatLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (keepalived.IsConfigured && keepalived.Pid == 0)
            {
                Log.HeartbeatSkippedKeepalived(logger);
                return false;
            }
            var mutable = settings.Mutable;
            if (string.IsNullOrEmpty(mutable.HeartbeatKey))
            {
                Log.HeartbeatNoKey(logger);
                return false;
            }
            var destinations = Destinations(mutable.ControllerIpPortList);
            if (destinations.Count == 0)
            {
                Log.HeartbeatNoDestination(logger);
                return false;
            }
            var message = await BuildMessageAsync(ct).ConfigureAwait(false);
            var packet = HeartbeatCodec.Encode(message.ToJsonUtf8(), mutable.HeartbeatKey);
            var destination = destinations[_next++ % destinations.Count];
            using var socket = new Socket(destination.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            try
            {
                await socket.SendToAsync(packet, SocketFlags.None, destination, ct).ConfigureAwait(false);
                Log.HeartbeatSent(logger, message.Seq, destination.ToString(), packet.Length);
            }
            catch (SocketException ex)
            {
                // Upstream ignores send errors: the network may still be coming up, and a missed beat is what failover watches for.
                Log.HeartbeatFailed(logger, ex.Message);
            }
            return true;
        }
        finally
        {
            _beatLock.Release();
        }
    }

    internal async Task<HeartbeatMessage> BuildMessageAsync(CancellationToken ct)
    {
        var message = new HeartbeatMessage { Id = settings.AmphoraId, Seq = _seq++ };
        foreach (var lb in paths.LoadBalancers())
        {
            if (!haproxy.IsRunning(lb))
            {
                continue;
            }
            string config;
            try
            {
                config = await File.ReadAllTextAsync(paths.ConfigPath(lb), ct).ConfigureAwait(false);
            }
            catch (IOException)
            {
                continue;
            }
            var socketPath = HaproxyConfigFile.StatsSocket(config) is { } written ? paths.FromHaproxyDir(lb, written) : paths.HaproxySockPath(lb);
            var rows = HaproxySocket.ParseStat(await HaproxySocket.QueryAsync(socketPath, "show stat -1 -1 -1", ct).ConfigureAwait(false));
            foreach (var row in rows)
            {
                var px = row["pxname"];
                var sv = row.GetValueOrDefault("svname", "");
                if (sv == "FRONTEND")
                {
                    var deltas = _counters.Deltas(px, row);
                    message.Listeners[px] = new HeartbeatListener
                    {
                        Status = row.GetValueOrDefault("status", ""),
                        Stats = new HeartbeatListenerStats
                        {
                            Tx = deltas["bout"],
                            Rx = deltas["bin"],
                            Conns = long.TryParse(row.GetValueOrDefault("scur"), CultureInfo.InvariantCulture, out var scur) ? scur : 0,
                            TotConns = deltas["stot"],
                            Ereq = deltas["ereq"],
                        },
                    };
                    continue;
                }
                if (!message.Pools.TryGetValue(px, out var pool))
                {
                    pool = new HeartbeatPool();
                    message.Pools[px] = pool;
                }
                if (sv == "BACKEND")
                {
                    pool.Status = row.GetValueOrDefault("status", "");
                }
                else
                {
                    var status = row.GetValueOrDefault("status", "");
                    // Some HAProxy versions report a drained server as UP with weight 0.
                    if (status == "UP" && row.GetValueOrDefault("weight") == "0")
                    {
                        status = "DRAIN";
                    }
                    pool.Members[sv] = status;
                }
            }
        }
        _counters.Persist();
        return message;
    }

    private List<IPEndPoint> Destinations(IReadOnlyList<string> list)
    {
        var result = new List<IPEndPoint>();
        foreach (var entry in list)
        {
            var cut = entry.LastIndexOf(':');
            if (cut <= 0 || !int.TryParse(entry[(cut + 1)..], CultureInfo.InvariantCulture, out var port) || port is <= 0 or > 65535)
            {
                Log.HeartbeatBadDestination(logger, entry);
                continue;
            }
            var host = entry[..cut].Trim('[', ']');
            if (IPAddress.TryParse(host, out var ip))
            {
                result.Add(new IPEndPoint(ip, port));
                continue;
            }
            try
            {
                var addresses = Dns.GetHostAddresses(host);
                if (addresses.Length > 0)
                {
                    result.Add(new IPEndPoint(addresses[0], port));
                }
            }
            catch (SocketException)
            {
                Log.HeartbeatBadDestination(logger, entry);
            }
        }
        return result;
    }
}
