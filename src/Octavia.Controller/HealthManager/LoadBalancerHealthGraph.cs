// Licensed under the Apache License, Version 2.0.

namespace Octavia.Controller.HealthManager;

/// <summary>
/// The flat view of a load balancer the health update needs (upstream's <c>get_lb_for_health_update</c>):
/// operating statuses of the LB, its listeners, pools and members. Cached between heartbeats and updated
/// in place when the health manager writes a status, so a write happens only on change.
/// </summary>
internal sealed class LoadBalancerHealthGraph
{
    public required string Id { get; init; }
    public required bool Enabled { get; init; }
    public required string ProvisioningStatus { get; init; }
    public required string OperatingStatus { get; set; }
    public Dictionary<string, ListenerNode> Listeners { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, PoolNode> Pools { get; } = new(StringComparer.Ordinal);
    public DateTimeOffset LoadedAt { get; init; }
}

internal sealed class ListenerNode
{
    public required string OperatingStatus { get; set; }
    public required bool Enabled { get; init; }
    public required string Protocol { get; init; }
    public string? DefaultPoolId { get; init; }
}

internal sealed class PoolNode
{
    public required string OperatingStatus { get; set; }
    public Dictionary<string, MemberNode> Members { get; } = new(StringComparer.Ordinal);
}

internal sealed class MemberNode
{
    public required string OperatingStatus { get; set; }
    public required bool Enabled { get; init; }
}

/// <summary>The amphora row fields the health update needs.</summary>
internal sealed record AmphoraRecord(string Id, string? Status, string? LoadBalancerId, string? ComputeId, DateTimeOffset LoadedAt);
