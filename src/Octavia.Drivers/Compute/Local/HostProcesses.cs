// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Globalization;

namespace Octavia.Drivers.Compute.Local;

/// <summary>A process identity that survives PID reuse: the PID plus the kernel's start time of that PID.</summary>
public readonly record struct ProcessIdentity(int Pid, long StartTime)
{
    public override string ToString() => $"{Pid} {StartTime.ToString(CultureInfo.InvariantCulture)}";

    public static ProcessIdentity? Parse(string text)
    {
        var parts = text.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return parts.Length == 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
            && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var start)
            ? new ProcessIdentity(pid, start)
            : null;
    }
}

/// <summary>Starting detached processes and signalling them by PID, through /proc and the usual tools.</summary>
public static class HostProcesses
{
    /// <summary>
    /// Starts <paramref name="command"/> in a new session (setsid), stdin from /dev/null and output
    /// appended to <paramref name="logFile"/>, so it outlives this process; returns its identity.
    /// <paramref name="environment"/> is added to the inherited environment (a variable already set in this
    /// process's environment keeps its value).
    /// </summary>
    public static async Task<ProcessIdentity> StartDetachedAsync(IReadOnlyList<string> command, string workingDirectory, string logFile,
        IReadOnlyDictionary<string, string>? environment, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        // The shell backgrounds setsid, which (not being a group leader) calls setsid() and execs the
        // command in place, so $! is the command's own PID; the shell then exits and the command is
        // re-parented away from us.
        var psi = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment.TryAdd(name, value);
        }
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("log=\"$1\"; shift; setsid \"$@\" </dev/null >>\"$log\" 2>&1 & echo $!");
        psi.ArgumentList.Add("sh");
        psi.ArgumentList.Add(logFile);
        foreach (var arg in command)
        {
            psi.ArgumentList.Add(arg);
        }
        using var shell = Process.Start(psi) ?? throw new InvalidOperationException("could not start /bin/sh");
        var output = await shell.StandardOutput.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        var error = await shell.StandardError.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        await shell.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        if (shell.ExitCode != 0 || !int.TryParse(output.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
        {
            throw new InvalidOperationException($"could not start {command[0]}: {error.Trim()}");
        }
        // The start time may be read a moment after the exec; it is the PID's, not the program's, so that is fine.
        var stat = ReadStat(pid);
        return new ProcessIdentity(pid, stat?.StartTime ?? 0);
    }

    /// <summary>True if the process exists, is not a zombie and is the one that was started.</summary>
    public static bool IsAlive(ProcessIdentity identity)
    {
        var stat = ReadStat(identity.Pid);
        return stat is { } s && s.State != 'Z' && s.State != 'X' && (identity.StartTime == 0 || s.StartTime == identity.StartTime);
    }

    /// <summary>PIDs of every live process in session <paramref name="sessionId"/>.</summary>
    public static IReadOnlyList<int> SessionMembers(int sessionId)
    {
        var pids = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && ReadStat(pid) is { } s && s.Session == sessionId && s.State != 'Z')
            {
                pids.Add(pid);
            }
        }
        return pids;
    }

    /// <summary>SIGTERM, then SIGKILL to whatever is left after <paramref name="grace"/>; each PID checked against its start time.</summary>
    public static async Task TerminateAsync(IReadOnlyList<ProcessIdentity> targets, TimeSpan grace, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(timeProvider);
        var alive = targets.Where(IsAlive).ToList();
        if (alive.Count == 0)
        {
            return;
        }
        await SignalAsync("TERM", alive, cancellationToken).ConfigureAwait(false);
        var deadline = timeProvider.GetUtcNow() + grace;
        while (alive.Count > 0 && timeProvider.GetUtcNow() < deadline)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(50), timeProvider, cancellationToken).ConfigureAwait(false);
            alive = [.. alive.Where(IsAlive)];
        }
        if (alive.Count > 0)
        {
            await SignalAsync("KILL", alive, cancellationToken).ConfigureAwait(false);
            var killDeadline = timeProvider.GetUtcNow() + TimeSpan.FromSeconds(5);
            while (alive.Count > 0 && timeProvider.GetUtcNow() < killDeadline)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(20), timeProvider, cancellationToken).ConfigureAwait(false);
                alive = [.. alive.Where(IsAlive)];
            }
        }
    }

    /// <summary>The identity of a running PID (null if it is gone).</summary>
    public static ProcessIdentity? Identify(int pid) => ReadStat(pid) is { } s ? new ProcessIdentity(pid, s.StartTime) : null;

    private static async Task SignalAsync(string signal, IReadOnlyList<ProcessIdentity> targets, CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo("kill") { UseShellExecute = false, RedirectStandardError = true };
        psi.ArgumentList.Add("-" + signal);
        foreach (var t in targets)
        {
            psi.ArgumentList.Add(t.Pid.ToString(CultureInfo.InvariantCulture));
        }
        using var kill = Process.Start(psi)!;
        // Some may have exited meanwhile; kill then complains about those only.
        await kill.StandardError.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        await kill.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
    }

    private static (char State, int Session, long StartTime)? ReadStat(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
        // The command name may contain spaces and parentheses: fields start after the last ')'.
        var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        return fields.Length > 19
            ? (fields[0][0], int.Parse(fields[3], CultureInfo.InvariantCulture), long.Parse(fields[19], CultureInfo.InvariantCulture))
            : null;
    }
}
