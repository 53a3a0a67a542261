// Licensed under the Apache License, Version 2.0.

using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Octavia.Amphora.Agent.Os;

/// <summary>The few POSIX calls .NET does not expose: signals by PID, the open-file limit and FIFOs.</summary>
internal static partial class Posix
{
    public const int SIGHUP = 1;
    public const int SIGKILL = 9;
    public const int SIGUSR1 = 10;
    public const int SIGUSR2 = 12;
    public const int SIGTERM = 15;
    private const int RLIMIT_NOFILE = 7;
    private const int EEXIST = 17;
    private const int F_SETPIPE_SZ = 1031;
    private const int F_GETPIPE_SZ = 1032;
    private const int O_WRONLY = 1;
    private const int O_NONBLOCK = 0x800;
    private const int O_CLOEXEC = 0x80000;

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

    /// <summary>
    /// Opens the FIFO at <paramref name="path"/> for reading and writing, creating it when missing (and replacing
    /// anything else found under that name), and asks the kernel to buffer <paramref name="bytes"/> in it. Read-write,
    /// because such an open never waits for a writer and the FIFO never reads as ended when its writers go.
    /// </summary>
    public static SafeFileHandle OpenFifo(string path, int bytes)
    {
        for (var attempt = 0; ; attempt++)
        {
            if (mkfifo(path, 0x180) != 0 && Marshal.GetLastPInvokeError() is var error && error != EEXIST)
            {
                throw new IOException($"cannot create FIFO {path}: {Marshal.GetPInvokeErrorMessage(error)}");
            }
            var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
            var fd = (int)handle.DangerousGetHandle();
            // F_SETPIPE_SZ can be refused above the user's limit; F_GETPIPE_SZ still tells a pipe from a file.
            if (fcntl(fd, F_SETPIPE_SZ, bytes) >= 0 || fcntl(fd, F_GETPIPE_SZ, 0) >= 0)
            {
                return handle;
            }
            handle.Dispose();
            if (attempt > 0)
            {
                throw new IOException($"{path} is not a FIFO");
            }
            File.Delete(path);
        }
    }

    /// <summary>Opens a FIFO that has a reader for writes that never wait (<see cref="TryWrite"/>).</summary>
    public static SafeFileHandle OpenFifoWriter(string path)
    {
        var handle = new SafeFileHandle(open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC), ownsHandle: true);
        return handle.IsInvalid ? throw new IOException($"cannot open FIFO {path}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}") : handle;
    }

    /// <summary>One write of all of <paramref name="bytes"/>; false if it could not be done at once (a full FIFO).</summary>
    public static bool TryWrite(SafeFileHandle handle, byte[] bytes) => write(handle, bytes, bytes.Length) == bytes.Length;

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint write(SafeFileHandle fd, byte[] buffer, nint count);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int mkfifo(string path, uint mode);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fcntl(int fd, int cmd, int arg);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int getrlimit(int resource, [Out] long[] rlim);
}
