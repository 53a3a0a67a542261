// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.Logging;
using Octavia.Core.Drivers;
using Octavia.Core.Model;

namespace Octavia.Drivers.Amphorae.Noop;

/// <summary>Upstream's <c>amphora_noop_driver</c>: logs every call and succeeds.</summary>
public sealed partial class NoopAmphoraDriver : IAmphoraDriver
{
    private readonly ILogger _logger;
    private readonly TimeSpan _delay;
    private readonly TimeProvider _time;

    /// <param name="logger">Where calls are logged.</param>
    /// <param name="delay">Time each call takes (<c>[controller_worker] noop_driver_delay</c>).</param>
    /// <param name="time">The clock the delay runs on.</param>
    public NoopAmphoraDriver(ILogger<NoopAmphoraDriver> logger, TimeSpan delay, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(time);
        _logger = logger;
        _delay = delay;
        _time = time;
    }

    public Task WaitForConnectivityAsync(Core.Model.Amphora amphora, int maxRetries, TimeSpan retryInterval, CancellationToken cancellationToken) =>
        CallAsync("wait_for_connectivity", amphora, cancellationToken);

    public Task UpdateAsync(LoadBalancer loadBalancer, Core.Model.Amphora amphora, CancellationToken cancellationToken) =>
        CallAsync("update", amphora, cancellationToken);

    public Task DeleteAsync(LoadBalancer loadBalancer, Core.Model.Amphora amphora, CancellationToken cancellationToken) =>
        CallAsync("delete", amphora, cancellationToken);

    public Task PostVipPlugAsync(LoadBalancer loadBalancer, Core.Model.Amphora amphora, AmphoraNetworkConfig config, CancellationToken cancellationToken) =>
        CallAsync("post_vip_plug", amphora, cancellationToken);

    public Task PostNetworkPlugAsync(Core.Model.Amphora amphora, PortInfo port, CancellationToken cancellationToken) =>
        CallAsync("post_network_plug", amphora, cancellationToken);

    public async Task<string> GetInterfaceAsync(Core.Model.Amphora amphora, string ipAddress, CancellationToken cancellationToken)
    {
        await CallAsync("get_interface", amphora, cancellationToken).ConfigureAwait(false);
        return "eth1";
    }

    public Task UpdateVrrpConfigAsync(LoadBalancer loadBalancer, Core.Model.Amphora amphora, IReadOnlyList<Core.Model.Amphora> peers, CancellationToken cancellationToken) =>
        CallAsync("update_vrrp_conf", amphora, cancellationToken);

    public Task VrrpActionAsync(Core.Model.Amphora amphora, string action, CancellationToken cancellationToken) =>
        CallAsync("vrrp_" + action, amphora, cancellationToken);

    public Task UploadServerCertificateAsync(Core.Model.Amphora amphora, string serverPem, CancellationToken cancellationToken) =>
        CallAsync("upload_cert_amp", amphora, cancellationToken);

    public Task UpdateAgentConfigAsync(Core.Model.Amphora amphora, string agentConfig, CancellationToken cancellationToken) =>
        CallAsync("update_amphora_agent_config", amphora, cancellationToken);

    public async Task<string> GetInfoAsync(Core.Model.Amphora amphora, CancellationToken cancellationToken)
    {
        await CallAsync("get_info", amphora, cancellationToken).ConfigureAwait(false);
        return """{"hostname":"noop","haproxy_version":"noop","api_version":"1.0"}""";
    }

    private async Task CallAsync(string operation, Core.Model.Amphora amphora, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(amphora);
        if (_delay > TimeSpan.Zero)
        {
            await Task.Delay(_delay, _time, cancellationToken).ConfigureAwait(false);
        }
        Log.Call(_logger, operation, amphora.Id);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4101, Level = LogLevel.Debug, Message = "Amphora noop driver: {Operation} on amphora {AmphoraId}")]
        public static partial void Call(ILogger logger, string operation, string amphoraId);
    }
}
