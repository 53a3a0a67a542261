// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;

namespace Octavia.EndToEnd.Tests;

/// <summary>
/// A python3 http.server on a host address serving <c>index.html</c> (its name), <c>health</c> ("ok") and,
/// when asked, <c>blob</c> (a body of a known size). It can be stopped and started again; stopped by PID.
/// </summary>
internal sealed class HttpBackend : IDisposable
{
    private readonly string _dir;
    private Process? _process;

    public HttpBackend(string name, string address, int bodyBytes = 0)
    {
        Name = name;
        Address = address;
        Port = FreeTcpPort(address);
        _dir = Directory.CreateTempSubdirectory("oit-web-").FullName;
        File.WriteAllText(Path.Combine(_dir, "index.html"), name);
        File.WriteAllText(Path.Combine(_dir, "health"), "ok");
        if (bodyBytes > 0)
        {
            File.WriteAllText(Path.Combine(_dir, "blob"), new string('x', bodyBytes));
        }
        Start();
    }

    public string Name { get; }

    public string Address { get; }

    public int Port { get; }

    public bool Running => _process is { HasExited: false };

    /// <summary>Starts the server and returns once it accepts connections.</summary>
    public void Start()
    {
        var psi = new ProcessStartInfo("python3", ["-m", "http.server", "--bind", Address, "--directory", _dir, Port.ToString(CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        _process = Process.Start(psi)!;
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(15))
        {
            try
            {
                using var probe = new TcpClient();
                probe.Connect(Address, Port);
                return;
            }
            catch (SocketException)
            {
                Thread.Sleep(100);
            }
        }
        throw new InvalidOperationException($"backend {Name} did not listen on {Address}:{Port}");
    }

    public void Stop()
    {
        if (_process is null)
        {
            return;
        }
        try
        {
            _process.Kill();
            _process.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
        _process = null;
    }

    public void Dispose()
    {
        Stop();
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }
}
