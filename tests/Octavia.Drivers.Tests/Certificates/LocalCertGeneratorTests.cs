// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using Octavia.Core.Configuration;
using Octavia.Drivers.Certificates;

namespace Octavia.Drivers.Tests.Certificates;

public sealed class LocalCertGeneratorTests : IDisposable
{
    private static readonly DateTimeOffset s_now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
    private readonly OpenSsl _ssl = new();

    public void Dispose() => _ssl.Dispose();

    public static TheoryData<string, string[]> CaKeyFormats => new()
    {
        // What the certificate guide runs: openssl genpkey with a passphrase -> encrypted PKCS#8.
        { "pkcs8-aes128", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-aes-128-cbc", "-pass", "pass:not-secure-passphrase", "-out", "@ca.key"] },
        // Traditional PEM with Proc-Type/DEK-Info headers (openssl genrsa -traditional, older openssl's default).
        { "traditional-aes256", ["genrsa", "-traditional", "-aes256", "-passout", "pass:not-secure-passphrase", "-out", "@ca.key", "2048"] },
        { "traditional-des3", ["genrsa", "-traditional", "-des3", "-passout", "pass:not-secure-passphrase", "-out", "@ca.key", "2048"] },
        { "ec-pkcs8", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-aes-128-cbc", "-pass", "pass:not-secure-passphrase", "-out", "@ca.key"] },
    };

    [Theory]
    [MemberData(nameof(CaKeyFormats))]
    public void Generate_CaKeyAsOpensslWritesIt_CertificateVerifiesAgainstTheCa(string format, string[] keygen)
    {
        _ssl.Run(keygen);
        _ssl.Run("req", "-x509", "-new", "-key", "@ca.key", "-passin", "pass:not-secure-passphrase", "-subj", $"/CN=ca-{format}",
            "-days", "30", "-out", "@ca.pem");
        using var generator = new LocalCertGenerator(Options(), new FixedTime(DateTimeOffset.UtcNow));

        var signed = generator.Generate("1f0e3d1c-amphora", TimeSpan.FromHours(1));

        _ssl.Write("amp.pem", signed.CertificatePem);
        _ssl.Write("amp.key", signed.PrivateKeyPem);
        _ssl.Run("verify", "-CAfile", "@ca.pem", "@amp.pem").ShouldContain("amp.pem: OK");
        _ssl.Run("x509", "-noout", "-subject", "-in", "@amp.pem").Trim().ShouldBe("subject=CN = 1f0e3d1c-amphora");
        _ssl.Run("x509", "-noout", "-pubkey", "-in", "@amp.pem").ShouldBe(_ssl.Run("pkey", "-pubout", "-in", "@amp.key"));
        signed.ChainPem.ShouldBe(_ssl.Read("ca.pem").ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Generate_ConfiguredDigestAndValidity_AppearInTheCertificate()
    {
        var set = CertificateLayout.Initialize(_ssl.PathOf("certs"), "pw", 2048, false, new FixedTime(s_now));
        var options = new CertificatesOptions
        {
            CaCertificate = set.ServerCaCert,
            CaPrivateKey = set.ServerCaKey,
            CaPrivateKeyPassphrase = "pw",
            SigningDigest = "sha384",
            CertValidityTime = 2592000,
        };
        using var generator = new LocalCertGenerator(options, new FixedTime(s_now.AddMinutes(5).AddMilliseconds(400)));

        var signed = generator.Generate("amphora-42");

        _ssl.Write("amp.pem", signed.CertificatePem);
        var text = _ssl.Run("x509", "-noout", "-text", "-in", "@amp.pem");
        text.ShouldContain("Signature Algorithm: sha384WithRSAEncryption");
        text.ShouldContain("Public-Key: (2048 bit)");
        text.ShouldContain("CA:FALSE");
        text.ShouldContain("DNS:amphora-42");
        text.ShouldContain("TLS Web Server Authentication, TLS Web Client Authentication");
        var notAfter = _ssl.Run("x509", "-noout", "-enddate", "-in", "@amp.pem").Trim()["notAfter=".Length..];
        DateTime.ParseExact(notAfter, "MMM d HH:mm:ss yyyy 'GMT'", CultureInfo.InvariantCulture, DateTimeStyles.AllowInnerWhite | DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal)
            .ShouldBe(new DateTime(2026, 12, 25, 12, 5, 0, DateTimeKind.Utc));
        signed.NotAfterUtc.ShouldBe(new DateTime(2026, 12, 25, 12, 5, 0, DateTimeKind.Utc));
        _ssl.Run("verify", "-CAfile", set.ServerCaCert, "@amp.pem").ShouldContain("OK");
    }

    [Fact]
    public void Constructor_WrongPassphrase_ConfigErrorNamesTheKey()
    {
        var set = CertificateLayout.Initialize(_ssl.PathOf("certs"), "right", 2048, false, new FixedTime(s_now));
        var options = new CertificatesOptions { CaCertificate = set.ServerCaCert, CaPrivateKey = set.ServerCaKey, CaPrivateKeyPassphrase = "wrong", SigningDigest = "sha256" };

        var ex = Should.Throw<ConfigException>(() => new LocalCertGenerator(options, TimeProvider.System));

        ex.Message.ShouldStartWith("[certificates] ca_private_key: ");
        ex.Message.ShouldContain("wrong passphrase");
    }

    [Fact]
    public void Constructor_KeyOfAnotherCa_Refused()
    {
        var set = CertificateLayout.Initialize(_ssl.PathOf("certs"), "pw", 2048, false, new FixedTime(s_now));
        var options = new CertificatesOptions { CaCertificate = set.ClientCaCert, CaPrivateKey = set.ServerCaKey, CaPrivateKeyPassphrase = "pw", SigningDigest = "sha256" };

        Should.Throw<ConfigException>(() => new LocalCertGenerator(options, TimeProvider.System)).Message.ShouldContain("is not the key of");
    }

    [Fact]
    public void Constructor_MissingCaFile_ConfigErrorNamesTheOption()
    {
        var options = new CertificatesOptions { CaCertificate = _ssl.PathOf("nope.pem"), CaPrivateKey = _ssl.PathOf("nope.key"), SigningDigest = "sha256" };

        Should.Throw<ConfigException>(() => new LocalCertGenerator(options, TimeProvider.System)).Message.ShouldStartWith("[certificates] ca_certificate: cannot read");
    }

    private CertificatesOptions Options() => new()
    {
        CaCertificate = _ssl.PathOf("ca.pem"),
        CaPrivateKey = _ssl.PathOf("ca.key"),
        CaPrivateKeyPassphrase = "not-secure-passphrase",
        SigningDigest = "sha256",
        CertValidityTime = 2592000,
    };
}
