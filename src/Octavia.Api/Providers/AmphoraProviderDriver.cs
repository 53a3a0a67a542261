// Licensed under the Apache License, Version 2.0.

using System.Text.Json;
using System.Text.Json.Nodes;
using Octavia.Api.Errors;
using Octavia.Core.Messaging;
using Octavia.Core.Model;

namespace Octavia.Api.Providers;

/// <summary>
/// <c>amphora</c> (alias <c>octavia</c>): casts each change to the controller worker over the bus with
/// upstream's method names. UDP and SCTP are not offered yet (501).
/// </summary>
public sealed class AmphoraProviderDriver(IWorkerBus? bus = null) : IProviderDriver
{
    public string Name => "amphora";

    public IReadOnlyDictionary<string, string> FlavorCapabilities { get; } = new Dictionary<string, string>
    {
        ["loadbalancer_topology"] = "The load balancer topology. One of: SINGLE - One amphora per load balancer. ACTIVE_STANDBY - Two amphora per load balancer.",
        ["compute_flavor"] = "The compute driver flavor ID.",
        ["amp_image_tag"] = "The amphora image tag.",
    };

    public IReadOnlyDictionary<string, string> AvailabilityZoneCapabilities { get; } = new Dictionary<string, string>
    {
        ["compute_zone"] = "The compute availability zone.",
        ["management_network"] = "The management network ID for the amphora.",
        ["valid_vip_networks"] = "List of network IDs that are allowed for VIP use. This overrides/replaces the list of allowed networks configured in `octavia.conf`.",
    };

    public void ValidateFlavor(JsonObject flavorData)
    {
        ArgumentNullException.ThrowIfNull(flavorData);
        foreach (var (key, value) in flavorData)
        {
            switch (key)
            {
                case "loadbalancer_topology":
                    if (value is not JsonValue v || v.GetValueKind() != JsonValueKind.String || !Topologies.All.Contains(v.GetValue<string>()))
                    {
                        throw Unsupported($"loadbalancer_topology {value?.ToJsonString()} is not one of ['SINGLE', 'ACTIVE_STANDBY']");
                    }
                    break;
                case "compute_flavor" or "amp_image_tag":
                    if (value is not JsonValue s || s.GetValueKind() != JsonValueKind.String)
                    {
                        throw Unsupported($"{key} {value?.ToJsonString()} is not of type 'string'");
                    }
                    break;
                default:
                    throw Unsupported($"Additional properties are not allowed ('{key}' was unexpected)");
            }
        }
    }

    public void ValidateAvailabilityZone(JsonObject availabilityZoneData)
    {
        ArgumentNullException.ThrowIfNull(availabilityZoneData);
        foreach (var (key, value) in availabilityZoneData)
        {
            switch (key)
            {
                case "compute_zone" or "management_network":
                    if (value is not JsonValue s || s.GetValueKind() != JsonValueKind.String)
                    {
                        throw Unsupported($"{key} {value?.ToJsonString()} is not of type 'string'");
                    }
                    break;
                case "valid_vip_networks":
                    if (value is not JsonArray)
                    {
                        throw Unsupported($"{key} {value?.ToJsonString()} is not of type 'array'");
                    }
                    break;
                default:
                    throw Unsupported($"Additional properties are not allowed ('{key}' was unexpected)");
            }
        }
    }

    public void CheckOptions(string objectKind, string? protocol, string? lbAlgorithm)
    {
        if (protocol is Protocols.Udp or Protocols.Sctp)
        {
            throw Unsupported($"{protocol} {objectKind}s are not supported by this deployment yet.");
        }
    }

    public async Task SubmitAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        if (bus is null)
        {
            throw new ApiException(500, "Provider 'amphora' reports error: no worker bus is configured ([DEFAULT] transport_url).");
        }
        await bus.CastAsync(new WorkerCast(call.Method, call.Args), cancellationToken).ConfigureAwait(false);
    }

    private ApiException Unsupported(string detail) =>
        new(501, $"Provider '{Name}' does not support a requested option: {detail}");
}
