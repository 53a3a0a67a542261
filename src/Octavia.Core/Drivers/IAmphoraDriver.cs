// Licensed under the Apache License, Version 2.0.

using Octavia.Core.Model;

namespace Octavia.Core.Drivers;

/// <summary>
/// Talks to amphorae (upstream <c>amphorae/drivers/driver_base.py</c>); the REST driver speaks the
/// agent API 1.0 over mutual TLS. Every method may be repeated safely.
/// </summary>
public interface IAmphoraDriver
{
    /// <summary>Waits until the agent answers <c>GET /info</c>, within the given retries; throws on timeout.</summary>
    Task WaitForConnectivityAsync(Amphora amphora, int maxRetries, TimeSpan retryInterval, CancellationToken cancellationToken);

    /// <summary>Renders the load balancer's whole HAProxy configuration for this amphora, uploads the certificates it needs, and (re)loads HAProxy.</summary>
    Task UpdateAsync(LoadBalancer loadBalancer, Amphora amphora, CancellationToken cancellationToken);

    /// <summary>Stops and removes the load balancer's HAProxy on the amphora.</summary>
    Task DeleteAsync(LoadBalancer loadBalancer, Amphora amphora, CancellationToken cancellationToken);

    /// <summary>Agent <c>POST /plug/vip/{vip}</c>.</summary>
    Task PostVipPlugAsync(LoadBalancer loadBalancer, Amphora amphora, AmphoraNetworkConfig config, CancellationToken cancellationToken);

    /// <summary>Agent <c>POST /plug/network</c> for a member port.</summary>
    Task PostNetworkPlugAsync(Amphora amphora, PortInfo port, CancellationToken cancellationToken);

    /// <summary>Agent <c>GET /interface/{ip}</c>: the interface holding the address.</summary>
    Task<string> GetInterfaceAsync(Amphora amphora, string ipAddress, CancellationToken cancellationToken);

    /// <summary>Renders and uploads keepalived.conf (ACTIVE_STANDBY).</summary>
    Task UpdateVrrpConfigAsync(LoadBalancer loadBalancer, Amphora amphora, IReadOnlyList<Amphora> peers, CancellationToken cancellationToken);

    /// <summary>Agent <c>PUT /vrrp/{start|stop|reload}</c>.</summary>
    Task VrrpActionAsync(Amphora amphora, string action, CancellationToken cancellationToken);

    /// <summary>Agent <c>PUT /certificate</c>: replaces the agent's own server certificate.</summary>
    Task UploadServerCertificateAsync(Amphora amphora, string serverPem, CancellationToken cancellationToken);

    /// <summary>Agent <c>PUT /config</c>.</summary>
    Task UpdateAgentConfigAsync(Amphora amphora, string agentConfig, CancellationToken cancellationToken);

    /// <summary>Agent <c>GET /info</c> as raw JSON.</summary>
    Task<string> GetInfoAsync(Amphora amphora, CancellationToken cancellationToken);
}
