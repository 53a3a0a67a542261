// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using System.Net;
using Octavia.Core.Configuration;

namespace Octavia.Amphora.Agent.Logging;

/// <summary>
/// Upstream's <c>[amphora_agent]</c> logging options. Upstream renders them into the amphora's rsyslog
/// configuration; here the agent itself is the amphora's log daemon, so it reads them directly.
/// </summary>
public sealed record LogSettings
{
    /// <summary>LOG_LOCAL facility of tenant traffic logs (<c>user_log_facility</c>); every other facility is administrative.</summary>
    public int UserLogFacility { get; init; }

    /// <summary>LOG_LOCAL facility of the admin lines the agent writes itself (<c>administrative_log_facility</c>).</summary>
    public int AdminLogFacility { get; init; } = 1;

    /// <summary><c>forward_all_logs</c>: HAProxy's console output goes to the admin log too.</summary>
    public bool ForwardAllLogs { get; init; }

    /// <summary><c>tenant_log_targets</c>: the first is the primary, the others are used while it is unreachable (TCP).</summary>
    public IReadOnlyList<IPEndPoint> TenantTargets { get; init; } = [];

    /// <summary><c>admin_log_targets</c>.</summary>
    public IReadOnlyList<IPEndPoint> AdminTargets { get; init; } = [];

    /// <summary><c>log_protocol</c>: true for TCP, false for UDP.</summary>
    public bool Tcp { get; init; }

    /// <summary><c>log_retry_count</c>.</summary>
    public int RetryCount { get; init; } = 5;

    /// <summary><c>log_retry_interval</c> seconds.</summary>
    public int RetryInterval { get; init; } = 2;

    /// <summary><c>log_queue_size</c> messages per destination.</summary>
    public int QueueSize { get; init; } = 10000;

    /// <summary><c>disable_local_log_storage</c>.</summary>
    public bool DisableLocalStorage { get; init; }

    /// <summary>Reads and checks the options; a bad target names the option.</summary>
    public static LogSettings FromConfig(OctaviaConfig config)
    {
        var agent = OptionBinder.Bind<AmphoraAgentOptions>(config);
        return new LogSettings
        {
            UserLogFacility = agent.UserLogFacility,
            AdminLogFacility = agent.AdministrativeLogFacility,
            ForwardAllLogs = agent.ForwardAllLogs,
            TenantTargets = Targets(agent.TenantLogTargets, "tenant_log_targets"),
            AdminTargets = Targets(agent.AdminLogTargets, "admin_log_targets"),
            Tcp = string.Equals(agent.LogProtocol, "TCP", StringComparison.OrdinalIgnoreCase),
            RetryCount = Math.Max(0, agent.LogRetryCount),
            RetryInterval = Math.Max(0, agent.LogRetryInterval),
            QueueSize = Math.Max(1, agent.LogQueueSize),
            DisableLocalStorage = agent.DisableLocalLogStorage,
        };
    }

    private static List<IPEndPoint> Targets(IEnumerable<string> values, string option)
    {
        var result = new List<IPEndPoint>();
        foreach (var value in values.Select(v => v.Trim()).Where(v => v.Length > 0))
        {
            var colon = value.LastIndexOf(':');
            if (colon <= 0
                || !IPAddress.TryParse(value[..colon].Trim('[', ']'), out var address)
                || !int.TryParse(value[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port)
                || port is < 1 or > 65535)
            {
                throw new ConfigException($"[amphora_agent] {option}: '{value}' is not an ip:port pair");
            }
            result.Add(new IPEndPoint(address, port));
        }
        return result;
    }
}
