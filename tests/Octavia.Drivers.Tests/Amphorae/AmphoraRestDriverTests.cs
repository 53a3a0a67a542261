// Licensed under the Apache License, Version 2.0.

using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using Octavia.Core.Drivers;
using Octavia.Core.Model;
using Octavia.Drivers.Amphorae;
using Octavia.Drivers.Tests.Amphorae.Support;
using Octavia.Tests.Shared;
using AmphoraEntity = Octavia.Core.Model.Amphora;

namespace Octavia.Drivers.Tests.Amphorae;

/// <summary>The REST driver against a real mutual-TLS server (the agent itself is tested at integration).</summary>
public sealed class AmphoraRestDriverTests : IAsyncLifetime
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly TestPki _serverCa = new("odp server CA");
    private readonly TestPki _clientCa = new("odp client CA");
    private readonly string _dir = Directory.CreateTempSubdirectory("odp-rest-").FullName;
    private readonly AmphoraEntity _amphora = new()
    {
        Id = Guid.NewGuid().ToString(),
        LbNetworkIp = "127.0.0.1",
        Status = ProvisioningStatus.Allocated,
        Role = AmphoraRoles.Standalone,
    };
    private FakeAgent _agent = null!;
    private string _clientCertPath = null!;
    private string _serverCaPath = null!;

    public async ValueTask InitializeAsync()
    {
        _clientCertPath = Path.Combine(_dir, "client.pem");
        File.WriteAllText(_clientCertPath, TestPki.Pem(_clientCa.Issue("octavia-controller", false)));
        _serverCaPath = Path.Combine(_dir, "server_ca.pem");
        File.WriteAllText(_serverCaPath, _serverCa.CaPem);
        _agent = await StartAgentAsync(_serverCa.Issue(_amphora.Id, true, _amphora.Id));
    }

    private Task<FakeAgent> StartAgentAsync(X509Certificate2 serverCert) =>
        FakeAgent.StartAsync(serverCert, _clientCa.Ca, Path.Combine(_dir, "certs"));

    public async ValueTask DisposeAsync()
    {
        await _agent.DisposeAsync();
        _serverCa.Dispose();
        _clientCa.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private AmphoraRestDriver Driver(FakeAgent agent, ICertManager? certs = null, int retries = 3) => new(
        new AmphoraRestDriverOptions
        {
            ClientCertPath = _clientCertPath,
            ServerCaPath = _serverCaPath,
            AgentPort = agent.Port,
            ConnectionMaxRetries = retries,
            ConnectionRetryInterval = TimeSpan.FromMilliseconds(20),
            ConnectTimeout = TimeSpan.FromSeconds(2),
            ReadTimeout = TimeSpan.FromSeconds(5),
            Render = new RenderOptions { BasePath = _dir, BaseCertDir = Path.Combine(_dir, "certs"), LogHttp = "127.0.0.1:9", LogServer = "127.0.0.1:9" },
        },
        certs ?? new MemoryCertManager(), TimeProvider.System, NullLogger<AmphoraRestDriver>.Instance);

    private sealed class MemoryCertManager : ICertManager
    {
        public Dictionary<string, TlsContainer> Containers { get; } = [];

        public Dictionary<string, string> Secrets { get; } = [];

        public Task<TlsContainer> GetAsync(string? projectId, string reference, CancellationToken cancellationToken) =>
            Containers.TryGetValue(reference, out var c) ? Task.FromResult(c) : throw new CertificateRetrievalException($"no container {reference}");

        public Task<string> GetSecretAsync(string? projectId, string reference, CancellationToken cancellationToken) =>
            Secrets.TryGetValue(reference, out var s) ? Task.FromResult(s) : throw new CertificateRetrievalException($"no secret {reference}");
    }

    private static TlsContainer Container(string id, X509Certificate2 cert) =>
        new(id, cert.ExportCertificatePem(), cert.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem(), [], cert.GetNameInfo(X509NameType.SimpleName, false));

    private LoadBalancer TlsLoadBalancer(MemoryCertManager certs, TestPki listenerPki)
    {
        var lb = new LoadBalancer { Id = Guid.NewGuid().ToString(), ProjectId = "p1", Topology = Topologies.Single, Vip = new Vip { IpAddress = "127.0.0.1" } };
        lb.Amphorae.Add(_amphora);
        var pool = new Pool { Id = Guid.NewGuid().ToString(), Protocol = Protocols.Http, LbAlgorithm = LbAlgorithms.RoundRobin, TlsEnabled = true, CaTlsCertificateId = "pool-ca" };
        pool.Members.Add(new Member { Id = Guid.NewGuid().ToString(), IpAddress = "127.0.0.1", ProtocolPort = 8443, Weight = 1 });
        var listener = new Listener
        {
            Id = Guid.NewGuid().ToString(),
            Protocol = Protocols.TerminatedHttps,
            ProtocolPort = TestEnvironment.FreeTcpPort(),
            DefaultPool = pool,
            TlsCertificateId = "default-cert",
            ClientCaTlsCertificateId = "client-ca",
            ClientAuthentication = ClientAuthenticationModes.Mandatory,
        };
        listener.SniContainers.Add(new Sni { ListenerId = listener.Id, TlsContainerId = "sni-2", Position = 2 });
        listener.SniContainers.Add(new Sni { ListenerId = listener.Id, TlsContainerId = "sni-1", Position = 1 });
        lb.Listeners.Add(listener);
        certs.Containers["default-cert"] = Container("default-cert", listenerPki.Issue("default.example", true));
        certs.Containers["sni-1"] = Container("sni-1", listenerPki.Issue("one.example", true));
        certs.Containers["sni-2"] = Container("sni-2", listenerPki.Issue("two.example", true));
        certs.Secrets["client-ca"] = _clientCa.CaPem;
        certs.Secrets["pool-ca"] = listenerPki.CaPem;
        return lb;
    }

    [Fact]
    public async Task UpdateAsync_TlsListener_UploadsCertificatesConfigThenReloadsOverMutualTls()
    {
        using var listenerPki = new TestPki("odp listener CA");
        var certs = new MemoryCertManager();
        var lb = TlsLoadBalancer(certs, listenerPki);
        using var driver = Driver(_agent, certs);

        await driver.UpdateAsync(lb, _amphora, Ct);

        var calls = _agent.Calls.ToList();
        calls.ShouldAllBe(c => c.UserAgent == AmphoraRestDriver.UserAgent && c.ClientCertSubject == "octavia-controller");
        var puts = calls.Where(c => c.Method == "PUT").Select(c => c.Path).ToList();
        puts.Count(p => p.Contains("/certificates/", StringComparison.Ordinal)).ShouldBe(6); // 3 certs, crt-list, client CA, pool CA
        puts[^2].ShouldBe($"/1.0/loadbalancer/{_amphora.Id}/{lb.Id}/haproxy");
        puts[^1].ShouldBe($"/1.0/loadbalancer/{lb.Id}/reload");
        var crtList = _agent.Files[$"{lb.Id}/{lb.Listeners[0].Id}.pem"].Split('\n', StringSplitOptions.RemoveEmptyEntries);
        crtList.Length.ShouldBe(3);
        File.ReadAllText(crtList[0]).ShouldContain(certs.Containers["default-cert"].CertificatePem.Trim());
        File.ReadAllText(crtList[1]).ShouldContain(certs.Containers["sni-1"].CertificatePem.Trim());
        var config = _agent.Files[$"{lb.Id}/haproxy.cfg"];
        config.ShouldContain($"ssl crt-list {Path.Combine(_dir, "certs", lb.Id, lb.Listeners[0].Id + ".pem")} ca-file ");
        config.ShouldContain("verify required");
        if (TestEnvironment.HasProgram("haproxy"))
        {
            var (rc, output) = HaproxyInstance.Check(config, _dir);
            rc.ShouldBe(0, output);
        }
    }

    [Fact]
    public async Task UpdateAsync_Twice_SkipsCertificatesWhoseMd5Matches()
    {
        using var listenerPki = new TestPki("odp listener CA");
        var certs = new MemoryCertManager();
        var lb = TlsLoadBalancer(certs, listenerPki);
        using var driver = Driver(_agent, certs);
        await driver.UpdateAsync(lb, _amphora, Ct);
        _agent.Calls.Clear();

        await driver.UpdateAsync(lb, _amphora, Ct);

        _agent.Calls.Where(c => c.Method == "PUT").Select(c => c.Path).ShouldBe(
            [$"/1.0/loadbalancer/{_amphora.Id}/{lb.Id}/haproxy", $"/1.0/loadbalancer/{lb.Id}/reload"]);
    }

    private LoadBalancer HttpLoadBalancer()
    {
        var lb = new LoadBalancer { Id = Guid.NewGuid().ToString(), ProjectId = "p1", Topology = Topologies.Single, Vip = new Vip { IpAddress = "127.0.0.1" } };
        lb.Amphorae.Add(_amphora);
        var pool = new Pool { Id = Guid.NewGuid().ToString(), Protocol = Protocols.Http, LbAlgorithm = LbAlgorithms.RoundRobin };
        pool.Members.Add(new Member { Id = Guid.NewGuid().ToString(), IpAddress = "127.0.0.1", ProtocolPort = 8081, Weight = 1 });
        lb.Listeners.Add(new Listener { Id = Guid.NewGuid().ToString(), Protocol = Protocols.Http, ProtocolPort = 8080, DefaultPool = pool });
        return lb;
    }

    private int InfoCalls() => _agent.Calls.Count(c => c.Method == "GET" && c.Path == "/1.0/info");

    [Fact]
    public async Task UpdateAsync_SameAmphora_AsksTheHaproxyVersionOnceAndRendersAlike()
    {
        _amphora.ComputeId = "compute-1";
        var lb = HttpLoadBalancer();
        using var driver = Driver(_agent);

        await driver.UpdateAsync(lb, _amphora, Ct);
        var first = _agent.Files[$"{lb.Id}/haproxy.cfg"];
        await driver.UpdateAsync(lb, _amphora, Ct);

        InfoCalls().ShouldBe(1);
        _agent.Files[$"{lb.Id}/haproxy.cfg"].ShouldBe(first);
    }

    [Fact]
    public async Task UpdateAsync_AfterConnectivityWait_UsesTheVersionItsInfoAnswerCarried()
    {
        _amphora.ComputeId = "compute-1";
        var lb = HttpLoadBalancer();
        using var fresh = Driver(_agent);
        await fresh.UpdateAsync(lb, _amphora, Ct);
        var asked = _agent.Files[$"{lb.Id}/haproxy.cfg"];
        _agent.Calls.Clear();
        using var driver = Driver(_agent);

        await driver.WaitForConnectivityAsync(_amphora, 3, TimeSpan.FromMilliseconds(20), Ct);
        await driver.UpdateAsync(lb, _amphora, Ct);

        InfoCalls().ShouldBe(1);
        _agent.Files[$"{lb.Id}/haproxy.cfg"].ShouldBe(asked);
    }

    [Fact]
    public async Task UpdateAsync_AmphoraOnAnotherComputeInstance_AsksTheVersionAgain()
    {
        _amphora.ComputeId = "compute-1";
        var lb = HttpLoadBalancer();
        using var driver = Driver(_agent);
        await driver.UpdateAsync(lb, _amphora, Ct);
        var for26 = _agent.Files[$"{lb.Id}/haproxy.cfg"];

        _amphora.ComputeId = "compute-2";
        _agent.HaproxyVersion = "1.5.18-1";
        await driver.UpdateAsync(lb, _amphora, Ct);

        InfoCalls().ShouldBe(2);
        using var fresh = Driver(_agent);
        await fresh.UpdateAsync(lb, _amphora, Ct);
        var for15 = _agent.Files[$"{lb.Id}/haproxy.cfg"];
        for15.ShouldNotBe(for26);
    }

    [Theory]
    [InlineData("{\"haproxy_version\":\"2.6.12-1+deb12u4\"}", "2.6")]
    [InlineData("{\"haproxy_version\":\"1.8.19-1\"}", "1.8")]
    [InlineData("{\"haproxy_version\":\"unknown\"}", null)]
    [InlineData("{}", null)]
    [InlineData("not json", null)]
    public void ParseHaproxyVersion_ReadsMajorMinor(string body, string? expected) =>
        AmphoraRestDriver.ParseHaproxyVersion(body)?.ToString().ShouldBe(expected);

    [Fact]
    public async Task Request_AgentCertificateForAnotherAmphora_IsRefusedWithoutRetrying()
    {
        await using var impostor = await StartAgentAsync(_serverCa.Issue("some-other-amphora", true, "some-other-amphora"));
        using var driver = Driver(impostor, retries: 5);

        var e = await Should.ThrowAsync<AmphoraConnectionException>(() => driver.GetInfoAsync(_amphora, Ct));

        e.Message.ShouldContain("Refusing amphora");
        impostor.Calls.ShouldBeEmpty();
    }

    [Fact]
    public async Task Request_AgentCertificateFromAnotherCa_IsRefused()
    {
        using var rogueCa = new TestPki("odp rogue CA");
        await using var rogue = await StartAgentAsync(rogueCa.Issue(_amphora.Id, true, _amphora.Id));
        using var driver = Driver(rogue);

        await Should.ThrowAsync<AmphoraConnectionException>(() => driver.GetInfoAsync(_amphora, Ct));

        rogue.Calls.ShouldBeEmpty();
    }

    [Fact]
    public async Task Request_404WithoutJson_IsRetriedUntilTheAgentAnswers()
    {
        _agent.NotReadyFor = 2;
        using var driver = Driver(_agent, retries: 5);

        var info = await driver.GetInfoAsync(_amphora, Ct);

        info.ShouldContain("\"api_version\":\"1.0\"");
        _agent.Calls.Count.ShouldBe(3);
    }

    [Fact]
    public async Task WaitForConnectivity_NothingListening_GivesUpAfterMaxRetries()
    {
        var closedPort = TestEnvironment.FreeTcpPort();
        var options = new AmphoraRestDriverOptions
        {
            ClientCertPath = _clientCertPath,
            ServerCaPath = _serverCaPath,
            AgentPort = closedPort,
            ConnectionRetryInterval = TimeSpan.FromMilliseconds(10),
            ConnectTimeout = TimeSpan.FromSeconds(1),
        };
        using var driver = new AmphoraRestDriver(options, new MemoryCertManager(), TimeProvider.System, NullLogger<AmphoraRestDriver>.Instance);

        var e = await Should.ThrowAsync<AmphoraConnectionException>(
            () => driver.WaitForConnectivityAsync(_amphora, 3, TimeSpan.FromMilliseconds(10), Ct));

        e.Message.ShouldContain("Connection retries (currently set to 3) exhausted");
    }

    [Fact]
    public async Task Request_404WithJson_IsNotFoundAtOnce()
    {
        using var driver = Driver(_agent, retries: 5);

        var e = await Should.ThrowAsync<AmphoraAgentException>(() => driver.GetInterfaceAsync(_amphora, "10.9.9.9", Ct));

        e.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        _agent.Calls.Count.ShouldBe(1);
        (await driver.GetInterfaceAsync(_amphora, "127.0.0.1", Ct)).ShouldBe("lo");
    }

    [Fact]
    public async Task Request_Agent500_ThrowsWithTheAgentsMessage()
    {
        _agent.FailWith = 500;
        using var driver = Driver(_agent);

        var e = await Should.ThrowAsync<AmphoraAgentException>(() => driver.VrrpActionAsync(_amphora, "reload", Ct));

        e.StatusCode.ShouldBe(HttpStatusCode.InternalServerError);
        e.Message.ShouldContain("agent failure");
    }

    [Fact]
    public async Task DeleteAsync_AgentHasNoSuchLoadBalancer_IsFine()
    {
        using var driver = Driver(_agent);
        var lb = new LoadBalancer { Id = Guid.NewGuid().ToString() };

        await driver.DeleteAsync(lb, _amphora, Ct);

        _agent.Calls.Single().Path.ShouldBe($"/1.0/listeners/{lb.Id}");
    }

    [Fact]
    public async Task UpdateVrrpConfig_UploadsKeepalivedConfWithPeer()
    {
        using var driver = Driver(_agent);
        var lb = new LoadBalancer
        {
            Id = Guid.NewGuid().ToString(),
            Topology = Topologies.ActiveStandby,
            Vip = new Vip { IpAddress = "198.18.20.100" },
            VrrpGroup = new VrrpGroup { VrrpGroupName = "grp", VrrpAuthType = "PASS", VrrpAuthPass = "secret12", AdvertInt = 1 },
        };
        _amphora.VrrpIp = "198.18.20.11";
        _amphora.VrrpInterface = "eth1";
        _amphora.VrrpId = 1;
        _amphora.Role = AmphoraRoles.Master;
        var peer = new AmphoraEntity { Id = Guid.NewGuid().ToString(), VrrpIp = "198.18.20.12", Status = ProvisioningStatus.Allocated };

        await driver.UpdateVrrpConfigAsync(lb, _amphora, [peer], Ct);

        var conf = _agent.Files["keepalived.conf"];
        conf.ShouldContain("unicast_src_ip 198.18.20.11");
        conf.ShouldContain("        198.18.20.12\n");
        conf.ShouldContain("priority 100");
        conf.ShouldNotContain("virtual_server");
    }

    [Fact]
    public async Task UpdateAsync_HaproxyTemplateFromConfig_UploadsTheOperatorsRendering()
    {
        var template = Path.Combine(_dir, "operator.liquid");
        File.WriteAllText(template, "# operator template {{ loadbalancer.id }}\n{% for l in loadbalancer.listeners %}frontend {{ l.id }}\n{% endfor %}");
        var config = Octavia.Core.Configuration.OctaviaConfig.FromText(
            $"[haproxy_amphora]\nclient_cert = {_clientCertPath}\nserver_ca = {_serverCaPath}\nbind_port = {_agent.Port}\n" +
            $"haproxy_template = {template}\nconnection_max_retries = 2\nconnection_retry_interval = 1\nbase_path = {_dir}\n");
        var options = AmphoraRestDriverOptions.FromConfig(config);
        using var driver = new AmphoraRestDriver(options, new MemoryCertManager(), TimeProvider.System, NullLogger<AmphoraRestDriver>.Instance);
        var lb = new LoadBalancer { Id = Guid.NewGuid().ToString(), Vip = new Vip { IpAddress = "127.0.0.1" } };
        var listener = new Listener { Id = Guid.NewGuid().ToString(), Protocol = Protocols.Http, ProtocolPort = 80 };
        lb.Listeners.Add(listener);

        await driver.UpdateAsync(lb, _amphora, Ct);

        options.AgentPort.ShouldBe(_agent.Port);
        options.ConnectionMaxRetries.ShouldBe(2);
        options.Render.BasePath.ShouldBe(_dir);
        _agent.Files[$"{lb.Id}/haproxy.cfg"].ShouldBe($"# operator template {lb.Id}\nfrontend {listener.Id}\n");
    }

    [Fact]
    public async Task PostVipPlug_SendsUpstreamNetInfo()
    {
        using var driver = Driver(_agent);
        var lb = new LoadBalancer { Id = Guid.NewGuid().ToString(), Vip = new Vip { IpAddress = "198.18.20.100" } };
        _amphora.VrrpIp = "198.18.20.11";
        var port = new PortInfo("port1", "vrrp", "net1", "fa:16:3e:00:00:01", [new FixedIp("sub1", "198.18.20.11")], _amphora.Id, "Octavia", "p1");
        var subnet = new SubnetInfo("sub1", "vip-subnet", "net1", "198.18.20.0/24", "198.18.20.1", 4, "p1", [new HostRoute("10.0.0.0/8", "198.18.20.254")]);

        await driver.PostVipPlugAsync(lb, _amphora, new AmphoraNetworkConfig { AmphoraId = _amphora.Id, VrrpPort = port, VipSubnet = subnet }, Ct);

        var call = _agent.Calls.Single();
        call.Path.ShouldBe("/1.0/plug/vip/198.18.20.100");
        var body = System.Text.Json.Nodes.JsonNode.Parse(call.Body)!;
        body["subnet_cidr"]!.GetValue<string>().ShouldBe("198.18.20.0/24");
        body["gateway"]!.GetValue<string>().ShouldBe("198.18.20.1");
        body["mac_address"]!.GetValue<string>().ShouldBe("fa:16:3e:00:00:01");
        body["vrrp_ip"]!.GetValue<string>().ShouldBe("198.18.20.11");
        body["mtu"]!.GetValue<int>().ShouldBe(1500);
        body["host_routes"]![0]!["nexthop"]!.GetValue<string>().ShouldBe("198.18.20.254");
    }

    [Fact]
    public void Constructor_ClientCertWithoutKey_FailsClearly()
    {
        var certOnly = Path.Combine(_dir, "cert-only.pem");
        File.WriteAllText(certOnly, _clientCa.CaPem);

        var e = Should.Throw<Exception>(() => new AmphoraRestDriver(
            new AmphoraRestDriverOptions { ClientCertPath = certOnly, ServerCaPath = _serverCaPath },
            new MemoryCertManager(), TimeProvider.System, NullLogger<AmphoraRestDriver>.Instance));

        e.Message.ShouldContain("client_cert");
    }
}
