// Licensed under the Apache License, Version 2.0.

using System.Text.Json.Nodes;

namespace Octavia.Api.Providers;

/// <summary>
/// One change handed to a provider (octavia-lib's provider driver calls): upstream's worker method
/// name, its arguments (ids), and the load balancer it belongs to.
/// </summary>
public sealed record ProviderCall(string Method, JsonObject Args, string? LoadBalancerId);

/// <summary>A provider driver (octavia-lib <c>ProviderDriver</c>), selected by name per load balancer.</summary>
public interface IProviderDriver
{
    /// <summary>Upstream's entry point name (<c>amphora</c>, <c>noop_driver</c>).</summary>
    string Name { get; }

    /// <summary>Flavor metadata keys and descriptions (<c>get_supported_flavor_metadata</c>).</summary>
    IReadOnlyDictionary<string, string> FlavorCapabilities { get; }

    /// <summary>AZ metadata keys and descriptions (<c>get_supported_availability_zone_metadata</c>).</summary>
    IReadOnlyDictionary<string, string> AvailabilityZoneCapabilities { get; }

    /// <summary>Throws <see cref="Errors.ApiException"/> (501) for unsupported flavor data.</summary>
    void ValidateFlavor(JsonObject flavorData);

    /// <summary>Throws <see cref="Errors.ApiException"/> (501) for unsupported AZ data.</summary>
    void ValidateAvailabilityZone(JsonObject availabilityZoneData);

    /// <summary>Rejects options the provider cannot do (501): listener and pool protocols, algorithms.</summary>
    void CheckOptions(string objectKind, string? protocol, string? lbAlgorithm);

    /// <summary>Hands the change over; runs inside the locked transaction, so a failure rolls it back.</summary>
    Task SubmitAsync(ProviderCall call, CancellationToken cancellationToken);
}
