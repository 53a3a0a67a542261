// Licensed under the Apache License, Version 2.0.

using System.Runtime.InteropServices;

namespace Octavia.Amphora.Agent.Os;

/// <summary>The few POSIX calls .NET does not expose: signals by PID and the open-file limit.</summary>
internal static partial class Posix
{
    public const int SIGHUP = 1;
    public const int SIGKILL = 9;
    public const int SIGUSR1 = 10;
    public const int SIGUSR2 = 12;
    public const int SIGTERM = 15;
    private const int RLIMIT_NOFILE = 7;

    /// <summary>Sends a signal; false if the process does not exist (or is not ours to signal).</summary>
    public static bool Signal(int pid, int signal) => pid > 0 && kill(pid, signal) == 0;

    /// <summary>True if a process with this PID exists and is not a zombie.</summary>
    public static bool IsAlive(int pid)
    {
        if (pid <= 0)
        {
            return false;
        }
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // Field 3, after the parenthesised command name, is the state; Z and X are dead.
            var state = stat[(stat.LastIndexOf(')') + 2)..][0];
            return state is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return true;
        }
    }

    /// <summary>Reads the first integer in a PID file; 0 if missing or garbage.</summary>
    public static int ReadPidFile(string path)
    {
        try
        {
            var text = File.ReadAllText(path).Trim();
            var first = text.Split('\n', 2)[0].Trim();
            return int.TryParse(first, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var pid) ? pid : 0;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>The hard RLIMIT_NOFILE of this process (what HAProxy can raise its own limit to).</summary>
    public static long HardOpenFileLimit()
    {
        var limits = new long[2];
        return getrlimit(RLIMIT_NOFILE, limits) == 0 ? limits[1] : 1024;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int getrlimit(int resource, [Out] long[] rlim);
}
