// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Octavia.Amphora.Agent.Logging;
using Octavia.Amphora.Agent.Os;

namespace Octavia.Amphora.Agent.Haproxy;

/// <summary>Outcome of a process operation: success, and HAProxy's own words when it failed.</summary>
internal readonly record struct ProcessOutcome(bool Ok, string Output);

/// <summary>
/// Runs one HAProxy per load balancer in master-worker mode (<c>-W -db -S master.sock -p pid</c>) as a child
/// process tracked by PID. Reloads go to the master (USR2), which re-executes with the new file and lets
/// the old worker finish its connections: no new connection is refused during a reload.
/// </summary>
internal sealed partial class HaproxyManager(AgentSettings settings, AgentPaths paths, ILogger<HaproxyManager> logger)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(15);
    private readonly Dictionary<string, Process> _children = [];
    private readonly Dictionary<string, Queue<string>> _recentOutput = [];

    // Per load balancer, the configuration text that last passed `haproxy -c`. A start or reload of that same
    // text, with the load balancer's certificates untouched since, need not check it again (the upload
    // checked it a moment ago); any other text, e.g. a file changed outside the upload path, is checked.
    private readonly ConcurrentDictionary<string, string> _validated = new(StringComparer.Ordinal);

    /// <summary>Serialises every operation on HAProxy processes and their files.</summary>
    public SemaphoreSlim Lock { get; } = new(1, 1);

    /// <summary>Upstream's local peer name: base64(sha1(amphora id)) with <c>_-</c> as altchars.</summary>
    public string? PeerName
    {
        get
        {
            if (string.IsNullOrEmpty(settings.AmphoraId))
            {
                return null;
            }
#pragma warning disable CA5350 // upstream's peer name is a SHA-1 digest; it is an identifier, not a security control.
            var b64 = Convert.ToBase64String(SHA1.HashData(Encoding.UTF8.GetBytes(settings.AmphoraId)))
#pragma warning restore CA5350
                .Replace('+', '_').Replace('/', '-');
            return b64.StartsWith('-') ? "x" + b64[1..] : b64;
        }
    }

    /// <summary>The open-file limit HAProxy will run under.</summary>
    public long FdLimit => settings.HaproxyFdLimit > 0 ? settings.HaproxyFdLimit : Posix.HardOpenFileLimit();

    /// <summary>Refuses a global maxconn HAProxy could not get descriptors for; null when it fits.</summary>
    public string? CheckDescriptorBudget(string config)
    {
        if (HaproxyConfigFile.GlobalMaxconn(config) is not { } maxconn)
        {
            return null;
        }
        var binds = HaproxyConfigFile.BindCount(config);
        var needed = HaproxyConfigFile.RequiredDescriptors(maxconn, binds);
        var limit = FdLimit;
        if (needed <= limit)
        {
            return null;
        }
        var allowed = Math.Max(0, (limit - HaproxyConfigFile.RequiredDescriptors(0, binds)) / 2);
        return string.Create(CultureInfo.InvariantCulture,
            $"global maxconn {maxconn} needs about {needed} file descriptors, but HAProxy on this amphora may open at most {limit}; use a global maxconn of at most {allowed}");
    }

    /// <summary>Runs <c>haproxy -c</c> on a file.</summary>
    public Task<CommandResult> ValidateAsync(string configPath, CancellationToken ct = default)
    {
        var args = new List<string> { "-c" };
        if (PeerName is { } peer)
        {
            args.AddRange(["-L", peer]);
        }
        args.AddRange(["-f", configPath]);
        return CommandRunner.RunAsync(settings.HaproxyCmd, args, ct);
    }

    /// <summary>Records that <paramref name="config"/>, now the load balancer's file, passed <c>haproxy -c</c>.</summary>
    public void MarkValidated(string lbId, string config) => _validated[lbId] = config;

    /// <summary>Forgets the last check (certificates changed, or the load balancer is gone).</summary>
    public void ForgetValidation(string lbId) => _validated.TryRemove(lbId, out _);

    /// <summary>
    /// Reads the load balancer's file and checks it with <c>haproxy -c</c> unless that exact text passed the
    /// check before (see <see cref="MarkValidated"/>). Returns the text, or HAProxy's words when it failed.
    /// </summary>
    private async Task<(string? Config, CommandResult Check)> ReadCheckedConfigAsync(string lbId, CancellationToken ct)
    {
        var configPath = paths.ConfigPath(lbId);
        string config;
        try
        {
            config = await File.ReadAllTextAsync(configPath, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            // HAProxy's own message says which file is missing.
            return (null, await ValidateAsync(configPath, ct).ConfigureAwait(false));
        }
        if (_validated.TryGetValue(lbId, out var known) && string.Equals(known, config, StringComparison.Ordinal))
        {
            return (config, new CommandResult(0, ""));
        }
        var check = await ValidateAsync(configPath, ct).ConfigureAwait(false);
        if (check.Ok)
        {
            _validated[lbId] = config;
        }
        else
        {
            _validated.TryRemove(lbId, out _);
        }
        return (check.Ok ? config : null, check);
    }

    /// <summary>True when the load balancer's HAProxy master (from its PID file) is alive.</summary>
    public bool IsRunning(string lbId) => MasterPid(lbId) > 0;

    /// <summary>The live master PID, or 0.</summary>
    public int MasterPid(string lbId)
    {
        var pid = Posix.ReadPidFile(paths.PidPath(lbId));
        if (!Posix.IsAlive(pid))
        {
            return 0;
        }
        try
        {
            // A recycled PID must not be mistaken for our HAProxy.
            return File.ReadAllText($"/proc/{pid}/cmdline").Contains("haproxy", StringComparison.Ordinal) ? pid : 0;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>Starts HAProxy for a load balancer (no-op when it is running). Caller holds <see cref="Lock"/>.</summary>
    public async Task<ProcessOutcome> StartAsync(string lbId, CancellationToken ct = default)
    {
        if (IsRunning(lbId))
        {
            return new ProcessOutcome(true, "already running");
        }
        var configPath = paths.ConfigPath(lbId);
        var (config, check) = await ReadCheckedConfigAsync(lbId, ct).ConfigureAwait(false);
        if (config is null)
        {
            return new ProcessOutcome(false, check.Output);
        }
        if (CheckDescriptorBudget(config) is { } budget)
        {
            return new ProcessOutcome(false, budget);
        }
        File.Delete(paths.PidPath(lbId));
        File.Delete(paths.MasterSocketPath(lbId));

        var args = new List<string> { "-W", "-db", "-S", "unix@" + Path.GetFileName(paths.MasterSocketPath(lbId)), "-p", paths.PidPath(lbId), "-f", configPath };
        if (PeerName is { } peer)
        {
            args.AddRange(["-L", peer]);
        }
        // -db keeps the master in the foreground even when the config says "daemon", so it stays our child.
        // Its log lines go into the agent's FIFOs (LogRouting).
        var psi = LogRouting.HaproxyStartInfo(settings.HaproxyCmd, args, paths.TrafficLogFifoPath, paths.AdminLogFifoPath);
        // The master socket is bound relative to here: its absolute path can exceed sun_path's 108 bytes.
        psi.WorkingDirectory = paths.HaproxyDir(lbId);
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var recent = new Queue<string>();
        process.ErrorDataReceived += (_, e) => OnOutput(lbId, recent, e.Data);
        process.Start();
        process.BeginErrorReadLine();
        _children[lbId] = process;
        _recentOutput[lbId] = recent;
        Log.HaproxyStarted(logger, lbId, process.Id);

        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < StartTimeout)
        {
            if (process.HasExited)
            {
                await process.WaitForExitAsync(ct).ConfigureAwait(false);
                _children.Remove(lbId);
                process.Dispose();
                return new ProcessOutcome(false, Recent(recent));
            }
            if (await ReadProcAsync(lbId, ct).ConfigureAwait(false) is { Workers: > 0 })
            {
                return new ProcessOutcome(true, Recent(recent));
            }
            // The first worker is usually up within tens of milliseconds: poll closely at first.
            await Task.Delay(deadline.Elapsed < TimeSpan.FromSeconds(1) ? 5 : 25, ct).ConfigureAwait(false);
        }
        return new ProcessOutcome(false, "HAProxy did not become ready within 15 s\n" + Recent(recent));
    }

    /// <summary>Hitless reload; starts HAProxy when it is not running. Caller holds <see cref="Lock"/>.</summary>
    public async Task<ProcessOutcome> ReloadAsync(string lbId, CancellationToken ct = default)
    {
        var pid = MasterPid(lbId);
        if (pid == 0)
        {
            return await StartAsync(lbId, ct).ConfigureAwait(false);
        }
        await SaveStateAsync(lbId, ct).ConfigureAwait(false);
        var (config, check) = await ReadCheckedConfigAsync(lbId, ct).ConfigureAwait(false);
        if (config is null)
        {
            return new ProcessOutcome(false, check.Output);
        }
        if (CheckDescriptorBudget(config) is { } budget)
        {
            return new ProcessOutcome(false, budget);
        }
        var before = await ReadProcAsync(lbId, ct).ConfigureAwait(false);
        if (!Posix.Signal(pid, Posix.SIGUSR2))
        {
            return new ProcessOutcome(false, $"cannot signal HAProxy master {pid}");
        }
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < StartTimeout)
        {
            await Task.Delay(20, ct).ConfigureAwait(false);
            var now = await ReadProcAsync(lbId, ct).ConfigureAwait(false);
            if (now is null || before is null || now.Reloads <= before.Reloads)
            {
                if (before is null && now is not null)
                {
                    return new ProcessOutcome(true, "");
                }
                continue;
            }
            if (now.Failed > before.Failed)
            {
                return new ProcessOutcome(false, "HAProxy master reported a failed reload\n" + Recent(lbId));
            }
            Log.HaproxyReloaded(logger, lbId, pid);
            return new ProcessOutcome(true, "");
        }
        return new ProcessOutcome(false, "HAProxy did not confirm the reload within 15 s\n" + Recent(lbId));
    }

    /// <summary>Stops HAProxy (SIGTERM to the master, SIGKILL after 10 s). Caller holds <see cref="Lock"/>.</summary>
    public async Task<ProcessOutcome> StopAsync(string lbId, CancellationToken ct = default)
    {
        var pid = MasterPid(lbId);
        _children.Remove(lbId, out var child);
        if (pid > 0)
        {
            Posix.Signal(pid, Posix.SIGTERM);
            if (!await WaitForExitAsync(pid, child, TimeSpan.FromSeconds(10), ct).ConfigureAwait(false))
            {
                Posix.Signal(pid, Posix.SIGKILL);
                await WaitForExitAsync(pid, child, TimeSpan.FromSeconds(5), ct).ConfigureAwait(false);
            }
            Log.HaproxyStopped(logger, lbId, pid);
        }
        child?.Dispose();
        File.Delete(paths.PidPath(lbId));
        File.Delete(paths.MasterSocketPath(lbId));
        return new ProcessOutcome(true, "");
    }

    /// <summary>Starts every configured load balancer that is not running (upstream's services are enabled at boot).</summary>
    public async Task StartConfiguredAsync(CancellationToken ct)
    {
        await Lock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            foreach (var lb in paths.LoadBalancers())
            {
                if (!IsRunning(lb))
                {
                    var outcome = await StartAsync(lb, ct).ConfigureAwait(false);
                    if (!outcome.Ok)
                    {
                        Log.HaproxyStartFailed(logger, lb, outcome.Output);
                    }
                }
            }
        }
        finally
        {
            Lock.Release();
        }
    }

    /// <summary>Stops every HAProxy this agent runs or adopted (agent shutdown).</summary>
    public async Task StopAllAsync()
    {
        await Lock.WaitAsync().ConfigureAwait(false);
        try
        {
            foreach (var lb in paths.LoadBalancers().Union(_children.Keys).ToList())
            {
                await StopAsync(lb).ConfigureAwait(false);
            }
        }
        finally
        {
            Lock.Release();
        }
    }

    /// <summary>Last resort at process exit: SIGTERM to every live master, without waiting.</summary>
    public void SignalAll()
    {
        foreach (var lb in paths.LoadBalancers())
        {
            if (MasterPid(lb) is > 0 and var pid)
            {
                Posix.Signal(pid, Posix.SIGTERM);
            }
        }
    }

    /// <summary>The master's view of its processes.</summary>
    internal sealed record ProcInfo(int Reloads, int Failed, int Workers);

    internal async Task<ProcInfo?> ReadProcAsync(string lbId, CancellationToken ct)
    {
        string text;
        try
        {
            text = await HaproxySocket.QueryAsync(paths.MasterSocketPath(lbId), "show proc", ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or IOException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            return null;
        }
        var master = MasterLine().Match(text);
        if (!master.Success)
        {
            return null;
        }
        var workers = WorkerLine().Count(text);
        return new ProcInfo(int.Parse(master.Groups[1].Value, CultureInfo.InvariantCulture),
            int.Parse(master.Groups[2].Value, CultureInfo.InvariantCulture), workers);
    }

    private async Task SaveStateAsync(string lbId, CancellationToken ct)
    {
        try
        {
            var state = await HaproxySocket.QueryAsync(paths.HaproxySockPath(lbId), "show servers state", ct).ConfigureAwait(false);
            await File.WriteAllTextAsync(paths.StateFilePath(lbId), state, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or IOException)
        {
            // Upstream reloads anyway; the state file only keeps server states across the reload.
            Log.StateSaveFailed(logger, lbId, ex.Message);
        }
    }

    private static async Task<bool> WaitForExitAsync(int pid, Process? child, TimeSpan timeout, CancellationToken ct)
    {
        if (child is not null)
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(timeout);
            try
            {
                await child.WaitForExitAsync(cts.Token).ConfigureAwait(false);
                return true;
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                return false;
            }
        }
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            if (!Posix.IsAlive(pid))
            {
                return true;
            }
            await Task.Delay(25, ct).ConfigureAwait(false);
        }
        return false;
    }

    private void OnOutput(string lbId, Queue<string> recent, string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (recent)
        {
            recent.Enqueue(line);
            while (recent.Count > 50)
            {
                recent.Dequeue();
            }
        }
        Log.HaproxyOutput(logger, lbId, line);
    }

    private string Recent(string lbId) => _recentOutput.TryGetValue(lbId, out var q) ? Recent(q) : "";

    private static string Recent(Queue<string> recent)
    {
        lock (recent)
        {
            return string.Join('\n', recent);
        }
    }

    [GeneratedRegex(@"^\d+\s+master\s+(\d+)\s+\[failed:\s*(\d+)\]", RegexOptions.Multiline)]
    private static partial Regex MasterLine();

    [GeneratedRegex(@"^\d+\s+worker\s", RegexOptions.Multiline)]
    private static partial Regex WorkerLine();
}
