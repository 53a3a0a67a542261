// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Text;
using Octavia.Tests.Shared;

namespace Octavia.MultiHost.Tests;

/// <summary>One <c>octavia SUBCOMMAND --config-file FILE</c> process; its output is kept for failure messages.</summary>
internal sealed class OctaviaProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private OctaviaProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    public string Name { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

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

    public static OctaviaProcess Start(string name, string subcommand, string configFile)
    {
        var psi = new ProcessStartInfo(TestEnvironment.OctaviaExe)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        psi.ArgumentList.Add(subcommand);
        psi.ArgumentList.Add("--config-file");
        psi.ArgumentList.Add(configFile);
        var process = new Process { StartInfo = psi };
        var result = new OctaviaProcess(name, process);
        process.OutputDataReceived += (_, e) => result.Append(e.Data);
        process.ErrorDataReceived += (_, e) => result.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return result;
    }

    /// <summary>Sends <paramref name="signal"/> to this process (by PID) and waits for it to exit.</summary>
    public async Task StopAsync(string signal, TimeSpan timeout)
    {
        if (_process.HasExited)
        {
            return;
        }
        _ = TestEnvironment.Run("kill", "-s", signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill();
            throw new TimeoutException($"{Name} (pid {Pid}) did not exit within {timeout.TotalSeconds}s of SIG{signal}\n{Output}");
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(10_000);
        }
        _process.Dispose();
    }

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
}
