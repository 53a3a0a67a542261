// Licensed under the Apache License, Version 2.0.

using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Octavia.Core.Heartbeat;
using Octavia.Core.Model;
using Octavia.Drivers.Compute.Local;
using Octavia.Drivers.Network.Local;
using Octavia.Tests.Shared;

namespace Octavia.Drivers.Tests.Local;

/// <summary>
/// The driver with the real <c>octavia amphora-agent</c>: mutual TLS to the amphora's management
/// address, heartbeats back to the host, and a VIP plugged by the driver and configured by the agent.
/// </summary>
public sealed class RealAgentTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public Task RealAgent_Namespace_ServesMutualTlsSendsHeartbeatsAndPlugsTheVip()
    {
        if (!TestEnvironment.IsRoot)
        {
            Assert.Skip("needs root");
        }
        return RunAsync(LocalMode.Namespace);
    }

    [Fact]
    public Task RealAgent_Loopback_ServesMutualTlsAndSendsHeartbeats() => RunAsync(LocalMode.Loopback);

    private static async Task RunAsync(LocalMode mode)
    {
        var agentExe = AgentExecutable();
        await using var bed = LocalTestBed.Create(mode, agentExe, agentArguments: "amphora-agent");
        using var serverCa = TestCa.Create("olc-server-ca");
        using var clientCa = TestCa.Create("olc-client-ca");
        var id = Guid.NewGuid().ToString();
        const string heartbeatKey = "olc-heartbeat-key";
        var request = bed.Request(id) with
        {
            AgentConfig = $"""
                [haproxy_amphora]
                bind_host = ::
                bind_port = {bed.AgentPort}

                [health_manager]
                controller_ip_port_list = {LocalTestBed.Host(bed.MgmtCidr, 1)}:{bed.ControllerPort}
                heartbeat_interval = 1
                heartbeat_key = {heartbeatKey}

                [amphora_agent]
                agent_server_cert = /etc/octavia/certs/server.pem
                agent_server_ca = /etc/octavia/certs/client_ca.pem
                amphora_id = {id}

                [controller_worker]
                loadbalancer_topology = SINGLE
                """,
            ServerPem = serverCa.IssuePem(id, server: true),
            ClientCaPem = clientCa.CertificatePem,
        };
        if (mode == LocalMode.Namespace)
        {
            await bed.Network.EnsureHostNetworksAsync(Ct);
        }
        using var heartbeats = new UdpClient(new IPEndPoint(bed.ControllerAddress, bed.ControllerPort));
        bed.Track(id);

        await bed.Compute.BuildAsync(request, Ct);

        var instance = await bed.Compute.GetAsync(id, Ct);
        instance.Status.ShouldBe("ACTIVE", instance.Fault);
        using var client = clientCa.IssueClient("controller");
        using var http = Http(client, serverCa);
        var info = await GetInfoAsync(http, new Uri($"https://{instance.LbNetworkIp}:{bed.AgentPort}/1.0/info"), bed, id);
        info["api_version"]!.GetValue<string>().ShouldBe("1.0");

        using var wait = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        wait.CancelAfter(TimeSpan.FromSeconds(15));
        var packet = await heartbeats.ReceiveAsync(wait.Token);
        if (mode == LocalMode.Namespace)
        {
            // eth-mgmt is the amphora's only route to the host; in loopback mode the source is any 127.x.
            packet.RemoteEndPoint.Address.ShouldBe(IPAddress.Parse(instance.LbNetworkIp!));
        }
        var json = HeartbeatCodec.TryDecode(packet.Buffer, Encoding.UTF8.GetBytes(heartbeatKey), out var error);
        json.ShouldNotBeNull(error);
        JsonNode.Parse(json)!["id"]!.GetValue<string>().ShouldBe(id);

        if (mode == LocalMode.Namespace)
        {
            var lb = LocalTestBed.LoadBalancer(subnetId: bed.PrivateSubnet);
            lb.Vip = await bed.Network.AllocateVipAsync(lb, Ct);
            var config = await bed.Network.PlugVipAsync(lb, new Amphora { Id = id }, Ct);
            var body = new JsonObject
            {
                ["subnet_cidr"] = config.VipSubnet.Cidr,
                ["gateway"] = config.VipSubnet.GatewayIp,
                ["mac_address"] = config.VrrpPort.MacAddress,
                ["vrrp_ip"] = config.VrrpPort.FixedIps[0].IpAddress,
                ["mtu"] = 1500,
                ["host_routes"] = new JsonArray(),
            };
            using var plug = await http.PostAsJsonAsync(new Uri($"https://{instance.LbNetworkIp}:{bed.AgentPort}/1.0/plug/vip/{lb.Vip.IpAddress}"), body, Ct);
            ((int)plug.StatusCode).ShouldBe(202, await plug.Content.ReadAsStringAsync(Ct));
            LocalTestBed.Ip("-n", LinkTool.NamespaceName(id), "-o", "addr", "show", "dev", "eth-vip").Output.ShouldContain(lb.Vip.IpAddress + "/");
        }

        var agent = ProcessIdentity.Parse(LocalComputeDriver.ReadInstance(bed.Context.AmphoraDir(id))!.Agent!)!.Value;
        await bed.Compute.DeleteAsync(id, Ct);
        HostProcesses.IsAlive(agent).ShouldBeFalse();
    }

    private static async Task<JsonObject> GetInfoAsync(HttpClient http, Uri uri, LocalTestBed bed, string id)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                return (await http.GetFromJsonAsync<JsonObject>(uri, Ct))!;
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
                // Refused until the agent listens; it is a .NET process and takes a moment to start.
                (await bed.Compute.GetAsync(id, Ct)).Fault.ShouldBeNull();
                await Task.Delay(200, Ct);
            }
        }
    }

    private static HttpClient Http(X509Certificate2 clientCertificate, TestCa serverCa)
    {
        var handler = new SocketsHttpHandler
        {
            SslOptions =
            {
                ClientCertificates = [clientCertificate],
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                    certificate is not null && certificate.Issuer == serverCa.Certificate.Subject,
            },
        };
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
    }

    private static string AgentExecutable()
    {
        // OCTAVIA_TEST_AGENT_EXE points at another octavia build (e.g. a branch with the agent) when set.
        var exe = Environment.GetEnvironmentVariable("OCTAVIA_TEST_AGENT_EXE") is { Length: > 0 } given ? given : TestEnvironment.OctaviaExe;
        var (_, help) = TestEnvironment.Run(exe, "--help");
        if (!help.Contains("amphora-agent", StringComparison.Ordinal))
        {
            Assert.Skip($"{exe} has no amphora-agent command yet");
        }
        return exe;
    }

    private sealed class TestCa : IDisposable
    {
        private readonly ECDsa _key;

        private TestCa(ECDsa key, X509Certificate2 certificate)
        {
            _key = key;
            Certificate = certificate;
        }

        public X509Certificate2 Certificate { get; }

        public string CertificatePem => Certificate.ExportCertificatePem() + "\n";

        public static TestCa Create(string name)
        {
            var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            return new TestCa(key, request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30)));
        }

        /// <summary>A leaf as server.pem lays it out: certificate, then key.</summary>
        public string IssuePem(string commonName, bool server)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            using var issued = Issue(commonName, key, server);
            return issued.ExportCertificatePem() + "\n" + key.ExportPkcs8PrivateKeyPem() + "\n";
        }

        public X509Certificate2 IssueClient(string commonName)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            using var issued = Issue(commonName, key, server: false);
            using var withKey = issued.CopyWithPrivateKey(key);
            return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
        }

        public void Dispose()
        {
            Certificate.Dispose();
            _key.Dispose();
        }

        private X509Certificate2 Issue(string commonName, ECDsa key, bool server)
        {
            var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(server ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
            return request.Create(Certificate, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(29), RandomNumberGenerator.GetBytes(12));
        }
    }
}
