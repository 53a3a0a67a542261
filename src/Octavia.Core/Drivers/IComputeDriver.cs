// Licensed under the Apache License, Version 2.0.

namespace Octavia.Core.Drivers;

/// <summary>What the compute driver needs to boot one amphora (upstream's CertComputeCreate arguments).</summary>
public sealed record AmphoraBootRequest
{
    public required string AmphoraId { get; init; }
    /// <summary>amphora-agent.conf rendered for this amphora (config-drive file upstream).</summary>
    public required string AgentConfig { get; init; }
    /// <summary>The amphora's server certificate and key, PEM (<c>/etc/octavia/certs/server.pem</c>).</summary>
    public required string ServerPem { get; init; }
    /// <summary>The CA the agent trusts for controller clients (<c>[controller_worker] client_ca</c> contents).</summary>
    public required string ClientCaPem { get; init; }
    public string? ImageTag { get; init; }
    public string? FlavorId { get; init; }
    public string? AvailabilityZone { get; init; }
    public IReadOnlyList<string> NetworkIds { get; init; } = [];
    public string? KeyName { get; init; }
    public string? ServerGroupId { get; init; }
}

/// <summary>A compute instance as the driver sees it; <paramref name="Fault"/> says why an instance is in ERROR (Nova's <c>fault</c>).</summary>
public sealed record ComputeInstance(string ComputeId, string Status, string? LbNetworkIp, string? ImageId, string? Zone, string? Fault = null);

/// <summary>Compute instance statuses a driver reports (Nova's words).</summary>
public static class ComputeStatus
{
    public const string Building = "BUILD";
    public const string Active = "ACTIVE";
    public const string Error = "ERROR";
    public const string Deleted = "DELETED";
}

/// <summary>Boots and deletes amphorae (upstream <c>compute/compute_base.py</c>).</summary>
public interface IComputeDriver
{
    /// <summary>Boots an amphora; returns its compute id at once (it may still be building).</summary>
    Task<string> BuildAsync(AmphoraBootRequest request, CancellationToken cancellationToken);

    /// <summary>The instance's current state; a missing instance reports <see cref="ComputeStatus.Deleted"/>.</summary>
    Task<ComputeInstance> GetAsync(string computeId, CancellationToken cancellationToken);

    /// <summary>Deletes an instance; deleting a missing one succeeds (tasks may repeat).</summary>
    Task DeleteAsync(string computeId, CancellationToken cancellationToken);

    /// <summary>Creates an anti-affinity group for ACTIVE_STANDBY; returns its id, or null if the driver has none.</summary>
    Task<string?> CreateServerGroupAsync(string name, string policy, CancellationToken cancellationToken);

    /// <summary>Deletes a server group; a missing one is fine.</summary>
    Task DeleteServerGroupAsync(string serverGroupId, CancellationToken cancellationToken);
}
