// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Text.Json.Nodes;
using Octavia.Tests.Shared;

namespace Octavia.Amphora.Agent.Tests.Infrastructure;

/// <summary>
/// An amphora as a network namespace (<c>oag*</c>), with a management veth to the host, and the real
/// <c>octavia amphora-agent</c> started inside it with <c>ip netns exec</c>, as the local compute driver does.
/// Disposal stops the agent by PID and deletes the namespace and the host-side veths.
/// </summary>
internal sealed class NamespaceAmphora : IAsyncDisposable
{
    private readonly List<string> _hostLinks = [];
    private Process? _agent;
    private readonly List<string> _agentOutput = [];

    private NamespaceAmphora(string name, string prefix)
    {
        Name = name;
        Prefix = prefix;
    }

    /// <summary>The namespace name.</summary>
    public string Name { get; }

    /// <summary>The first three octets of this amphora's addresses, e.g. 198.18.10.</summary>
    public string Prefix { get; }

    public string HostMgmtIp => Prefix + "1";

    public string AmphoraMgmtIp => Prefix + "2";

    public int? AgentPid => _agent?.Id;

    public string AgentOutput
    {
        get
        {
            lock (_agentOutput)
            {
                return string.Join('\n', _agentOutput);
            }
        }
    }

    public static NamespaceAmphora Create()
    {
        var suffix = Guid.NewGuid().ToString("N")[..6];
        // All namespace tests share 198.18.10.0/24 and run one at a time (one test class), so one layout serves.
        var ns = new NamespaceAmphora("oag" + suffix, "198.18.10.");
        try
        {
            Ip("netns", "add", ns.Name);
            Ip("-n", ns.Name, "link", "set", "lo", "up");
            ns.AddVeth("m", "mgmt0", ns.HostMgmtIp + "/28");
            Ip("-n", ns.Name, "addr", "add", ns.AmphoraMgmtIp + "/28", "dev", "mgmt0");
            Ip("-n", ns.Name, "link", "set", "mgmt0", "up");
            return ns;
        }
        catch
        {
            ns.Cleanup();
            throw;
        }
    }

    /// <summary>Adds a veth whose peer <paramref name="insideName"/> sits (down, unconfigured) in the namespace; returns the peer's MAC.</summary>
    public string AddVeth(string tag, string insideName, string? hostAddress)
    {
        var host = $"oag{tag}{Name[3..]}";
        Ip("link", "add", host, "type", "veth", "peer", "name", insideName, "netns", Name);
        _hostLinks.Add(host);
        if (hostAddress is not null)
        {
            Ip("addr", "add", hostAddress, "dev", host);
        }
        Ip("link", "set", host, "up");
        return Mac(insideName);
    }

    public string Mac(string insideName)
    {
        var links = JsonNode.Parse(Ip("-j", "-n", Name, "link", "show", "dev", insideName))!.AsArray();
        return (string)links[0]!["address"]!;
    }

    /// <summary>IPv4 addresses on an interface inside the namespace, as "ip/prefix".</summary>
    public IReadOnlyList<string> Addresses(string insideName)
    {
        var links = JsonNode.Parse(Ip("-j", "-4", "-n", Name, "addr", "show", "dev", insideName))!.AsArray();
        return [.. links[0]!["addr_info"]!.AsArray().Select(a => $"{(string)a!["local"]!}/{(int)a["prefixlen"]!}")];
    }

    public JsonNode Link(string insideName) => JsonNode.Parse(Ip("-j", "-n", Name, "link", "show", "dev", insideName))!.AsArray()[0]!;

    public string Routes(params string[] extra) => Ip(["-n", Name, "route", "show", .. extra]);

    /// <summary>Starts the real agent inside the namespace.</summary>
    public void StartAgent(string configPath)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "netns", "exec", Name, TestEnvironment.OctaviaExe, "amphora-agent", "--config-file", configPath })
        {
            psi.ArgumentList.Add(a);
        }
        _agent = Process.Start(psi)!;
        _agent.OutputDataReceived += (_, e) => Collect(e.Data);
        _agent.ErrorDataReceived += (_, e) => Collect(e.Data);
        _agent.BeginOutputReadLine();
        _agent.BeginErrorReadLine();
    }

    private void Collect(string? line)
    {
        if (line is not null)
        {
            lock (_agentOutput)
            {
                _agentOutput.Add(line);
            }
        }
    }

    /// <summary>Sends SIGTERM to the agent and waits for it to exit.</summary>
    public async Task<bool> StopAgentAsync(TimeSpan timeout)
    {
        if (_agent is null || _agent.HasExited)
        {
            return true;
        }
        // "ip netns exec" execs the agent, so the PID is the agent's own.
        TestEnvironment.Run("kill", "-TERM", _agent.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _agent.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public static string Ip(params string[] args)
    {
        var (code, output) = TestEnvironment.Run("ip", args);
        if (code != 0)
        {
            throw new InvalidOperationException($"ip {string.Join(' ', args)}: {output}");
        }
        return output;
    }

    private void Cleanup()
    {
        foreach (var link in _hostLinks)
        {
            TestEnvironment.Run("ip", "link", "del", link);
        }
        TestEnvironment.Run("ip", "netns", "del", Name);
    }

    public async ValueTask DisposeAsync()
    {
        if (_agent is not null)
        {
            if (!await StopAgentAsync(TimeSpan.FromSeconds(20)))
            {
                _agent.Kill(entireProcessTree: true);
            }
            _agent.Dispose();
        }
        Cleanup();
    }
}
