// Licensed under the Apache License, Version 2.0.

using System.Text.RegularExpressions;

namespace Octavia.Amphora.Agent;

/// <summary>
/// Upstream's file layout under <c>[haproxy_amphora] base_path</c> (api_server/util.py), plus the HAProxy
/// master socket, which upstream's systemd unit does not need.
/// </summary>
internal sealed partial class AgentPaths(string basePath, string baseCertDir)
{
    public string BasePath { get; } = basePath;

    public string HaproxyDir(string lbId) => Path.Combine(BasePath, lbId);

    public string PidPath(string lbId) => Path.Combine(HaproxyDir(lbId), lbId + ".pid");

    public string ConfigPath(string lbId) => Path.Combine(HaproxyDir(lbId), "haproxy.cfg");

    public string StateFilePath(string lbId) => Path.Combine(HaproxyDir(lbId), "servers-state");

    public string MasterSocketPath(string lbId) => Path.Combine(HaproxyDir(lbId), "master.sock");

    public string HaproxySockPath(string lbId) => Path.Combine(BasePath, lbId + ".sock");

    /// <summary>
    /// The stats socket as written into haproxy.cfg: relative to HAProxy's working directory
    /// (<see cref="HaproxyDir"/>), because a local amphora's absolute path can exceed sun_path's 108 bytes.
    /// </summary>
    public static string HaproxySockConfigPath(string lbId) => "unix@../" + lbId + ".sock";

    /// <summary>A socket path from <paramref name="lbId"/>'s haproxy.cfg, absolute (relative ones are from HAProxy's working directory).</summary>
    public string FromHaproxyDir(string lbId, string path) =>
        Path.GetFullPath(path.StartsWith("unix@", StringComparison.Ordinal) ? path["unix@".Length..] : path, HaproxyDir(lbId));

    public string CertDir(string lbId) => Path.Combine(baseCertDir, lbId);

    /// <summary>The FIFO HAProxy writes tenant traffic log lines into (its standard output), read by the agent.</summary>
    public string TrafficLogFifoPath => Path.Combine(BasePath, "haproxy-traffic.fifo");

    /// <summary>The FIFO HAProxy writes administrative log lines into (its descriptor 3), read by the agent.</summary>
    public string AdminLogFifoPath => Path.Combine(BasePath, "haproxy-admin.fifo");

    public string KeepalivedDir => Path.Combine(BasePath, "vrrp");

    public string KeepalivedConfigPath => Path.Combine(KeepalivedDir, "octavia-keepalived.conf");

    public string KeepalivedPidPath => Path.Combine(KeepalivedDir, "octavia-keepalived.pid");

    public string KeepalivedVrrpPidPath => Path.Combine(KeepalivedDir, "octavia-keepalived-vrrp.pid");

    public string KeepalivedCheckPidPath => Path.Combine(KeepalivedDir, "octavia-keepalived-check.pid");

    public string KeepalivedCheckScriptPath => Path.Combine(KeepalivedDir, "check_script.sh");

    public string KeepalivedCheckScriptsDir => Path.Combine(KeepalivedDir, "check_scripts");

    public string HaproxyCheckScriptPath => Path.Combine(KeepalivedCheckScriptsDir, "haproxy_check_script.sh");

    public string LvsDir => Path.Combine(BasePath, "lvs");

    public string LvsConfigPath(string listenerId) => Path.Combine(LvsDir, $"octavia-keepalivedlvs-{listenerId}.conf");

    public string StatsCountersPath => Path.Combine(BasePath, "stats_counters.json");

    public string PluggedInterfacesPath => Path.Combine(BasePath, "plugged_interfaces");

    /// <summary>Load balancers with a configuration on disk (upstream's <c>get_loadbalancers</c>).</summary>
    public IReadOnlyList<string> LoadBalancers()
    {
        if (!Directory.Exists(BasePath))
        {
            return [];
        }
        return [.. Directory.EnumerateDirectories(BasePath)
            .Select(Path.GetFileName)
            .Where(name => name is not null && IsSafeId(name) && File.Exists(ConfigPath(name)))
            .Select(name => name!)
            .Order(StringComparer.Ordinal)];
    }

    /// <summary>LVS listeners with a configuration on disk.</summary>
    public IReadOnlyList<string> LvsListeners()
    {
        if (!Directory.Exists(LvsDir))
        {
            return [];
        }
        const string prefix = "octavia-keepalivedlvs-";
        return [.. Directory.EnumerateFiles(LvsDir, prefix + "*.conf")
            .Select(f => Path.GetFileNameWithoutExtension(f)[prefix.Length..])
            .Order(StringComparer.Ordinal)];
    }

    /// <summary>An object id that is safe to use as a file name (no separators, no dot-only names).</summary>
    public static bool IsSafeId(string id) => SafeId().IsMatch(id) && id.Trim('.').Length > 0;

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,255}$")]
    private static partial Regex SafeId();
}
