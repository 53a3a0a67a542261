// Licensed under the Apache License, Version 2.0.

using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Octavia.Core.Configuration;
using Octavia.Core.Drivers;
using Octavia.Drivers.Certificates;

namespace Octavia.Drivers.Tests.Certificates;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class LocalCertManagerTests : IDisposable
{
    private readonly OpenSsl _ssl = new();
    private readonly LocalCertManager _manager;

    public LocalCertManagerTests()
    {
        _manager = new LocalCertManager(new CertificatesOptions { StoragePath = _ssl.PathOf("store") });
        _ssl.MakeCa();
        _ssl.MakeLeaf("www", "www.example.org");
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _ssl.Dispose();

    [Fact]
    public async Task Get_Pkcs12MadeByOpenssl_ReturnsCertKeyIntermediatesAndCn()
    {
        _ssl.Run("pkcs12", "-export", "-in", "@www.pem", "-inkey", "@www.key", "-certfile", "@ca.pem", "-passout", "pass:pw", "-out", "@www.p12");

        var reference = _manager.StorePkcs12(File.ReadAllBytes(_ssl.PathOf("www.p12")), "pw", "www");
        var container = await _manager.GetAsync("project", reference, Ct);

        container.PrimaryCn.ShouldBe("www.example.org");
        AssertSamePublicKey(container, "www.pem");
        container.IntermediatesPem.ShouldHaveSingleItem();
        _ssl.Write("int.pem", container.IntermediatesPem[0]);
        _ssl.Run("x509", "-noout", "-subject", "-in", "@int.pem").Trim().ShouldBe("subject=CN = Test CA");
        File.ReadAllText(Path.Combine(_manager.StoragePath, reference + ".name")).Trim().ShouldBe("www");
    }

    [Fact]
    public async Task Get_Pkcs12DroppedIntoStorage_IsReadWithItsPassFile()
    {
        Directory.CreateDirectory(_manager.StoragePath);
        _ssl.Run("pkcs12", "-export", "-in", "@www.pem", "-inkey", "@www.key", "-passout", "pass:secret", "-out", Path.Combine(_manager.StoragePath, "dropped.p12"));
        File.WriteAllText(Path.Combine(_manager.StoragePath, "dropped.pass"), "secret\n");

        var container = await _manager.GetAsync(null, "dropped", Ct);

        container.PrimaryCn.ShouldBe("www.example.org");
        container.IntermediatesPem.ShouldBeEmpty();
    }

    [Fact]
    public async Task Get_PemBundleWithEncryptedKeyAndIntermediates_ReturnsPlainKey()
    {
        _ssl.Run("pkey", "-in", "@www.key", "-aes-128-cbc", "-passout", "pass:kp", "-out", "@www.enc.key");

        var reference = _manager.Store(_ssl.Read("www.pem"), _ssl.Read("www.enc.key"), _ssl.Read("ca.pem"), "kp");
        var container = await _manager.GetAsync(null, $"https://barbican.example/v1/containers/{reference}", Ct);

        container.Id.ShouldBe(reference);
        container.PrimaryCn.ShouldBe("www.example.org");
        container.PrivateKeyPem.ShouldNotBeNull().ShouldStartWith("-----BEGIN PRIVATE KEY-----");
        AssertSamePublicKey(container, "www.pem");
        container.IntermediatesPem.Count.ShouldBe(1);
        foreach (var ext in new[] { ".crt", ".key", ".int" })
        {
            File.GetUnixFileMode(Path.Combine(_manager.StoragePath, reference + ext)).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    [Fact]
    public async Task Get_EcLeafInUpstreamLayout_IsRead()
    {
        _ssl.Run("genpkey", "-genparam", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "@ecparams.pem");
        _ssl.MakeLeaf("ec", "ec.example.org", "ec:" + _ssl.PathOf("ecparams.pem"));
        Directory.CreateDirectory(_manager.StoragePath);
        File.Copy(_ssl.PathOf("ec.pem"), Path.Combine(_manager.StoragePath, "upstream-ref.crt"));
        // Traditional SEC1 "EC PRIVATE KEY", as `openssl ec` writes it.
        _ssl.Run("ec", "-in", "@ec.key", "-out", Path.Combine(_manager.StoragePath, "upstream-ref.key"));
        File.ReadAllText(Path.Combine(_manager.StoragePath, "upstream-ref.key")).ShouldStartWith("-----BEGIN EC PRIVATE KEY-----");

        var container = await _manager.GetAsync(null, "upstream-ref", Ct);

        container.PrimaryCn.ShouldBe("ec.example.org");
        AssertSamePublicKey(container, "ec.pem");
    }

    [Fact]
    public async Task GetSecret_CaAndCrl_ReturnedAsStored()
    {
        var caRef = _manager.StoreSecret(_ssl.Read("ca.pem"), "client-ca");
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=CRL CA", caKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.KeyCertSign, true));
        using var ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var crl = new CertificateRevocationListBuilder().Build(ca, 1, DateTimeOffset.UtcNow.AddDays(1), HashAlgorithmName.SHA256);
        var crlPem = PemEncoding.WriteString("X509 CRL", crl);
        var crlRef = _manager.StoreSecret(crlPem);

        (await _manager.GetSecretAsync(null, caRef, Ct)).ShouldBe(_ssl.Read("ca.pem"));
        var storedCrl = await _manager.GetSecretAsync(null, crlRef, Ct);
        _ssl.Write("crl.pem", storedCrl);
        _ssl.Run("crl", "-noout", "-issuer", "-in", "@crl.pem").Trim().ShouldBe("issuer=CN = CRL CA");
    }

    [Theory]
    [InlineData("0b8e0a43-2f11-4a4e-9a0b-000000000000")]
    [InlineData("../../etc/passwd")]
    [InlineData("..")]
    [InlineData("")]
    public async Task Get_BadRef_CertificateRetrievalException(string reference)
    {
        await Should.ThrowAsync<CertificateRetrievalException>(() => _manager.GetAsync(null, reference, Ct));
        await Should.ThrowAsync<CertificateRetrievalException>(() => _manager.GetSecretAsync(null, reference, Ct));
    }

    [Fact]
    public void Store_KeyOfAnotherCertificate_Refused()
    {
        _ssl.MakeLeaf("other", "other.example.org");

        Should.Throw<CertificateRetrievalException>(() => _manager.Store(_ssl.Read("www.pem"), _ssl.Read("other.key"), null))
            .Message.ShouldContain("does not match");
    }

    [Fact]
    public void StorePkcs12_WrongPassword_Refused()
    {
        _ssl.Run("pkcs12", "-export", "-in", "@www.pem", "-inkey", "@www.key", "-passout", "pass:pw", "-out", "@www.p12");

        Should.Throw<CertificateRetrievalException>(() => _manager.StorePkcs12(File.ReadAllBytes(_ssl.PathOf("www.p12")), "nope"))
            .Message.ShouldContain("unreadable PKCS12");
    }

    private void AssertSamePublicKey(TlsContainer container, string certFile)
    {
        _ssl.Write("got.key", container.PrivateKeyPem!);
        _ssl.Write("got.pem", container.CertificatePem);
        _ssl.Run("pkey", "-pubout", "-in", "@got.key").ShouldBe(_ssl.Run("x509", "-noout", "-pubkey", "-in", $"@{certFile}"));
        _ssl.Run("x509", "-noout", "-fingerprint", "-in", "@got.pem").ShouldBe(_ssl.Run("x509", "-noout", "-fingerprint", "-in", $"@{certFile}"));
    }
}
