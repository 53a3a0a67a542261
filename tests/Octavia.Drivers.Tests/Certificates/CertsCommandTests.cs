// Licensed under the Apache License, Version 2.0.

using Octavia.Tests.Shared;

namespace Octavia.Drivers.Tests.Certificates;

/// <summary><c>octavia certs init|store</c> as a real process, checked with openssl.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class CertsCommandTests : IDisposable
{
    private readonly OpenSsl _ssl = new();

    public void Dispose() => _ssl.Dispose();

    [Fact]
    public void Init_NewDirectory_WritesTheGuidesLayoutThatOpensslAccepts()
    {
        var dir = _ssl.PathOf("etc-octavia-certs");

        var (code, output) = TestEnvironment.Run(TestEnvironment.OctaviaExe, "certs", "init", "--dir", dir, "--passphrase", "not-secure-passphrase", "--ca-key-bits", "2048");

        code.ShouldBe(0, output);
        File.GetUnixFileMode(dir).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        foreach (var file in new[] { "server_ca.cert.pem", "server_ca.key.pem", "client_ca.cert.pem", "client_ca.key.pem", "client.cert-and-key.pem" })
        {
            File.GetUnixFileMode(Path.Combine(dir, file)).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite, file);
        }
        _ssl.Run("x509", "-noout", "-subject", "-in", Path.Combine(dir, "server_ca.cert.pem")).Trim().ShouldBe("subject=CN = Octavia server CA");
        _ssl.Run("x509", "-noout", "-text", "-in", Path.Combine(dir, "client_ca.cert.pem")).ShouldContain("CA:TRUE");
        _ssl.Run("verify", "-CAfile", Path.Combine(dir, "client_ca.cert.pem"), Path.Combine(dir, "client.cert-and-key.pem")).ShouldContain(": OK");
        _ssl.Run("x509", "-noout", "-text", "-in", Path.Combine(dir, "client.cert-and-key.pem")).ShouldContain("TLS Web Client Authentication");
        // The client cert file carries its key, and the CA key opens only with the passphrase.
        _ssl.Run("pkey", "-in", Path.Combine(dir, "client.cert-and-key.pem"), "-noout");
        _ssl.Run("pkey", "-in", Path.Combine(dir, "server_ca.key.pem"), "-passin", "pass:not-secure-passphrase", "-noout");
        _ssl.TryRun("pkey", "-in", Path.Combine(dir, "server_ca.key.pem"), "-passin", "pass:wrong", "-noout").ExitCode.ShouldNotBe(0);

        output.ShouldContain($"ca_certificate = {dir}/server_ca.cert.pem");
        output.ShouldContain($"ca_private_key = {dir}/server_ca.key.pem");
        output.ShouldContain("ca_private_key_passphrase = not-secure-passphrase");
        output.ShouldContain($"client_ca = {dir}/client_ca.cert.pem");
        output.ShouldContain($"client_cert = {dir}/client.cert-and-key.pem");
        output.ShouldContain($"server_ca = {dir}/server_ca.cert.pem");
        output.ShouldMatch(@"server_certs_key_passphrase = [A-Za-z0-9_-]{32}\n");
    }

    [Fact]
    public void Init_Twice_RefusesUnlessForced()
    {
        var dir = _ssl.PathOf("certs");
        TestEnvironment.Run(TestEnvironment.OctaviaExe, "certs", "init", "--dir", dir, "--ca-key-bits", "2048").ExitCode.ShouldBe(0);
        var before = File.ReadAllText(Path.Combine(dir, "server_ca.cert.pem"));

        var again = TestEnvironment.Run(TestEnvironment.OctaviaExe, "certs", "init", "--dir", dir, "--ca-key-bits", "2048");
        again.ExitCode.ShouldBe(1);
        again.Output.ShouldContain("refusing to overwrite");
        File.ReadAllText(Path.Combine(dir, "server_ca.cert.pem")).ShouldBe(before);

        TestEnvironment.Run(TestEnvironment.OctaviaExe, "certs", "init", "--dir", dir, "--ca-key-bits", "2048", "--force").ExitCode.ShouldBe(0);
        File.ReadAllText(Path.Combine(dir, "server_ca.cert.pem")).ShouldNotBe(before);
    }

    [Fact]
    public void Store_Pkcs12AndPem_PrintRefsTheConfiguredStorageHolds()
    {
        _ssl.MakeCa();
        _ssl.MakeLeaf("www", "www.example.org");
        _ssl.Run("pkcs12", "-export", "-in", "@www.pem", "-inkey", "@www.key", "-certfile", "@ca.pem", "-passout", "pass:pw", "-out", "@www.p12");
        var storage = _ssl.PathOf("storage");
        _ssl.Write("octavia.conf", $"[certificates]\ncert_manager = local_cert_manager\nstorage_path = {storage}\n");

        var p12 = TestEnvironment.Run(TestEnvironment.OctaviaExe, "certs", "store", "--config-file", _ssl.PathOf("octavia.conf"),
            "--name", "www", "--pkcs12", _ssl.PathOf("www.p12"), "--pkcs12-password", "pw");
        var pem = TestEnvironment.Run(TestEnvironment.OctaviaExe, "certs", "store", "--config-file", _ssl.PathOf("octavia.conf"),
            "--name", "www-pem", "--cert", _ssl.PathOf("www.pem"), "--key", _ssl.PathOf("www.key"), "--intermediates", _ssl.PathOf("ca.pem"));
        var neither = TestEnvironment.Run(TestEnvironment.OctaviaExe, "certs", "store", "--config-file", _ssl.PathOf("octavia.conf"), "--name", "x");

        p12.ExitCode.ShouldBe(0, p12.Output);
        pem.ExitCode.ShouldBe(0, pem.Output);
        foreach (var reference in new[] { p12.Output.Trim(), pem.Output.Trim() })
        {
            Guid.TryParse(reference, out _).ShouldBeTrue(reference);
            _ssl.Run("verify", "-CAfile", "@ca.pem", Path.Combine(storage, reference + ".crt")).ShouldContain(": OK");
            File.Exists(Path.Combine(storage, reference + ".int")).ShouldBeTrue();
        }
        neither.ExitCode.ShouldNotBe(0);
        neither.Output.ShouldContain("give exactly one of");
    }
}
