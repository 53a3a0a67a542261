// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.Logging;
using Octavia.Core.Configuration;
using Octavia.Drivers.Compute.Local;

namespace Octavia.Drivers.Network.Local;

/// <summary>The local compute and network drivers under the names <c>[controller_worker]</c> selects them by (ours).</summary>
public static class LocalDrivers
{
    /// <summary><c>[controller_worker] compute_driver = compute_local_driver</c>.</summary>
    public const string ComputeDriverName = "compute_local_driver";

    /// <summary><c>[controller_worker] network_driver = network_local_driver</c>.</summary>
    public const string NetworkDriverName = "network_local_driver";

    /// <summary>Both drivers over one shared context (one address book, one mode); config errors throw <see cref="ConfigException"/>.</summary>
    public static (LocalComputeDriver Compute, LocalNetworkDriver Network) Create(OctaviaConfig config, ILoggerFactory loggerFactory, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        var context = LocalDriverContext.FromConfig(config, timeProvider);
        return (
            new LocalComputeDriver(context, timeProvider, loggerFactory.CreateLogger<LocalComputeDriver>()),
            new LocalNetworkDriver(context, loggerFactory.CreateLogger<LocalNetworkDriver>()));
    }
}
