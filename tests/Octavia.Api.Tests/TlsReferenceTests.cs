// Licensed under the Apache License, Version 2.0.

using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Octavia.Core.Configuration;
using Octavia.Core.Drivers;
using Octavia.Drivers.Certificates;

namespace Octavia.Api.Tests;

/// <summary>Real certificates, made here and stored by the local cert manager, for the reference tests.</summary>
public sealed class TestPki : IDisposable
{
    public TestPki()
    {
        Storage = Directory.CreateTempSubdirectory("oaf-certs-").FullName;
        try
        {
            Manager = new LocalCertManager(new CertificatesOptions { StoragePath = Storage });
            using var caKey = RSA.Create(2048);
            Ca = SelfSigned("CN=oaf test CA", caKey);
            using var otherKey = RSA.Create(2048);
            OtherCa = SelfSigned("CN=oaf other CA", otherKey);
            CaRef = Manager.StoreSecret(Ca.ExportCertificatePem() + "\n");
            CrlRef = Manager.StoreSecret(Crl(Ca));
            OtherCrlRef = Manager.StoreSecret(Crl(OtherCa));
            CrlOnlyRef = CrlRef;
            ServerRef = Leaf("www.example.test", out var certPem, out _);
            SniRef = Leaf("sni.example.test", out _, out _);
            // The certificate of one bundle with the key of another: unusable by HAProxy.
            Leaf("other.example.test", out _, out var otherKeyPem);
            MismatchRef = "oaf-mismatch";
            File.WriteAllText(Path.Combine(Storage, MismatchRef + ".crt"), certPem);
            File.WriteAllText(Path.Combine(Storage, MismatchRef + ".key"), otherKeyPem);
            GarbageRef = "oaf-garbage";
            File.WriteAllText(Path.Combine(Storage, GarbageRef + ".crt"), "this is not a certificate\n");
            File.WriteAllText(Path.Combine(Storage, GarbageRef + ".key"), "nor a key\n");
            BadCrlRef = "oaf-badcrl";
            File.WriteAllText(Path.Combine(Storage, BadCrlRef + ".crt"), "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n");
        }
        catch
        {
            Directory.Delete(Storage, recursive: true);
            throw;
        }
    }

    public string Storage { get; }

    public LocalCertManager Manager { get; }

    public X509Certificate2 Ca { get; }

    public X509Certificate2 OtherCa { get; }

    public string CaRef { get; }

    public string CrlRef { get; }

    public string OtherCrlRef { get; }

    /// <summary>A secret with a CRL and no certificate: not usable as a CA.</summary>
    public string CrlOnlyRef { get; }

    public string ServerRef { get; }

    public string SniRef { get; }

    public string MismatchRef { get; }

    public string GarbageRef { get; }

    public string BadCrlRef { get; }

    public Action<IServiceCollection> Services => s => s.AddSingleton<ICertManager>(Manager);

    private static X509Certificate2 SelfSigned(string subject, RSA key)
    {
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));
    }

    private static string Crl(X509Certificate2 issuer)
    {
        var builder = new CertificateRevocationListBuilder();
        builder.AddEntry([0x01, 0x02, 0x03], DateTimeOffset.UtcNow.AddHours(-1));
        var der = builder.Build(issuer, BigInteger.One, DateTimeOffset.UtcNow.AddDays(7), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return PemEncoding.WriteString("X509 CRL", der) + "\n";
    }

    private string Leaf(string cn, out string certPem, out string keyPem)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=" + cn, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var now = DateTimeOffset.UtcNow;
        using var cert = request.Create(Ca, now.AddDays(-1), now.AddDays(10), RandomNumberGenerator.GetBytes(8));
        certPem = cert.ExportCertificatePem() + "\n";
        keyPem = key.ExportPkcs8PrivateKeyPem() + "\n";
        return Manager.Store(certPem, keyPem, Ca.ExportCertificatePem() + "\n");
    }

    public void Dispose()
    {
        Ca.Dispose();
        OtherCa.Dispose();
        Directory.Delete(Storage, recursive: true);
    }
}

/// <summary>
/// Listener and pool certificate references are loaded through the cert manager before anything is written
/// (upstream's _validate_tls_refs / _validate_client_ca_and_crl_refs), with upstream's fault strings.
/// </summary>
public sealed class TlsReferenceTests : IAsyncLifetime
{
    private readonly TestPki _pki = new();
    private ApiServer _api = null!;

    public async ValueTask InitializeAsync() => _api = await ApiServer.StartAsync(services: _pki.Services);

    public async ValueTask DisposeAsync()
    {
        await _api.DisposeAsync();
        _pki.Dispose();
    }

    private static JsonObject Root(string key, JsonObject body) => new() { [key] = body };

    private static JsonObject TlsListener(string lbId, JsonObject extra)
    {
        var l = new JsonObject { ["loadbalancer_id"] = lbId, ["protocol"] = "TERMINATED_HTTPS", ["protocol_port"] = 443 };
        foreach (var (k, v) in extra)
        {
            l[k] = v?.DeepClone();
        }
        return Root("listener", l);
    }

    private async Task<(int Status, string Fault)> PostListenerAsync(string lbId, JsonObject extra)
    {
        var (status, body) = await _api.PostAsync("/v2/lbaas/listeners", TlsListener(lbId, extra));
        return (status, (string?)body?["faultstring"] ?? body?.ToJsonString() ?? "");
    }

    /// <summary>After a refusal nothing was written: no listener, and the load balancer is not left PENDING_UPDATE.</summary>
    private async Task AssertUntouchedAsync(string lbId, int listeners = 0)
    {
        var (_, lb) = await _api.GetAsync($"/v2/lbaas/loadbalancers/{lbId}");
        ((string?)lb!["loadbalancer"]!["provisioning_status"]).ShouldBe("ACTIVE");
        var (_, list) = await _api.GetAsync($"/v2/lbaas/listeners?loadbalancer_id={lbId}");
        list!["listeners"]!.AsArray().Count.ShouldBe(listeners);
    }

    [Fact]
    public async Task ListenerCreate_StoredBundlesAndCaAndCrl_Accepted()
    {
        var lbId = await _api.CreateLoadBalancerAsync();
        var (s, body) = await _api.PostAsync("/v2/lbaas/listeners", TlsListener(lbId, new JsonObject
        {
            ["default_tls_container_ref"] = _pki.ServerRef,
            ["sni_container_refs"] = new JsonArray(_pki.SniRef),
            ["client_authentication"] = "MANDATORY",
            ["client_ca_tls_container_ref"] = _pki.CaRef,
            ["client_crl_container_ref"] = _pki.CrlRef,
        }));
        s.ShouldBe(201, body?.ToJsonString());
        ((string?)body!["listener"]!["default_tls_container_ref"]).ShouldBe(_pki.ServerRef);
        ((string?)body["listener"]!["client_crl_container_ref"]).ShouldBe(_pki.CrlRef);
        await _api.WaitActiveAsync($"/v2/lbaas/loadbalancers/{lbId}", "loadbalancer");
    }

    [Fact]
    public async Task ListenerCreate_MissingOrUnparsableOrMismatchedBundle_400WithEveryBadRef()
    {
        var lbId = await _api.CreateLoadBalancerAsync();
        var (s1, f1) = await PostListenerAsync(lbId, new JsonObject { ["default_tls_container_ref"] = "oaf-no-such-ref" });
        s1.ShouldBe(400);
        f1.ShouldBe("Could not retrieve certificate: ['oaf-no-such-ref']");
        var (s2, f2) = await PostListenerAsync(lbId, new JsonObject { ["default_tls_container_ref"] = _pki.GarbageRef });
        s2.ShouldBe(400);
        f2.ShouldBe($"Could not retrieve certificate: ['{_pki.GarbageRef}']");
        var (s3, f3) = await PostListenerAsync(lbId, new JsonObject
        {
            ["default_tls_container_ref"] = _pki.MismatchRef,
            ["sni_container_refs"] = new JsonArray(_pki.SniRef, "oaf-missing-sni"),
        });
        s3.ShouldBe(400);
        f3.ShouldBe($"Could not retrieve certificate: ['oaf-missing-sni', '{_pki.MismatchRef}']");
        await AssertUntouchedAsync(lbId);
    }

    [Fact]
    public async Task ListenerCreate_BadClientCaOrCrl_400WithUpstreamMessages()
    {
        var lbId = await _api.CreateLoadBalancerAsync();
        var tls = new JsonObject { ["default_tls_container_ref"] = _pki.ServerRef, ["client_authentication"] = "OPTIONAL" };
        JsonObject With(params (string Key, JsonNode Value)[] more)
        {
            var o = (JsonObject)tls.DeepClone();
            foreach (var (k, v) in more)
            {
                o[k] = v;
            }
            return o;
        }

        var (s1, f1) = await PostListenerAsync(lbId, With(("client_ca_tls_container_ref", "oaf-no-ca")));
        s1.ShouldBe(400);
        f1.ShouldBe("Could not retrieve certificate: ['oaf-no-ca']");

        var (s2, f2) = await PostListenerAsync(lbId, With(("client_ca_tls_container_ref", _pki.CrlOnlyRef)));
        s2.ShouldBe(400);
        f2.ShouldStartWith("Validation failure: The client authentication CA certificate is invalid. It must be a valid x509 PEM format certificate. Error: ");

        var (s3, f3) = await PostListenerAsync(lbId, With(("client_ca_tls_container_ref", _pki.CaRef), ("client_crl_container_ref", _pki.BadCrlRef)));
        s3.ShouldBe(400);
        f3.ShouldStartWith("Validation failure: The client authentication certificate revocation list is invalid. It must be a valid x509 PEM format certificate revocation list. Error: ");

        var (s4, f4) = await PostListenerAsync(lbId, With(("client_ca_tls_container_ref", _pki.CaRef), ("client_crl_container_ref", _pki.OtherCrlRef)));
        s4.ShouldBe(400);
        f4.ShouldBe("Validation failure: The CRL specified is not valid for client certificate authority reference supplied.");

        var (s5, f5) = await PostListenerAsync(lbId, new JsonObject { ["default_tls_container_ref"] = _pki.ServerRef, ["client_crl_container_ref"] = _pki.CrlRef });
        s5.ShouldBe(400);
        f5.ShouldBe("Validation failure: A client authentication CA reference is required to specify a client authentication revocation list.");

        var (s6, f6) = await PostListenerAsync(lbId, With(("client_ca_tls_container_ref", "oaf-no-ca"), ("client_crl_container_ref", "oaf-no-crl")));
        s6.ShouldBe(400);
        f6.ShouldBe("Could not retrieve certificate: ['oaf-no-ca', 'oaf-no-crl']");
        await AssertUntouchedAsync(lbId);
    }

    [Fact]
    public async Task ListenerUpdate_BadRef_400AndTheStoredRefsStay()
    {
        var lbId = await _api.CreateLoadBalancerAsync();
        var (s, created) = await _api.PostAsync("/v2/lbaas/listeners", TlsListener(lbId, new JsonObject { ["default_tls_container_ref"] = _pki.ServerRef }));
        s.ShouldBe(201, created?.ToJsonString());
        var id = (string)created!["listener"]!["id"]!;
        await _api.WaitActiveAsync($"/v2/lbaas/loadbalancers/{lbId}", "loadbalancer");

        var (u1, f1) = await _api.PutAsync($"/v2/lbaas/listeners/{id}", Root("listener", new JsonObject { ["default_tls_container_ref"] = _pki.MismatchRef }));
        u1.ShouldBe(400);
        ((string?)f1!["faultstring"]).ShouldBe($"Could not retrieve certificate: ['{_pki.MismatchRef}']");
        var (u2, f2) = await _api.PutAsync($"/v2/lbaas/listeners/{id}", Root("listener", new JsonObject
        {
            ["client_ca_tls_container_ref"] = _pki.CaRef,
            ["client_crl_container_ref"] = _pki.OtherCrlRef,
        }));
        u2.ShouldBe(400);
        ((string?)f2!["faultstring"]).ShouldBe("Validation failure: The CRL specified is not valid for client certificate authority reference supplied.");

        var (_, shown) = await _api.GetAsync($"/v2/lbaas/listeners/{id}");
        ((string?)shown!["listener"]!["default_tls_container_ref"]).ShouldBe(_pki.ServerRef);
        ((string?)shown["listener"]!["client_ca_tls_container_ref"]).ShouldBeNull();
        ((string?)shown["listener"]!["provisioning_status"]).ShouldBe("ACTIVE");
        await AssertUntouchedAsync(lbId, listeners: 1);

        var (ok, _) = await _api.PutAsync($"/v2/lbaas/listeners/{id}", Root("listener", new JsonObject { ["sni_container_refs"] = new JsonArray(_pki.SniRef) }));
        ok.ShouldBe(200);
    }

    [Fact]
    public async Task Pool_BadClientBundleOrCaOrCrl_400_GoodOnesAccepted()
    {
        var lbId = await _api.CreateLoadBalancerAsync();
        JsonObject Pool(params (string Key, JsonNode Value)[] more)
        {
            var p = new JsonObject { ["loadbalancer_id"] = lbId, ["protocol"] = "HTTP", ["lb_algorithm"] = "ROUND_ROBIN", ["tls_enabled"] = true };
            foreach (var (k, v) in more)
            {
                p[k] = v;
            }
            return Root("pool", p);
        }

        var (s1, f1) = await _api.PostAsync("/v2/lbaas/pools", Pool(("tls_container_ref", _pki.GarbageRef)));
        s1.ShouldBe(400);
        ((string?)f1!["faultstring"]).ShouldBe($"Could not retrieve certificate: ['{_pki.GarbageRef}']");
        var (s2, f2) = await _api.PostAsync("/v2/lbaas/pools", Pool(("ca_tls_container_ref", _pki.CaRef), ("crl_container_ref", _pki.OtherCrlRef)));
        s2.ShouldBe(400);
        ((string?)f2!["faultstring"]).ShouldBe("Validation failure: The CRL specified is not valid for client certificate authority reference supplied.");
        var (s3, f3) = await _api.PostAsync("/v2/lbaas/pools", Pool(("crl_container_ref", _pki.CrlRef)));
        s3.ShouldBe(400);
        ((string?)f3!["faultstring"]).ShouldBe("Validation failure: A CA reference is required to specify a certificate revocation list.");
        var (_, none) = await _api.GetAsync($"/v2/lbaas/pools?loadbalancer_id={lbId}");
        none!["pools"]!.AsArray().ShouldBeEmpty();

        var (s4, created) = await _api.PostAsync("/v2/lbaas/pools", Pool(("tls_container_ref", _pki.ServerRef), ("ca_tls_container_ref", _pki.CaRef), ("crl_container_ref", _pki.CrlRef)));
        s4.ShouldBe(201, created?.ToJsonString());
        var poolId = (string)created!["pool"]!["id"]!;
        await _api.WaitActiveAsync($"/v2/lbaas/loadbalancers/{lbId}", "loadbalancer");

        var (u1, uf) = await _api.PutAsync($"/v2/lbaas/pools/{poolId}", Root("pool", new JsonObject { ["tls_container_ref"] = "oaf-gone" }));
        u1.ShouldBe(400);
        ((string?)uf!["faultstring"]).ShouldBe("Could not retrieve certificate: ['oaf-gone']");
        var (_, shown) = await _api.GetAsync($"/v2/lbaas/pools/{poolId}");
        ((string?)shown!["pool"]!["tls_container_ref"]).ShouldBe(_pki.ServerRef);
        ((string?)shown["pool"]!["provisioning_status"]).ShouldBe("ACTIVE");
    }

    [Fact]
    public async Task GraphCreate_BadRefInAListenerOrPool_400AndNoLoadBalancer()
    {
        JsonObject Graph(string name, string listenerRef, string poolCaRef) => Root("loadbalancer", new JsonObject
        {
            ["name"] = name,
            ["vip_subnet_id"] = "3a1c2b47-8c3b-4f0b-9a07-0d7e4b2b8f11",
            ["listeners"] = new JsonArray(new JsonObject
            {
                ["protocol"] = "TERMINATED_HTTPS",
                ["protocol_port"] = 443,
                ["default_tls_container_ref"] = listenerRef,
                ["default_pool"] = new JsonObject
                {
                    ["name"] = "backend",
                    ["protocol"] = "HTTP",
                    ["lb_algorithm"] = "ROUND_ROBIN",
                    ["tls_enabled"] = true,
                    ["ca_tls_container_ref"] = poolCaRef,
                },
            }),
        });

        var (s1, f1) = await _api.PostAsync("/v2/lbaas/loadbalancers", Graph("oaf-g1", "oaf-missing", _pki.CaRef));
        s1.ShouldBe(400);
        ((string?)f1!["faultstring"]).ShouldBe("Could not retrieve certificate: ['oaf-missing']");
        var (s2, f2) = await _api.PostAsync("/v2/lbaas/loadbalancers", Graph("oaf-g2", _pki.ServerRef, "oaf-missing-ca"));
        s2.ShouldBe(400);
        ((string?)f2!["faultstring"]).ShouldBe("Could not retrieve certificate: ['oaf-missing-ca']");
        var (_, list) = await _api.GetAsync("/v2/lbaas/loadbalancers");
        list!["loadbalancers"]!.AsArray().ShouldBeEmpty();

        var (s3, ok) = await _api.PostAsync("/v2/lbaas/loadbalancers", Graph("oaf-g3", _pki.ServerRef, _pki.CaRef));
        s3.ShouldBe(201, ok?.ToJsonString());
        await _api.WaitActiveAsync($"/v2/lbaas/loadbalancers/{(string)ok!["loadbalancer"]!["id"]!}", "loadbalancer");
    }
}
