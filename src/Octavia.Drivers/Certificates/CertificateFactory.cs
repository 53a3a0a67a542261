// Licensed under the Apache License, Version 2.0.

using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Octavia.Drivers.Certificates;

/// <summary>What a signed certificate is for; picks the extensions upstream's tools give it.</summary>
public enum CertificateUsage
{
    /// <summary>An amphora agent certificate (upstream <c>local_cert_generator</c>): server and client auth, SAN = CN.</summary>
    Amphora,

    /// <summary>The controller's client certificate (the guide's <c>usr_cert</c>): client auth.</summary>
    Client,
}

/// <summary>Builds CA and leaf certificates with <see cref="CertificateRequest"/>.</summary>
public static class CertificateFactory
{
    /// <summary>A self-signed CA certificate for <paramref name="key"/>.</summary>
    public static X509Certificate2 CreateCa(string commonName, RSA key, DateTimeOffset notBefore, TimeSpan validity)
    {
        ArgumentNullException.ThrowIfNull(key);
        var request = new CertificateRequest(Subject(commonName), key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
        var ski = new X509SubjectKeyIdentifierExtension(request.PublicKey, false);
        request.CertificateExtensions.Add(ski);
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromSubjectKeyIdentifier(ski));
        using var withKey = request.CreateSelfSigned(notBefore, notBefore + validity);
        // Drop the private key from the returned object; callers keep the key they passed in.
        return X509CertificateLoader.LoadCertificate(withKey.RawData);
    }

    /// <summary>A certificate for <paramref name="subjectKey"/>, signed by <paramref name="issuer"/>'s key.</summary>
    public static X509Certificate2 Sign(string commonName, AsymmetricAlgorithm subjectKey, X509Certificate2 issuer,
        AsymmetricAlgorithm issuerKey, HashAlgorithmName digest, DateTimeOffset notBefore, DateTimeOffset notAfter, CertificateUsage usage)
    {
        ArgumentNullException.ThrowIfNull(subjectKey);
        ArgumentNullException.ThrowIfNull(issuer);
        ArgumentNullException.ThrowIfNull(issuerKey);
        var request = subjectKey switch
        {
            RSA rsa => new CertificateRequest(Subject(commonName), rsa, digest, RSASignaturePadding.Pkcs1),
            ECDsa ec => new CertificateRequest(Subject(commonName), ec, digest),
            _ => throw new CryptographicException($"unsupported key type {subjectKey.GetType().Name}"),
        };
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        if (issuer.Extensions.OfType<X509SubjectKeyIdentifierExtension>().Any())
        {
            request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, true, false));
        }
        if (usage == CertificateUsage.Amphora)
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddDnsName(commonName);
            request.CertificateExtensions.Add(san.Build());
            request.CertificateExtensions.Add(new X509KeyUsageExtension(
                X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment | X509KeyUsageFlags.DataEncipherment | X509KeyUsageFlags.KeyAgreement, true));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
                [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], true));
        }
        else
        {
            request.CertificateExtensions.Add(new X509KeyUsageExtension(
                X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.NonRepudiation | X509KeyUsageFlags.KeyEncipherment, true));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        }
        var generator = issuerKey switch
        {
            RSA rsa => X509SignatureGenerator.CreateForRSA(rsa, RSASignaturePadding.Pkcs1),
            ECDsa ec => X509SignatureGenerator.CreateForECDsa(ec),
            _ => throw new CryptographicException($"unsupported CA key type {issuerKey.GetType().Name}"),
        };
        return request.Create(issuer.SubjectName, generator, notBefore, notAfter, NewSerial());
    }

    /// <summary>The hash for upstream's <c>signing_digest</c> names (sha256, sha384, sha512, sha1).</summary>
    public static HashAlgorithmName Digest(string name) => (name ?? "").Trim().ToLowerInvariant() switch
    {
        "sha256" or "" => HashAlgorithmName.SHA256,
        "sha384" => HashAlgorithmName.SHA384,
        "sha512" => HashAlgorithmName.SHA512,
        "sha1" => HashAlgorithmName.SHA1,
        _ => throw new ArgumentException($"unsupported signing digest '{name}' (use sha256, sha384, sha512 or sha1)", nameof(name)),
    };

    private static X500DistinguishedName Subject(string commonName)
    {
        if (string.IsNullOrWhiteSpace(commonName))
        {
            throw new ArgumentException("a certificate needs a common name", nameof(commonName));
        }
        var builder = new X500DistinguishedNameBuilder();
        builder.AddCommonName(commonName);
        return builder.Build();
    }

    private static byte[] NewSerial()
    {
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F; // positive, as RFC 5280 asks
        serial[0] |= 0x01; // no leading zero byte, so the length stays 16
        return serial;
    }
}
