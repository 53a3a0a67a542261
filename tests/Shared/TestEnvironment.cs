// Licensed under the Apache License, Version 2.0.
// Linked into every test project (tests/Directory.Build.props): where things are, and what this machine allows.

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Octavia.Tests.Shared;

/// <summary>Paths and capabilities shared by the test projects.</summary>
internal static class TestEnvironment
{
    private static readonly Lazy<string> s_repoRoot = new(() =>
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Octavia.slnx")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
    });

    /// <summary>The checkout's root (where Octavia.slnx is).</summary>
    public static string RepoRoot => s_repoRoot.Value;

    /// <summary>
    /// The built <c>octavia</c> executable. run_tests.sh builds Release once before the tests; a
    /// developer's Debug build is used when that is all there is.
    /// </summary>
    public static string OctaviaExe
    {
        get
        {
            foreach (var config in new[] { "release", "debug" })
            {
                var path = Path.Combine(RepoRoot, "artifacts", "bin", "Octavia", config, "octavia");
                if (File.Exists(path))
                {
                    return path;
                }
            }
            throw new InvalidOperationException("octavia is not built: run 'dotnet build src/Octavia' first");
        }
    }

    /// <summary>True when running as root (namespaces, bridges, veths can be made).</summary>
    public static bool IsRoot => Environment.UserName == "root";

    /// <summary>True if <paramref name="program"/> is on PATH.</summary>
    public static bool HasProgram(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
            .Any(dir => File.Exists(Path.Combine(dir, program)));

    private static readonly HashSet<int> s_handedOut = [];

    /// <summary>
    /// A TCP port that was free on <paramref name="address"/> a moment ago, never one this process was
    /// given before: the kernel may return the same free port twice, and HAProxy's SO_REUSEPORT would then
    /// let two listeners of one test share it.
    /// </summary>
    public static int FreeTcpPort(string address = "127.0.0.1")
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Parse(address), 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            lock (s_handedOut)
            {
                if (s_handedOut.Add(port))
                {
                    return port;
                }
            }
        }
    }

    /// <summary>A UDP port that was free on <paramref name="address"/> a moment ago.</summary>
    public static int FreeUdpPort(string address = "127.0.0.1")
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Parse(address), 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>Runs a command to completion; returns exit code and combined output.</summary>
    public static (int ExitCode, string Output) Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result + stderr.Result);
    }
}
