// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Octavia.Amphora.Agent.Api;
using Octavia.Amphora.Agent.Os;

namespace Octavia.Amphora.Agent.Network;

/// <summary>
/// Upstream's <c>plug.py</c> for an amphora that is a network namespace: the agent runs inside it, finds the
/// interface by MAC address and configures addresses and routes with iproute2 (upstream moves the NIC into
/// its <c>amphora-haproxy</c> namespace; here the whole agent already is the namespace). In loopback mode
/// (the agent shares the host's namespace) only 127.0.0.0/8 VIPs can be plugged, as /32 on <c>lo</c>.
/// </summary>
internal sealed partial class NetworkPlugger(AgentSettings settings, AgentPaths paths, ILogger<NetworkPlugger> logger) : IDisposable
{
    private readonly SemaphoreSlim _lock = new(1, 1);

    /// <summary>
    /// True when the agent runs in its own network namespace: <c>[amphora_agent] network_namespace</c> decides
    /// when set (non-empty = namespace); only when unset is it guessed from <c>/proc/1/ns/net</c>.
    /// </summary>
    public bool NamespaceMode { get; } = settings.NetworkNamespace is null ? IpTool.InOwnNamespace() : settings.NetworkNamespace.Length > 0;

    private sealed record VipSpec(IPAddress Address, IPNetwork Subnet, string? Gateway, JsonArray HostRoutes);

    public void Dispose() => _lock.Dispose();

    /// <summary>Upstream's <c>plug_lo</c>: a fresh namespace has its loopback down.</summary>
    public async Task PlugLoAsync(CancellationToken ct)
    {
        if (NamespaceMode)
        {
            await IpTool.RunAsync(["link", "set", "lo", "up"], ct).ConfigureAwait(false);
        }
    }

    public async Task<Reply> PlugVipAsync(string vip, JsonObject body, CancellationToken ct)
    {
        var macAddress = (string)body["mac_address"]!;
        var gateway = (string?)body["gateway"];
        var subnetCidr = (string?)body["subnet_cidr"];
        var mtu = ReadInt(body["mtu"]);
        List<VipSpec> vips;
        try
        {
            vips = [ParseVip(vip, subnetCidr, gateway, body["host_routes"] as JsonArray)];
            foreach (var extra in body["additional_vips"] as JsonArray ?? [])
            {
                vips.Add(ParseVip((string?)extra?["ip_address"], (string?)extra?["subnet_cidr"], (string?)extra?["gateway"], extra?["host_routes"] as JsonArray));
            }
        }
        catch (FormatException ex)
        {
            return Reply.Message(400, $"Invalid VIP: {ex.Message}");
        }
        (IPAddress Ip, int Prefix)? vrrp = null;
        if ((string?)body["vrrp_ip"] is { Length: > 0 } vrrpText)
        {
            if (!IPAddress.TryParse(vrrpText, out var vrrpIp) || !IPNetwork.TryParse(subnetCidr ?? "", out var vrrpNet))
            {
                return Reply.Message(400, $"Invalid VRRP Address: '{vrrpText}' does not appear to be an IPv4 or IPv6 address");
            }
            vrrp = (vrrpIp, vrrpNet.PrefixLength);
        }

        if (!NamespaceMode)
        {
            return await PlugLoopbackVipAsync(vips, ct).ConfigureAwait(false);
        }

        await _lock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var plugged = ReadPlugged();
            var ifname = await IpTool.InterfaceByMacAsync(macAddress, ct).ConfigureAwait(false);
            if (ifname is not null && plugged.ContainsKey(macAddress.ToLowerInvariant()))
            {
                return Reply.Message(409, "Interface already exists");
            }
            if (ifname is null)
            {
                return Reply.Json(404, new JsonObject { ["details"] = "No suitable network interface found" });
            }
            var commands = VipCommands(ifname, vips, vrrp, mtu, []);
            if (await RunAllAsync(commands, ct).ConfigureAwait(false) is { } failure)
            {
                return Reply.Message(500, "Error plugging VIP", failure);
            }
            RecordPlugged(macAddress, ifname);
            return Reply.Message(202, "OK", $"VIPs plugged on interface {ifname}: {string.Join(", ", vips.Select(v => v.Address.ToString()))}");
        }
        finally
        {
            _lock.Release();
        }
    }

    public async Task<Reply> PlugNetworkAsync(JsonObject body, CancellationToken ct)
    {
        var macAddress = (string)body["mac_address"]!;
        var fixedIps = body["fixed_ips"] as JsonArray ?? [];
        var mtu = ReadInt(body["mtu"]);
        var fixedSpecs = new List<(IPAddress Ip, int Prefix, string? Gateway, JsonArray Routes)>();
        foreach (var f in fixedIps)
        {
            if (!IPAddress.TryParse((string?)f?["ip_address"], out var ip))
            {
                return Reply.Message(400, "Invalid network port");
            }
            var prefix = IPNetwork.TryParse((string?)f?["subnet_cidr"] ?? "", out var net) ? net.PrefixLength : (ip.AddressFamily == AddressFamily.InterNetwork ? 32 : 128);
            fixedSpecs.Add((ip, prefix, (string?)f?["gateway"], f?["host_routes"] as JsonArray ?? []));
        }
        if (!NamespaceMode)
        {
            return Reply.Message(202, "OK", $"Loopback mode: the amphora shares the host network, nothing to plug for {macAddress}");
        }

        await _lock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var ifname = await IpTool.InterfaceByMacAsync(macAddress, ct).ConfigureAwait(false);
            if (ifname is null)
            {
                return Reply.Json(404, new JsonObject { ["details"] = "No suitable network interface found" });
            }
            var existing = ReadPlugged().ContainsKey(macAddress.ToLowerInvariant());
            var commands = new List<string[]>();
            if (existing && body["vip_net_info"] is JsonObject vipInfo)
            {
                List<VipSpec> vips;
                try
                {
                    vips = [ParseVip((string?)vipInfo["vip"], (string?)vipInfo["subnet_cidr"], (string?)vipInfo["gateway"], vipInfo["host_routes"] as JsonArray)];
                    foreach (var extra in vipInfo["additional_vips"] as JsonArray ?? [])
                    {
                        vips.Add(ParseVip((string?)extra?["ip_address"], (string?)extra?["subnet_cidr"], (string?)extra?["gateway"], extra?["host_routes"] as JsonArray));
                    }
                }
                catch (FormatException ex)
                {
                    return Reply.Message(400, $"Invalid VIP: {ex.Message}");
                }
                (IPAddress, int)? vrrp = IPAddress.TryParse((string?)vipInfo["vrrp_ip"], out var vrrpIp) ? (vrrpIp, vips[0].Subnet.PrefixLength) : null;
                commands.AddRange(VipCommands(ifname, vips, vrrp, mtu, fixedSpecs.Select(f => (f.Ip, f.Prefix)).ToList()));
            }
            else
            {
                commands.AddRange(LinkCommands(ifname, mtu));
                foreach (var (ip, prefix, _, routes) in fixedSpecs)
                {
                    commands.Add(["addr", "replace", $"{ip}/{prefix}", "dev", ifname]);
                    commands.AddRange(HostRouteCommands(ifname, routes, table: null));
                }
            }
            if (await RunAllAsync(commands, ct).ConfigureAwait(false) is { } failure)
            {
                return Reply.Message(500, "Error plugging network", failure);
            }
            if (existing)
            {
                return Reply.Message(202, "OK", $"Updated existing interface {ifname}");
            }
            RecordPlugged(macAddress, ifname);
            return Reply.Message(202, "OK", $"Plugged on interface {ifname}");
        }
        finally
        {
            _lock.Release();
        }
    }

    private async Task<Reply> PlugLoopbackVipAsync(List<VipSpec> vips, CancellationToken ct)
    {
        var outside = vips.Where(v => !IPAddress.IsLoopback(v.Address) || v.Address.AddressFamily != AddressFamily.InterNetwork).ToList();
        if (outside.Count > 0)
        {
            return Reply.Message(400, "Cannot plug VIP",
                $"The agent runs in the host network namespace (loopback mode): only VIPs in 127.0.0.0/8 can be plugged there, not {string.Join(", ", outside.Select(v => v.Address))}. Run the agent inside the amphora's network namespace (ip netns exec) to plug other addresses.");
        }
        if (!Environment.IsPrivilegedProcess)
        {
            // An unprivileged agent (stack.sh without root) cannot add addresses, and need not: Linux
            // routes all of 127.0.0.0/8 to lo, so HAProxy binds these VIPs as they are.
            return Reply.Message(202, "OK", $"VIPs {string.Join(", ", vips.Select(v => v.Address.ToString()))} are local already (127.0.0.0/8 on lo)");
        }
        var commands = vips.Select(v => new[] { "addr", "replace", $"{v.Address}/32", "dev", "lo" }).ToList();
        if (await RunAllAsync(commands, ct).ConfigureAwait(false) is { } failure)
        {
            return Reply.Message(500, "Error plugging VIP", failure);
        }
        return Reply.Message(202, "OK", $"VIPs plugged on interface lo: {string.Join(", ", vips.Select(v => v.Address.ToString()))}");
    }

    private List<string[]> VipCommands(string ifname, List<VipSpec> vips, (IPAddress Ip, int Prefix)? vrrp, int? mtu, List<(IPAddress Ip, int Prefix)> fixedIps)
    {
        // keepalived owns the VIP in ACTIVE_STANDBY; otherwise the agent adds it and source-routes replies through table 1.
        var activeStandby = settings.Mutable.Topology == "ACTIVE_STANDBY";
        var commands = LinkCommands(ifname, mtu);
        if (vrrp is { } v)
        {
            commands.Add(["addr", "replace", $"{v.Ip}/{v.Prefix}", "dev", ifname]);
        }
        foreach (var (ip, prefix) in fixedIps)
        {
            commands.Add(["addr", "replace", $"{ip}/{prefix}", "dev", ifname]);
        }
        foreach (var vip in vips)
        {
            var family = vip.Address.AddressFamily == AddressFamily.InterNetwork ? "-4" : "-6";
            var hostPrefix = family == "-4" ? 32 : 128;
            var defaultDst = family == "-4" ? "0.0.0.0/0" : "::/0";
            if (!activeStandby)
            {
                commands.Add(["addr", "replace", $"{vip.Address}/{hostPrefix}", "dev", ifname]);
            }
            commands.Add([family, "route", "replace", vip.Subnet.ToString(), "dev", ifname, "scope", "link"]);
            if (vip.Gateway is { Length: > 0 } gw)
            {
                commands.Add([family, "route", "replace", defaultDst, "via", gw, "dev", ifname, "onlink"]);
                if (!activeStandby)
                {
                    commands.Add([family, "route", "replace", defaultDst, "via", gw, "dev", ifname, "onlink", "table", "1"]);
                }
            }
            if (!activeStandby)
            {
                commands.Add([family, "route", "replace", vip.Subnet.ToString(), "dev", ifname, "scope", "link", "src", vip.Address.ToString(), "table", "1"]);
                commands.Add([family, "rule", "del", "from", $"{vip.Address}/{hostPrefix}", "table", "1"]);
                commands.Add([family, "rule", "add", "from", $"{vip.Address}/{hostPrefix}", "table", "1"]);
            }
            commands.AddRange(HostRouteCommands(ifname, vip.HostRoutes, table: null));
            commands.AddRange(HostRouteCommands(ifname, vip.HostRoutes, table: "1"));
        }
        return commands;
    }

    private static List<string[]> LinkCommands(string ifname, int? mtu)
    {
        var commands = new List<string[]>();
        if (mtu is { } m)
        {
            commands.Add(["link", "set", "dev", ifname, "mtu", m.ToString(CultureInfo.InvariantCulture)]);
        }
        commands.Add(["link", "set", "dev", ifname, "up"]);
        return commands;
    }

    private static IEnumerable<string[]> HostRouteCommands(string ifname, JsonArray routes, string? table)
    {
        foreach (var r in routes)
        {
            if ((string?)r?["destination"] is { } dst && (string?)r?["nexthop"] is { } hop)
            {
                var cmd = new List<string> { "route", "replace", dst, "via", hop, "dev", ifname, "onlink" };
                if (table is not null)
                {
                    cmd.AddRange(["table", table]);
                }
                yield return [.. cmd];
            }
        }
    }

    /// <summary>
    /// Runs the commands in order; returns the first real failure's output, or null. Consecutive commands
    /// with the same address-family option run as one <c>ip [-4|-6] -batch -</c> (one process instead of one
    /// per command; ip stops at the first failing line and names it); a rule deletion, which fails on the
    /// first plug as expected, runs on its own.
    /// </summary>
    private async Task<string?> RunAllAsync(IEnumerable<string[]> commands, CancellationToken ct)
    {
        var batch = new List<string[]>();
        string? batchFamily = null;
        foreach (var cmd in commands)
        {
            Log.NetworkCommand(logger, "ip " + string.Join(' ', cmd));
            var family = cmd.Length > 0 && cmd[0] is "-4" or "-6" ? cmd[0] : null;
            // Deleting a rule that is not there yet is expected on the first plug.
            var expectFailure = cmd.Length > 2 && cmd[1] == "rule" && cmd[2] == "del";
            // A batch line is split on blanks (and '#' starts a comment): such arguments go on their own.
            var alone = expectFailure || cmd.Any(a => a.Length == 0 || a.Any(c => char.IsWhiteSpace(c) || c is '#' or '"' or '\'' or '\\'));
            if (batch.Count > 0 && (alone || family != batchFamily))
            {
                if (await RunBatchAsync(batchFamily, batch, ct).ConfigureAwait(false) is { } failure)
                {
                    return failure;
                }
                batch.Clear();
            }
            if (alone)
            {
                var result = await IpTool.RunAsync(cmd, ct).ConfigureAwait(false);
                if (!result.Ok && !expectFailure)
                {
                    return $"ip {string.Join(' ', cmd)}: {result.Output.Trim()}";
                }
                continue;
            }
            batchFamily = family;
            batch.Add(family is null ? cmd : cmd[1..]);
        }
        return batch.Count > 0 ? await RunBatchAsync(batchFamily, batch, ct).ConfigureAwait(false) : null;
    }

    private static async Task<string?> RunBatchAsync(string? family, List<string[]> batch, CancellationToken ct)
    {
        string Shown(string[] cmd) => string.Join(' ', family is null ? cmd : [family, .. cmd]);
        if (batch.Count == 1)
        {
            var single = await IpTool.RunAsync(family is null ? batch[0] : [family, .. batch[0]], ct).ConfigureAwait(false);
            return single.Ok ? null : $"ip {Shown(batch[0])}: {single.Output.Trim()}";
        }
        string[] args = family is null ? ["-batch", "-"] : [family, "-batch", "-"];
        var script = string.Concat(batch.Select(c => string.Join(' ', c) + "\n"));
        var result = await CommandRunner.RunAsync("ip", args, null, script, ct).ConfigureAwait(false);
        if (result.Ok)
        {
            return null;
        }
        var failed = BatchFailure().Match(result.Output);
        var line = failed.Success ? int.Parse(failed.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        var output = BatchFailure().Replace(result.Output, "").Trim();
        return line >= 1 && line <= batch.Count
            ? $"ip {Shown(batch[line - 1])}: {output}"
            : $"ip {string.Join(' ', args)}: {output}";
    }

    [GeneratedRegex(@"Command failed -:(\d+)\s*")]
    private static partial Regex BatchFailure();

    private static VipSpec ParseVip(string? address, string? cidr, string? gateway, JsonArray? hostRoutes)
    {
        if (!IPAddress.TryParse(address, out var ip))
        {
            throw new FormatException($"'{address}' does not appear to be an IPv4 or IPv6 address");
        }
        if (!IPNetwork.TryParse(cidr ?? "", out var subnet))
        {
            throw new FormatException($"'{cidr}' does not appear to be an IPv4 or IPv6 network");
        }
        return new VipSpec(ip, subnet, gateway, hostRoutes ?? []);
    }

    private static int? ReadInt(JsonNode? node) => node is JsonValue v && v.TryGetValue<int>(out var i) ? i : null;

    private Dictionary<string, string> ReadPlugged()
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (File.Exists(paths.PluggedInterfacesPath))
        {
            foreach (var line in File.ReadAllLines(paths.PluggedInterfacesPath))
            {
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length == 2)
                {
                    result[parts[0].ToLowerInvariant()] = parts[1];
                }
            }
        }
        return result;
    }

    private void RecordPlugged(string mac, string ifname)
    {
        if (!ReadPlugged().ContainsKey(mac.ToLowerInvariant()))
        {
            Directory.CreateDirectory(paths.BasePath);
            File.AppendAllText(paths.PluggedInterfacesPath, $"{mac.ToLowerInvariant()} {ifname}\n");
        }
    }
}
