// Licensed under the Apache License, Version 2.0.

using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace Octavia.Amphora.Agent.Tls;

/// <summary>
/// Mutual TLS for the agent API. The server certificate is re-read when <c>agent_server_cert</c> changes on
/// disk, so <c>PUT /1.0/certificate</c> takes effect on the next handshake. A client must present a
/// certificate that chains to <c>agent_server_ca</c> and nothing else (the system store is not trusted).
/// </summary>
internal sealed class AgentCertificates(AgentSettings settings, ILogger<AgentCertificates> logger) : IDisposable
{
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");
    private readonly Lock _lock = new();
    private SslStreamCertificateContext? _context;
    private X509Certificate2? _leaf;
    private (DateTime Stamp, long Length) _loaded;
    private X509Certificate2Collection? _clientCa;

    /// <summary>Loads both files now, so a bad certificate stops the agent at start.</summary>
    public void Initialize()
    {
        _ = Current();
        _ = ClientCa();
    }

    /// <summary>TLS options for one incoming connection.</summary>
    public SslServerAuthenticationOptions ServerOptions() => new()
    {
        ServerCertificateContext = Current(),
        ClientCertificateRequired = true,
        EnabledSslProtocols = settings.TlsProtocols,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        RemoteCertificateValidationCallback = (_, certificate, chain, _) => ValidateClient(certificate, chain),
    };

    /// <summary>Parses a PEM holding a certificate and its key; throws <see cref="CryptographicException"/> if unusable.</summary>
    public static (X509Certificate2 Leaf, X509Certificate2Collection Extra) ParseServerPem(string pem)
    {
        var leaf = X509Certificate2.CreateFromPem(pem, pem);
        if (!leaf.HasPrivateKey)
        {
            throw new CryptographicException("the PEM holds no private key for its first certificate");
        }
        var all = new X509Certificate2Collection();
        all.ImportFromPem(pem);
        var extra = new X509Certificate2Collection();
        foreach (var c in all)
        {
            if (c.Thumbprint != leaf.Thumbprint)
            {
                extra.Add(c);
            }
        }
        return (leaf, extra);
    }

    /// <summary>The server certificate context, reloaded when the file changed.</summary>
    public SslStreamCertificateContext Current()
    {
        var info = new FileInfo(settings.ServerCertPath);
        var stamp = info.Exists ? (info.LastWriteTimeUtc, info.Length) : (DateTime.MinValue, -1);
        lock (_lock)
        {
            if (_context is not null && stamp == _loaded)
            {
                return _context;
            }
            try
            {
                var (leaf, extra) = ParseServerPem(File.ReadAllText(settings.ServerCertPath));
                // Re-export so the key is usable by SslStream on every platform (ephemeral PEM keys are not everywhere).
                var usable = X509CertificateLoader.LoadPkcs12(leaf.Export(X509ContentType.Pkcs12), null);
                leaf.Dispose();
                _context = SslStreamCertificateContext.Create(usable, extra, offline: true);
                _leaf?.Dispose();
                _leaf = usable;
                _loaded = stamp;
                Log.CertificateLoaded(logger, settings.ServerCertPath, usable.Subject, usable.NotAfter);
            }
            catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException)
            {
                if (_context is null)
                {
                    throw new InvalidOperationException($"agent_server_cert {settings.ServerCertPath}: {ex.Message}", ex);
                }
                Log.CertificateLoadFailed(logger, settings.ServerCertPath, ex.Message);
                _loaded = stamp;
            }
            return _context;
        }
    }

    private X509Certificate2Collection ClientCa()
    {
        lock (_lock)
        {
            if (_clientCa is null)
            {
                var cas = new X509Certificate2Collection();
                try
                {
                    cas.ImportFromPemFile(settings.ServerCaPath);
                }
                catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException)
                {
                    throw new InvalidOperationException($"agent_server_ca {settings.ServerCaPath}: {ex.Message}", ex);
                }
                if (cas.Count == 0)
                {
                    throw new InvalidOperationException($"agent_server_ca {settings.ServerCaPath}: no certificate found");
                }
                _clientCa = cas;
            }
            return _clientCa;
        }
    }

    internal bool ValidateClient(X509Certificate? certificate, X509Chain? presented)
    {
        if (certificate is null)
        {
            Log.ClientRefused(logger, "(none)", "no client certificate");
            return false;
        }
        using var cert = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(ClientCa());
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(ClientAuth);
        // Intermediates the client sent along may complete the path; they are not trusted by themselves.
        if (presented is not null)
        {
            foreach (var element in presented.ChainElements)
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }
        if (chain.Build(cert))
        {
            return true;
        }
        Log.ClientRefused(logger, cert.Subject, string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim())));
        return false;
    }

    public void Dispose()
    {
        _leaf?.Dispose();
    }
}
