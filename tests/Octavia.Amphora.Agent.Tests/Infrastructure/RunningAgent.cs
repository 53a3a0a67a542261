// Licensed under the Apache License, Version 2.0.

using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Octavia.Core.Configuration;
using Octavia.Tests.Shared;

namespace Octavia.Amphora.Agent.Tests.Infrastructure;

/// <summary>
/// A real agent on a loopback port with its own state directory, PKI and heartbeat receiver. HAProxy and
/// keepalived it starts are real processes; disposing stops them by PID and removes the directory.
/// </summary>
internal sealed class RunningAgent : IAsyncDisposable
{
    private readonly List<HttpClient> _clients = [];

    private RunningAgent(string dir)
    {
        Dir = dir;
    }

    public string Dir { get; }

    public string BasePath => Path.Combine(Dir, "state");

    public string CertDir => Path.Combine(Dir, "certs");

    public string ConfigPath => Path.Combine(Dir, "amphora-agent.conf");

    public string ServerPemPath => Path.Combine(Dir, "server.pem");

    public string AmphoraId { get; } = Guid.NewGuid().ToString();

    public int Port { get; private set; }

    public TestCa ServerCa { get; } = new("server-ca");

    public TestCa ClientCa { get; } = new("client-ca");

    public X509Certificate2 ClientCertificate { get; private set; } = null!;

    public UdpClient Heartbeats { get; } = new(new IPEndPoint(IPAddress.Loopback, 0));

    public int HeartbeatPort => ((IPEndPoint)Heartbeats.Client.LocalEndPoint!).Port;

    public string HeartbeatKey { get; } = "insecure-" + Guid.NewGuid().ToString("N")[..8];

    public WebApplication? App { get; private set; }

    public HttpClient Client { get; private set; } = null!;

    public string BindHost { get; private set; } = "127.0.0.1";

    public Uri BaseUri => new($"https://{BindHost}:{Port}/");

    public T Service<T>() where T : notnull => App!.Services.GetRequiredService<T>();

    /// <summary>Starts an agent in this process. <paramref name="extraConfig"/> is appended to the config file.</summary>
    public static async Task<RunningAgent> StartAsync(string extraConfig = "", int heartbeatInterval = 3600)
    {
        var dir = Path.Combine(Path.GetTempPath(), "oag-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(dir);
        var agent = new RunningAgent(dir);
        try
        {
            agent.WriteFiles(extraConfig, heartbeatInterval);
            var config = OctaviaConfig.Load([agent.ConfigPath]);
            var settings = AgentSettings.FromConfig(config);
            agent.App = AgentHost.Build(settings, logging => logging.AddFilter(level => level >= LogLevel.Warning).AddSimpleConsole());
            await agent.App.StartAsync();
            agent.Client = agent.NewClient(agent.ClientCertificate);
            return agent;
        }
        catch
        {
            await agent.DisposeAsync();
            throw;
        }
    }

    /// <summary>Writes certificates and config for an agent that will run elsewhere (the real executable in a namespace).</summary>
    public static RunningAgent Prepare(string extraConfig, int heartbeatInterval, string bindHost)
    {
        var dir = Path.Combine(Path.GetTempPath(), "oag-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(dir);
        var agent = new RunningAgent(dir);
        agent.WriteFiles(extraConfig, heartbeatInterval, bindHost);
        agent.Client = agent.NewClient(agent.ClientCertificate, new Uri($"https://{bindHost}:{agent.Port}/"));
        return agent;
    }

    /// <summary>Writes certificates and amphora-agent.conf (also used to run the real executable).</summary>
    public void WriteFiles(string extraConfig, int heartbeatInterval, string bindHost = "127.0.0.1")
    {
        Port = TestEnvironment.FreeTcpPort();
        BindHost = bindHost;
        var (serverCert, serverPem) = ServerCa.Issue(AmphoraId, server: true);
        serverCert.Dispose();
        File.WriteAllText(ServerPemPath, serverPem);
        File.WriteAllText(Path.Combine(Dir, "client_ca.pem"), ClientCa.CertificatePem);
        ClientCertificate = ClientCa.Issue("controller", server: false).Certificate;
        File.WriteAllText(ConfigPath, $"""
            [haproxy_amphora]
            base_path = {BasePath}
            base_cert_dir = {CertDir}
            bind_host = {bindHost}
            bind_port = {Port}

            [amphora_agent]
            agent_server_cert = {ServerPemPath}
            agent_server_ca = {Path.Combine(Dir, "client_ca.pem")}
            amphora_id = {AmphoraId}

            [health_manager]
            heartbeat_key = {HeartbeatKey}
            controller_ip_port_list = 127.0.0.1:{HeartbeatPort}
            heartbeat_interval = {heartbeatInterval}

            {extraConfig}
            """);
    }

    /// <summary>An HTTPS client that trusts only the server CA and presents <paramref name="certificate"/> (or none).</summary>
    public HttpClient NewClient(X509Certificate2? certificate, Uri? baseUri = null)
    {
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificates = certificate is null ? null : [certificate],
                RemoteCertificateValidationCallback = (_, cert, _, _) => VerifyServer(cert),
            },
            PooledConnectionLifetime = TimeSpan.FromSeconds(30),
        };
        var client = new HttpClient(handler) { BaseAddress = baseUri ?? BaseUri, Timeout = TimeSpan.FromSeconds(60) };
        _clients.Add(client);
        return client;
    }

    public X509Certificate2? LastServerCertificate { get; private set; }

    private bool VerifyServer(X509Certificate? cert)
    {
        if (cert is null)
        {
            return false;
        }
        var c = X509CertificateLoader.LoadCertificate(cert.GetRawCertData());
        LastServerCertificate = c;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ServerCa.Certificate);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(c);
    }

    public Task<HttpResponseMessage> PutTextAsync(string path, string text) =>
        Client.PutAsync(path, new StringContent(text, Encoding.UTF8, "text/plain"));

    /// <summary>Receives heartbeat datagrams until one arrives or the timeout passes.</summary>
    public async Task<byte[]?> ReceiveHeartbeatAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            var result = await Heartbeats.ReceiveAsync(cts.Token);
            return result.Buffer;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>Drops datagrams already queued (the beat sent at start).</summary>
    public void DrainHeartbeats()
    {
        while (Heartbeats.Available > 0)
        {
            IPEndPoint? from = null;
            Heartbeats.Receive(ref from);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var c in _clients)
        {
            c.Dispose();
        }
        if (App is not null)
        {
            await App.StopAsync();
            await App.DisposeAsync();
        }
        Heartbeats.Dispose();
        ServerCa.Dispose();
        ClientCa.Dispose();
        ClientCertificate?.Dispose();
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
