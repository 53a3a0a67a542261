// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Octavia.Amphora.Agent.Haproxy;
using Octavia.Amphora.Agent.Network;
using Octavia.Amphora.Agent.Os;

namespace Octavia.Amphora.Agent;

/// <summary>Upstream's <c>amphora_info.py</c>: <c>/info</c> (the liveness probe) and <c>/details</c>.</summary>
internal sealed partial class AmphoraInfo(AgentSettings settings, AgentPaths paths, HaproxyManager haproxy)
{
    public const string ApiVersion = "1.0";
    private string? _haproxyVersion;
    private string? _keepalivedVersion;

    public async Task<JsonObject> InfoAsync(CancellationToken ct)
    {
        var body = new JsonObject
        {
            ["hostname"] = Environment.MachineName,
            ["haproxy_version"] = await HaproxyVersionAsync(ct).ConfigureAwait(false),
            ["api_version"] = ApiVersion,
        };
        if (await KeepalivedVersionAsync(ct).ConfigureAwait(false) is { } k)
        {
            body["keepalived_version"] = k;
        }
        return body;
    }

    public async Task<JsonObject> DetailsAsync(CancellationToken ct)
    {
        var listeners = new List<string>();
        var running = 0;
        foreach (var lb in paths.LoadBalancers())
        {
            try
            {
                listeners.AddRange(HaproxyConfigFile.Listeners(await File.ReadAllTextAsync(paths.ConfigPath(lb), ct).ConfigureAwait(false)).Select(l => l.Id));
            }
            catch (IOException)
            {
                continue;
            }
            if (haproxy.IsRunning(lb))
            {
                running++;
            }
        }
        var lvs = paths.LvsListeners();
        var meminfo = MemInfo();
        var cpu = Cpu();
        var drive = new DriveInfo(paths.BasePath.Length > 0 && Directory.Exists(paths.BasePath) ? paths.BasePath : "/");
        var body = await InfoAsync(ct).ConfigureAwait(false);
        body["networks"] = await NetworksAsync(ct).ConfigureAwait(false);
        body["active"] = true;
        body["haproxy_count"] = running;
        body["cpu"] = new JsonObject
        {
            ["total"] = cpu.Total,
            ["user"] = cpu.User,
            ["system"] = cpu.System,
            ["soft_irq"] = cpu.SoftIrq,
        };
        body["memory"] = new JsonObject
        {
            ["total"] = meminfo.GetValueOrDefault("MemTotal"),
            ["free"] = meminfo.GetValueOrDefault("MemFree"),
            ["buffers"] = meminfo.GetValueOrDefault("Buffers"),
            ["cached"] = meminfo.GetValueOrDefault("Cached"),
            ["swap_used"] = meminfo.GetValueOrDefault("SwapCached"),
            ["shared"] = meminfo.GetValueOrDefault("Shmem"),
            ["slab"] = meminfo.GetValueOrDefault("Slab"),
        };
        body["disk"] = new JsonObject
        {
            ["used"] = drive.TotalSize - drive.TotalFreeSpace,
            ["available"] = drive.AvailableFreeSpace,
        };
        body["load"] = new JsonArray([.. Load().Select(l => (JsonNode)JsonValue.Create(l))]);
        body["topology"] = "SINGLE";
        body["topology_status"] = "OK";
        body["listeners"] = new JsonArray([.. listeners.Union(lvs).Order(StringComparer.Ordinal).Select(l => (JsonNode)JsonValue.Create(l))]);
        body["packages"] = new JsonObject();
        body["lvs_listener_process_count"] = 0;
        return body;
    }

    private async Task<string> HaproxyVersionAsync(CancellationToken ct)
    {
        if (_haproxyVersion is not null)
        {
            return _haproxyVersion;
        }
        // Upstream asks the package manager; "haproxy -v" serves where HAProxy is not a Debian package.
        var dpkg = await CommandRunner.RunAsync("dpkg-query", ["-W", "-f=${Version}", "haproxy"], ct).ConfigureAwait(false);
        if (dpkg.Ok && dpkg.Output.Trim().Length > 0)
        {
            return _haproxyVersion = dpkg.Output.Trim();
        }
        var v = await CommandRunner.RunAsync(settings.HaproxyCmd, ["-v"], ct).ConfigureAwait(false);
        return _haproxyVersion = VersionWord().Match(v.Output) is { Success: true } m ? m.Groups[1].Value : "unknown";
    }

    private async Task<string?> KeepalivedVersionAsync(CancellationToken ct)
    {
        if (_keepalivedVersion is not null)
        {
            return _keepalivedVersion.Length == 0 ? null : _keepalivedVersion;
        }
        var dpkg = await CommandRunner.RunAsync("dpkg-query", ["-W", "-f=${Version}", "keepalived"], ct).ConfigureAwait(false);
        _keepalivedVersion = dpkg.Ok ? dpkg.Output.Trim() : "";
        return _keepalivedVersion.Length == 0 ? null : _keepalivedVersion;
    }

    private static async Task<JsonObject> NetworksAsync(CancellationToken ct)
    {
        var networks = new JsonObject();
        foreach (var link in await IpTool.LinksAsync(stats: true, ct).ConfigureAwait(false))
        {
            var name = (string?)link?["ifname"];
            if (name is null or "lo")
            {
                continue;
            }
            var stats = link?["stats64"];
            networks[name] = new JsonObject
            {
                ["network_tx"] = (long?)stats?["tx"]?["bytes"] ?? 0,
                ["network_rx"] = (long?)stats?["rx"]?["bytes"] ?? 0,
            };
        }
        return networks;
    }

    private static Dictionary<string, long> MemInfo()
    {
        var result = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines("/proc/meminfo"))
        {
            var m = MemLine().Match(line);
            if (m.Success)
            {
                result[m.Groups[1].Value] = long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
            }
        }
        return result;
    }

    private static (long Total, string User, string System, string SoftIrq) Cpu()
    {
        var first = File.ReadLines("/proc/stat").First();
        // Upstream splits on single spaces: "cpu  user nice system idle iowait irq softirq ..."
        var vals = first.Split(' ');
        var total = vals.Skip(2).Sum(v => long.TryParse(v, CultureInfo.InvariantCulture, out var n) ? n : 0);
        return (total, vals[2], vals[4], vals[8]);
    }

    private static string[] Load() => File.ReadAllText("/proc/loadavg").Split(' ')[..3];

    [GeneratedRegex(@"^(\S*):\s*(\d+)\s*kB")]
    private static partial Regex MemLine();

    [GeneratedRegex(@"version (\S+)")]
    private static partial Regex VersionWord();
}
