// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Octavia.EndToEnd.Tests;

/// <summary>
/// A private stack.sh deployment on the "ofo" networks (management 198.18.50.0/24, tenant 198.18.51.0/24)
/// with fast heartbeats, plus what the health scenarios do to it: backends on the tenant host address,
/// a load balancer with two members, a continuous client, and killing an amphora the hard way.
/// </summary>
internal sealed class HealthStack : IDisposable
{
    public const string ManagementHost = "198.18.50.1";
    public const string TenantHost = "198.18.51.1";
    public const int HeartbeatTimeout = 5;

    private readonly Action<string> _log;
    private readonly List<HttpBackend> _backends = [];

    private HealthStack(string state, Dictionary<string, string> env, Action<string> log)
    {
        State = state;
        Environment = env;
        _log = log;
    }

    public string State { get; }

    public Dictionary<string, string> Environment { get; }

    public string LogFile => Path.Combine(State, "logs", "octavia.log");

    /// <summary>Writes the overrides and runs stack.sh; <paramref name="extraConf"/> is appended last.</summary>
    public static HealthStack Start(string repo, Action<string> log, string extraConf = "")
    {
        var state = Directory.CreateTempSubdirectory("ofo-stack-").FullName;
        var apiPort = FreeTcpPort();
        var hmPort = FreeUdpPort();
        var extra = Path.Combine(state, "..", Path.GetFileName(state) + ".ini");
        File.WriteAllText(extra, $"""
            [local_networks]
            networks = name=lb-mgmt-net,subnet=lb-mgmt-subnet,cidr=198.18.50.0/24,gateway=none,host={ManagementHost},bridge=ofo-mgmt
            networks = name=private,subnet=private-subnet,cidr=198.18.51.0/24,gateway={TenantHost},host={TenantHost},bridge=ofo-priv

            [health_manager]
            bind_ip = {ManagementHost}
            bind_port = {hmPort}
            controller_ip_port_list = {ManagementHost}:{hmPort}
            heartbeat_interval = 1
            heartbeat_timeout = {HeartbeatTimeout}
            health_check_interval = 1

            {extraConf}
            """);
        var env = new Dictionary<string, string>
        {
            ["OCTAVIA_STACK_DIR"] = state,
            ["OCTAVIA_API_PORT"] = apiPort.ToString(CultureInfo.InvariantCulture),
            ["OCTAVIA_OPENRC"] = Path.Combine(state, "openrc"),
            ["OCTAVIA_STACK_EXTRA_CONF"] = extra,
            ["OS_AUTH_TYPE"] = "none",
            ["OS_ENDPOINT"] = $"http://127.0.0.1:{apiPort}",
        };
        var stack = new HealthStack(state, env, log);
        try
        {
            stack.Run(repo, "./stack.sh", TimeSpan.FromMinutes(5));
        }
        catch
        {
            stack.Dispose();
            throw;
        }
        return stack;
    }

    /// <summary>Runs a command line in the repository with the deployment's environment; fails unless it exits 0.</summary>
    public string Run(string repo, string command, TimeSpan? timeout = null)
    {
        var (code, text) = Try(repo, command, timeout);
        if (code != 0)
        {
            throw new InvalidOperationException($"'{command}' exited {code}:\n{text}");
        }
        return text;
    }

    public (int ExitCode, string Output) Try(string repo, string command, TimeSpan? timeout = null)
    {
        var psi = new ProcessStartInfo("bash", ["-c", command])
        {
            WorkingDirectory = repo,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var (k, v) in Environment)
        {
            psi.Environment[k] = v;
        }
        var started = Stopwatch.StartNew();
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var text = new StringBuilder();
        var gate = new object();
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (gate) { text.AppendLine(e.Data); } } };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (gate) { text.AppendLine(e.Data); } } };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        if (!p.WaitForExit(timeout ?? TimeSpan.FromMinutes(3)))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            _log($"$ {command}\n(timed out after {started.Elapsed.TotalSeconds:F1} s)\n{text}");
            return (-1, text.ToString());
        }
        p.WaitForExit();
        var all = text.ToString();
        _log($"$ {command}   [{p.ExitCode}, {started.Elapsed.TotalSeconds:F1} s]\n{(all.Length <= 3000 ? all : "..." + all[^3000..])}");
        return (p.ExitCode, all);
    }

    /// <summary>An HTTP backend on the tenant host address (its port stays the same across restarts).</summary>
    public HttpBackend Backend(string name, int bodyBytes = 0)
    {
        var backend = new HttpBackend(name, TenantHost, bodyBytes);
        _backends.Add(backend);
        return backend;
    }

    /// <summary>The JSON document in a CLI output (warnings may precede it).</summary>
    public static JsonObject Json(string cliOutput)
    {
        var start = cliOutput.IndexOfAny(['{', '[']);
        if (start < 0)
        {
            throw new InvalidOperationException($"no JSON in: {cliOutput}");
        }
        var node = JsonNode.Parse(cliOutput[start..])!;
        return node as JsonObject ?? new JsonObject { ["items"] = node };
    }

    /// <summary>The JSON of <c>openstack <paramref name="what"/> -f json</c>.</summary>
    public JsonObject Show(string repo, string what) => Json(Run(repo, $"openstack {what} -f json"));

    /// <summary>The amphorae of a load balancer that are not DELETED.</summary>
    public List<JsonObject> Amphorae(string repo, string lb) =>
        [.. Json(Run(repo, $"openstack loadbalancer amphora list --loadbalancer {lb} -f json"))["items"]!.AsArray().Select(a => a!.AsObject())];

    /// <summary>
    /// Kills an amphora as a crashed VM would die: SIGKILL to every process in its namespace (agent, HAProxy,
    /// keepalived), then the namespace goes. Returns the PIDs killed.
    /// </summary>
    public static List<int> KillAmphora(string amphoraId)
    {
        var ns = "amphora-" + amphoraId;
        var pids = Octavia.Tests.Shared.TestEnvironment.Run("ip", "netns", "pids", ns).Output
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToList();
        foreach (var pid in pids)
        {
            try
            {
                using var process = Process.GetProcessById(pid);
                process.Kill();
            }
            catch (ArgumentException)
            {
            }
            catch (InvalidOperationException)
            {
            }
        }
        Octavia.Tests.Shared.TestEnvironment.Run("ip", "netns", "delete", ns);
        return pids;
    }

    /// <summary>The amphora row's status in the deployment's SQLite database (python3's sqlite3 module).</summary>
    public string AmphoraRowStatus(string amphoraId)
    {
        var db = Path.Combine(State, "octavia.db");
        var script = "import sqlite3,sys; r=sqlite3.connect(sys.argv[1]).execute('select status from amphora where id=?',(sys.argv[2],)).fetchone(); print(r[0] if r else '')";
        return Octavia.Tests.Shared.TestEnvironment.Run("python3", "-c", script, db, amphoraId).Output.Trim();
    }

    /// <summary>Timestamps (UTC) of octavia.log lines containing <paramref name="text"/>.</summary>
    public List<DateTime> LogTimes(string text)
    {
        var times = new List<DateTime>();
        using var stream = new FileStream(LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length > 23 && line.Contains(text, StringComparison.Ordinal)
                && DateTime.TryParseExact(line[..23], "yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t))
            {
                times.Add(t);
            }
        }
        return times;
    }

    public void Unstack(string repo)
    {
        foreach (var backend in _backends)
        {
            backend.Dispose();
        }
        _backends.Clear();
        Try(repo, "./unstack.sh --purge", TimeSpan.FromMinutes(3));
    }

    public void Dispose()
    {
        foreach (var backend in _backends)
        {
            backend.Dispose();
        }
        var extra = Path.Combine(State, "..", Path.GetFileName(State) + ".ini");
        File.Delete(extra);
        if (Directory.Exists(State))
        {
            Directory.Delete(State, recursive: true);
        }
    }
}

/// <summary>
/// A client sending one request after another (new connection each, 1 s timeout) and recording when each
/// one succeeded, so an outage can be measured as the longest gap between two successes.
/// </summary>
internal sealed class SteadyClient : IAsyncDisposable
{
    private readonly string _url;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<(DateTime At, bool Ok, string Body)> _results = [];
    private readonly Task _loop;

    public SteadyClient(string url)
    {
        _url = url;
        _loop = Task.Run(LoopAsync);
    }

    private async Task LoopAsync()
    {
        using var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero, ConnectTimeout = TimeSpan.FromSeconds(1) };
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(1) };
        while (!_stop.IsCancellationRequested)
        {
            bool ok;
            string body;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, _url);
                request.Headers.ConnectionClose = true;
                using var response = await client.SendAsync(request, _stop.Token);
                body = await response.Content.ReadAsStringAsync(_stop.Token);
                ok = response.IsSuccessStatusCode;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or OperationCanceledException)
            {
                ok = false;
                body = ex.GetType().Name;
            }
            lock (_results)
            {
                _results.Add((DateTime.UtcNow, ok, body));
            }
            if (!ok)
            {
                try
                {
                    await Task.Delay(50, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
        }
    }

    public List<(DateTime At, bool Ok, string Body)> Results
    {
        get
        {
            lock (_results)
            {
                return [.. _results];
            }
        }
    }

    /// <summary>The first success after <paramref name="since"/>, if any.</summary>
    public DateTime? FirstSuccessAfter(DateTime since) => Results.FirstOrDefault(r => r.Ok && r.At > since) is { Ok: true } r ? r.At : null;

    /// <summary>
    /// The outage that began after <paramref name="since"/> (requests in flight may still succeed just after
    /// it): from the last success before the first failure to the first success after it.
    /// </summary>
    public (DateTime LastOk, DateTime BackAt)? OutageAfter(DateTime since)
    {
        var results = Results;
        var failure = results.FindIndex(r => !r.Ok && r.At > since);
        if (failure < 0)
        {
            return null;
        }
        var before = results.Take(failure).LastOrDefault(r => r.Ok);
        var after = results.Skip(failure).FirstOrDefault(r => r.Ok);
        return before.Ok && after.Ok ? (before.At, after.At) : null;
    }

    /// <summary>Time without service around <paramref name="since"/> (zero when no request failed).</summary>
    public TimeSpan? OutageAround(DateTime since)
    {
        if (OutageAfter(since) is { } outage)
        {
            return outage.BackAt - outage.LastOk;
        }
        return Results.Any(r => !r.Ok && r.At > since) ? null : TimeSpan.Zero;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}
