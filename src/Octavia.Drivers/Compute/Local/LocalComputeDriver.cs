// Licensed under the Apache License, Version 2.0.

using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Octavia.Core.Drivers;
using Octavia.Core.Model;
using Octavia.Drivers.Network.Local;

namespace Octavia.Drivers.Compute.Local;

/// <summary>What the local compute driver records about one amphora (<c>instance.json</c> in its run directory).</summary>
public sealed class LocalInstance
{
    public string AmphoraId { get; set; } = "";
    public string Mode { get; set; } = "";
    public string? Namespace { get; set; }
    public string? LbNetworkIp { get; set; }
    public string? ImageTag { get; set; }
    public string? FlavorId { get; set; }
    public string? AvailabilityZone { get; set; }
    public string? KeyName { get; set; }
    public string? ServerGroupId { get; set; }
    public List<string> NetworkIds { get; set; } = [];
    public string? AgentExecutable { get; set; }

    /// <summary>The agent's <see cref="ProcessIdentity"/> ("pid starttime"), once started.</summary>
    public string? Agent { get; set; }

    /// <summary>The sshd's <see cref="ProcessIdentity"/> when <c>amp_ssh_key_name</c> is set.</summary>
    public string? Sshd { get; set; }

    /// <summary>Why the build failed, if it did.</summary>
    public string? Error { get; set; }

    public DateTime CreatedAt { get; set; }
}

/// <summary>
/// Compute driver whose instances are local amphora-agent processes. In namespace mode an amphora is
/// network namespace <c>amphora-&lt;id&gt;</c> wired to the management bridge, with the agent started
/// inside through <c>ip netns exec</c>; in loopback mode the agent runs in the host namespace on a
/// 127.x address. Agents run in their own session, so they outlive the worker that started them.
/// The compute id is the amphora id.
/// </summary>
public sealed partial class LocalComputeDriver : IComputeDriver
{
    /// <summary>
    /// The agent's process environment (what an amphora image's service unit sets, see
    /// etc/systemd/octavia-amphora-agent.service). An agent serves a burst of requests when its load
    /// balancer is created and then little: with the default call-count threshold (30) the runtime
    /// recompiles every method of that burst at tier 1 right after it, about 0.25 s of CPU on the amphora
    /// while the create is still running, for code that then runs every few seconds. 0xFFFF calls (the
    /// value is hexadecimal, as for every DOTNET_ knob) keeps the precompiled and tier-0 code for the
    /// agent's occasional requests and still optimises what is hot, such as the log receiver under traffic.
    /// </summary>
    internal static readonly IReadOnlyDictionary<string, string> AgentEnvironment = new Dictionary<string, string>
    {
        ["DOTNET_TC_CallCountThreshold"] = "FFFF",
    };

    private static readonly JsonSerializerOptions s_json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly LocalDriverContext _context;
    private readonly LocalNetworkDriver _network;
    private readonly LinkTool _links;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<LocalComputeDriver> _logger;

    public LocalComputeDriver(LocalDriverContext context, TimeProvider timeProvider, ILogger<LocalComputeDriver> logger)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _context = context;
        _timeProvider = timeProvider;
        _logger = logger;
        _network = new LocalNetworkDriver(context, (ILogger)logger);
        _links = new LinkTool(logger);
    }

    public async Task<string> BuildAsync(AmphoraBootRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var id = request.AmphoraId;
        if (!SafeId().IsMatch(id))
        {
            throw new ArgumentException($"amphora id '{id}' is not a UUID-like name", nameof(request));
        }
        if (!File.Exists(_context.AgentExecutable))
        {
            throw new InvalidOperationException($"amphora agent '{_context.AgentExecutable}' does not exist ([local_compute] agent_executable)");
        }
        var dir = _context.AmphoraDir(id);
        if (ReadInstance(dir) is { Agent: { } running } && ProcessIdentity.Parse(running) is { } known && HostProcesses.IsAlive(known))
        {
            return id;
        }

        Directory.CreateDirectory(dir);
        foreach (var sub in new[] { "lb", "certs", "interfaces" })
        {
            Directory.CreateDirectory(Path.Combine(dir, sub));
        }
        await WriteSecretAsync(Path.Combine(dir, "server.pem"), request.ServerPem, cancellationToken).ConfigureAwait(false);
        await WriteSecretAsync(Path.Combine(dir, "client_ca.pem"), request.ClientCaPem, cancellationToken).ConfigureAwait(false);

        var ns = _context.Mode == LocalMode.Namespace ? LinkTool.NamespaceName(id) : null;
        var instance = new LocalInstance
        {
            AmphoraId = id,
            Mode = _context.Mode == LocalMode.Namespace ? "namespace" : "loopback",
            Namespace = ns,
            ImageTag = request.ImageTag,
            FlavorId = request.FlavorId,
            AvailabilityZone = request.AvailabilityZone,
            KeyName = request.KeyName,
            ServerGroupId = request.ServerGroupId,
            NetworkIds = [.. request.NetworkIds],
            AgentExecutable = _context.AgentExecutable,
            CreatedAt = _timeProvider.GetUtcNow().UtcDateTime,
        };
        await SaveInstanceAsync(dir, instance, cancellationToken).ConfigureAwait(false);
        LogBuilding(_logger, id, instance.Mode);

        try
        {
            var sshKey = request.KeyName is { Length: > 0 } keyName ? LocalSsh.PublicKeyFile(_context, keyName) : null;
            var subnet = _context.ManagementNetwork.Subnets[0];
            if (ns is not null)
            {
                await _links.EnsureNamespaceAsync(ns, cancellationToken).ConfigureAwait(false);
            }
            var port = await _network.PlugAsync(new Amphora { Id = id }, subnet, LocalPortRole.Management, "octavia-amphora-mgmt-" + id,
                LocalNetworkDriver.ComputeOwner, null, "eth-mgmt", cancellationToken).ConfigureAwait(false);
            if (ns is not null)
            {
                // The management NIC is configured by the "cloud" (DHCP upstream), not by the agent.
                await _links.AddAddressAsync(ns, port.Interface!, IPAddress.Parse(port.IpAddress), subnet.Cidr.PrefixLength, cancellationToken).ConfigureAwait(false);
            }
            instance.LbNetworkIp = port.IpAddress;

            var configFile = Path.Combine(dir, "amphora-agent.conf");
            // It carries the heartbeat key.
            await WriteSecretAsync(configFile, AgentConfig(request.AgentConfig, dir, id, port.IpAddress), cancellationToken).ConfigureAwait(false);

            var command = new List<string>();
            if (ns is not null)
            {
                command.AddRange(["ip", "netns", "exec", ns]);
            }
            command.Add(_context.AgentExecutable);
            command.AddRange(_context.Options.AgentArguments);
            command.AddRange(["--config-file", configFile]);
            var agent = await HostProcesses.StartDetachedAsync(command, dir, Path.Combine(dir, "agent.log"), AgentEnvironment, cancellationToken).ConfigureAwait(false);
            instance.Agent = agent.ToString();
            await File.WriteAllTextAsync(Path.Combine(dir, "agent.pid"), agent.Pid + "\n", cancellationToken).ConfigureAwait(false);
            if (sshKey is not null)
            {
                instance.Sshd = (await LocalSsh.StartAsync(_context, dir, ns, port.IpAddress, sshKey, cancellationToken).ConfigureAwait(false)).ToString();
            }
            await SaveInstanceAsync(dir, instance, cancellationToken).ConfigureAwait(false);
            LogStarted(_logger, id, agent.Pid, port.IpAddress);
            return id;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            instance.Error = ex.Message;
            await SaveInstanceAsync(dir, instance, CancellationToken.None).ConfigureAwait(false);
            LogBuildFailed(_logger, ex, id);
            throw;
        }
    }

    public async Task<ComputeInstance> GetAsync(string computeId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(computeId);
        var dir = SafeId().IsMatch(computeId) ? _context.AmphoraDir(computeId) : null;
        if (dir is null || !Directory.Exists(dir))
        {
            return new ComputeInstance(computeId, ComputeStatus.Deleted, null, null, null);
        }
        var instance = ReadInstance(dir);
        if (instance is null)
        {
            return new ComputeInstance(computeId, ComputeStatus.Building, null, null, null);
        }
        ComputeInstance Make(string status, string? fault = null) =>
            new(computeId, status, instance.LbNetworkIp, instance.ImageTag ?? instance.AgentExecutable, instance.AvailabilityZone, fault);

        if (instance.Error is { } error)
        {
            return Make(ComputeStatus.Error, error);
        }
        if (instance.Agent is null || ProcessIdentity.Parse(instance.Agent) is not { } agent)
        {
            return Make(ComputeStatus.Building);
        }
        if (HostProcesses.IsAlive(agent))
        {
            return Make(ComputeStatus.Active);
        }
        var log = await TailAsync(Path.Combine(dir, "agent.log"), 10, cancellationToken).ConfigureAwait(false);
        return Make(ComputeStatus.Error, $"amphora agent (pid {agent.Pid}) exited: {(log.Length > 0 ? log : "no output")}");
    }

    public async Task DeleteAsync(string computeId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(computeId);
        if (!SafeId().IsMatch(computeId))
        {
            return;
        }
        var dir = _context.AmphoraDir(computeId);
        var instance = ReadInstance(dir);
        var grace = TimeSpan.FromSeconds(_context.Options.AgentStopTimeout);
        var agent = instance?.Agent is { } a ? ProcessIdentity.Parse(a) : null;

        // Gather the agent's session first: its children stay in it after the agent is gone.
        var sessionMembers = agent is { } known && HostProcesses.IsAlive(known)
            ? HostProcesses.SessionMembers(known.Pid).Where(pid => pid != known.Pid).Select(HostProcesses.Identify).OfType<ProcessIdentity>().ToList()
            : [];
        if (agent is { } agentId)
        {
            // The agent stops its own haproxy and keepalived on SIGTERM; give it the chance first.
            await HostProcesses.TerminateAsync([agentId], grace, _timeProvider, cancellationToken).ConfigureAwait(false);
        }
        var ns = LinkTool.NamespaceName(computeId);
        var leftovers = new List<ProcessIdentity>(sessionMembers);
        if (instance?.Sshd is { } sshd && ProcessIdentity.Parse(sshd) is { } sshdId)
        {
            leftovers.Add(sshdId);
        }
        var hasNamespace = Environment.IsPrivilegedProcess && await _links.NamespaceExistsAsync(ns, cancellationToken).ConfigureAwait(false);
        if (hasNamespace)
        {
            leftovers.AddRange((await _links.NamespacePidsAsync(ns, cancellationToken).ConfigureAwait(false)).Select(HostProcesses.Identify).OfType<ProcessIdentity>());
        }
        if (leftovers.Count > 0)
        {
            LogKillingLeftovers(_logger, computeId, leftovers.Count);
            await HostProcesses.TerminateAsync(leftovers, grace, _timeProvider, cancellationToken).ConfigureAwait(false);
        }

        // Every port bound to the amphora goes with it, as its veths go with the namespace.
        await _network.UnplugAsync(p => p.DeviceId == computeId, cancellationToken).ConfigureAwait(false);
        if (hasNamespace)
        {
            await _links.DeleteNamespaceAsync(ns, cancellationToken).ConfigureAwait(false);
        }
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }
        LogDeleted(_logger, computeId);
    }

    public Task<string?> CreateServerGroupAsync(string name, string policy, CancellationToken cancellationToken) =>
        Task.FromResult<string?>(null);

    public Task DeleteServerGroupAsync(string serverGroupId, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The instance record of a run directory, or null.</summary>
    public static LocalInstance? ReadInstance(string dir)
    {
        var file = Path.Combine(dir, "instance.json");
        try
        {
            return JsonSerializer.Deserialize<LocalInstance>(File.ReadAllText(file), s_json);
        }
        catch (IOException)
        {
            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// Points the rendered agent config at this amphora's run directory (upstream's config drive puts the
    /// files under /etc/octavia and /var/lib/octavia) and, in loopback mode, at its 127.x address.
    /// </summary>
    internal string AgentConfig(string rendered, string dir, string amphoraId, string managementIp)
    {
        var text = rendered;
        text = IniText.Set(text, "amphora_agent", "agent_server_cert", Path.Combine(dir, "server.pem"));
        text = IniText.Set(text, "amphora_agent", "agent_server_ca", Path.Combine(dir, "client_ca.pem"));
        text = IniText.Set(text, "amphora_agent", "agent_server_network_dir", Path.Combine(dir, "interfaces"));
        text = IniText.Set(text, "amphora_agent", "amphora_id", amphoraId);
        // Telling beats guessing: /proc/1/ns/net, the usual reference, is unreadable in some containers.
        text = IniText.Set(text, "amphora_agent", "network_namespace", _context.Mode == LocalMode.Namespace ? LinkTool.NamespaceName(amphoraId) : "");
        text = IniText.Set(text, "haproxy_amphora", "base_path", Path.Combine(dir, "lb"));
        // base_cert_dir stays the controller's: the rendered haproxy.cfg names certificate files by that
        // path (base_cert_dir/lb_id/...), as upstream's amphorae share the controller's setting.
        if (_context.Mode == LocalMode.Loopback)
        {
            text = IniText.Set(text, "haproxy_amphora", "bind_host", managementIp);
            if (IniText.Get(text, "health_manager", "controller_ip_port_list") is { Length: > 0 } controllers)
            {
                var mapped = controllers.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                    .Select(entry => IPEndPoint.TryParse(entry, out var ep) ? new IPEndPoint(_context.Layout.Effective(ep.Address), ep.Port).ToString() : entry);
                text = IniText.Set(text, "health_manager", "controller_ip_port_list", string.Join(", ", mapped));
            }
        }
        return text;
    }

    private static async Task WriteSecretAsync(string path, string content, CancellationToken cancellationToken)
    {
        await File.WriteAllTextAsync(path, content, cancellationToken).ConfigureAwait(false);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    private static async Task SaveInstanceAsync(string dir, LocalInstance instance, CancellationToken cancellationToken)
    {
        var file = Path.Combine(dir, "instance.json");
        await File.WriteAllTextAsync(file + ".tmp", JsonSerializer.Serialize(instance, s_json), cancellationToken).ConfigureAwait(false);
        File.Move(file + ".tmp", file, overwrite: true);
    }

    private static async Task<string> TailAsync(string file, int lines, CancellationToken cancellationToken)
    {
        if (!File.Exists(file))
        {
            return "";
        }
        var all = await File.ReadAllLinesAsync(file, cancellationToken).ConfigureAwait(false);
        return string.Join(" | ", all.Where(l => l.Trim().Length > 0).TakeLast(lines)).Trim();
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")]
    private static partial Regex SafeId();

    [LoggerMessage(EventId = 3100, Level = LogLevel.Information, Message = "Building local amphora {AmphoraId} ({Mode} mode)")]
    private static partial void LogBuilding(ILogger logger, string amphoraId, string mode);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Information, Message = "Amphora {AmphoraId}: agent started with pid {Pid}, management address {LbNetworkIp}")]
    private static partial void LogStarted(ILogger logger, string amphoraId, int pid, string lbNetworkIp);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Error, Message = "Amphora {AmphoraId}: build failed")]
    private static partial void LogBuildFailed(ILogger logger, Exception exception, string amphoraId);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Warning, Message = "Amphora {AmphoraId}: stopping {Count} process(es) left after the agent")]
    private static partial void LogKillingLeftovers(ILogger logger, string amphoraId, int count);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Information, Message = "Amphora {AmphoraId} deleted")]
    private static partial void LogDeleted(ILogger logger, string amphoraId);
}
