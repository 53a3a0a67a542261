// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Octavia.Core.Drivers;

namespace Octavia.Drivers.Compute.Noop;

/// <summary>
/// Upstream's <c>compute_noop_driver</c>: logs every call and succeeds. Every instance is ACTIVE at once
/// with a made-up management address (from 192.0.2.0/24, TEST-NET-1), so it holds no state a restarted
/// worker would miss; only deletions are remembered.
/// </summary>
public sealed partial class NoopComputeDriver : IComputeDriver
{
    private readonly ILogger _logger;
    private readonly TimeSpan _delay;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, bool> _deleted = new();

    /// <param name="logger">Where calls are logged.</param>
    /// <param name="delay">Time each call takes (<c>[controller_worker] noop_driver_delay</c>).</param>
    /// <param name="time">The clock the delay runs on.</param>
    public NoopComputeDriver(ILogger<NoopComputeDriver> logger, TimeSpan delay, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(time);
        _logger = logger;
        _delay = delay;
        _time = time;
    }

    /// <summary>Instances are named <c>amphora-&lt;id&gt;</c>; the noop compute id is derived from that name.</summary>
    public async Task<string> BuildAsync(AmphoraBootRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        await PauseAsync(cancellationToken).ConfigureAwait(false);
        var computeId = ComputeIdFor(request.AmphoraId);
        _deleted.TryRemove(computeId, out _);
        Log.Call(_logger, "build", computeId);
        return computeId;
    }

    public async Task<ComputeInstance> GetAsync(string computeId, CancellationToken cancellationToken)
    {
        await PauseAsync(cancellationToken).ConfigureAwait(false);
        Log.Call(_logger, "get", computeId);
        return _deleted.ContainsKey(computeId)
            ? new ComputeInstance(computeId, ComputeStatus.Deleted, null, null, null)
            : new ComputeInstance(computeId, ComputeStatus.Active, FakeAddress(computeId), "noop-image", "noop-zone");
    }

    public async Task DeleteAsync(string computeId, CancellationToken cancellationToken)
    {
        await PauseAsync(cancellationToken).ConfigureAwait(false);
        _deleted[computeId] = true;
        Log.Call(_logger, "delete", computeId);
    }

    public async Task<string?> CreateServerGroupAsync(string name, string policy, CancellationToken cancellationToken)
    {
        await PauseAsync(cancellationToken).ConfigureAwait(false);
        Log.Call(_logger, "create_server_group", name);
        return null;
    }

    public async Task DeleteServerGroupAsync(string serverGroupId, CancellationToken cancellationToken)
    {
        await PauseAsync(cancellationToken).ConfigureAwait(false);
        Log.Call(_logger, "delete_server_group", serverGroupId);
    }

    /// <summary>The compute id the driver gives an amphora (stable, so a repeated build finds the same instance).</summary>
    public static string ComputeIdFor(string amphoraId)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes("amphora-" + amphoraId));
        return new Guid(hash.AsSpan(0, 16)).ToString();
    }

    private static string FakeAddress(string computeId)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(computeId));
        return $"192.0.2.{1 + (hash[0] % 254)}";
    }

    private Task PauseAsync(CancellationToken cancellationToken) =>
        _delay > TimeSpan.Zero ? Task.Delay(_delay, _time, cancellationToken) : Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(EventId = 4001, Level = LogLevel.Debug, Message = "Compute noop driver: {Operation} {Target}")]
        public static partial void Call(ILogger logger, string operation, string target);
    }
}
