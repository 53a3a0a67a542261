// Licensed under the Apache License, Version 2.0.

using Octavia.Core.Configuration;

namespace Octavia.Drivers.Network.Local;

/// <summary>
/// What the local compute and network drivers share: the resolved mode, the network layout, the
/// state directory and its address book. Build one per process with <see cref="FromConfig"/>.
/// </summary>
public sealed class LocalDriverContext
{
    public LocalDriverContext(LocalComputeOptions compute, LocalNetworksOptions networks, string defaultStatePath, IReadOnlyList<string> bootNetworks, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(compute);
        ArgumentNullException.ThrowIfNull(networks);
        ArgumentNullException.ThrowIfNull(timeProvider);
        Options = compute;
        Mode = ResolveMode(compute.Mode);
        Layout = LocalNetworkLayout.Parse(networks.Networks, Mode);
        StateDir = Path.GetFullPath(compute.StateDir.Length > 0 ? compute.StateDir : Path.Combine(defaultStatePath, "local"));
        Ipam = new LocalIpam(StateDir, timeProvider);
        var management = bootNetworks.Count > 0 ? bootNetworks[0] : compute.ManagementNetwork;
        ManagementNetwork = Layout.FindNetwork(management)
            ?? throw new ConfigException($"[local_compute] management_network: network '{management}' is not declared in [local_networks] networks");
        AgentExecutable = compute.AgentExecutable.Length > 0
            ? compute.AgentExecutable
            : Environment.ProcessPath ?? throw new ConfigException("[local_compute] agent_executable: the running executable's path is unknown; set it");
    }

    /// <summary>Reads <c>[local_compute]</c>, <c>[local_networks]</c>, <c>[DEFAULT] state_path</c> and <c>[controller_worker] amp_boot_network_list</c>.</summary>
    public static LocalDriverContext FromConfig(OctaviaConfig config, TimeProvider timeProvider) =>
        new(
            OptionBinder.Bind<LocalComputeOptions>(config),
            OptionBinder.Bind<LocalNetworksOptions>(config),
            OptionBinder.Bind<DefaultOptions>(config).StatePath,
            OptionBinder.Bind<ControllerWorkerOptions>(config).AmpBootNetworkList,
            timeProvider);

    public LocalComputeOptions Options { get; }

    public LocalMode Mode { get; }

    public LocalNetworkLayout Layout { get; }

    public string StateDir { get; }

    public LocalIpam Ipam { get; }

    public LocalNetwork ManagementNetwork { get; }

    public string AgentExecutable { get; }

    /// <summary>
    /// The host's address on the management network as amphorae reach it (mapped in loopback mode):
    /// where the health manager should listen; null if the management subnet declares no host address.
    /// </summary>
    public System.Net.IPAddress? ManagementHostAddress => ManagementNetwork.Subnets.Select(s => s.HostAddress).FirstOrDefault(a => a is not null);

    /// <summary>The run directory of one amphora.</summary>
    public string AmphoraDir(string amphoraId) => Path.Combine(StateDir, "amphorae", amphoraId);

    /// <summary><c>auto</c> picks namespaces when this process may create them (root), loopback otherwise.</summary>
    public static LocalMode ResolveMode(string mode) => mode.Trim().ToLowerInvariant() switch
    {
        "namespace" => Environment.IsPrivilegedProcess
            ? LocalMode.Namespace
            : throw new ConfigException("[local_compute] mode: namespace needs root (network namespaces, bridges and veths); use auto or loopback"),
        "loopback" => LocalMode.Loopback,
        "auto" or "" => Environment.IsPrivilegedProcess ? LocalMode.Namespace : LocalMode.Loopback,
        _ => throw new ConfigException($"[local_compute] mode: '{mode}' is not one of auto, namespace, loopback"),
    };
}
