// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Octavia.Amphora.Agent.Haproxy;
using Octavia.Amphora.Agent.Os;

namespace Octavia.Amphora.Agent.Keepalived;

/// <summary>
/// Runs the amphora's VRRP keepalived as a child process with per-amphora PID files
/// (<c>keepalived -n -l -D -f conf -p pid -r vrrp.pid -c chk.pid</c>): shared default PID files would
/// collide between amphorae on one host.
/// </summary>
internal sealed partial class KeepalivedManager(AgentSettings settings, AgentPaths paths, ILogger<KeepalivedManager> logger)
{
    private Process? _child;

    /// <summary>Serialises start, stop, reload and upload.</summary>
    public SemaphoreSlim Lock { get; } = new(1, 1);

    /// <summary>True when a keepalived configuration was uploaded (heartbeats then depend on keepalived running).</summary>
    public bool IsConfigured => File.Exists(paths.KeepalivedConfigPath);

    /// <summary>The live keepalived PID from its PID file, or 0.</summary>
    public int Pid
    {
        get
        {
            var pid = Posix.ReadPidFile(paths.KeepalivedPidPath);
            return Posix.IsAlive(pid) ? pid : 0;
        }
    }

    /// <summary>A reason to refuse the configuration, or null.</summary>
    public static string? Refusal(string config) => VirtualServer().IsMatch(config)
        ? "virtual_server blocks need IPVS, which this kernel lacks; keepalived would exit. Upload a VRRP-only configuration."
        : null;

    /// <summary>Writes the uploaded configuration and upstream's check scripts.</summary>
    public async Task WriteConfigAsync(byte[] body, IReadOnlyList<string> loadBalancers, CancellationToken ct)
    {
        Directory.CreateDirectory(paths.KeepalivedDir);
        Directory.CreateDirectory(paths.KeepalivedCheckScriptsDir);
        // The controller names the check script by its own base_path; this amphora's script is here.
        var config = CheckScriptLine().Replace(System.Text.Encoding.UTF8.GetString(body), m => m.Groups[1].Value + paths.KeepalivedCheckScriptPath);
        await AgentFiles.WriteAsync(paths.KeepalivedConfigPath, System.Text.Encoding.UTF8.GetBytes(config), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, ct).ConfigureAwait(false);
        var script = $"""
            #!/bin/bash
            shopt -s nullglob
            status=0
            for file in {paths.KeepalivedCheckScriptsDir}/*
            do
              echo "Running check script: " $file
              bash $file
              status=$(( $status + $? ))
            done
            exit $status

            """;
        await AgentFiles.WriteAsync(paths.KeepalivedCheckScriptPath, System.Text.Encoding.UTF8.GetBytes(script),
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute, ct).ConfigureAwait(false);
        UpdateHaproxyCheckScript(loadBalancers);
    }

    /// <summary>
    /// Upstream's <c>vrrp_check_script_update</c>: the VRRP track script fails unless every running load
    /// balancer's stats socket answers. Upstream calls <c>haproxy-vrrp-check</c> from its image; socat does the same here.
    /// </summary>
    public void UpdateHaproxyCheckScript(IEnumerable<string> runningLoadBalancers)
    {
        Directory.CreateDirectory(paths.KeepalivedCheckScriptsDir);
        var sockets = runningLoadBalancers.Select(lb => Path.GetFileName(paths.HaproxySockPath(lb))).ToList();
        // Relative socket names from base_path: a local amphora's absolute socket path can exceed sun_path.
        var text = sockets.Count == 0
            ? "exit 1"
            : $"cd '{paths.BasePath}' || exit 1\n"
                + string.Join('\n', sockets.Select(s => $"echo 'show info' | socat stdio UNIX-CONNECT:./{s} > /dev/null || exit 1")) + "\nexit 0\n";
        File.WriteAllText(paths.HaproxyCheckScriptPath, text);
    }

    /// <summary>start (reload if running), stop or reload. Caller holds <see cref="Lock"/>.</summary>
    public async Task<ProcessOutcome> ApplyAsync(string action, CancellationToken ct)
    {
        if (action == "stop")
        {
            return await StopAsync(ct).ConfigureAwait(false);
        }
        var pid = Pid;
        if (pid > 0)
        {
            // keepalived keeps running its old configuration when the new one is unusable.
            Posix.Signal(pid, Posix.SIGHUP);
            Log.KeepalivedAction(logger, "reloaded", pid);
            return new ProcessOutcome(true, "reload");
        }
        return await StartAsync(ct).ConfigureAwait(false);
    }

    private async Task<ProcessOutcome> StartAsync(CancellationToken ct)
    {
        if (!IsConfigured)
        {
            return new ProcessOutcome(false, "no keepalived configuration uploaded");
        }
        // No "keepalived -t" gate: it fails on warnings upstream's own template triggers; a config keepalived cannot run makes it exit, which is caught below.
        foreach (var file in new[] { paths.KeepalivedPidPath, paths.KeepalivedVrrpPidPath, paths.KeepalivedCheckPidPath })
        {
            File.Delete(file);
        }
        var psi = new ProcessStartInfo(settings.KeepalivedCmd)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "-n", "-l", "-D", "-f", paths.KeepalivedConfigPath, "-p", paths.KeepalivedPidPath, "-r", paths.KeepalivedVrrpPidPath, "-c", paths.KeepalivedCheckPidPath })
        {
            psi.ArgumentList.Add(a);
        }
        var process = new Process { StartInfo = psi };
        var recent = new Queue<string>();
        void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }
            lock (recent)
            {
                recent.Enqueue(line);
                if (recent.Count > 50)
                {
                    recent.Dequeue();
                }
            }
            Log.KeepalivedOutput(logger, line);
        }
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _child = process;
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (process.HasExited)
            {
                _child = null;
                process.Dispose();
                lock (recent)
                {
                    return new ProcessOutcome(false, "keepalived exited\n" + string.Join('\n', recent));
                }
            }
            if (Posix.ReadPidFile(paths.KeepalivedPidPath) == process.Id)
            {
                Log.KeepalivedStarted(logger, process.Id);
                return new ProcessOutcome(true, "start");
            }
            await Task.Delay(25, ct).ConfigureAwait(false);
        }
        return new ProcessOutcome(false, "keepalived did not write its PID file within 10 s");
    }

    private async Task<ProcessOutcome> StopAsync(CancellationToken ct)
    {
        var pid = Pid;
        var child = _child;
        _child = null;
        if (pid == 0 && child is { HasExited: false })
        {
            pid = child.Id;
        }
        if (pid > 0)
        {
            Posix.Signal(pid, Posix.SIGTERM);
            var sw = Stopwatch.StartNew();
            while (Posix.IsAlive(pid) && sw.Elapsed < TimeSpan.FromSeconds(10))
            {
                await Task.Delay(25, ct).ConfigureAwait(false);
            }
            if (Posix.IsAlive(pid))
            {
                Posix.Signal(pid, Posix.SIGKILL);
            }
            Log.KeepalivedAction(logger, "stopped", pid);
        }
        if (child is not null)
        {
            await child.WaitForExitAsync(ct).ConfigureAwait(false);
            child.Dispose();
        }
        return new ProcessOutcome(true, "stop");
    }

    /// <summary>Last resort at process exit: SIGTERM without waiting.</summary>
    public void SignalAll()
    {
        if (Pid is > 0 and var pid)
        {
            Posix.Signal(pid, Posix.SIGTERM);
        }
    }

    /// <summary>Stops keepalived on agent shutdown.</summary>
    public async Task StopAllAsync()
    {
        await Lock.WaitAsync().ConfigureAwait(false);
        try
        {
            await StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            Lock.Release();
        }
    }

    [GeneratedRegex(@"(vrrp_script\s+check_script\s*\{[^}]*?\bscript\s+)(""[^""]*""|\S+)")]
    private static partial Regex CheckScriptLine();

    [GeneratedRegex(@"^\s*virtual_server(_group)?\s", RegexOptions.Multiline)]
    private static partial Regex VirtualServer();
}
