// Licensed under the Apache License, Version 2.0.
// Measures what a HAProxy reload through the agent costs: wrk throughput and errors through a listener with
// and without back-to-back reloads (PUT /1.0/loadbalancer/{id}/reload over mTLS), and the reload latency.

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Octavia.Amphora.Agent;
using Octavia.Core.Configuration;

var seconds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10;
var dir = Path.Combine(Path.GetTempPath(), "oag-bench-" + Guid.NewGuid().ToString("N")[..8]);
Directory.CreateDirectory(dir);
try
{
    using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    var caReq = new CertificateRequest("CN=bench-ca", caKey, HashAlgorithmName.SHA256);
    caReq.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
    using var ca = caReq.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    (X509Certificate2 Cert, string Pem) Issue(string cn, string eku)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest($"CN={cn}", key, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(eku)], false));
        using var issued = req.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(10), RandomNumberGenerator.GetBytes(8));
        using var withKey = issued.CopyWithPrivateKey(key);
        return (X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null),
            withKey.ExportCertificatePem() + "\n" + key.ExportPkcs8PrivateKeyPem() + "\n");
    }
    var (_, serverPem) = Issue("bench-amphora", "1.3.6.1.5.5.7.3.1");
    var (client, _) = Issue("controller", "1.3.6.1.5.5.7.3.2");
    File.WriteAllText(Path.Combine(dir, "server.pem"), serverPem);
    File.WriteAllText(Path.Combine(dir, "ca.pem"), ca.ExportCertificatePem());
    var agentPort = FreePort();
    File.WriteAllText(Path.Combine(dir, "agent.conf"), $"""
        [haproxy_amphora]
        base_path = {dir}/state
        base_cert_dir = {dir}/certs
        bind_host = 127.0.0.1
        bind_port = {agentPort}
        [amphora_agent]
        agent_server_cert = {dir}/server.pem
        agent_server_ca = {dir}/ca.pem
        amphora_id = bench
        [health_manager]
        heartbeat_key = bench
        controller_ip_port_list = 127.0.0.1:9
        heartbeat_interval = 3600
        """);

    var backendPort = FreePort();
    var backendBuilder = WebApplication.CreateSlimBuilder();
    backendBuilder.Logging.ClearProviders();
    backendBuilder.WebHost.UseUrls($"http://127.0.0.1:{backendPort}");
    await using var backend = backendBuilder.Build();
    backend.MapGet("/", () => Results.Text("ok"));
    await backend.StartAsync();

    var settings = AgentSettings.FromConfig(OctaviaConfig.Load([Path.Combine(dir, "agent.conf")]));
    await using var agent = AgentHost.Build(settings, l => l.SetMinimumLevel(LogLevel.Warning));
    await agent.StartAsync();
    using var http = new HttpClient(new SocketsHttpHandler
    {
        SslOptions = new SslClientAuthenticationOptions
        {
            ClientCertificates = [client],
            RemoteCertificateValidationCallback = (_, cert, _, _) => cert is not null && cert.Issuer == ca.Subject,
        },
    })
    { BaseAddress = new Uri($"https://127.0.0.1:{agentPort}/") };

    var lb = "bench-lb";
    var listenPort = FreePort();
    var config = $"""
        global
            maxconn 4000
            stats socket {dir}/state/{lb}.sock mode 0666 level user
            hard-stop-after 30s
        defaults
            mode http
            timeout connect 5s
            timeout client 50s
            timeout server 50s
        frontend listener
            bind 127.0.0.1:{listenPort}
            default_backend pool:listener
        backend pool:listener
            server member 127.0.0.1:{backendPort}

        """;
    var upload = await http.PutAsync($"/1.0/loadbalancer/bench/{lb}/haproxy", new StringContent(config));
    if (!upload.IsSuccessStatusCode)
    {
        throw new InvalidOperationException(await upload.Content.ReadAsStringAsync());
    }
    (await http.PutAsync($"/1.0/loadbalancer/{lb}/start", null)).EnsureSuccessStatusCode();

    var url = $"http://127.0.0.1:{listenPort}/";
    var baseline = await Wrk(url, seconds);

    var wrkTask = Wrk(url, seconds);
    var latencies = new List<double>();
    var stopAt = Stopwatch.StartNew();
    await Task.Delay(500);
    while (stopAt.Elapsed < TimeSpan.FromSeconds(seconds - 1))
    {
        var sw = Stopwatch.StartNew();
        (await http.PutAsync($"/1.0/loadbalancer/{lb}/reload", null)).EnsureSuccessStatusCode();
        latencies.Add(sw.Elapsed.TotalMilliseconds);
    }
    var underReload = await wrkTask;
    latencies.Sort();

    Console.WriteLine("| run | req/s | requests | wrk errors | reloads | reload latency p50 / p95 / max (ms) |");
    Console.WriteLine("|---|---|---|---|---|---|");
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| no reload | {baseline.Rps:F0} | {baseline.Requests} | {baseline.Errors} | 0 | |"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| back-to-back reloads | {underReload.Rps:F0} | {underReload.Requests} | {underReload.Errors} | {latencies.Count} | {latencies[latencies.Count / 2]:F0} / {latencies[(int)(latencies.Count * 0.95)]:F0} / {latencies[^1]:F0} |"));
    await agent.StopAsync();
    await backend.StopAsync();
}
finally
{
    Directory.Delete(dir, recursive: true);
}

static int FreePort()
{
    using var l = new TcpListener(IPAddress.Loopback, 0);
    l.Start();
    return ((IPEndPoint)l.LocalEndpoint).Port;
}

static async Task<(double Rps, long Requests, string Errors)> Wrk(string url, int seconds)
{
    var psi = new ProcessStartInfo("wrk", ["-t1", "-c32", $"-d{seconds}s", url]) { RedirectStandardOutput = true };
    using var p = Process.Start(psi)!;
    var output = await p.StandardOutput.ReadToEndAsync();
    await p.WaitForExitAsync();
    double rps = double.Parse(Regex.Match(output, @"Requests/sec:\s+([\d.]+)").Groups[1].Value, CultureInfo.InvariantCulture);
    long requests = long.Parse(Regex.Match(output, @"(\d+) requests in").Groups[1].Value, CultureInfo.InvariantCulture);
    // connect errors would be refused new connections; read errors are idle keep-alive connections the old worker closed.
    var socket = Regex.Match(output, @"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)");
    var non2xx = Regex.Match(output, @"Non-2xx or 3xx responses: (\d+)");
    var errors = string.Create(CultureInfo.InvariantCulture,
        $"connect {(socket.Success ? socket.Groups[1].Value : "0")}, read {(socket.Success ? socket.Groups[2].Value : "0")}, write {(socket.Success ? socket.Groups[3].Value : "0")}, timeout {(socket.Success ? socket.Groups[4].Value : "0")}, non-2xx {(non2xx.Success ? non2xx.Groups[1].Value : "0")}");
    return (rps, requests, errors);
}
