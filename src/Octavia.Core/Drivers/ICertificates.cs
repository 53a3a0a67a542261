// Licensed under the Apache License, Version 2.0.

namespace Octavia.Core.Drivers;

/// <summary>A signed certificate with its key, PEM-encoded.</summary>
public sealed record SignedCertificate(string CertificatePem, string PrivateKeyPem, string? ChainPem, DateTime NotAfterUtc);

/// <summary>Signs amphora server certificates (upstream <c>certificates/generator</c>).</summary>
public interface ICertGenerator
{
    /// <summary>A new key and a certificate for <paramref name="commonName"/> (the amphora id), valid for <paramref name="validity"/>.</summary>
    SignedCertificate Generate(string commonName, TimeSpan validity);
}

/// <summary>A TLS bundle fetched by reference (upstream <c>TLSContainer</c>).</summary>
public sealed record TlsContainer(string Id, string CertificatePem, string? PrivateKeyPem, IReadOnlyList<string> IntermediatesPem, string? PrimaryCn);

/// <summary>Fetches listener and pool certificates by <c>*_container_ref</c> (upstream <c>certificates/manager</c>).</summary>
public interface ICertManager
{
    /// <summary>The bundle at <paramref name="reference"/>, or throws <see cref="CertificateRetrievalException"/>.</summary>
    Task<TlsContainer> GetAsync(string? projectId, string reference, CancellationToken cancellationToken);

    /// <summary>A CA certificate or CRL (PEM text) at <paramref name="reference"/>.</summary>
    Task<string> GetSecretAsync(string? projectId, string reference, CancellationToken cancellationToken);
}

/// <summary>A certificate reference could not be read (the API answers 400).</summary>
public sealed class CertificateRetrievalException : Exception
{
    public CertificateRetrievalException(string message) : base(message)
    {
    }

    public CertificateRetrievalException()
    {
    }

    public CertificateRetrievalException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
