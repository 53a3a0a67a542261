// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.Logging;

namespace Octavia.Amphora.Agent;

/// <summary>The agent's log messages; EventIds 7000–7099 are stable.</summary>
internal static partial class Log
{
    /// <summary>HAProxy's console output (the admin log takes it with forward_all_logs).</summary>
    public const int HaproxyOutputId = 7005;

    /// <summary>keepalived's output (always in the admin log, as upstream's --log-facility puts it there).</summary>
    public const int KeepalivedOutputId = 7012;

    [LoggerMessage(7000, LogLevel.Information, "Amphora agent listening on {Endpoint} (amphora {AmphoraId}, namespace mode {NamespaceMode})")]
    public static partial void Listening(ILogger logger, string endpoint, string? amphoraId, bool namespaceMode);

    [LoggerMessage(7001, LogLevel.Information, "HAProxy for load balancer {LbId} started, master PID {Pid}")]
    public static partial void HaproxyStarted(ILogger logger, string lbId, int pid);

    [LoggerMessage(7002, LogLevel.Information, "HAProxy for load balancer {LbId} reloaded (master PID {Pid})")]
    public static partial void HaproxyReloaded(ILogger logger, string lbId, int pid);

    [LoggerMessage(7003, LogLevel.Information, "HAProxy for load balancer {LbId} stopped (master PID {Pid})")]
    public static partial void HaproxyStopped(ILogger logger, string lbId, int pid);

    [LoggerMessage(7004, LogLevel.Error, "HAProxy for load balancer {LbId} failed to start: {Output}")]
    public static partial void HaproxyStartFailed(ILogger logger, string lbId, string output);

    [LoggerMessage(HaproxyOutputId, LogLevel.Debug, "haproxy[{LbId}]: {Line}")]
    public static partial void HaproxyOutput(ILogger logger, string lbId, string line);

    [LoggerMessage(7006, LogLevel.Warning, "Failed to save haproxy-{LbId} state: {Reason}")]
    public static partial void StateSaveFailed(ILogger logger, string lbId, string reason);

    [LoggerMessage(7007, LogLevel.Error, "Failed to verify haproxy file for {LbId}: {Output}")]
    public static partial void ConfigRejected(ILogger logger, string lbId, string output);

    [LoggerMessage(7010, LogLevel.Information, "keepalived started, PID {Pid}")]
    public static partial void KeepalivedStarted(ILogger logger, int pid);

    [LoggerMessage(7011, LogLevel.Information, "keepalived {Action} (PID {Pid})")]
    public static partial void KeepalivedAction(ILogger logger, string action, int pid);

    [LoggerMessage(KeepalivedOutputId, LogLevel.Debug, "keepalived: {Line}")]
    public static partial void KeepalivedOutput(ILogger logger, string line);

    [LoggerMessage(7020, LogLevel.Debug, "Heartbeat {Seq} sent to {Destination} ({Bytes} bytes)")]
    public static partial void HeartbeatSent(ILogger logger, long seq, string destination, int bytes);

    [LoggerMessage(7021, LogLevel.Error, "Keepalived is configured but not running, skipping health heartbeat")]
    public static partial void HeartbeatSkippedKeepalived(ILogger logger);

    [LoggerMessage(7022, LogLevel.Error, "No controller address found. Unable to send heartbeat")]
    public static partial void HeartbeatNoDestination(ILogger logger);

    [LoggerMessage(7023, LogLevel.Error, "Invalid ip and port '{Value}' in health_manager controller_ip_port_list")]
    public static partial void HeartbeatBadDestination(ILogger logger, string value);

    [LoggerMessage(7024, LogLevel.Warning, "Heartbeat failed: {Reason}")]
    public static partial void HeartbeatFailed(ILogger logger, string reason);

    [LoggerMessage(7025, LogLevel.Error, "heartbeat_key is not set; heartbeats are not sent")]
    public static partial void HeartbeatNoKey(ILogger logger);

    [LoggerMessage(7030, LogLevel.Information, "Server certificate loaded from {Path}, subject {Subject}, expires {NotAfter}")]
    public static partial void CertificateLoaded(ILogger logger, string path, string subject, DateTime notAfter);

    [LoggerMessage(7031, LogLevel.Error, "Server certificate {Path} cannot be used: {Reason}; keeping the previous one")]
    public static partial void CertificateLoadFailed(ILogger logger, string path, string reason);

    [LoggerMessage(7032, LogLevel.Warning, "Client certificate {Subject} refused: {Reason}")]
    public static partial void ClientRefused(ILogger logger, string subject, string reason);

    [LoggerMessage(7040, LogLevel.Information, "Network: {Command}")]
    public static partial void NetworkCommand(ILogger logger, string command);

    [LoggerMessage(7050, LogLevel.Error, "Unable to update amphora-agent configuration: {Reason}")]
    public static partial void ConfigUpdateFailed(ILogger logger, string reason);

    [LoggerMessage(7051, LogLevel.Information, "Agent configuration reloaded from {Path}")]
    public static partial void ConfigUpdated(ILogger logger, string path);

    [LoggerMessage(7060, LogLevel.Debug, "Load balancer {LbId}: announced {Count} VIP address(es) with GARP/NA")]
    public static partial void VipsAnnounced(ILogger logger, string lbId, int count);

    [LoggerMessage(7061, LogLevel.Debug, "Load balancer {LbId}: VIP advertisement failed ({Reason}); this amphora may not hold the VIP")]
    public static partial void VipAnnouncementFailed(ILogger logger, string lbId, string reason);

    [LoggerMessage(7070, LogLevel.Information, "Receiving HAProxy logs on {Address}; storing them in {Directory}")]
    public static partial void LogReceiverListening(ILogger logger, string address, string directory);

    [LoggerMessage(7071, LogLevel.Error, "Cannot receive HAProxy logs on {Address}: {Reason}; HAProxy keeps them in its ring only")]
    public static partial void LogReceiverFailed(ILogger logger, string address, string reason);

    [LoggerMessage(7072, LogLevel.Error, "Cannot write amphora logs under {Directory}: {Reason}")]
    public static partial void LogStorageFailed(ILogger logger, string directory, string reason);

    [LoggerMessage(7073, LogLevel.Information, "Forwarding logs to {Target}")]
    public static partial void LogTargetConnected(ILogger logger, string target);

    [LoggerMessage(7074, LogLevel.Warning, "Log target {Target} unreachable: {Reason}")]
    public static partial void LogTargetUnreachable(ILogger logger, string target, string reason);
}
