// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.Logging;
using Octavia.Core.Configuration;
using Octavia.Core.Drivers;
using Octavia.Drivers.Amphorae.Noop;
using Octavia.Drivers.Compute.Noop;

namespace Octavia.Controller.Worker;

/// <summary>What a driver factory gets.</summary>
public sealed record DriverContext(OctaviaConfig Config, WorkerSettings Settings, ILoggerFactory LoggerFactory, TimeProvider Time);

/// <summary>A driver name in octavia.conf that nothing is registered under.</summary>
public sealed class DriverConfigException(string message) : Exception(message)
{
}

/// <summary>
/// The worker's drivers by upstream's names (stevedore entry points upstream), in one place. Each
/// helper's driver adds one line here, e.g. <c>registry.Network["network_noop_driver"] = c =&gt; ...</c>.
/// </summary>
public sealed class DriverRegistry
{
    public Dictionary<string, Func<DriverContext, IComputeDriver>> Compute { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, Func<DriverContext, INetworkDriver>> Network { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, Func<DriverContext, IAmphoraDriver>> Amphora { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, Func<DriverContext, ICertGenerator>> CertGenerator { get; } = new(StringComparer.Ordinal);

    /// <summary>The drivers this assembly knows: the noop compute and amphora drivers.</summary>
    public static DriverRegistry CreateDefault()
    {
        var registry = new DriverRegistry();
        registry.Compute["compute_noop_driver"] = c => new NoopComputeDriver(c.LoggerFactory.CreateLogger<NoopComputeDriver>(), NoopDelay(c), c.Time);
        registry.Amphora["amphora_noop_driver"] = c => new NoopAmphoraDriver(c.LoggerFactory.CreateLogger<NoopAmphoraDriver>(), NoopDelay(c), c.Time);
        return registry;
    }

    public IComputeDriver CreateCompute(DriverContext context) =>
        Create(Compute, "controller_worker", "compute_driver", Required(context).Settings.ControllerWorker.ComputeDriver, context);

    public INetworkDriver CreateNetwork(DriverContext context) =>
        Create(Network, "controller_worker", "network_driver", Required(context).Settings.ControllerWorker.NetworkDriver, context);

    public IAmphoraDriver CreateAmphora(DriverContext context) =>
        Create(Amphora, "controller_worker", "amphora_driver", Required(context).Settings.ControllerWorker.AmphoraDriver, context);

    public ICertGenerator CreateCertGenerator(DriverContext context) =>
        Create(CertGenerator, "certificates", "cert_generator", Required(context).Settings.Certificates.CertGenerator, context);

    private static DriverContext Required(DriverContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context;
    }

    private static T Create<T>(Dictionary<string, Func<DriverContext, T>> factories, string section, string option, string name, DriverContext context) =>
        factories.TryGetValue(name, out var factory)
            ? factory(context)
            : throw new DriverConfigException($"[{section}] {option}: unknown driver '{name}' (known: {string.Join(", ", factories.Keys.Order(StringComparer.Ordinal))})");

    private static TimeSpan NoopDelay(DriverContext c) => TimeSpan.FromSeconds(c.Settings.ControllerWorker.NoopDriverDelay);
}
