// Licensed under the Apache License, Version 2.0.

using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Octavia.Api.Errors;
using Octavia.Core.Drivers;
using Octavia.Core.Model;

namespace Octavia.Api.Resources;

/// <summary>
/// Upstream's <c>_validate_tls_refs</c> and <c>_validate_client_ca_and_crl_refs</c> (api/v2/controllers/base.py):
/// every certificate container reference of a listener or pool is loaded through the configured
/// <see cref="ICertManager"/> before anything is written, so a bad reference is a 400 at the API rather than an
/// ERROR load balancer later. Without a cert manager in the container (upstream's <c>noop_cert_manager</c>),
/// references are taken as given.
/// </summary>
internal static class TlsReferences
{
    /// <summary>The cert manager the host registered, or null (no validation).</summary>
    public static ICertManager? Manager(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        return http.RequestServices.GetService<ICertManager>();
    }

    /// <summary>400 "Could not retrieve certificate: [...]" unless every TLS bundle reference loads (and its key matches).</summary>
    public static async Task CheckCertificatesAsync(ICertManager? manager, string? projectId, IEnumerable<string?> references, CancellationToken ct)
    {
        if (manager is null)
        {
            return;
        }
        var bad = new List<string>();
        foreach (var reference in references.OfType<string>().Distinct(StringComparer.Ordinal))
        {
            try
            {
                await manager.GetAsync(projectId, reference, ct).ConfigureAwait(false);
            }
            catch (CertificateRetrievalException)
            {
                bad.Add(reference);
            }
        }
        if (bad.Count > 0)
        {
            throw RetrievalFailed(bad);
        }
    }

    /// <summary>The CA must be a PEM certificate and the CRL, when given, a PEM CRL signed by that CA.</summary>
    public static async Task CheckCaAndCrlAsync(ICertManager? manager, string? projectId, string caReference, string? crlReference, CancellationToken ct)
    {
        if (manager is null)
        {
            return;
        }
        var bad = new List<string>();
        var caPem = await SecretAsync(manager, projectId, caReference, bad, ct).ConfigureAwait(false);
        var crlPem = crlReference is null ? null : await SecretAsync(manager, projectId, crlReference, bad, ct).ConfigureAwait(false);
        if (bad.Count > 0)
        {
            throw RetrievalFailed(bad);
        }
        using var ca = LoadCa(caPem!);
        if (crlPem is null)
        {
            return;
        }
        byte[] crl;
        try
        {
            crl = CrlDer(crlPem);
        }
        catch (Exception ex) when (ex is CryptographicException or FormatException or AsnContentException)
        {
            throw ApiException.BadRequest("Validation failure: The client authentication certificate revocation list is invalid. " +
                "It must be a valid x509 PEM format certificate revocation list. Error: " + ex.Message);
        }
        if (!SignedBy(crl, ca))
        {
            throw ApiException.BadRequest("Validation failure: The CRL specified is not valid for client certificate authority reference supplied.");
        }
    }

    /// <summary>Listener create (and each listener of a graph): the bundles, then the client CA and CRL.</summary>
    public static async Task CheckListenerAsync(ICertManager? manager, Listener listener, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(listener);
        await CheckCertificatesAsync(manager, listener.ProjectId,
            [.. listener.SniContainers.Select(s => s.TlsContainerId), listener.TlsCertificateId], ct).ConfigureAwait(false);
        if (listener.ClientCaTlsCertificateId is { } ca)
        {
            await CheckCaAndCrlAsync(manager, listener.ProjectId, ca, listener.ClientCrlContainerId, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Listener update, as upstream's PUT: the bundles named in the body, then the effective client CA and CRL
    /// (from the body, else the stored ones) whenever either is set.
    /// </summary>
    public static async Task CheckListenerUpdateAsync(ICertManager? manager, Listener listener, IEnumerable<string?> bodyBundles, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(listener);
        await CheckCertificatesAsync(manager, listener.ProjectId, bodyBundles, ct).ConfigureAwait(false);
        if (listener.ClientCaTlsCertificateId is { } ca)
        {
            await CheckCaAndCrlAsync(manager, listener.ProjectId, ca, listener.ClientCrlContainerId, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Pool create or update: the client certificate bundle, then the CA and CRL that verify members.</summary>
    public static async Task CheckPoolAsync(ICertManager? manager, Pool pool, bool bundleChanged, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(pool);
        if (bundleChanged)
        {
            await CheckCertificatesAsync(manager, pool.ProjectId, [pool.TlsCertificateId], ct).ConfigureAwait(false);
        }
        if (pool.CaTlsCertificateId is { } ca)
        {
            await CheckCaAndCrlAsync(manager, pool.ProjectId, ca, pool.CrlContainerId, ct).ConfigureAwait(false);
        }
    }

    private static async Task<string?> SecretAsync(ICertManager manager, string? projectId, string reference, List<string> bad, CancellationToken ct)
    {
        try
        {
            return await manager.GetSecretAsync(projectId, reference, ct).ConfigureAwait(false);
        }
        catch (CertificateRetrievalException)
        {
            bad.Add(reference);
            return null;
        }
    }

    private static X509Certificate2 LoadCa(string pem)
    {
        try
        {
            return X509Certificate2.CreateFromPem(pem);
        }
        catch (CryptographicException ex)
        {
            throw ApiException.BadRequest("Validation failure: The client authentication CA certificate is invalid. " +
                "It must be a valid x509 PEM format certificate. Error: " + ex.Message);
        }
    }

    private static byte[] CrlDer(string pem)
    {
        foreach (var range in EnumeratePem(pem))
        {
            if (pem.AsSpan()[range.Label].SequenceEqual("X509 CRL"))
            {
                var der = Convert.FromBase64String(pem[range.Base64Data]);
                // Parse the outer structure now, so a truncated or garbage body is "invalid", not "not signed by the CA".
                _ = ReadCertificateList(der);
                return der;
            }
        }
        throw new CryptographicException("no PEM block labelled X509 CRL was found.");
    }

    private static IEnumerable<PemFields> EnumeratePem(string pem)
    {
        var offset = 0;
        while (offset < pem.Length && PemEncoding.TryFind(pem.AsSpan(offset), out var fields))
        {
            yield return new PemFields(
                new Range(fields.Label.Start.Value + offset, fields.Label.End.Value + offset),
                new Range(fields.Base64Data.Start.Value + offset, fields.Base64Data.End.Value + offset));
            offset += fields.Location.End.Value;
        }
    }

    private readonly record struct PemFields(Range Label, Range Base64Data);

    /// <summary>CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue BIT STRING } (RFC 5280).</summary>
    private static (ReadOnlyMemory<byte> Tbs, string Algorithm, byte[] Signature) ReadCertificateList(byte[] der)
    {
        var reader = new AsnReader(der, AsnEncodingRules.DER);
        var list = reader.ReadSequence();
        reader.ThrowIfNotEmpty();
        var tbs = list.ReadEncodedValue();
        var algorithm = list.ReadSequence();
        var oid = algorithm.ReadObjectIdentifier();
        var signature = list.ReadBitString(out _);
        list.ThrowIfNotEmpty();
        return (tbs, oid, signature);
    }

    private static bool SignedBy(byte[] crlDer, X509Certificate2 ca)
    {
        var (tbs, oid, signature) = ReadCertificateList(crlDer);
        HashAlgorithmName? rsaHash = oid switch
        {
            "1.2.840.113549.1.1.5" => HashAlgorithmName.SHA1,
            "1.2.840.113549.1.1.11" => HashAlgorithmName.SHA256,
            "1.2.840.113549.1.1.12" => HashAlgorithmName.SHA384,
            "1.2.840.113549.1.1.13" => HashAlgorithmName.SHA512,
            _ => null,
        };
        HashAlgorithmName? ecHash = oid switch
        {
            "1.2.840.10045.4.1" => HashAlgorithmName.SHA1,
            "1.2.840.10045.4.3.2" => HashAlgorithmName.SHA256,
            "1.2.840.10045.4.3.3" => HashAlgorithmName.SHA384,
            "1.2.840.10045.4.3.4" => HashAlgorithmName.SHA512,
            _ => null,
        };
        try
        {
            if (rsaHash is { } rh && ca.GetRSAPublicKey() is { } rsa)
            {
                using (rsa)
                {
                    return rsa.VerifyData(tbs.Span, signature, rh, RSASignaturePadding.Pkcs1);
                }
            }
            if (ecHash is { } eh && ca.GetECDsaPublicKey() is { } ec)
            {
                using (ec)
                {
                    return ec.VerifyData(tbs.Span, signature, eh, DSASignatureFormat.Rfc3279DerSequence);
                }
            }
        }
        catch (CryptographicException)
        {
            return false;
        }
        return false;
    }

    private static ApiException RetrievalFailed(IEnumerable<string> references) =>
        ApiException.BadRequest("Could not retrieve certificate: [" + string.Join(", ", references.Select(PythonRepr)) + "]");

    // Upstream formats the list with Python's repr, which the CLI user sees verbatim.
    private static string PythonRepr(string s) =>
        s.Contains('\'', StringComparison.Ordinal) && !s.Contains('"', StringComparison.Ordinal)
            ? "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal) + "\""
            : "'" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'";
}
