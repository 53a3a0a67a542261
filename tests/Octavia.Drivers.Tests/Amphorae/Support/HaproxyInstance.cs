// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Octavia.Tests.Shared;

namespace Octavia.Drivers.Tests.Amphorae.Support;

/// <summary>A real HAProxy in master-worker mode, started from a rendered config and stopped by PID.</summary>
internal sealed class HaproxyInstance : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private HaproxyInstance(Process process, string configPath, string statsSocket)
    {
        _process = process;
        ConfigPath = configPath;
        StatsSocket = statsSocket;
    }

    public string ConfigPath { get; }

    public string StatsSocket { get; }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Runs <c>haproxy -c</c> on the text; returns the exit code and output.</summary>
    public static (int ExitCode, string Output) Check(string config, string dir, string? localPeer = null)
    {
        var path = Path.Combine(dir, "check-" + Guid.NewGuid().ToString("N")[..8] + ".cfg");
        File.WriteAllText(path, AdaptForTest(config));
        return localPeer is null
            ? TestEnvironment.Run("haproxy", "-c", "-f", path)
            : TestEnvironment.Run("haproxy", "-c", "-L", localPeer, "-f", path);
    }

    /// <summary>Validates, starts, and waits until every port in <paramref name="ports"/> accepts connections.</summary>
    public static async Task<HaproxyInstance> StartAsync(string config, string dir, string statsSocket, IEnumerable<(string Address, int Port)> ports)
    {
        var path = Path.Combine(dir, "haproxy.cfg");
        await File.WriteAllTextAsync(path, AdaptForTest(config));
        var (rc, output) = TestEnvironment.Run("haproxy", "-c", "-f", path);
        if (rc != 0)
        {
            throw new InvalidOperationException($"haproxy -c failed ({rc}):\n{output}\n--- config ---\n{config}");
        }
        var psi = new ProcessStartInfo("haproxy") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-W", "-db", "-f", path })
        {
            psi.ArgumentList.Add(a);
        }
        var process = Process.Start(psi)!;
        var instance = new HaproxyInstance(process, path, statsSocket);
        process.OutputDataReceived += (_, e) => instance.Append(e.Data);
        process.ErrorDataReceived += (_, e) => instance.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            foreach (var (address, port) in ports)
            {
                await WaitForPortAsync(address, port, process);
            }
        }
        catch
        {
            await instance.DisposeAsync();
            throw;
        }
        return instance;
    }

    // Only root may switch to 'nobody'; elsewhere the config is run as rendered.
    private static string AdaptForTest(string config) =>
        TestEnvironment.IsRoot ? config : config.Replace("    user nobody\n", "", StringComparison.Ordinal);

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private static async Task WaitForPortAsync(string address, int port, Process process)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"haproxy exited with {process.ExitCode}");
            }
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(address, port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }
        }
    }

    /// <summary>Sends a command to the stats socket and returns the answer.</summary>
    public async Task<string> CommandAsync(string command)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(StatsSocket));
        await socket.SendAsync(Encoding.ASCII.GetBytes(command + "\n"));
        var sb = new StringBuilder();
        var buffer = new byte[8192];
        int n;
        while ((n = await socket.ReceiveAsync(buffer)) > 0)
        {
            sb.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }
        return sb.ToString();
    }

    /// <summary>The <c>status</c> column of a server (proxy = backend name, server = member id).</summary>
    public async Task<string?> ServerStatusAsync(string backend, string server)
    {
        var csv = await CommandAsync("show stat");
        var lines = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var header = lines[0].TrimStart('#', ' ').Split(',');
        var statusIndex = Array.IndexOf(header, "status");
        foreach (var line in lines.Skip(1))
        {
            var cols = line.Split(',');
            if (cols.Length > statusIndex && cols[0] == backend && cols[1] == server)
            {
                return cols[statusIndex];
            }
        }
        return null;
    }

    /// <summary>Polls until the server's status starts with <paramref name="expected"/>.</summary>
    public async Task WaitForServerStatusAsync(string backend, string server, string expected, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        string? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = await ServerStatusAsync(backend, server);
            if (last is not null && last.StartsWith(expected, StringComparison.Ordinal))
            {
                return;
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"server {backend}/{server} stayed '{last}', expected '{expected}'");
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
    }
}
