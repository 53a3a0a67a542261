// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Octavia.Core.Drivers;
using Octavia.Core.Model;
using AmphoraEntity = Octavia.Core.Model.Amphora;

namespace Octavia.Drivers.Amphorae;

/// <summary>The agent answered with an error status (upstream <c>amphorae/drivers/haproxy/exceptions.py</c>).</summary>
public sealed class AmphoraAgentException : Exception
{
    public AmphoraAgentException(HttpStatusCode statusCode, string message) : base(message) => StatusCode = statusCode;

    public AmphoraAgentException()
    {
    }

    public AmphoraAgentException(string message) : base(message)
    {
    }

    public AmphoraAgentException(string message, Exception innerException) : base(message, innerException)
    {
    }

    /// <summary>The agent's status code.</summary>
    public HttpStatusCode StatusCode { get; }
}

/// <summary>The agent could not be reached within the retries (upstream <c>TimeOutException</c>), or it is not who it must be.</summary>
public sealed class AmphoraConnectionException : Exception
{
    public AmphoraConnectionException(string message) : base(message)
    {
    }

    public AmphoraConnectionException()
    {
    }

    public AmphoraConnectionException(string message, Exception innerException) : base(message, innerException)
    {
    }
}

/// <summary>
/// The amphora driver that speaks the agent's REST API 1.0 over mutual TLS (upstream
/// <c>amphorae/drivers/haproxy/rest_api_driver.py</c>). The controller presents <c>[haproxy_amphora] client_cert</c>,
/// trusts only <c>[haproxy_amphora] server_ca</c>, and accepts an agent only if its certificate names the
/// amphora id (CN or SAN). Requests are retried as upstream does: on connection errors, timeouts, and on a 404
/// that is not JSON (the agent is not up yet).
/// </summary>
public sealed partial class AmphoraRestDriver : IAmphoraDriver, IDisposable
{
    /// <summary>Upstream's User-Agent (API_VERSION is 0.5 in upstream's constants).</summary>
    public const string UserAgent = "Octavia HaProxy Rest Client/0.5 (https://wiki.openstack.org/wiki/Octavia)";

    private const string ApiVersion = "1.0";

    private readonly AmphoraRestDriverOptions _options;
    private readonly ICertManager _certManager;
    private readonly INetworkDriver? _networkDriver;
    private readonly TimeProvider _time;
    private readonly ILogger<AmphoraRestDriver> _logger;
    private readonly HaproxyConfigRenderer _renderer;
    private readonly X509Certificate2 _clientCert;
    private readonly X509Certificate2Collection _serverCa;
    private readonly ConcurrentDictionary<string, HttpClient> _clients = new(StringComparer.Ordinal);

    // The HAProxy version each amphora reported, keyed by amphora id and valid for the compute instance (and
    // address) it was read from: an amphora's HAProxy does not change while it lives, so a configuration push
    // need not ask again (upstream asks GET /info on every push).
    private readonly ConcurrentDictionary<string, (string? ComputeId, string? LbNetworkIp, Version Version)> _haproxyVersions = new(StringComparer.Ordinal);

    /// <summary>Creates the driver; the client certificate and CA are read now, so a bad path fails at startup.</summary>
    public AmphoraRestDriver(
        AmphoraRestDriverOptions options,
        ICertManager certManager,
        TimeProvider timeProvider,
        ILogger<AmphoraRestDriver> logger,
        INetworkDriver? networkDriver = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(certManager);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _options = options;
        _certManager = certManager;
        _networkDriver = networkDriver;
        _time = timeProvider;
        _logger = logger;
        _renderer = new HaproxyConfigRenderer(options.Render, options.HaproxyTemplatePath);
        if (!File.Exists(options.ClientCertPath))
        {
            throw new FileNotFoundException($"[haproxy_amphora] client_cert {options.ClientCertPath} does not exist.");
        }
        if (!File.Exists(options.ServerCaPath))
        {
            throw new FileNotFoundException($"[haproxy_amphora] server_ca {options.ServerCaPath} does not exist.");
        }
        try
        {
            _clientCert = X509Certificate2.CreateFromPemFile(options.ClientCertPath);
        }
        catch (CryptographicException e)
        {
            throw new InvalidOperationException(
                $"[haproxy_amphora] client_cert {options.ClientCertPath} must hold the certificate and its private key (PEM): {e.Message}", e);
        }
        _serverCa = [];
        _serverCa.ImportFromPemFile(options.ServerCaPath);
        if (_serverCa.Count == 0)
        {
            throw new InvalidOperationException($"[haproxy_amphora] server_ca {options.ServerCaPath} holds no certificate.");
        }
    }

    // One client per amphora: the expected certificate name is bound to the connection pool, so a pooled
    // connection can never be reused for another amphora that took over the same address.
    private HttpClient ClientFor(AmphoraEntity amphora) => _clients.GetOrAdd(amphora.Id, id =>
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = _options.ConnectTimeout,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificates = [_clientCert],
                LocalCertificateSelectionCallback = (_, _, _, _, _) => _clientCert,
                RemoteCertificateValidationCallback = (_, cert, _, errors) => ValidateAgentCertificate(cert, errors, id),
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            },
        };
        return new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    });

    private bool ValidateAgentCertificate(X509Certificate? certificate, SslPolicyErrors errors, string amphoraId)
    {
        if (certificate is null)
        {
            LogCertificateRefused(amphoraId, "no certificate");
            return false;
        }
        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_serverCa);
        chain.ChainPolicy.ExtraStore.AddRange(_serverCa);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (!chain.Build(leaf))
        {
            LogCertificateRefused(amphoraId, "not signed by [haproxy_amphora] server_ca: "
                + string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim())));
            return false;
        }
        // The name check replaces the host name check (errors may carry RemoteCertificateNameMismatch for the IP).
        _ = errors;
        if (!CertificateNames(leaf).Contains(amphoraId, StringComparer.OrdinalIgnoreCase))
        {
            LogCertificateRefused(amphoraId, "its name is " + leaf.GetNameInfo(X509NameType.SimpleName, false));
            return false;
        }
        return true;
    }

    private static IEnumerable<string> CertificateNames(X509Certificate2 cert)
    {
        yield return cert.GetNameInfo(X509NameType.SimpleName, false);
        foreach (var ext in cert.Extensions.OfType<X509SubjectAlternativeNameExtension>())
        {
            foreach (var dns in ext.EnumerateDnsNames())
            {
                yield return dns;
            }
        }
    }

    private Uri BaseUri(AmphoraEntity amphora, bool versioned = true)
    {
        var ip = amphora.LbNetworkIp ?? throw new AmphoraConnectionException($"Amphora {amphora.Id} has no lb_network_ip.");
        if (IPAddress.TryParse(ip, out var addr) && addr.AddressFamily == AddressFamily.InterNetworkV6)
        {
            ip = addr.IsIPv6LinkLocal ? $"[{ip}%25{_options.LbNetworkInterface}]" : $"[{ip}]";
        }
        return new Uri($"https://{ip}:{_options.AgentPort}/" + (versioned ? ApiVersion + "/" : ""));
    }

    /// <summary>Sends one request with upstream's retry rules; throws for the status codes upstream maps to exceptions.</summary>
    internal async Task<(HttpStatusCode Status, string Body, string? ContentType)> RequestAsync(
        HttpMethod method, AmphoraEntity amphora, string path, HttpContent? content, CancellationToken cancellationToken,
        int? maxRetries = null, TimeSpan? retryInterval = null, bool retry404 = true, params HttpStatusCode[] ignore)
    {
        var retries = Math.Max(1, maxRetries ?? _options.ConnectionMaxRetries);
        var interval = retryInterval ?? _options.ConnectionRetryInterval;
        var uri = new Uri(BaseUri(amphora), path);
        var payload = content is null ? null : await content.ReadAsByteArrayAsync(cancellationToken);
        var contentType = content?.Headers.ContentType;
        Exception? last = null;
        var backoff = new RetryBackoff(interval, retries);
        while (true)
        {
            using var request = new HttpRequestMessage(method, uri);
            request.Headers.UserAgent.ParseAdd(UserAgent);
            if (payload is not null)
            {
                request.Content = new ByteArrayContent(payload);
                request.Content.Headers.ContentType = contentType;
            }
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            cts.CancelAfter(_options.ConnectTimeout + _options.ReadTimeout);
            try
            {
                using var response = await ClientFor(amphora).SendAsync(request, cts.Token);
                var body = await response.Content.ReadAsStringAsync(cts.Token);
                var type = response.Content.Headers.ContentType?.MediaType;
                if (response.StatusCode == HttpStatusCode.NotFound && retry404 && !IsNotFoundFinal(type, body))
                {
                    LogAgentNotReady(amphora.Id, backoff.Attempt, retries);
                    last = new AmphoraConnectionException($"agent of amphora {amphora.Id} is not ready (404 {type ?? "without content type"})");
                    if (!backoff.TryNext(out var wait))
                    {
                        break;
                    }
                    await Task.Delay(wait, _time, cancellationToken);
                    continue;
                }
                Check(response.StatusCode, body, amphora, method, path, ignore);
                return (response.StatusCode, body, type);
            }
            catch (HttpRequestException e) when (e.InnerException is AuthenticationException)
            {
                throw new AmphoraConnectionException(
                    $"Refusing amphora {amphora.Id} at {uri.Authority}: its certificate is not a server_ca-signed certificate for this amphora id.", e);
            }
            catch (Exception e) when (e is HttpRequestException or IOException
                || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                last = e;
                if (!backoff.TryNext(out var wait))
                {
                    break;
                }
                LogRetry(amphora.Id, uri.Authority, backoff.Attempt, retries, e.Message);
                await Task.Delay(wait, _time, cancellationToken);
            }
        }
        throw new AmphoraConnectionException(
            $"Connection retries (currently set to {retries}) exhausted. The amphora {amphora.Id} is unavailable. Reason: {last?.Message}", last!);
    }

    // A 404 carrying JSON is the agent's own answer, unless it says the network is not up yet.
    private static bool IsNotFoundFinal(string? contentType, string body)
    {
        if (contentType is null || !contentType.Contains("application/json", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        try
        {
            var details = JsonNode.Parse(body)?["details"]?.GetValue<string>();
            return details is null || !details.Contains("No suitable network interface found", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return true;
        }
    }

    private void Check(HttpStatusCode status, string body, AmphoraEntity amphora, HttpMethod method, string path, HttpStatusCode[] ignore)
    {
        if (ignore.Contains(status))
        {
            return;
        }
        var kind = (int)status switch
        {
            400 or 405 => "Invalid request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            409 => "Conflict",
            500 => "Internal Server Error",
            503 => "Service Unavailable",
            _ => null,
        };
        if (kind is not null)
        {
            LogAgentError(amphora.Id, (int)status, body);
            throw new AmphoraAgentException(status, $"Amphora agent {amphora.Id} answered {(int)status} {kind} to {method} {path}: {body}");
        }
    }

    private static ByteArrayContent Raw(string text) => new(Encoding.UTF8.GetBytes(text));

    private static StringContent Json(JsonNode node) => new(node.ToJsonString(), Encoding.UTF8, new MediaTypeHeaderValue("application/json"));

    /// <inheritdoc />
    public async Task WaitForConnectivityAsync(AmphoraEntity amphora, int maxRetries, TimeSpan retryInterval, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(amphora);
        var (_, body, _) = await RequestAsync(HttpMethod.Get, amphora, "info", null, cancellationToken, maxRetries, retryInterval);
        // The answer names the HAProxy version the first configuration push needs.
        if (ParseHaproxyVersion(body) is { } version)
        {
            _haproxyVersions[amphora.Id] = (amphora.ComputeId, amphora.LbNetworkIp, version);
        }
    }

    /// <inheritdoc />
    public async Task<string> GetInfoAsync(AmphoraEntity amphora, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(amphora);
        return (await RequestAsync(HttpMethod.Get, amphora, "info", null, cancellationToken)).Body;
    }

    private async Task<Version> HaproxyVersionAsync(AmphoraEntity amphora, CancellationToken ct)
    {
        if (_haproxyVersions.TryGetValue(amphora.Id, out var known)
            && known.ComputeId == amphora.ComputeId && known.LbNetworkIp == amphora.LbNetworkIp)
        {
            return known.Version;
        }
        var body = await GetInfoAsync(amphora, ct);
        var version = ParseHaproxyVersion(body) ?? throw new AmphoraAgentException(HttpStatusCode.OK,
            $"Amphora {amphora.Id} reported no usable haproxy_version: '{HaproxyVersionText(body)}'.");
        _haproxyVersions[amphora.Id] = (amphora.ComputeId, amphora.LbNetworkIp, version);
        return version;
    }

    /// <summary>Major.minor of <c>haproxy_version</c> in a GET /info answer, or null.</summary>
    internal static Version? ParseHaproxyVersion(string infoBody)
    {
        var parts = HaproxyVersionText(infoBody).Split('.');
        return parts.Length >= 2 && int.TryParse(parts[0], out var major) && int.TryParse(parts[1], out var minor)
            ? new Version(major, minor)
            : null;
    }

    private static string HaproxyVersionText(string infoBody)
    {
        try
        {
            return JsonNode.Parse(infoBody)?["haproxy_version"]?.GetValue<string>() ?? "";
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return "";
        }
    }

    /// <inheritdoc />
    public async Task UpdateAsync(LoadBalancer loadBalancer, AmphoraEntity amphora, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(loadBalancer);
        ArgumentNullException.ThrowIfNull(amphora);
        if (amphora.Status == ProvisioningStatus.Deleted)
        {
            return;
        }
        if (loadBalancer.Listeners.Count == 0)
        {
            await DeleteAsync(loadBalancer, amphora, cancellationToken);
            return;
        }
        var version = await HaproxyVersionAsync(amphora, cancellationToken);
        var tls = await UploadCertificatesAsync(loadBalancer, amphora, cancellationToken);
        var renderer = _renderer.Options.HaproxyVersion == version
            ? _renderer
            : new HaproxyConfigRenderer(_renderer.Options with { HaproxyVersion = version }, _options.HaproxyTemplatePath);
        var config = renderer.Render(loadBalancer, amphora, tls);
        await RequestAsync(HttpMethod.Put, amphora, $"loadbalancer/{amphora.Id}/{loadBalancer.Id}/haproxy", Raw(config), cancellationToken);
        await RequestAsync(HttpMethod.Put, amphora, $"loadbalancer/{loadBalancer.Id}/reload", null, cancellationToken);
        LogUpdated(loadBalancer.Id, amphora.Id, loadBalancer.Listeners.Count);
    }

    /// <summary>Uploads every PEM the configuration refers to (skipping files whose md5sum already matches) and returns their names.</summary>
    internal async Task<HaproxyTlsFiles> UploadCertificatesAsync(LoadBalancer lb, AmphoraEntity amphora, CancellationToken ct)
    {
        var secretNames = new Dictionary<string, string>(StringComparer.Ordinal);
        var pools = new Dictionary<string, PoolTlsFiles>(StringComparer.Ordinal);
        var dir = Path.Combine(_options.Render.BaseCertDir, lb.Id);
        foreach (var listener in lb.Listeners)
        {
            if (listener.TlsCertificateId is { } defaultRef)
            {
                var refs = new List<string> { defaultRef };
                refs.AddRange(listener.SniContainers.OrderBy(s => s.Position ?? int.MaxValue).Select(s => s.TlsContainerId));
                var paths = new List<string>();
                foreach (var reference in refs)
                {
                    var container = await _certManager.GetAsync(listener.ProjectId ?? lb.ProjectId, reference, ct);
                    var name = await UploadContainerAsync(amphora, lb.Id, container, ct);
                    paths.Add(Path.Combine(dir, name));
                }
                await UploadPemAsync(amphora, lb.Id, listener.Id + ".pem", string.Join('\n', paths) + "\n", ct);
            }
            foreach (var reference in new[] { listener.ClientCaTlsCertificateId, listener.ClientCrlContainerId })
            {
                if (reference is not null && !secretNames.ContainsKey(reference))
                {
                    secretNames[reference] = await UploadSecretAsync(amphora, lb.Id, listener.ProjectId ?? lb.ProjectId, reference, ct);
                }
            }
            var listenerPools = new[] { listener.DefaultPool }.Concat(listener.L7Policies.Select(p => p.RedirectPool));
            foreach (var pool in listenerPools.OfType<Pool>())
            {
                if (pools.ContainsKey(pool.Id))
                {
                    continue;
                }
                string? clientCert = null, ca = null, crl = null;
                if (pool.TlsCertificateId is { } certRef)
                {
                    var container = await _certManager.GetAsync(pool.ProjectId ?? lb.ProjectId, certRef, ct);
                    clientCert = Path.Combine(dir, await UploadContainerAsync(amphora, lb.Id, container, ct));
                }
                if (pool.CaTlsCertificateId is { } caRef)
                {
                    ca = Path.Combine(dir, await UploadSecretAsync(amphora, lb.Id, pool.ProjectId ?? lb.ProjectId, caRef, ct));
                }
                if (pool.CrlContainerId is { } crlRef)
                {
                    crl = Path.Combine(dir, await UploadSecretAsync(amphora, lb.Id, pool.ProjectId ?? lb.ProjectId, crlRef, ct));
                }
                pools[pool.Id] = new PoolTlsFiles(clientCert, ca, crl);
            }
        }
        return new HaproxyTlsFiles { SecretFileNames = secretNames, Pools = pools };
    }

    // Upstream's build_pem (certificate, key, intermediates) named by the SHA-1 of the certificate.
    private async Task<string> UploadContainerAsync(AmphoraEntity amphora, string lbId, TlsContainer container, CancellationToken ct)
    {
        var parts = new List<string> { container.CertificatePem.TrimEnd('\n') };
        if (container.PrivateKeyPem is { } key)
        {
            parts.Add(key.TrimEnd('\n'));
        }
        parts.AddRange(container.IntermediatesPem.Select(i => i.TrimEnd('\n')));
        var pem = string.Join('\n', parts) + "\n";
        var name = Sha1Hex(container.CertificatePem) + ".pem";
        await UploadPemAsync(amphora, lbId, name, pem, ct);
        return name;
    }

    private async Task<string> UploadSecretAsync(AmphoraEntity amphora, string lbId, string? projectId, string reference, CancellationToken ct)
    {
        var secret = await _certManager.GetSecretAsync(projectId, reference, ct);
        var name = Sha1Hex(secret) + ".pem";
        await UploadPemAsync(amphora, lbId, name, secret, ct);
        return name;
    }

#pragma warning disable CA5350, CA5351 // File names and change detection, as upstream; not security.
    private static string Sha1Hex(string text) => Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(text)));

    private static string Md5Hex(string text) => Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(text)));
#pragma warning restore CA5350, CA5351

    private async Task UploadPemAsync(AmphoraEntity amphora, string lbId, string name, string pem, CancellationToken ct)
    {
        var path = $"loadbalancer/{lbId}/certificates/{name}";
        var (status, body, _) = await RequestAsync(HttpMethod.Get, amphora, path, null, ct, retry404: false, ignore: HttpStatusCode.NotFound);
        if (status == HttpStatusCode.OK)
        {
            try
            {
                if (JsonNode.Parse(body)?["md5sum"]?.GetValue<string>() == Md5Hex(pem))
                {
                    return;
                }
            }
            catch (JsonException)
            {
            }
        }
        await RequestAsync(HttpMethod.Put, amphora, path, Raw(pem), ct);
    }

    /// <inheritdoc />
    public async Task DeleteAsync(LoadBalancer loadBalancer, AmphoraEntity amphora, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(loadBalancer);
        ArgumentNullException.ThrowIfNull(amphora);
        if (amphora.Status == ProvisioningStatus.Deleted)
        {
            return;
        }
        await RequestAsync(HttpMethod.Delete, amphora, $"listeners/{loadBalancer.Id}", null, cancellationToken, ignore: HttpStatusCode.NotFound);
    }

    private async Task<int> MtuAsync(string networkId, CancellationToken ct) =>
        _networkDriver is null ? 1500 : (await _networkDriver.GetNetworkAsync(networkId, ct))?.Mtu ?? 1500;

    private static JsonArray HostRoutes(IReadOnlyList<HostRoute>? routes) =>
        [.. (routes ?? []).Select(r => (JsonNode)new JsonObject { ["nexthop"] = r.NextHop, ["destination"] = r.Destination })];

    private async Task<JsonObject> NetInfoAsync(PortInfo port, AmphoraEntity amphora, SubnetInfo subnet, CancellationToken ct) => new()
    {
        ["subnet_cidr"] = subnet.Cidr,
        ["gateway"] = subnet.GatewayIp,
        ["mac_address"] = port.MacAddress,
        ["vrrp_ip"] = amphora.VrrpIp,
        ["mtu"] = await MtuAsync(port.NetworkId, ct),
        ["host_routes"] = HostRoutes(subnet.HostRoutes),
        ["additional_vips"] = new JsonArray(),
    };

    /// <inheritdoc />
    public async Task PostVipPlugAsync(LoadBalancer loadBalancer, AmphoraEntity amphora, AmphoraNetworkConfig config, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(loadBalancer);
        ArgumentNullException.ThrowIfNull(amphora);
        ArgumentNullException.ThrowIfNull(config);
        if (amphora.Status == ProvisioningStatus.Deleted)
        {
            return;
        }
        var vip = loadBalancer.Vip?.IpAddress ?? throw new InvalidOperationException($"Load balancer {loadBalancer.Id} has no VIP address.");
        var netInfo = await NetInfoAsync(config.VrrpPort, amphora, config.VipSubnet, cancellationToken);
        var (status, _, _) = await RequestAsync(HttpMethod.Post, amphora, $"plug/vip/{vip}", Json(netInfo), cancellationToken, ignore: HttpStatusCode.Conflict);
        if (status == HttpStatusCode.Conflict)
        {
            LogAlreadyPlugged(amphora.Id, config.VrrpPort.MacAddress);
        }
    }

    /// <inheritdoc />
    public async Task PostNetworkPlugAsync(AmphoraEntity amphora, PortInfo port, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(amphora);
        ArgumentNullException.ThrowIfNull(port);
        var fixedIps = new JsonArray();
        foreach (var ip in port.FixedIps)
        {
            var subnet = _networkDriver is null ? null : await _networkDriver.GetSubnetAsync(ip.SubnetId, cancellationToken);
            fixedIps.Add(new JsonObject
            {
                ["ip_address"] = ip.IpAddress,
                ["subnet_cidr"] = subnet?.Cidr,
                ["host_routes"] = HostRoutes(subnet?.HostRoutes),
                ["gateway"] = subnet?.GatewayIp,
            });
        }
        var body = new JsonObject
        {
            ["mac_address"] = port.MacAddress,
            ["fixed_ips"] = fixedIps,
            ["mtu"] = await MtuAsync(port.NetworkId, cancellationToken),
        };
        var (status, _, _) = await RequestAsync(HttpMethod.Post, amphora, "plug/network", Json(body), cancellationToken, ignore: HttpStatusCode.Conflict);
        if (status == HttpStatusCode.Conflict)
        {
            LogAlreadyPlugged(amphora.Id, port.MacAddress);
        }
    }

    /// <inheritdoc />
    public async Task<string> GetInterfaceAsync(AmphoraEntity amphora, string ipAddress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(amphora);
        var (_, body, _) = await RequestAsync(HttpMethod.Get, amphora, $"interface/{ipAddress}", null, cancellationToken);
        return JsonNode.Parse(body)?["interface"]?.GetValue<string>()
            ?? throw new AmphoraAgentException(HttpStatusCode.OK, $"Amphora {amphora.Id} did not name the interface holding {ipAddress}.");
    }

    /// <inheritdoc />
    public async Task UpdateVrrpConfigAsync(LoadBalancer loadBalancer, AmphoraEntity amphora, IReadOnlyList<AmphoraEntity> peers, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(loadBalancer);
        ArgumentNullException.ThrowIfNull(amphora);
        ArgumentNullException.ThrowIfNull(peers);
        if (amphora.Status != ProvisioningStatus.Allocated)
        {
            return;
        }
        KeepalivedVipSubnet? subnet = null;
        if (_networkDriver is not null && loadBalancer.Vip?.SubnetId is { } subnetId
            && await _networkDriver.GetSubnetAsync(subnetId, cancellationToken) is { } s)
        {
            subnet = new KeepalivedVipSubnet(s.Cidr, s.GatewayIp, s.HostRoutes);
        }
        var config = KeepalivedConfigRenderer.Render(loadBalancer, amphora, _options.Keepalived, subnet, [amphora, .. peers]);
        await RequestAsync(HttpMethod.Put, amphora, "vrrp/upload", Raw(config), cancellationToken);
    }

    /// <inheritdoc />
    public async Task VrrpActionAsync(AmphoraEntity amphora, string action, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(amphora);
        if (action is not ("start" or "stop" or "reload"))
        {
            throw new ArgumentException($"Unknown VRRP action '{action}': use start, stop or reload.", nameof(action));
        }
        await RequestAsync(HttpMethod.Put, amphora, $"vrrp/{action}", null, cancellationToken);
    }

    /// <inheritdoc />
    public async Task UploadServerCertificateAsync(AmphoraEntity amphora, string serverPem, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(amphora);
        await RequestAsync(HttpMethod.Put, amphora, "certificate", Raw(serverPem), cancellationToken);
    }

    /// <inheritdoc />
    public async Task UpdateAgentConfigAsync(AmphoraEntity amphora, string agentConfig, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(amphora);
        await RequestAsync(HttpMethod.Put, amphora, "config", Raw(agentConfig), cancellationToken);
    }

    public void Dispose()
    {
        foreach (var c in _clients.Values)
        {
            c.Dispose();
        }
        _clients.Clear();
        _clientCert.Dispose();
        foreach (var c in _serverCa)
        {
            c.Dispose();
        }
    }

    [LoggerMessage(EventId = 4100, Level = LogLevel.Warning, Message = "Could not connect to amphora {AmphoraId} at {Authority} (attempt {Attempt} of {MaxRetries}): {Reason}. Retrying.")]
    private partial void LogRetry(string amphoraId, string authority, int attempt, int maxRetries, string reason);

    [LoggerMessage(EventId = 4101, Level = LogLevel.Debug, Message = "Amphora {AmphoraId} agent not ready (404 without JSON), attempt {Attempt} of {MaxRetries}.")]
    private partial void LogAgentNotReady(string amphoraId, int attempt, int maxRetries);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Error, Message = "Amphora {AmphoraId} refused: {Reason}.")]
    private partial void LogCertificateRefused(string amphoraId, string reason);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Error, Message = "Amphora agent {AmphoraId} returned unexpected result code {StatusCode} with response {Body}.")]
    private partial void LogAgentError(string amphoraId, int statusCode, string body);

    [LoggerMessage(EventId = 4104, Level = LogLevel.Information, Message = "Updated HAProxy of load balancer {LoadBalancerId} on amphora {AmphoraId} ({ListenerCount} listeners).")]
    private partial void LogUpdated(string loadBalancerId, string amphoraId, int listenerCount);

    [LoggerMessage(EventId = 4105, Level = LogLevel.Warning, Message = "Port with MAC {MacAddress} is already plugged on amphora {AmphoraId}; skipping.")]
    private partial void LogAlreadyPlugged(string amphoraId, string macAddress);
}

/// <summary>
/// Waits between agent requests: they start at 50 ms and double up to the configured interval, so an
/// agent a few hundred milliseconds from listening costs that long, not a whole interval. The total
/// wait stays upstream's: (retries - 1) × interval.
/// </summary>
internal sealed class RetryBackoff(TimeSpan interval, int retries)
{
    private static readonly TimeSpan s_first = TimeSpan.FromMilliseconds(50);
    private readonly TimeSpan _budget = interval * Math.Max(0, retries - 1);
    private TimeSpan _waited;
    private TimeSpan _next = interval < s_first ? interval : s_first;
    private int _immediate = Math.Max(0, retries - 1);

    /// <summary>Upstream's attempt number this wait corresponds to (1 + whole intervals waited so far).</summary>
    public int Attempt => interval > TimeSpan.Zero ? 1 + (int)(_waited / interval) : 1;

    /// <summary>The next wait, or false when the budget is spent.</summary>
    public bool TryNext(out TimeSpan wait)
    {
        if (interval <= TimeSpan.Zero)
        {
            // No interval: upstream's retries, back to back.
            wait = TimeSpan.Zero;
            return _immediate-- > 0;
        }
        wait = _next;
        if (_waited + wait > _budget)
        {
            return false;
        }
        _waited += wait;
        _next = _next * 2 > interval ? interval : _next * 2;
        return true;
    }
}

