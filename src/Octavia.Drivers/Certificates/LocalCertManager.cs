// Licensed under the Apache License, Version 2.0.

using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using Octavia.Core.Configuration;
using Octavia.Core.Drivers;

namespace Octavia.Drivers.Certificates;

/// <summary>
/// Upstream's <c>local_cert_manager</c>: TLS bundles and secrets as files under <c>[certificates] storage_path</c>,
/// named by reference: <c>REF.crt</c>, <c>REF.key</c>, optional <c>REF.int</c> (intermediates) and <c>REF.pass</c>
/// (key passphrase), as upstream lays them out; a <c>REF.p12</c> PKCS#12 bundle is read too. A reference may be
/// the bare id or a URL ending in it (<c>.../containers/REF</c>), as Barbican refs look.
/// </summary>
public sealed partial class LocalCertManager : ICertManager
{
    /// <summary>The name <c>[certificates] cert_manager</c> selects this by.</summary>
    public const string DriverName = "local_cert_manager";

    private const UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode PrivateDir = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Uses <c>[certificates] storage_path</c>.</summary>
    public LocalCertManager(CertificatesOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        StoragePath = string.IsNullOrWhiteSpace(options.StoragePath) ? "/var/lib/octavia/certificates/" : options.StoragePath;
    }

    /// <summary>Where the files are.</summary>
    public string StoragePath { get; }

    /// <inheritdoc />
    public async Task<TlsContainer> GetAsync(string? projectId, string reference, CancellationToken cancellationToken)
    {
        var id = IdOf(reference);
        var p12 = PathOf(id, ".p12");
        if (File.Exists(p12))
        {
            var bytes = await File.ReadAllBytesAsync(p12, cancellationToken).ConfigureAwait(false);
            var password = await ReadOptionalAsync(PathOf(id, ".pass"), cancellationToken).ConfigureAwait(false);
            return FromPkcs12(id, bytes, password?.TrimEnd('\n', '\r'));
        }
        var certPem = await ReadRequiredAsync(reference, PathOf(id, ".crt"), "certificate", cancellationToken).ConfigureAwait(false);
        var keyPem = await ReadRequiredAsync(reference, PathOf(id, ".key"), "private key", cancellationToken).ConfigureAwait(false);
        var intermediates = await ReadOptionalAsync(PathOf(id, ".int"), cancellationToken).ConfigureAwait(false);
        var passphrase = await ReadOptionalAsync(PathOf(id, ".pass"), cancellationToken).ConfigureAwait(false);
        return FromPem(id, certPem, keyPem, intermediates, passphrase?.TrimEnd('\n', '\r'));
    }

    /// <inheritdoc />
    public Task<string> GetSecretAsync(string? projectId, string reference, CancellationToken cancellationToken)
    {
        var id = IdOf(reference);
        return ReadRequiredAsync(reference, PathOf(id, ".crt"), "secret", cancellationToken);
    }

    /// <summary>Stores a PEM bundle (checked first) and returns its new reference.</summary>
    /// <exception cref="CertificateRetrievalException">The bundle is unreadable or the key does not match.</exception>
    public string Store(string certificatePem, string privateKeyPem, string? intermediatesPem, string? passphrase = null, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(certificatePem);
        ArgumentNullException.ThrowIfNull(privateKeyPem);
        var container = FromPem("new", certificatePem, privateKeyPem, intermediatesPem, passphrase);
        return Write(container, name);
    }

    /// <summary>Stores a PKCS#12 bundle (as PEM files) and returns its new reference.</summary>
    public string StorePkcs12(byte[] pkcs12, string? password, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(pkcs12);
        return Write(FromPkcs12("new", pkcs12, password), name);
    }

    /// <summary>Stores a CA certificate or CRL (PEM) for <c>*_ca_tls_container_ref</c> / <c>*_crl_container_ref</c>.</summary>
    public string StoreSecret(string pem, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(pem);
        try
        {
            if (PemKeys.LoadCertificates(pem).Count == 0 && !PemKeys.HasCrl(pem))
            {
                throw new CertificateRetrievalException("the file holds no PEM certificate or CRL");
            }
        }
        catch (CryptographicException ex)
        {
            throw new CertificateRetrievalException($"the file is not a readable PEM certificate or CRL: {ex.Message}", ex);
        }
        var id = Guid.NewGuid().ToString();
        WriteFile(PathOf(id, ".crt"), pem);
        WriteName(id, name);
        return id;
    }

    /// <summary>Removes every file of <paramref name="reference"/>.</summary>
    public void Delete(string reference)
    {
        var id = IdOf(reference);
        foreach (var ext in new[] { ".crt", ".key", ".int", ".pass", ".p12", ".name" })
        {
            File.Delete(PathOf(id, ext));
        }
    }

    private string Write(TlsContainer container, string? name)
    {
        var id = Guid.NewGuid().ToString();
        WriteFile(PathOf(id, ".crt"), container.CertificatePem);
        WriteFile(PathOf(id, ".key"), container.PrivateKeyPem!);
        if (container.IntermediatesPem.Count > 0)
        {
            WriteFile(PathOf(id, ".int"), string.Concat(container.IntermediatesPem));
        }
        WriteName(id, name);
        return id;
    }

    private void WriteName(string id, string? name)
    {
        if (!string.IsNullOrWhiteSpace(name))
        {
            WriteFile(PathOf(id, ".name"), name.Trim() + "\n");
        }
    }

    private void WriteFile(string path, string content)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            if (!Directory.Exists(StoragePath))
            {
                Directory.CreateDirectory(StoragePath, PrivateDir);
            }
            options.UnixCreateMode = PrivateFile;
        }
        else
        {
            Directory.CreateDirectory(StoragePath);
        }
        using var stream = new FileStream(path, options);
        using var writer = new StreamWriter(stream);
        writer.Write(content);
    }

    private static TlsContainer FromPem(string id, string certPem, string keyPem, string? intermediatesPem, string? passphrase)
    {
        try
        {
            var certs = PemKeys.LoadCertificates(certPem);
            if (certs.Count == 0)
            {
                throw new CertificateRetrievalException($"certificate {id}: no PEM certificate found");
            }
            var leaf = certs[0];
            using var key = PemKeys.LoadPrivateKey(keyPem, passphrase);
            if (!PemKeys.Matches(leaf, key))
            {
                throw new CertificateRetrievalException($"certificate {id}: the private key does not match the certificate");
            }
            // Extra certificates after the leaf in the certificate file count as intermediates too.
            var intermediates = certs.Skip(1).Select(c => c.ExportCertificatePem() + "\n").ToList();
            if (!string.IsNullOrWhiteSpace(intermediatesPem))
            {
                intermediates.AddRange(PemKeys.CertificatePems(intermediatesPem));
            }
            return new TlsContainer(id, leaf.ExportCertificatePem() + "\n", PemKeys.ExportPkcs8Pem(key), intermediates, PrimaryCn(leaf));
        }
        catch (CryptographicException ex)
        {
            throw new CertificateRetrievalException($"certificate {id}: {ex.Message}", ex);
        }
    }

    private static TlsContainer FromPkcs12(string id, byte[] bytes, string? password)
    {
        X509Certificate2Collection collection;
        try
        {
            collection = X509CertificateLoader.LoadPkcs12Collection(bytes, password, X509KeyStorageFlags.Exportable);
        }
        catch (CryptographicException ex)
        {
            throw new CertificateRetrievalException($"certificate {id}: unreadable PKCS12 ({ex.Message})", ex);
        }
        var leaf = collection.FirstOrDefault(c => c.HasPrivateKey)
            ?? throw new CertificateRetrievalException($"certificate {id}: the PKCS12 bundle has no private key");
        using AsymmetricAlgorithm key = (AsymmetricAlgorithm?)leaf.GetRSAPrivateKey() ?? leaf.GetECDsaPrivateKey()
            ?? throw new CertificateRetrievalException($"certificate {id}: unsupported key type in the PKCS12 bundle");
        var intermediates = collection.Where(c => !ReferenceEquals(c, leaf)).Select(c => c.ExportCertificatePem() + "\n").ToList();
        return new TlsContainer(id, leaf.ExportCertificatePem() + "\n", PemKeys.ExportPkcs8Pem(key), intermediates, PrimaryCn(leaf));
    }

    private static string? PrimaryCn(X509Certificate2 cert)
    {
        var cn = cert.GetNameInfo(X509NameType.SimpleName, false);
        return string.IsNullOrEmpty(cn) ? null : cn;
    }

    private static string IdOf(string reference)
    {
        if (string.IsNullOrWhiteSpace(reference))
        {
            throw new CertificateRetrievalException("empty certificate reference");
        }
        var id = reference.TrimEnd('/');
        id = id[(id.LastIndexOf('/') + 1)..];
        if (!RefRegex().IsMatch(id))
        {
            throw new CertificateRetrievalException($"invalid certificate reference '{reference}'");
        }
        return id;
    }

    private string PathOf(string id, string extension) => Path.Combine(StoragePath, id + extension);

    private static async Task<string> ReadRequiredAsync(string reference, string path, string what, CancellationToken cancellationToken)
    {
        try
        {
            return await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CertificateRetrievalException($"Could not retrieve certificate: {reference} ({what} could not be read)", ex);
        }
    }

    private static async Task<string?> ReadOptionalAsync(string path, CancellationToken cancellationToken) =>
        File.Exists(path) ? await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false) : null;

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex RefRegex();
}
