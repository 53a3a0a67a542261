// Licensed under the Apache License, Version 2.0.

using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Octavia.Drivers.Certificates;

/// <summary>The files <see cref="CertificateLayout.Initialize"/> wrote, and the passphrases to configure.</summary>
public sealed record CertificateSet(string Directory, string ServerCaCert, string ServerCaKey, string ClientCaCert, string ClientCaKey,
    string ClientCertAndKey, string CaKeyPassphrase, string ServerCertsKeyPassphrase);

/// <summary>
/// Creates the controller's certificates as upstream's certificate guide lays them out: a server CA (signs the
/// amphora agent certificates), a client CA, and the controller's client certificate signed by it.
/// </summary>
public static class CertificateLayout
{
    /// <summary>The server CA certificate (<c>[certificates] ca_certificate</c>, <c>[haproxy_amphora] server_ca</c>).</summary>
    public const string ServerCaCertFile = "server_ca.cert.pem";

    /// <summary>The server CA key, encrypted (<c>[certificates] ca_private_key</c>).</summary>
    public const string ServerCaKeyFile = "server_ca.key.pem";

    /// <summary>The client CA certificate (<c>[controller_worker] client_ca</c>), injected into amphorae.</summary>
    public const string ClientCaCertFile = "client_ca.cert.pem";

    /// <summary>The client CA key, encrypted; needed only to issue more controller certificates.</summary>
    public const string ClientCaKeyFile = "client_ca.key.pem";

    /// <summary>The controller's key and certificate in one file (<c>[haproxy_amphora] client_cert</c>).</summary>
    public const string ClientCertAndKeyFile = "client.cert-and-key.pem";

    /// <summary>The guide's CA lifetime (7300 days).</summary>
    public static readonly TimeSpan CaValidity = TimeSpan.FromDays(7300);

    private static readonly string[] s_files = [ServerCaCertFile, ServerCaKeyFile, ClientCaCertFile, ClientCaKeyFile, ClientCertAndKeyFile];

    /// <summary>
    /// Writes the five files into <paramref name="directory"/> (mode 0700, files 0600).
    /// Refuses to replace existing files unless <paramref name="force"/>.
    /// </summary>
    /// <exception cref="IOException">A file exists and <paramref name="force"/> is false.</exception>
    public static CertificateSet Initialize(string directory, string? passphrase, int caKeyBits, bool force, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(timeProvider);
        if (caKeyBits is < 2048 or > 8192)
        {
            throw new ArgumentOutOfRangeException(nameof(caKeyBits), caKeyBits, "CA keys must have 2048 to 8192 bits");
        }
        var dir = Path.GetFullPath(directory);
        var existing = s_files.Select(f => Path.Combine(dir, f)).Where(File.Exists).ToList();
        if (existing.Count > 0 && !force)
        {
            throw new IOException($"refusing to overwrite {string.Join(", ", existing)} (use --force to replace them)");
        }
        passphrase = string.IsNullOrEmpty(passphrase) ? NewSecret() : passphrase;
        var now = timeProvider.GetUtcNow();
        now = now.AddTicks(-(now.Ticks % TimeSpan.TicksPerSecond));

        using var serverCaKey = RSA.Create(caKeyBits);
        using var serverCa = CertificateFactory.CreateCa("Octavia server CA", serverCaKey, now, CaValidity);
        using var clientCaKey = RSA.Create(caKeyBits);
        using var clientCa = CertificateFactory.CreateCa("Octavia client CA", clientCaKey, now, CaValidity);
        using var clientKey = RSA.Create(2048);
        using var clientCert = CertificateFactory.Sign("octavia-controller", clientKey, clientCa, clientCaKey, HashAlgorithmName.SHA256,
            now, now + CaValidity, CertificateUsage.Client);

        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(dir);
        }
        else
        {
            Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        var pbe = new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 100_000);
        var set = new CertificateSet(dir,
            Path.Combine(dir, ServerCaCertFile), Path.Combine(dir, ServerCaKeyFile),
            Path.Combine(dir, ClientCaCertFile), Path.Combine(dir, ClientCaKeyFile),
            Path.Combine(dir, ClientCertAndKeyFile), passphrase, NewSecret());
        WritePrivate(set.ServerCaCert, Pem(serverCa));
        WritePrivate(set.ServerCaKey, serverCaKey.ExportEncryptedPkcs8PrivateKeyPem(passphrase, pbe) + "\n");
        WritePrivate(set.ClientCaCert, Pem(clientCa));
        WritePrivate(set.ClientCaKey, clientCaKey.ExportEncryptedPkcs8PrivateKeyPem(passphrase, pbe) + "\n");
        // The guide's client.cert-and-key.pem: the key, then the certificate.
        WritePrivate(set.ClientCertAndKey, clientKey.ExportRSAPrivateKeyPem() + "\n" + Pem(clientCert));
        return set;
    }

    /// <summary>The octavia.conf lines that use <paramref name="set"/>.</summary>
    public static string ConfigLines(CertificateSet set)
    {
        ArgumentNullException.ThrowIfNull(set);
        return $"""
            [certificates]
            cert_generator = local_cert_generator
            ca_certificate = {set.ServerCaCert}
            ca_private_key = {set.ServerCaKey}
            ca_private_key_passphrase = {set.CaKeyPassphrase}
            server_certs_key_passphrase = {set.ServerCertsKeyPassphrase}

            [controller_worker]
            client_ca = {set.ClientCaCert}

            [haproxy_amphora]
            client_cert = {set.ClientCertAndKey}
            server_ca = {set.ServerCaCert}

            """;
    }

    private static string Pem(X509Certificate2 cert) => cert.ExportCertificatePem() + "\n";

    // 32 URL-safe characters: server_certs_key_passphrase must be exactly 32 (it becomes a Fernet key).
    private static string NewSecret() =>
        Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).Replace('+', '-').Replace('/', '_');

    private static void WritePrivate(string path, string content)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using (var stream = new FileStream(path, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(content);
        }
        if (!OperatingSystem.IsWindows())
        {
            // UnixCreateMode applies only to new files; --force over an existing one must tighten it too.
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }
}
