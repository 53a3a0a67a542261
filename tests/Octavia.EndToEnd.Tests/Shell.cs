// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Text;

namespace Octavia.EndToEnd.Tests;

/// <summary>Runs bash command lines with a fixed environment, as a user at a terminal would.</summary>
internal sealed class Shell(string workingDirectory, IReadOnlyDictionary<string, string> environment, ITestOutputHelper output)
{
    public string WorkingDirectory { get; } = workingDirectory;

    /// <summary>Runs <paramref name="command"/>; returns its exit code and combined output.</summary>
    public (int ExitCode, string Output) Try(string command, TimeSpan? timeout = null)
    {
        var psi = new ProcessStartInfo("bash", ["-c", command])
        {
            WorkingDirectory = WorkingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var (k, v) in environment)
        {
            psi.Environment[k] = v;
        }
        var started = Stopwatch.StartNew();
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var text = new StringBuilder();
        var lockObj = new object();
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (lockObj) { text.AppendLine(e.Data); } } };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (lockObj) { text.AppendLine(e.Data); } } };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        if (!p.WaitForExit(timeout ?? TimeSpan.FromMinutes(3)))
        {
            p.Kill(entireProcessTree: true);
            // Bounded: a daemon that inherited our pipes would otherwise keep the output open forever.
            p.WaitForExit(TimeSpan.FromSeconds(10));
            output.WriteLine($"$ {command}\n(timed out after {started.Elapsed.TotalSeconds:F1} s)\n{text}");
            return (-1, text.ToString());
        }
        p.WaitForExit();
        output.WriteLine($"$ {command}   [{p.ExitCode}, {started.Elapsed.TotalSeconds:F1} s]\n{Tail(text.ToString())}");
        return (p.ExitCode, text.ToString());
    }

    /// <summary>Runs <paramref name="command"/> and fails the test unless it exits 0; returns its output.</summary>
    public string Run(string command, TimeSpan? timeout = null)
    {
        var (code, text) = Try(command, timeout);
        code.ShouldBe(0, $"'{command}' failed:\n{text}");
        return text;
    }

    private static string Tail(string text) => text.Length <= 4000 ? text : "..." + text[^4000..];
}
