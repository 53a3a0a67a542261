// Licensed under the Apache License, Version 2.0.

using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Octavia.Core.Configuration;
using Octavia.Core.Model;
using Octavia.Drivers.Amphorae;
using Octavia.Drivers.Tests.Amphorae.Support;
using Octavia.Tests.Shared;
using AmphoraEntity = Octavia.Core.Model.Amphora;

namespace Octavia.Drivers.Tests.Amphorae;

/// <summary>What the renderer writes, checked as text and by <c>haproxy -c</c>.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class HaproxyConfigRendererTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string NewId() => Guid.NewGuid().ToString();

    private static L7Rule Rule(string type, string compare, string value, string? key = null, bool invert = false) =>
        new() { Id = NewId(), Type = type, CompareType = compare, Value = value, Key = key, Invert = invert };

    private static HealthMonitor Monitor(string type) => new()
    {
        Id = NewId(),
        Type = type,
        Delay = 5,
        Timeout = 3,
        FallThreshold = 3,
        RiseThreshold = 2,
        HttpMethod = "HEAD",
        UrlPath = "/healthz",
        ExpectedCodes = "200-202,204",
    };

    [Fact]
    public async Task Render_EveryFeature_PassesHaproxyCheck()
    {
        if (!TestEnvironment.HasProgram("haproxy"))
        {
            Assert.Skip("needs haproxy");
        }
        using var pki = new TestPki();
        await using var s = new Scenario();
        s.Lb.Topology = Topologies.ActiveStandby;
        s.Amphora.VrrpIp = "127.0.0.1";
        s.Lb.Amphorae.Add(new AmphoraEntity { Id = NewId(), VrrpIp = "127.0.0.2", Status = ProvisioningStatus.Allocated });
        s.Lb.AdditionalVips.Add(new AdditionalVip { LoadBalancerId = s.Lb.Id, SubnetId = "s2", IpAddress = "127.0.0.9" });
        Directory.CreateDirectory(s.CertDir);

        var pools = new List<Pool>();
        string[] hmTypes = [HealthMonitorTypes.Http, HealthMonitorTypes.Https, HealthMonitorTypes.Tcp, HealthMonitorTypes.TlsHello, HealthMonitorTypes.Ping];
        string[] persistence = [SessionPersistenceTypes.SourceIp, SessionPersistenceTypes.HttpCookie, SessionPersistenceTypes.AppCookie];
        for (var i = 0; i < hmTypes.Length; i++)
        {
            var p = s.AddPool(algorithm: LbAlgorithms.All[i % LbAlgorithms.All.Length]);
            p.HealthMonitor = Monitor(hmTypes[i]);
            p.HealthMonitor.HttpVersion = i == 0 ? 1.1 : i == 1 ? 1.0 : null;
            p.HealthMonitor.DomainName = i == 0 ? "health.example" : null;
            if (i < persistence.Length)
            {
                p.SessionPersistence = new SessionPersistence { PoolId = p.Id, Type = persistence[i], CookieName = "JSESSIONID" };
            }
            var m = Scenario.AddMember(p, "127.0.0.1", 8000 + i, weight: i);
            m.MonitorAddress = "127.0.0.3";
            m.MonitorPort = 9000 + i;
            Scenario.AddMember(p, "127.0.0.2", 8000 + i, backup: true).Enabled = false;
            pools.Add(p);
        }
        var proxy = s.AddPool(Protocols.Proxy);
        Scenario.AddMember(proxy, "127.0.0.1", 8100);
        var proxyV2 = s.AddPool(Protocols.ProxyV2, LbAlgorithms.SourceIpPort);
        Scenario.AddMember(proxyV2, "127.0.0.1", 8101);
        var tlsPool = s.AddPool();
        tlsPool.TlsEnabled = true;
        tlsPool.TlsCiphers = "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384";
        tlsPool.TlsVersions = ["TLSv1.2", "TLSv1.3"];
        tlsPool.AlpnProtocols = ["h2", "http/1.1"];
        tlsPool.CaTlsCertificateId = "ca";
        tlsPool.CrlContainerId = "crl";
        tlsPool.TlsCertificateId = "client";
        Scenario.AddMember(tlsPool, "127.0.0.1", 8443);
        var caPath = Path.Combine(s.CertDir, "ca.pem");
        File.WriteAllText(caPath, pki.CaPem);
        var crlPath = Path.Combine(s.CertDir, "crl.pem");
        File.WriteAllText(crlPath, Crl(pki));
        var clientPath = Path.Combine(s.CertDir, "client.pem");
        File.WriteAllText(clientPath, TestPki.Pem(pki.Issue("client", false)));

        var http = s.AddListener(Protocols.Http, pools[0]);
        http.ConnectionLimit = 100;
        http.InsertHeaders = new() { ["X-Forwarded-For"] = "true", ["X-Forwarded-Port"] = "true", ["X-Forwarded-Proto"] = "true" };
        http.AllowedCidrs.Add(new ListenerCidr { ListenerId = http.Id, Cidr = "127.0.0.0/8" });
        http.AllowedCidrs.Add(new ListenerCidr { ListenerId = http.Id, Cidr = "10.0.0.0/8" });
        var position = 1;
        foreach (var type in new[] { L7RuleTypes.HostName, L7RuleTypes.Path, L7RuleTypes.FileType, L7RuleTypes.Header, L7RuleTypes.Cookie })
        {
            foreach (var compare in L7RuleCompareTypes.All)
            {
                var policy = new L7Policy { Id = NewId(), ListenerId = http.Id, Position = position++, Action = L7PolicyActions.RedirectToPool, RedirectPool = pools[position % pools.Count] };
                policy.L7Rules.Add(Rule(type, compare, compare == L7RuleCompareTypes.Regex ? "^/a b\\d+$" : "va lue", key: "X-Key", invert: position % 2 == 0));
                http.L7Policies.Add(policy);
            }
        }
        http.L7Policies.Add(new L7Policy { Id = NewId(), Position = position++, Action = L7PolicyActions.Reject, L7Rules = [Rule(L7RuleTypes.Path, L7RuleCompareTypes.StartsWith, "/deny")] });
        http.L7Policies.Add(new L7Policy { Id = NewId(), Position = position++, Action = L7PolicyActions.RedirectToUrl, RedirectUrl = "https://example.com/", RedirectHttpCode = 302, L7Rules = [Rule(L7RuleTypes.Path, L7RuleCompareTypes.EqualTo, "/go")] });
        http.L7Policies.Add(new L7Policy { Id = NewId(), Position = position++, Action = L7PolicyActions.RedirectPrefix, RedirectPrefix = "https://example.org", RedirectHttpCode = 307, L7Rules = [Rule(L7RuleTypes.Path, L7RuleCompareTypes.EqualTo, "/pre")] });

        var terminated = s.AddListener(Protocols.TerminatedHttps, tlsPool);
        terminated.TlsCertificateId = "default";
        File.WriteAllText(Path.Combine(s.CertDir, terminated.Id + ".pem"), WritePem(s, pki.Issue("lb.example", true)) + "\n");
        terminated.ClientCaTlsCertificateId = "client-ca";
        terminated.ClientCrlContainerId = "client-crl";
        terminated.ClientAuthentication = ClientAuthenticationModes.Optional;
        terminated.TlsCiphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
        terminated.TlsVersions = ["TLSv1.2"];
        terminated.AlpnProtocols = ["h2", "http/1.1"];
        terminated.HstsMaxAge = 31536000;
        terminated.HstsPreload = true;
        terminated.TimeoutTcpInspect = 100;
        terminated.InsertHeaders = new()
        {
            ["X-SSL-Client-Verify"] = "true",
            ["X-SSL-Client-Has-Cert"] = "true",
            ["X-SSL-Client-DN"] = "true",
            ["X-SSL-Client-CN"] = "true",
            ["X-SSL-Issuer"] = "true",
            ["X-SSL-Client-SHA1"] = "true",
            ["X-SSL-Client-Not-Before"] = "true",
            ["X-SSL-Client-Not-After"] = "true",
        };
        terminated.L7Policies.Add(new L7Policy
        {
            Id = NewId(),
            Position = 1,
            Action = L7PolicyActions.Reject,
            L7Rules =
            [
                Rule(L7RuleTypes.SslConnHasCert, L7RuleCompareTypes.EqualTo, "True"),
                Rule(L7RuleTypes.SslVerifyResult, L7RuleCompareTypes.EqualTo, "1", invert: true),
                Rule(L7RuleTypes.SslDnField, L7RuleCompareTypes.Regex, "^bad", key: "CN"),
            ],
        });
        s.AddListener(Protocols.Tcp, proxyV2);
        s.AddListener(Protocols.Https, proxy);
        s.AddListener(Protocols.Prometheus);
        var tls = new HaproxyTlsFiles
        {
            SecretFileNames = new Dictionary<string, string> { ["client-ca"] = "ca.pem", ["client-crl"] = "crl.pem" },
            Pools = new Dictionary<string, PoolTlsFiles> { [tlsPool.Id] = new(clientPath, caPath, crlPath) },
        };

        var config = s.Render(tls);
        var (rc, output) = HaproxyInstance.Check(config, s.Dir, HaproxyConfigRenderer.PeerName(s.Amphora.Id));

        rc.ShouldBe(0, output + "\n" + config);
        output.ShouldNotContain("ALERT");
        config.ShouldContain($"peers {s.Lb.Id.Replace("-", "", StringComparison.Ordinal)}_peers");
        config.ShouldContain($"    peer {HaproxyConfigRenderer.PeerName(s.Amphora.Id)} 127.0.0.1:1025");
        config.ShouldContain("    external-check\n    insecure-fork-wanted\n");
        config.ShouldContain("    bind 127.0.0.9:");
        config.ShouldContain("http-check expect rstatus 200|201|202|204");
        config.ShouldContain("    option httpchk HEAD /healthz HTTP/1.1\n    http-check send hdr Host health.example\n");
        config.ShouldContain(" check check-ssl verify none inter 5s fall 3 rise 2 addr 127.0.0.3 port 9001");
        config.ShouldContain(" crl-file " + crlPath + " verify required sni ssl_fc_sni ciphers ");
        config.ShouldContain(" ciphers ECDHE-ECDSA-AES128-GCM-SHA256 no-sslv3 no-tlsv10 no-tlsv11 no-tlsv13 alpn h2,http/1.1");
        config.ShouldContain("send-proxy-v2");
        config.ShouldContain("va\\ lue");
    }

    private static string WritePem(Scenario s, X509Certificate2 cert)
    {
        var path = Path.Combine(s.CertDir, NewId() + ".pem");
        File.WriteAllText(path, TestPki.Pem(cert));
        return path;
    }

    private static string Crl(TestPki pki)
    {
        var builder = new CertificateRevocationListBuilder();
        builder.AddEntry(RandomNumberGenerator.GetBytes(8), DateTimeOffset.UtcNow.AddHours(-1));
        var der = builder.Build(pki.Ca, 1, DateTimeOffset.UtcNow.AddDays(7), HashAlgorithmName.SHA256);
        return PemEncoding.WriteString("X509 CRL", der) + "\n";
    }

    private static (LoadBalancer Lb, AmphoraEntity Amp) Simple(string protocol = Protocols.Http)
    {
        var lb = new LoadBalancer { Id = NewId(), ProjectId = "proj", Vip = new Vip { IpAddress = "10.0.0.10" }, Topology = Topologies.Single };
        var amp = new AmphoraEntity { Id = NewId(), Status = ProvisioningStatus.Allocated };
        lb.Amphorae.Add(amp);
        var pool = new Pool { Id = NewId(), Protocol = protocol == Protocols.Udp ? Protocols.Udp : Protocols.Http, LbAlgorithm = LbAlgorithms.RoundRobin };
        lb.Listeners.Add(new Listener { Id = NewId(), Protocol = protocol, ProtocolPort = 80, DefaultPool = pool });
        return (lb, amp);
    }

    [Theory]
    [InlineData(Protocols.Udp)]
    [InlineData(Protocols.Sctp)]
    public void Render_UdpOrSctpListener_ThrowsNoIpvs(string protocol)
    {
        var (lb, amp) = Simple(protocol);

        var e = Should.Throw<HaproxyConfigException>(() => HaproxyConfigRenderer.Render(lb, amp, new RenderOptions()));

        e.Message.ShouldStartWith($"{protocol} listeners are not supported by this amphora driver: the kernel has no IPVS");
    }

    [Fact]
    public void Render_ConnectionLimitAboveCap_ThrowsClearError()
    {
        var (lb, amp) = Simple();
        lb.Listeners[0].ConnectionLimit = 20000;

        var e = Should.Throw<HaproxyConfigException>(() => HaproxyConfigRenderer.Render(lb, amp, new RenderOptions()));

        e.Message.ShouldContain("connection_limit 20000");
        e.Message.ShouldContain("max_global_connections");
    }

    [Fact]
    public void Render_ListenerLimits_SumIntoGlobalMaxconnWithinCap()
    {
        var (lb, amp) = Simple();
        lb.Listeners[0].ConnectionLimit = 1000;
        lb.Listeners.Add(new Listener { Id = NewId(), Protocol = Protocols.Tcp, ProtocolPort = 81, ConnectionLimit = 2000 });
        var both = HaproxyConfigRenderer.Render(lb, amp, new RenderOptions());
        lb.Listeners.Add(new Listener { Id = NewId(), Protocol = Protocols.Tcp, ProtocolPort = 82, ConnectionLimit = -1 });

        var capped = HaproxyConfigRenderer.Render(lb, amp, new RenderOptions { MaxGlobalConnections = 4000 });

        both.ShouldContain("    maxconn 3000\n");
        capped.ShouldContain("    maxconn 4000\n");
        capped.ShouldContain($"frontend {lb.Listeners[2].Id}\n    maxconn 4000\n");
    }

    [Fact]
    public void Render_TcpListener_LogFormatDropsHttpFields()
    {
        var (lb, amp) = Simple(Protocols.Tcp);

        var config = HaproxyConfigRenderer.Render(lb, amp, new RenderOptions());

        config.ShouldContain($"    log-format proj\\ {lb.Id}\\ %f\\ %ci\\ %cp\\ %t\\ -\\ -\\ %B\\ %U");
        HaproxyConfigRenderer.Render(lb, amp, new RenderOptions { ConnectionLogging = false }).ShouldContain("    no log\n");
    }

    [Fact]
    public void PeerName_MatchesUpstreamHashAmpId()
    {
        // Values computed with upstream's octavia.common.utils.base64_sha1_string.
        HaproxyConfigRenderer.PeerName("0e3f0f3c-8c3a-4d41-9d7b-1d3b2c7a1e55").ShouldBe("bizwzWLYuJPR1TygC6OKmiv4rZw");
        HaproxyConfigRenderer.PeerName("amp-1").ShouldBe("nb4_5hKf-EYlJ2pGnOD7IGY2jng");
    }

    [Fact]
    public void FromConfig_ReadsHaproxyAmphoraOptions()
    {
        var config = OctaviaConfig.FromText("[haproxy_amphora]\nbase_path = /srv/amp\nmax_global_connections = 3000\nconnection_logging = false\n[amphora_agent]\nuser_log_facility = 3\n");

        var options = RenderOptions.FromConfig(config);

        options.BasePath.ShouldBe("/srv/amp");
        options.MaxGlobalConnections.ShouldBe(3000);
        options.ConnectionLogging.ShouldBeFalse();
        options.UserLogFacility.ShouldBe(3);
        options.DefaultConnectionLimit.ShouldBe(50000);
    }

    private const string CustomTemplate = """
        # custom template for {{ loadbalancer.id }}
        global
            maxconn {{ loadbalancer.global_connection_limit }}
            stats socket {{ stats_sock }} mode 0666 level user
        defaults
            timeout connect 5s
            timeout client 5s
            timeout server 5s
        {% for listener in loadbalancer.listeners %}
        frontend {{ listener.id }}
            bind {{ loadbalancer.vip_address }}:{{ listener.protocol_port }}
            mode {{ listener.protocol_mode }}
            http-response set-header X-Template custom{% if loadbalancer.topology == constants.TOPOLOGY_SINGLE %}-single{% endif %}
            default_backend {{ listener.default_pool.id }}:{{ listener.id }}
        backend {{ listener.default_pool.id }}:{{ listener.id }}
            mode {{ listener.default_pool.protocol }}
        {% for member in listener.default_pool.members %}    server {{ member.id }} {{ member.address }}:{{ member.protocol_port }} weight {{ member.weight }}
        {% endfor %}{% endfor %}
        """;

    [Fact]
    public async Task CustomTemplate_IsRenderedAndServesTraffic()
    {
        if (!TestEnvironment.HasProgram("haproxy"))
        {
            Assert.Skip("needs haproxy");
        }
        await using var s = new Scenario();
        var pool = s.AddPool();
        await s.AddBackendAsync(pool, "a");
        var l = s.AddListener(Protocols.Http, pool);
        var templatePath = Path.Combine(s.Dir, "custom.cfg.liquid");
        File.WriteAllText(templatePath, CustomTemplate);
        var renderer = new HaproxyConfigRenderer(s.Options, templatePath);

        var config = renderer.Render(s.Lb, s.Amphora);
        await s.StartAsync(config: config);
        using var client = Scenario.Client();
        using var resp = await client.GetAsync(s.Url(l), Ct);

        config.ShouldStartWith($"# custom template for {s.Lb.Id}");
        config.ShouldContain($"    server {pool.Members[0].Id} 127.0.0.1:{pool.Members[0].ProtocolPort} weight 1");
        resp.Headers.GetValues("X-Template").Single().ShouldBe("custom-single");
        (await resp.Content.ReadAsStringAsync(Ct)).ShouldBe("a");
    }

    [Fact]
    public void CustomTemplate_ParseError_IsReportedWithItsPath()
    {
        var path = Path.Combine(Path.GetTempPath(), "odp-" + NewId() + ".liquid");
        File.WriteAllText(path, "{% for x in %}");
        try
        {
            Should.Throw<HaproxyConfigException>(() => new HaproxyConfigRenderer(new RenderOptions(), path)).Message.ShouldContain(path);
            Should.Throw<HaproxyConfigException>(() => new HaproxyConfigRenderer(new RenderOptions(), path + ".missing")).Message.ShouldContain("does not exist");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task PingHealthMonitor_RunsExternalCheckPerMember()
    {
        if (!TestEnvironment.HasProgram("haproxy"))
        {
            Assert.Skip("needs haproxy");
        }
        await using var s = new Scenario();
        // Stands in for upstream's ping-wrapper.sh (ping is not installed here): same contract, HAProxy's env.
        var wrapper = Path.Combine(s.Dir, "ping-wrapper.sh");
        File.WriteAllText(wrapper, "#!/bin/sh\n[ \"$HAPROXY_SERVER_ADDR\" = \"127.0.0.1\" ]\n");
        File.SetUnixFileMode(wrapper, (UnixFileMode)0b111_101_101);
        s.Options = s.Options with { PingWrapperPath = wrapper };
        var pool = s.AddPool();
        pool.HealthMonitor = new HealthMonitor { Id = NewId(), Type = HealthMonitorTypes.Ping, Delay = 1, Timeout = 1, FallThreshold = 1, RiseThreshold = 1 };
        var up = await s.AddBackendAsync(pool, "a");
        var down = await s.AddBackendAsync(pool, "b", address: "127.0.0.2");
        var l = s.AddListener(Protocols.Http, pool);
        await s.StartAsync();
        var backend = $"{pool.Id}:{l.Id}";

        await s.Haproxy!.WaitForServerStatusAsync(backend, down.Id, "DOWN", TimeSpan.FromSeconds(10));
        (await s.Haproxy.ServerStatusAsync(backend, up.Id)).ShouldBe("UP");
        (await s.Haproxy.CommandAsync("show stat")).ShouldContain("PROCOK");
    }

    [Fact]
    public void ExpandExpectedCodes_RangesAndLists_AreSortedAndJoined()
    {
        HaproxyConfigTransform.ExpandExpectedCodes("204, 200-202").ShouldBe("200|201|202|204");
        Should.Throw<HaproxyConfigException>(() => HaproxyConfigTransform.ExpandExpectedCodes("2xx"));
    }
}
