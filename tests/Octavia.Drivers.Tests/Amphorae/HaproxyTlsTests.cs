// Licensed under the Apache License, Version 2.0.

using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Octavia.Core.Model;
using Octavia.Drivers.Amphorae;
using Octavia.Drivers.Tests.Amphorae.Support;
using Octavia.Tests.Shared;

namespace Octavia.Drivers.Tests.Amphorae;

/// <summary>TERMINATED_HTTPS listeners and re-encrypting pools with a real HAProxy.</summary>
public sealed class HaproxyTlsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static void RequireHaproxy()
    {
        if (!TestEnvironment.HasProgram("haproxy"))
        {
            Assert.Skip("needs haproxy");
        }
    }

    /// <summary>Writes the certificates as the REST driver uploads them: one PEM per cert, and the listener's crt-list.</summary>
    private static void WriteListenerCerts(Scenario s, Listener l, params X509Certificate2[] certs)
    {
        Directory.CreateDirectory(s.CertDir);
        var paths = new List<string>();
        foreach (var c in certs)
        {
            var path = Path.Combine(s.CertDir, Guid.NewGuid() + ".pem");
            File.WriteAllText(path, TestPki.Pem(c));
            paths.Add(path);
        }
        File.WriteAllText(Path.Combine(s.CertDir, l.Id + ".pem"), string.Join('\n', paths) + "\n");
        l.TlsCertificateId = "ref-" + l.Id;
    }

    private static bool IssuedBy(X509Certificate? cert, X509Certificate2 ca)
    {
        if (cert is null)
        {
            return false;
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = X509CertificateLoader.LoadCertificate(cert.GetRawCertData());
        return chain.Build(leaf);
    }

    private static async Task<(X509Certificate2? ServerCert, string Response)> TlsGetAsync(
        Scenario s, Listener l, string sni, X509Certificate2 serverCa, X509Certificate2? clientCert = null)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Parse(s.Lb.Vip!.IpAddress!), l.ProtocolPort, Ct);
        await using var ssl = new SslStream(tcp.GetStream(), false, (_, cert, _, _) => IssuedBy(cert, serverCa));
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = sni,
            ClientCertificates = clientCert is null ? null : [clientCert],
            LocalCertificateSelectionCallback = clientCert is null ? null : (_, _, _, _, _) => clientCert,
        };
        await ssl.AuthenticateAsClientAsync(options, Ct);
        var server = ssl.RemoteCertificate is null ? null : X509CertificateLoader.LoadCertificate(ssl.RemoteCertificate.GetRawCertData());
        await ssl.WriteAsync(Encoding.ASCII.GetBytes($"GET / HTTP/1.1\r\nHost: {sni}\r\nConnection: close\r\n\r\n"), Ct);
        using var reader = new StreamReader(ssl);
        var response = await reader.ReadToEndAsync(Ct);
        return (server, response);
    }

    [Fact]
    public async Task TerminatedHttps_Sni_PresentsMatchingCertificate()
    {
        RequireHaproxy();
        using var pki = new TestPki();
        await using var s = new Scenario();
        var pool = s.AddPool();
        await s.AddBackendAsync(pool, "a");
        var l = s.AddListener(Protocols.TerminatedHttps, pool);
        l.TlsVersions = ["TLSv1.2", "TLSv1.3"];
        l.AlpnProtocols = ["http/1.1"];
        l.HstsMaxAge = 3600;
        l.HstsIncludeSubdomains = true;
        l.InsertHeaders = new() { ["X-Forwarded-Proto"] = "true" };
        WriteListenerCerts(s, l,
            pki.Issue("default.example", true),
            pki.Issue("www.one.example", true),
            pki.Issue("api.two.example", true));
        await s.StartAsync();

        var one = await TlsGetAsync(s, l, "www.one.example", pki.Ca);
        var two = await TlsGetAsync(s, l, "api.two.example", pki.Ca);
        var other = await TlsGetAsync(s, l, "unknown.example", pki.Ca);

        one.ServerCert!.GetNameInfo(X509NameType.SimpleName, false).ShouldBe("www.one.example");
        two.ServerCert!.GetNameInfo(X509NameType.SimpleName, false).ShouldBe("api.two.example");
        other.ServerCert!.GetNameInfo(X509NameType.SimpleName, false).ShouldBe("default.example");
        one.Response.ShouldStartWith("HTTP/1.1 200");
        one.Response.ShouldContain("strict-transport-security: max-age=3600; includeSubDomains", Case.Insensitive);
        s.Backends["a"].Requests.TryDequeue(out var headers).ShouldBeTrue();
        headers!["X-Forwarded-Proto"].ToString().ShouldBe("https");
    }

    [Fact]
    public async Task TerminatedHttps_ClientAuthMandatory_RefusesClientWithoutCertificate()
    {
        RequireHaproxy();
        using var pki = new TestPki();
        using var clientPki = new TestPki("odp client CA");
        await using var s = new Scenario();
        var pool = s.AddPool();
        await s.AddBackendAsync(pool, "a");
        var l = s.AddListener(Protocols.TerminatedHttps, pool);
        l.InsertHeaders = new() { ["X-SSL-Client-CN"] = "true", ["X-SSL-Client-Verify"] = "true", ["X-SSL-Client-Has-Cert"] = "true" };
        WriteListenerCerts(s, l, pki.Issue("lb.example", true));
        l.ClientCaTlsCertificateId = "client-ca-ref";
        l.ClientAuthentication = ClientAuthenticationModes.Mandatory;
        File.WriteAllText(Path.Combine(s.CertDir, "clientca.pem"), clientPki.CaPem);
        var tls = new HaproxyTlsFiles { SecretFileNames = new Dictionary<string, string> { ["client-ca-ref"] = "clientca.pem" } };
        await s.StartAsync(tls);
        using var clientCert = clientPki.Issue("alice", false);

        var withCert = await TlsGetAsync(s, l, "lb.example", pki.Ca, clientCert);
        var without = await Record.ExceptionAsync(async () =>
        {
            var r = await TlsGetAsync(s, l, "lb.example", pki.Ca);
            if (!r.Response.StartsWith("HTTP/1.1 200", StringComparison.Ordinal))
            {
                throw new IOException("refused: " + r.Response);
            }
        });

        withCert.Response.ShouldStartWith("HTTP/1.1 200");
        without.ShouldNotBeNull();
        without.ShouldBeAssignableTo<Exception>().ShouldSatisfyAllConditions(
            e => (e is IOException or AuthenticationException).ShouldBeTrue(e.ToString()));
        s.Backends["a"].Requests.TryDequeue(out var headers).ShouldBeTrue();
        headers!["X-SSL-Client-CN"].ToString().Trim('"').ShouldBe("alice");
        headers["X-SSL-Client-Verify"].ToString().ShouldBe("0");
        headers["X-SSL-Client-Has-Cert"].ToString().ShouldBe("1");
    }

    [Fact]
    public async Task TerminatedHttps_ClientAuthOptional_AcceptsBothAndL7RuleSeesCertificate()
    {
        RequireHaproxy();
        using var pki = new TestPki();
        using var clientPki = new TestPki("odp client CA");
        await using var s = new Scenario();
        var pool = s.AddPool();
        await s.AddBackendAsync(pool, "anonymous");
        var certified = s.AddPool();
        await s.AddBackendAsync(certified, "certified");
        var l = s.AddListener(Protocols.TerminatedHttps, pool);
        WriteListenerCerts(s, l, pki.Issue("lb.example", true));
        l.ClientCaTlsCertificateId = "client-ca-ref";
        l.ClientAuthentication = ClientAuthenticationModes.Optional;
        var policy = new L7Policy { Id = Guid.NewGuid().ToString(), Action = L7PolicyActions.RedirectToPool, Position = 1, RedirectPool = certified };
        policy.L7Rules.Add(new L7Rule { Id = Guid.NewGuid().ToString(), Type = L7RuleTypes.SslConnHasCert, CompareType = L7RuleCompareTypes.EqualTo, Value = "tRUe" });
        policy.L7Rules.Add(new L7Rule { Id = Guid.NewGuid().ToString(), Type = L7RuleTypes.SslVerifyResult, CompareType = L7RuleCompareTypes.EqualTo, Value = "0" });
        policy.L7Rules.Add(new L7Rule { Id = Guid.NewGuid().ToString(), Type = L7RuleTypes.SslDnField, CompareType = L7RuleCompareTypes.StartsWith, Key = "CN", Value = "ali" });
        l.L7Policies.Add(policy);
        File.WriteAllText(Path.Combine(s.CertDir, "clientca.pem"), clientPki.CaPem);
        await s.StartAsync(new HaproxyTlsFiles { SecretFileNames = new Dictionary<string, string> { ["client-ca-ref"] = "clientca.pem" } });
        using var alice = clientPki.Issue("alice", false);

        var anonymous = await TlsGetAsync(s, l, "lb.example", pki.Ca);
        var withCert = await TlsGetAsync(s, l, "lb.example", pki.Ca, alice);

        anonymous.Response.ShouldContain("x-backend: anonymous", Case.Insensitive);
        withCert.Response.ShouldContain("x-backend: certified", Case.Insensitive);
    }

    [Fact]
    public async Task ReencryptingPool_VerifiesMemberWithCaAndPresentsClientCertificate()
    {
        RequireHaproxy();
        using var memberPki = new TestPki("odp member CA");
        await using var s = new Scenario();
        var pool = s.AddPool();
        pool.TlsEnabled = true;
        pool.TlsVersions = ["TLSv1.2", "TLSv1.3"];
        pool.AlpnProtocols = ["http/1.1"];
        pool.CaTlsCertificateId = "member-ca";
        pool.TlsCertificateId = "client-cert";
        var memberCert = memberPki.Issue("127.0.0.1", true, "127.0.0.1");
        var member = s.Own(await HttpBackend.StartAsync("tls-member", certificate: memberCert));
        Scenario.AddMember(pool, member.Address, member.Port);
        var l = s.AddListener(Protocols.Http, pool);
        Directory.CreateDirectory(s.CertDir);
        var caPath = Path.Combine(s.CertDir, "member-ca.pem");
        File.WriteAllText(caPath, memberPki.CaPem);
        var clientPath = Path.Combine(s.CertDir, "client.pem");
        File.WriteAllText(clientPath, TestPki.Pem(memberPki.Issue("lb-client", false)));
        var tls = new HaproxyTlsFiles { Pools = new Dictionary<string, PoolTlsFiles> { [pool.Id] = new(clientPath, caPath, null) } };
        await s.StartAsync(tls);
        using var client = Scenario.Client();

        var body = await client.GetStringAsync(s.Url(l), Ct);

        body.ShouldBe("tls-member");
        File.ReadAllText(s.Haproxy!.ConfigPath).ShouldContain($" ssl crt {clientPath} ca-file {caPath} verify required sni ssl_fc_sni no-sslv3 no-tlsv10 no-tlsv11 alpn http/1.1");
    }

    [Fact]
    public async Task HttpsPassthrough_ClientSeesTheMembersCertificate()
    {
        RequireHaproxy();
        using var memberPki = new TestPki("odp member CA");
        await using var s = new Scenario();
        var pool = s.AddPool(Protocols.Https, LbAlgorithms.SourceIp);
        var member = s.Own(await HttpBackend.StartAsync("tls-member", certificate: memberPki.Issue("member.example", true, "member.example")));
        Scenario.AddMember(pool, member.Address, member.Port);
        var l = s.AddListener(Protocols.Https, pool);
        await s.StartAsync();

        var (cert, response) = await TlsGetAsync(s, l, "member.example", memberPki.Ca);

        cert!.GetNameInfo(X509NameType.SimpleName, false).ShouldBe("member.example");
        response.ShouldContain("x-backend: tls-member", Case.Insensitive);
    }

    [Fact]
    public async Task ReencryptingPool_MemberSignedByOtherCa_IsRefused()
    {
        RequireHaproxy();
        using var memberPki = new TestPki("odp member CA");
        using var otherPki = new TestPki("odp other CA");
        await using var s = new Scenario();
        var pool = s.AddPool();
        pool.TlsEnabled = true;
        pool.CaTlsCertificateId = "member-ca";
        var member = s.Own(await HttpBackend.StartAsync("tls-member", certificate: otherPki.Issue("127.0.0.1", true, "127.0.0.1")));
        Scenario.AddMember(pool, member.Address, member.Port);
        var l = s.AddListener(Protocols.Http, pool);
        Directory.CreateDirectory(s.CertDir);
        var caPath = Path.Combine(s.CertDir, "member-ca.pem");
        File.WriteAllText(caPath, memberPki.CaPem);
        await s.StartAsync(new HaproxyTlsFiles { Pools = new Dictionary<string, PoolTlsFiles> { [pool.Id] = new(null, caPath, null) } });
        using var client = Scenario.Client();

        using var resp = await client.GetAsync(s.Url(l), Ct);

        resp.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
    }
}
