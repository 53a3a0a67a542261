// Licensed under the Apache License, Version 2.0.

using Octavia.Core.Configuration;

namespace Octavia.Controller.Worker;

/// <summary>The octavia.conf sections the worker's tasks read.</summary>
public sealed class WorkerSettings
{
    public ControllerWorkerOptions ControllerWorker { get; init; } = new();
    public HealthManagerOptions HealthManager { get; init; } = new();
    public HaproxyAmphoraOptions HaproxyAmphora { get; init; } = new();
    public AmphoraAgentOptions AmphoraAgent { get; init; } = new();
    public KeepalivedVrrpOptions KeepalivedVrrp { get; init; } = new();
    public CertificatesOptions Certificates { get; init; } = new();
    public NovaOptions Nova { get; init; } = new();
    public bool Debug { get; init; }

    /// <summary>Contents of <c>[controller_worker] client_ca</c> (injected into amphorae), or empty if unreadable.</summary>
    public string ClientCaPem { get; init; } = "";

    /// <summary>Binds every section from <paramref name="config"/>.</summary>
    public static WorkerSettings FromConfig(OctaviaConfig config)
    {
        var cw = OptionBinder.Bind<ControllerWorkerOptions>(config);
        return new WorkerSettings
        {
            ControllerWorker = cw,
            HealthManager = OptionBinder.Bind<HealthManagerOptions>(config),
            HaproxyAmphora = OptionBinder.Bind<HaproxyAmphoraOptions>(config),
            AmphoraAgent = OptionBinder.Bind<AmphoraAgentOptions>(config),
            KeepalivedVrrp = OptionBinder.Bind<KeepalivedVrrpOptions>(config),
            Certificates = OptionBinder.Bind<CertificatesOptions>(config),
            Nova = OptionBinder.Bind<NovaOptions>(config),
            Debug = OptionBinder.Bind<DefaultOptions>(config).Debug,
            ClientCaPem = File.Exists(cw.ClientCa) ? File.ReadAllText(cw.ClientCa) : "",
        };
    }
}
