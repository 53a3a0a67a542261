// Licensed under the Apache License, Version 2.0.

using System.Net;
using System.Net.Sockets;
using Octavia.Core.Model;
using Octavia.Drivers.Amphorae;
using Octavia.Tests.Shared;
using AmphoraEntity = Octavia.Core.Model.Amphora;

namespace Octavia.Drivers.Tests.Amphorae.Support;

/// <summary>A load balancer under construction, its private directory, and the HAProxy running it.</summary>
internal sealed class Scenario : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _owned = [];

    public Scenario(string vip = "127.0.0.1")
    {
        Dir = Path.Combine(Path.GetTempPath(), "odp-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(Dir);
        // HAProxy drops to 'nobody' after reading its files; its checks still need to traverse here.
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(Dir, (UnixFileMode)0b111_101_101);
        }
        Options = new RenderOptions
        {
            BasePath = Dir,
            BaseCertDir = Path.Combine(Dir, "certs"),
            LogHttp = "127.0.0.1:9",
            LogServer = "127.0.0.1:9",
        };
        Lb = new LoadBalancer
        {
            Id = Guid.NewGuid().ToString(),
            ProjectId = "p1",
            Topology = Topologies.Single,
            Vip = new Vip { IpAddress = vip },
        };
        Amphora = new AmphoraEntity { Id = Guid.NewGuid().ToString(), Status = ProvisioningStatus.Allocated, Role = AmphoraRoles.Standalone };
        Lb.Amphorae.Add(Amphora);
    }

    public string Dir { get; }

    public RenderOptions Options { get; set; }

    public LoadBalancer Lb { get; }

    public AmphoraEntity Amphora { get; }

    public HaproxyInstance? Haproxy { get; private set; }

    public string CertDir => Path.Combine(Options.BaseCertDir, Lb.Id);

    public string StatsSocket => Path.Combine(Dir, Lb.Id + ".sock");

    public Listener AddListener(string protocol, Pool? defaultPool = null, int? port = null)
    {
        var l = new Listener
        {
            Id = Guid.NewGuid().ToString(),
            Protocol = protocol,
            ProtocolPort = port ?? TestEnvironment.FreeTcpPort(Lb.Vip!.IpAddress!),
            LoadBalancerId = Lb.Id,
            DefaultPool = defaultPool,
            DefaultPoolId = defaultPool?.Id,
            TimeoutClientData = 5000,
            TimeoutMemberConnect = 1000,
            TimeoutMemberData = 5000,
        };
        Lb.Listeners.Add(l);
        return l;
    }

    public Pool AddPool(string protocol = Protocols.Http, string algorithm = LbAlgorithms.RoundRobin)
    {
        var p = new Pool { Id = Guid.NewGuid().ToString(), Protocol = protocol, LbAlgorithm = algorithm, LoadBalancerId = Lb.Id };
        Lb.Pools.Add(p);
        return p;
    }

    public static Member AddMember(Pool pool, string address, int port, int weight = 1, bool backup = false)
    {
        var m = new Member { Id = Guid.NewGuid().ToString(), PoolId = pool.Id, IpAddress = address, ProtocolPort = port, Weight = weight, Backup = backup };
        pool.Members.Add(m);
        return m;
    }

    public async Task<Member> AddBackendAsync(Pool pool, string name, int weight = 1, bool backup = false, string address = "127.0.0.1")
    {
        var b = Own(await HttpBackend.StartAsync(name, address));
        Backends[name] = b;
        return AddMember(pool, b.Address, b.Port, weight, backup);
    }

    public Dictionary<string, HttpBackend> Backends { get; } = [];

    public T Own<T>(T disposable) where T : IAsyncDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    public string Render(HaproxyTlsFiles? tls = null) => HaproxyConfigRenderer.Render(Lb, Amphora, Options, tls);

    public async Task<HaproxyInstance> StartAsync(HaproxyTlsFiles? tls = null, string? config = null)
    {
        config ??= Render(tls);
        Directory.CreateDirectory(Path.Combine(Dir, Lb.Id));
        Haproxy = await HaproxyInstance.StartAsync(config, Dir, StatsSocket,
            Lb.Listeners.Where(l => l.Enabled).Select(l => (Lb.Vip!.IpAddress!, l.ProtocolPort)));
        return Haproxy;
    }

    /// <summary>An HttpClient whose connections originate from <paramref name="source"/>; one connection per request when asked.</summary>
    public static HttpClient Client(string source = "127.0.0.1", bool newConnectionEachRequest = false, bool handleCookies = false)
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = handleCookies,
            PooledConnectionLifetime = newConnectionEachRequest ? TimeSpan.Zero : Timeout.InfiniteTimeSpan,
            ConnectCallback = async (ctx, ct) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new IPEndPoint(IPAddress.Parse(source), 0));
                    await socket.ConnectAsync(ctx.DnsEndPoint, ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
    }

    public string Url(Listener l, string path = "/") =>
        $"{(l.Protocol is Protocols.TerminatedHttps ? "https" : "http")}://{Lb.Vip!.IpAddress}:{l.ProtocolPort}{path}";

    public async ValueTask DisposeAsync()
    {
        if (Haproxy is not null)
        {
            await Haproxy.DisposeAsync();
        }
        foreach (var d in _owned)
        {
            await d.DisposeAsync();
        }
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
