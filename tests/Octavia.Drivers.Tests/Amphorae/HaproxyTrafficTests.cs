// Licensed under the Apache License, Version 2.0.

using System.Net;
using System.Net.Sockets;
using System.Text;
using Octavia.Core.Model;
using Octavia.Drivers.Tests.Amphorae.Support;
using Octavia.Tests.Shared;

namespace Octavia.Drivers.Tests.Amphorae;

/// <summary>Rendered configs run by a real HAProxy in front of real members on loopback.</summary>
public sealed class HaproxyTrafficTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static void RequireHaproxy()
    {
        if (!TestEnvironment.HasProgram("haproxy"))
        {
            Assert.Skip("needs haproxy");
        }
    }

    private static async Task<List<string>> GetBackendsAsync(HttpClient client, string url, int count)
    {
        var seen = new List<string>();
        for (var i = 0; i < count; i++)
        {
            using var resp = await client.GetAsync(url, Ct);
            resp.StatusCode.ShouldBe(HttpStatusCode.OK);
            seen.Add(await resp.Content.ReadAsStringAsync(Ct));
        }
        return seen;
    }

    [Fact]
    public async Task RoundRobin_TwoMembers_Alternates()
    {
        RequireHaproxy();
        await using var s = new Scenario();
        var pool = s.AddPool();
        await s.AddBackendAsync(pool, "a");
        await s.AddBackendAsync(pool, "b");
        var l = s.AddListener(Protocols.Http, pool);
        await s.StartAsync();

        using var client = Scenario.Client();
        var seen = await GetBackendsAsync(client, s.Url(l), 6);

        for (var i = 1; i < seen.Count; i++)
        {
            seen[i].ShouldNotBe(seen[i - 1]);
        }
        seen.Distinct().Order().ShouldBe(["a", "b"]);
    }

    [Fact]
    public async Task Weight0_Member_GetsNothing()
    {
        RequireHaproxy();
        await using var s = new Scenario();
        var pool = s.AddPool(algorithm: LbAlgorithms.LeastConnections);
        await s.AddBackendAsync(pool, "a");
        await s.AddBackendAsync(pool, "zero", weight: 0);
        var l = s.AddListener(Protocols.Http, pool);
        await s.StartAsync();

        using var client = Scenario.Client();
        var seen = await GetBackendsAsync(client, s.Url(l), 10);

        seen.ShouldAllBe(x => x == "a");
        s.Backends["zero"].Requests.ShouldBeEmpty();
    }

    [Fact]
    public async Task Backup_Member_ServesOnlyWhenOthersAreDown()
    {
        RequireHaproxy();
        await using var s = new Scenario();
        var pool = s.AddPool();
        pool.HealthMonitor = new HealthMonitor { Id = Guid.NewGuid().ToString(), Type = HealthMonitorTypes.Tcp, Delay = 1, Timeout = 1, FallThreshold = 1, RiseThreshold = 1 };
        var primary = await s.AddBackendAsync(pool, "primary");
        await s.AddBackendAsync(pool, "backup", backup: true);
        var l = s.AddListener(Protocols.Http, pool);
        await s.StartAsync();
        using var client = Scenario.Client(newConnectionEachRequest: true);

        (await GetBackendsAsync(client, s.Url(l), 5)).ShouldAllBe(x => x == "primary");

        await s.Backends["primary"].DisposeAsync();
        await s.Haproxy!.WaitForServerStatusAsync($"{pool.Id}:{l.Id}", primary.Id, "DOWN", TimeSpan.FromSeconds(10));

        (await GetBackendsAsync(client, s.Url(l), 5)).ShouldAllBe(x => x == "backup");
    }

    [Fact]
    public async Task HttpCookiePersistence_SameCookie_SticksToOneMember()
    {
        RequireHaproxy();
        await using var s = new Scenario();
        var pool = s.AddPool();
        pool.SessionPersistence = new SessionPersistence { PoolId = pool.Id, Type = SessionPersistenceTypes.HttpCookie };
        await s.AddBackendAsync(pool, "a");
        await s.AddBackendAsync(pool, "b");
        var l = s.AddListener(Protocols.Http, pool);
        await s.StartAsync();

        using var withCookies = Scenario.Client(handleCookies: true);
        var seen = await GetBackendsAsync(withCookies, s.Url(l), 8);
        using var without = Scenario.Client();
        var spread = await GetBackendsAsync(without, s.Url(l), 4);

        seen.Distinct().Count().ShouldBe(1);
        spread.Distinct().Count().ShouldBe(2);
    }

    [Fact]
    public async Task AppCookiePersistence_CookieFromMember_SticksToThatMember()
    {
        RequireHaproxy();
        await using var s = new Scenario();
        var pool = s.AddPool();
        pool.SessionPersistence = new SessionPersistence { PoolId = pool.Id, Type = SessionPersistenceTypes.AppCookie, CookieName = "APPSESSION" };
        await s.AddBackendAsync(pool, "a");
        await s.AddBackendAsync(pool, "b");
        var l = s.AddListener(Protocols.Http, pool);
        await s.StartAsync();
        using var client = Scenario.Client();

        using var first = await client.GetAsync(s.Url(l, "/setapp"), Ct);
        var owner = await first.Content.ReadAsStringAsync(Ct);
        var seen = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            using var req = new HttpRequestMessage(HttpMethod.Get, s.Url(l));
            req.Headers.Add("Cookie", "APPSESSION=" + owner);
            using var resp = await client.SendAsync(req, Ct);
            seen.Add(await resp.Content.ReadAsStringAsync(Ct));
        }

        seen.ShouldAllBe(x => x == owner);
    }

    [Fact]
    public async Task SourceIpPort_NewConnections_SpreadByPortWhileSourceIpDoesNot()
    {
        RequireHaproxy();
        await using var s = new Scenario();
        var byPort = s.AddPool(algorithm: LbAlgorithms.SourceIpPort);
        await s.AddBackendAsync(byPort, "a");
        await s.AddBackendAsync(byPort, "b");
        var byIp = s.AddPool(algorithm: LbAlgorithms.SourceIp);
        await s.AddBackendAsync(byIp, "c");
        await s.AddBackendAsync(byIp, "d");
        var lPort = s.AddListener(Protocols.Http, byPort);
        var lIp = s.AddListener(Protocols.Http, byIp);
        await s.StartAsync();
        using var client = Scenario.Client(newConnectionEachRequest: true);

        var portSpread = await GetBackendsAsync(client, s.Url(lPort), 30);
        var ipSpread = await GetBackendsAsync(client, s.Url(lIp), 10);

        portSpread.Distinct().Order().ShouldBe(["a", "b"]);
        ipSpread.Distinct().Count().ShouldBe(1);
    }

    [Fact]
    public async Task SourceIpPort_SameSourcePort_SameMember()
    {
        RequireHaproxy();
        await using var s = new Scenario();
        var pool = s.AddPool(protocol: Protocols.Tcp, algorithm: LbAlgorithms.SourceIpPort);
        await s.AddBackendAsync(pool, "a");
        await s.AddBackendAsync(pool, "b");
        await s.AddBackendAsync(pool, "c");
        var l = s.AddListener(Protocols.Tcp, pool);
        await s.StartAsync();

        // Each source port is used twice; the member must repeat. The server closes first, so the port is free again.
        // Ports below the kernel's ephemeral range, so no other socket on the machine can hold them.
        var basePort = System.Security.Cryptography.RandomNumberGenerator.GetInt32(20000, 31000);
        var byPort = new Dictionary<int, HashSet<string>>();
        for (var round = 0; round < 2; round++)
        {
            for (var i = 0; i < 8; i++)
            {
                var port = basePort + (i * 131);
                var name = await RawGetAsync("127.0.0.1", port, "127.0.0.1", l.ProtocolPort);
                if (!byPort.TryGetValue(port, out var set))
                {
                    byPort[port] = set = [];
                }
                set.Add(name);
            }
        }

        byPort.Values.ShouldAllBe(set => set.Count == 1);
        byPort.Values.SelectMany(x => x).Distinct().Count().ShouldBeGreaterThan(1);
    }

    private static async Task<string> RawGetAsync(string sourceIp, int sourcePort, string ip, int port)
    {
        for (var attempt = 0; ; attempt++)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            try
            {
                socket.Bind(new IPEndPoint(IPAddress.Parse(sourceIp), sourcePort));
                await socket.ConnectAsync(IPAddress.Parse(ip), port, Ct);
            }
            catch (SocketException) when (attempt < 20)
            {
                await Task.Delay(50, Ct);
                continue;
            }
            await socket.SendAsync(Encoding.ASCII.GetBytes($"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), Ct);
            var buffer = new byte[4096];
            var sb = new StringBuilder();
            int n;
            while ((n = await socket.ReceiveAsync(buffer, Ct)) > 0)
            {
                sb.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }
            var text = sb.ToString();
            return text[(text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        }
    }

    private static L7Policy AddPolicy(Listener l, string action, int position, params L7Rule[] rules)
    {
        var p = new L7Policy { Id = Guid.NewGuid().ToString(), ListenerId = l.Id, Action = action, Position = position };
        p.L7Rules.AddRange(rules);
        l.L7Policies.Add(p);
        return p;
    }

    private static L7Rule Rule(string type, string compare, string value, string? key = null, bool invert = false) =>
        new() { Id = Guid.NewGuid().ToString(), Type = type, CompareType = compare, Value = value, Key = key, Invert = invert };

    [Fact]
    public async Task RedirectToUrl_MatchingPath_AnswersCodeAndLocation()
    {
        RequireHaproxy();
        await using var s = new Scenario();
        var pool = s.AddPool();
        await s.AddBackendAsync(pool, "a");
        var l = s.AddListener(Protocols.Http, pool);
        var p = AddPolicy(l, L7PolicyActions.RedirectToUrl, 1, Rule(L7RuleTypes.Path, L7RuleCompareTypes.StartsWith, "/old"));
        p.RedirectUrl = "http://example.com/new";
        p.RedirectHttpCode = 301;
        var prefix = AddPolicy(l, L7PolicyActions.RedirectPrefix, 2, Rule(L7RuleTypes.Path, L7RuleCompareTypes.StartsWith, "/moved"));
        prefix.RedirectPrefix = "https://other.example";
        prefix.RedirectHttpCode = 308;
        await s.StartAsync();
        using var client = Scenario.Client();

        using var redirected = await client.GetAsync(s.Url(l, "/old/page"), Ct);
        using var prefixed = await client.GetAsync(s.Url(l, "/moved/x"), Ct);
        using var passed = await client.GetAsync(s.Url(l, "/other"), Ct);

        redirected.StatusCode.ShouldBe(HttpStatusCode.MovedPermanently);
        redirected.Headers.Location!.ToString().ShouldBe("http://example.com/new");
        ((int)prefixed.StatusCode).ShouldBe(308);
        prefixed.Headers.Location!.ToString().ShouldBe("https://other.example/moved/x");
        passed.StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task RedirectToPool_PathHostHeaderRules_RouteToTheirPools()
    {
        RequireHaproxy();
        await using var s = new Scenario();
        var main = s.AddPool();
        await s.AddBackendAsync(main, "main");
        var api = s.AddPool();
        await s.AddBackendAsync(api, "api");
        var host = s.AddPool();
        await s.AddBackendAsync(host, "host");
        var header = s.AddPool();
        await s.AddBackendAsync(header, "header");
        var l = s.AddListener(Protocols.Http, main);
        // Position decides: the header policy comes first even though it was added last.
        AddPolicy(l, L7PolicyActions.RedirectToPool, 2, Rule(L7RuleTypes.Path, L7RuleCompareTypes.StartsWith, "/api")).RedirectPool = api;
        AddPolicy(l, L7PolicyActions.RedirectToPool, 3, Rule(L7RuleTypes.HostName, L7RuleCompareTypes.EndsWith, ".example.org")).RedirectPool = host;
        AddPolicy(l, L7PolicyActions.RedirectToPool, 1,
            Rule(L7RuleTypes.Header, L7RuleCompareTypes.EqualTo, "yes", key: "X-Canary"),
            Rule(L7RuleTypes.Cookie, L7RuleCompareTypes.Contains, "blocked", key: "session", invert: true)).RedirectPool = header;
        await s.StartAsync();
        using var client = Scenario.Client();

        async Task<string> Get(string path, string? hostHeader = null, string? canary = null, string? cookie = null)
        {
            using var req = new HttpRequestMessage(HttpMethod.Get, s.Url(l, path));
            if (hostHeader is not null)
            {
                req.Headers.Host = hostHeader;
            }
            if (canary is not null)
            {
                req.Headers.Add("X-Canary", canary);
            }
            if (cookie is not null)
            {
                req.Headers.Add("Cookie", cookie);
            }
            using var resp = await client.SendAsync(req, Ct);
            return await resp.Content.ReadAsStringAsync(Ct);
        }

        (await Get("/")).ShouldBe("main");
        (await Get("/api/v1")).ShouldBe("api");
        (await Get("/", hostHeader: "www.example.org")).ShouldBe("host");
        (await Get("/api", canary: "yes")).ShouldBe("header");
        (await Get("/api", canary: "yes", cookie: "session=is-blocked-now")).ShouldBe("api");
    }

    [Fact]
    public async Task Reject_MatchingFileType_Answers403()
    {
        RequireHaproxy();
        await using var s = new Scenario();
        var pool = s.AddPool();
        await s.AddBackendAsync(pool, "a");
        var l = s.AddListener(Protocols.Http, pool);
        AddPolicy(l, L7PolicyActions.Reject, 1, Rule(L7RuleTypes.FileType, L7RuleCompareTypes.EqualTo, "php"));
        AddPolicy(l, L7PolicyActions.Reject, 2, Rule(L7RuleTypes.Path, L7RuleCompareTypes.Regex, "^/adm[i]n"));
        await s.StartAsync();
        using var client = Scenario.Client();

        using var php = await client.GetAsync(s.Url(l, "/index.php"), Ct);
        using var admin = await client.GetAsync(s.Url(l, "/admin/x"), Ct);
        using var ok = await client.GetAsync(s.Url(l, "/index.html"), Ct);

        php.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        admin.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        ok.StatusCode.ShouldBe(HttpStatusCode.OK);
        s.Backends["a"].Requests.Count.ShouldBe(1);
    }

    [Fact]
    public async Task AllowedCidrs_OtherSource_IsRefused()
    {
        RequireHaproxy();
        await using var s = new Scenario();
        var pool = s.AddPool();
        await s.AddBackendAsync(pool, "a");
        var l = s.AddListener(Protocols.Http, pool);
        l.AllowedCidrs.Add(new ListenerCidr { ListenerId = l.Id, Cidr = "127.0.0.2/32" });
        await s.StartAsync();

        using var allowed = Scenario.Client("127.0.0.2");
        using var refused = Scenario.Client("127.0.0.3");

        (await allowed.GetStringAsync(s.Url(l), Ct)).ShouldBe("a");
        // HAProxy resets the connection at accept: depending on timing the client sees the reset while
        // connecting (SocketException from the source-binding connect callback) or on the first read.
        var error = await Should.ThrowAsync<Exception>(() => refused.GetStringAsync(s.Url(l), Ct));
        (error is HttpRequestException or System.Net.Sockets.SocketException).ShouldBeTrue(error.ToString());
    }

    [Fact]
    public async Task InsertHeaders_XForwardedForPortProto_ArriveAtMember()
    {
        RequireHaproxy();
        await using var s = new Scenario();
        var pool = s.AddPool();
        await s.AddBackendAsync(pool, "a");
        var l = s.AddListener(Protocols.Http, pool);
        l.InsertHeaders = new() { ["X-Forwarded-For"] = "true", ["X-Forwarded-Port"] = "True", ["X-Forwarded-Proto"] = "true" };
        await s.StartAsync();
        using var client = Scenario.Client("127.0.0.4");

        await client.GetStringAsync(s.Url(l), Ct);

        s.Backends["a"].Requests.TryDequeue(out var headers).ShouldBeTrue();
        headers!["X-Forwarded-For"].ToString().ShouldBe("127.0.0.4");
        headers["X-Forwarded-Port"].ToString().ShouldBe(l.ProtocolPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        headers["X-Forwarded-Proto"].ToString().ShouldBe("http");
    }

    [Theory]
    [InlineData(Protocols.Proxy, "PROXY TCP4 127.0.0.5 127.0.0.1 ")]
    [InlineData(Protocols.ProxyV2, "\r\n\r\n\0\r\nQUIT\n")]
    public async Task ProxyPool_Member_ReceivesProxyHeader(string protocol, string expectedStart)
    {
        RequireHaproxy();
        await using var s = new Scenario();
        var pool = s.AddPool(protocol);
        var raw = s.Own(new RawBackend());
        Scenario.AddMember(pool, raw.Address, raw.Port);
        var l = s.AddListener(Protocols.Http, pool);
        await s.StartAsync();
        using var client = Scenario.Client("127.0.0.5");

        (await client.GetStringAsync(s.Url(l), Ct)).ShouldBe("raw");

        raw.Received.TryDequeue(out var bytes).ShouldBeTrue();
        Encoding.Latin1.GetString(bytes!).ShouldStartWith(expectedStart);
    }

    [Fact]
    public async Task HttpHealthMonitor_FailingMember_IsTakenOut()
    {
        RequireHaproxy();
        await using var s = new Scenario();
        var pool = s.AddPool();
        pool.HealthMonitor = new HealthMonitor
        {
            Id = Guid.NewGuid().ToString(),
            Type = HealthMonitorTypes.Http,
            Delay = 1,
            Timeout = 1,
            FallThreshold = 1,
            RiseThreshold = 1,
            HttpMethod = "GET",
            UrlPath = "/health",
            ExpectedCodes = "200-204",
            HttpVersion = 1.1,
            DomainName = "check.example",
        };
        var good = await s.AddBackendAsync(pool, "good");
        var bad = await s.AddBackendAsync(pool, "bad");
        var l = s.AddListener(Protocols.Http, pool);
        await s.StartAsync();
        var backend = $"{pool.Id}:{l.Id}";
        await s.Haproxy!.WaitForServerStatusAsync(backend, bad.Id, "UP", TimeSpan.FromSeconds(10));

        s.Backends["bad"].Healthy = false;
        await s.Haproxy.WaitForServerStatusAsync(backend, bad.Id, "DOWN", TimeSpan.FromSeconds(10));
        using var client = Scenario.Client();

        (await GetBackendsAsync(client, s.Url(l), 6)).ShouldAllBe(x => x == "good");
        (await s.Haproxy.ServerStatusAsync(backend, good.Id)).ShouldBe("UP");
    }

    [Fact]
    public async Task DisabledMember_GetsNothing_AndShowsMaint()
    {
        RequireHaproxy();
        await using var s = new Scenario();
        var pool = s.AddPool();
        await s.AddBackendAsync(pool, "a");
        var off = await s.AddBackendAsync(pool, "off");
        off.Enabled = false;
        var l = s.AddListener(Protocols.Http, pool);
        await s.StartAsync();
        using var client = Scenario.Client();

        (await GetBackendsAsync(client, s.Url(l), 4)).ShouldAllBe(x => x == "a");
        (await s.Haproxy!.ServerStatusAsync($"{pool.Id}:{l.Id}", off.Id)).ShouldBe("MAINT");
    }

    [Fact]
    public async Task TcpListener_Https_PassesBytesThrough()
    {
        RequireHaproxy();
        await using var s = new Scenario();
        var pool = s.AddPool(Protocols.Tcp);
        await s.AddBackendAsync(pool, "a");
        var l = s.AddListener(Protocols.Tcp, pool);
        await s.StartAsync();
        using var client = Scenario.Client();

        (await client.GetStringAsync(s.Url(l), Ct)).ShouldBe("a");
    }

    [Fact]
    public async Task PrometheusListener_ServesHaproxyMetrics()
    {
        RequireHaproxy();
        await using var s = new Scenario();
        var pool = s.AddPool();
        await s.AddBackendAsync(pool, "a");
        s.AddListener(Protocols.Http, pool);
        var prom = s.AddListener(Protocols.Prometheus);
        await s.StartAsync();
        using var client = Scenario.Client();

        var metrics = await client.GetStringAsync(s.Url(prom, "/metrics"), Ct);
        using var other = await client.GetAsync(s.Url(prom, "/"), Ct);

        metrics.ShouldContain("haproxy_process_");
        other.StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task DisabledListenerAndLoadBalancer_RenderNoFrontend()
    {
        RequireHaproxy();
        await using var s = new Scenario();
        var pool = s.AddPool();
        await s.AddBackendAsync(pool, "a");
        var on = s.AddListener(Protocols.Http, pool);
        var off = s.AddListener(Protocols.Http, pool);
        off.Enabled = false;

        var cfg = s.Render();
        s.Lb.Enabled = false;
        var lbOff = s.Render();

        cfg.ShouldContain($"frontend {on.Id}");
        cfg.ShouldNotContain($"frontend {off.Id}");
        lbOff.ShouldNotContain("frontend ");
        HaproxyInstance.Check(lbOff, s.Dir).ExitCode.ShouldBe(0);
    }
}
