// Licensed under the Apache License, Version 2.0.
// Also compiled into bench/FailoverBench, so it uses neither xunit nor Shouldly.

using System.Diagnostics;

namespace Octavia.EndToEnd.Tests;

/// <summary>What one unplanned SINGLE failover took, measured from the client's side and from octavia.log.</summary>
internal sealed record FailoverResult(
    string OldAmphoraId,
    string? NewAmphoraId,
    DateTime KilledAt,
    TimeSpan? Outage,
    TimeSpan? Detection,
    TimeSpan? Rebuild,
    TimeSpan? Config,
    bool OldAmphoraDeleted,
    int Requests,
    int Failures)
{
    public override string ToString() =>
        $"SINGLE failover of {OldAmphoraId} -> {NewAmphoraId}: without service {Seconds(Outage)} s " +
        $"(detection {Seconds(Detection)} s, rebuild {Seconds(Rebuild)} s, config {Seconds(Config)} s); " +
        $"{Requests} requests, {Failures} failed; old amphora DELETED: {OldAmphoraDeleted}";

    private static string Seconds(TimeSpan? t) => t is { } v ? v.TotalSeconds.ToString("F2", System.Globalization.CultureInfo.InvariantCulture) : "?";
}

/// <summary>
/// Scenario 1 of issue #4: with a client sending requests continuously, kill the load balancer's only amphora
/// (agent, HAProxy, keepalived by PID, then its namespace) and wait until the health manager has replaced it
/// and traffic flows again.
/// </summary>
internal static class FailoverDrill
{
    public static async Task<FailoverResult> RunAsync(HealthStack stack, string repo, string vip, string lb, Action<string> log, int waitSeconds = 120)
    {
        var old = stack.Amphorae(repo, lb).Single();
        var oldId = (string)old["id"]!;
        await using var client = new SteadyClient($"http://{vip}/");
        var warm = Stopwatch.StartNew();
        while (client.Results.Count(r => r.Ok) < 5 && warm.Elapsed < TimeSpan.FromSeconds(20))
        {
            await Task.Delay(100);
        }
        var killedAt = DateTime.UtcNow;
        var pids = HealthStack.KillAmphora(oldId);
        log($"killed amphora {oldId} (pids {string.Join(' ', pids)}) at {killedAt:HH:mm:ss.fff}");

        var deadline = Stopwatch.StartNew();
        DateTime? back = null;
        while (deadline.Elapsed < TimeSpan.FromSeconds(waitSeconds))
        {
            back = client.OutageAfter(killedAt)?.BackAt;
            if (back is not null)
            {
                break;
            }
            await Task.Delay(100);
        }
        // A few more seconds of traffic show it stays up (a failover loop would take it down again).
        await Task.Delay(TimeSpan.FromSeconds(HealthStack.HeartbeatTimeout + 3));
        var outage = client.OutageAround(killedAt);
        var results = client.Results;

        string? newId = null;
        var settle = Stopwatch.StartNew();
        var oldDeleted = false;
        while (settle.Elapsed < TimeSpan.FromSeconds(60))
        {
            var now = stack.Amphorae(repo, lb);
            if (now.Count == 1 && (string)now[0]["id"]! != oldId && (string?)now[0]["status"] == "ALLOCATED")
            {
                newId = (string)now[0]["id"]!;
                // The API hides DELETED amphorae (404, as upstream): read the row itself.
                oldDeleted = stack.AmphoraRowStatus(oldId) == "DELETED";
                if (oldDeleted)
                {
                    break;
                }
            }
            await Task.Delay(1000);
        }

        var stale = stack.LogTimes($"Stale amphora's id is: {oldId}").FirstOrDefault(t => t >= killedAt.AddSeconds(-1));
        var agentStarted = newId is null ? default : stack.LogTimes($"Amphora {newId}: agent started").FirstOrDefault();
        var configured = newId is null ? default : stack.LogTimes($"on amphora {newId} (").FirstOrDefault();
        TimeSpan? detection = stale == default ? null : stale - killedAt;
        TimeSpan? rebuild = stale == default || configured == default ? null : configured - stale;
        TimeSpan? config = configured == default || back is null ? null : back.Value - configured;
        if (agentStarted != default && stale != default)
        {
            log($"agent of the replacement started {(agentStarted - stale).TotalSeconds:F2} s after detection");
        }
        return new FailoverResult(oldId, newId, killedAt, outage, detection, rebuild, config, oldDeleted, results.Count, results.Count(r => !r.Ok));
    }
}
