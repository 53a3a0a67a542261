// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.DependencyInjection;
using Octavia.Core.Configuration;
using Octavia.Core.Drivers;
using Octavia.Drivers.Certificates;

namespace Octavia.Commands;

/// <summary>The cert manager the API validates listener and pool certificate references with.</summary>
internal static class ApiCertificates
{
    /// <summary>Upstream's name for the cert manager that accepts every reference unchecked.</summary>
    public const string NoopManager = "noop_cert_manager";

    /// <summary>
    /// Registers <see cref="LocalCertManager"/> unless <c>[certificates] cert_manager = noop_cert_manager</c>: the
    /// worker fetches bundles through the local cert manager whatever the option says, so the API checks
    /// references against the same store rather than accepting ones the worker would fail on.
    /// </summary>
    public static void Register(IServiceCollection services, OctaviaConfig config)
    {
        var options = OptionBinder.Bind<CertificatesOptions>(config);
        if (options.CertManager == NoopManager)
        {
            return;
        }
        services.AddSingleton<ICertManager>(new LocalCertManager(options));
    }
}
