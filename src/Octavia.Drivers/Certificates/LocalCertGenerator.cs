// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Octavia.Core.Configuration;
using Octavia.Core.Drivers;

namespace Octavia.Drivers.Certificates;

/// <summary>
/// Upstream's <c>local_cert_generator</c>: a new RSA 2048 key and a certificate with CN = the amphora id, signed
/// by the server CA of <c>[certificates] ca_certificate</c> / <c>ca_private_key</c> / <c>ca_private_key_passphrase</c>
/// with <c>signing_digest</c>. The CA is read once, when this is built, so a bad path or passphrase fails at start.
/// Keys are generated ahead, on a background thread, into a small pool: an RSA 2048 key costs 0.1–1 s of CPU,
/// which would otherwise sit on the path of every amphora boot. Each key is used once.
/// </summary>
public sealed class LocalCertGenerator : ICertGenerator, IDisposable
{
    /// <summary>The name <c>[certificates] cert_generator</c> selects this by.</summary>
    public const string DriverName = "local_cert_generator";

    private const int KeyBits = 2048;
    private const int KeyPoolSize = 8;
    private readonly ConcurrentQueue<RSA> _keys = new();
    private int _filling;
    private volatile bool _disposed;
    private readonly X509Certificate2 _ca;
    private readonly AsymmetricAlgorithm _caKey;
    private readonly HashAlgorithmName _digest;
    private readonly TimeProvider _time;

    /// <summary>Loads the CA.</summary>
    /// <exception cref="ConfigException">The CA certificate or key cannot be read, or they do not match.</exception>
    public LocalCertGenerator(CertificatesOptions options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _time = timeProvider;
        DefaultValidity = TimeSpan.FromSeconds(options.CertValidityTime > 0 ? options.CertValidityTime : 2592000);
        try
        {
            _digest = CertificateFactory.Digest(options.SigningDigest);
        }
        catch (ArgumentException ex)
        {
            throw new ConfigException($"[certificates] signing_digest: {ex.Message}");
        }
        var caPath = options.CaCertificate ?? "";
        var chain = ReadPem("ca_certificate", caPath, PemKeys.LoadCertificates);
        if (chain.Count == 0)
        {
            throw new ConfigException($"[certificates] ca_certificate: {caPath} holds no PEM certificate");
        }
        _ca = chain[0];
        ChainPem = string.Concat(chain.Select(c => c.ExportCertificatePem() + "\n"));
        var keyPath = options.CaPrivateKey ?? "";
        _caKey = ReadPem("ca_private_key", keyPath, pem => PemKeys.LoadPrivateKey(pem, options.CaPrivateKeyPassphrase));
        if (!PemKeys.Matches(_ca, _caKey))
        {
            throw new ConfigException($"[certificates] ca_private_key: {keyPath} is not the key of {caPath}");
        }
        FillKeyPool();
    }

    /// <summary><c>cert_validity_time</c>.</summary>
    public TimeSpan DefaultValidity { get; }

    /// <summary>The CA certificate(s), PEM, as handed out with each signed certificate.</summary>
    public string ChainPem { get; }

    /// <inheritdoc />
    public SignedCertificate Generate(string commonName, TimeSpan validity)
    {
        using var key = _keys.TryDequeue(out var pooled) ? pooled : RSA.Create(KeyBits);
        FillKeyPool();
        var now = _time.GetUtcNow();
        // Truncate to whole seconds: X.509 times have no fractions, and NotAfterUtc should match the certificate.
        now = now.AddTicks(-(now.Ticks % TimeSpan.TicksPerSecond));
        var notAfter = now + validity;
        using var cert = CertificateFactory.Sign(commonName, key, _ca, _caKey, _digest, now, notAfter, CertificateUsage.Amphora);
        return new SignedCertificate(
            cert.ExportCertificatePem() + "\n",
            key.ExportRSAPrivateKeyPem() + "\n",
            ChainPem,
            notAfter.UtcDateTime);
    }

    /// <summary>Signs with the configured <c>cert_validity_time</c>.</summary>
    public SignedCertificate Generate(string commonName) => Generate(commonName, DefaultValidity);

    /// <inheritdoc />
    public void Dispose()
    {
        _disposed = true;
        while (_keys.TryDequeue(out var key))
        {
            key.Dispose();
        }
        _ca.Dispose();
        _caKey.Dispose();
    }

    // One background filler at a time; a Generate that finds the pool empty makes its own key.
    private void FillKeyPool()
    {
        if (Interlocked.CompareExchange(ref _filling, 1, 0) != 0)
        {
            return;
        }
        _ = Task.Run(() =>
        {
            try
            {
                while (!_disposed && _keys.Count < KeyPoolSize)
                {
                    var key = RSA.Create(KeyBits);
                    // The key itself is generated lazily, on first use: make it now, off the boot path.
                    _ = key.ExportSubjectPublicKeyInfo();
                    _keys.Enqueue(key);
                }
            }
            finally
            {
                Volatile.Write(ref _filling, 0);
            }
            // Keys made after Dispose drained the pool are not leaked.
            if (_disposed)
            {
                while (_keys.TryDequeue(out var key))
                {
                    key.Dispose();
                }
            }
        });
    }

    private static T ReadPem<T>(string option, string path, Func<string, T> parse)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new ConfigException($"[certificates] {option}: cannot read '{path}': {ex.Message}");
        }
        try
        {
            return parse(text);
        }
        catch (CryptographicException ex)
        {
            throw new ConfigException($"[certificates] {option}: {path}: {ex.Message}");
        }
    }
}
