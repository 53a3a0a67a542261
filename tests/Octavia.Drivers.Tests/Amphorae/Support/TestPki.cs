// Licensed under the Apache License, Version 2.0.

using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Octavia.Drivers.Tests.Amphorae.Support;

/// <summary>A throwaway CA issuing EC certificates for servers (with SANs) and clients.</summary>
internal sealed class TestPki : IDisposable
{
    private readonly ECDsa _caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public TestPki(string name = "odp test CA")
    {
        var req = new CertificateRequest("CN=" + name, _caKey, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        req.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(req.PublicKey, false));
        Ca = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    }

    public X509Certificate2 Ca { get; }

    public string CaPem => Ca.ExportCertificatePem() + "\n";

    /// <summary>A certificate with key; <paramref name="dnsNames"/> go into the SAN, the first is also the CN.</summary>
    public X509Certificate2 Issue(string commonName, bool server, params string[] dnsNames)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest("CN=" + commonName, key, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, false));
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [server ? new Oid("1.3.6.1.5.5.7.3.1") : new Oid("1.3.6.1.5.5.7.3.2")], false));
        var san = new SubjectAlternativeNameBuilder();
        foreach (var d in dnsNames.Length > 0 ? dnsNames : [commonName])
        {
            if (System.Net.IPAddress.TryParse(d, out var ip))
            {
                san.AddIpAddress(ip);
            }
            else
            {
                san.AddDnsName(d);
            }
        }
        req.CertificateExtensions.Add(san.Build());
        req.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Ca, true, false));
        var serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7f;
        using var cert = req.Create(Ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(10), serial);
        return cert.CopyWithPrivateKey(key);
    }

    /// <summary>Certificate and key in one PEM, as HAProxy and upstream's client_cert want it.</summary>
    public static string Pem(X509Certificate2 cert) =>
        cert.ExportCertificatePem() + "\n" + cert.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem() + "\n";

    public void Dispose()
    {
        _caKey.Dispose();
        Ca.Dispose();
    }
}
