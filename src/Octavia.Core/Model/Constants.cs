// Licensed under the Apache License, Version 2.0.
// Wire values shared by the API, the controller and the amphora, spelled as upstream spells them.

namespace Octavia.Core.Model;

/// <summary>Provisioning status values (upstream <c>provisioning_status</c> lookup table).</summary>
public static class ProvisioningStatus
{
    public const string Active = "ACTIVE";
    public const string Deleted = "DELETED";
    public const string Error = "ERROR";
    public const string PendingCreate = "PENDING_CREATE";
    public const string PendingUpdate = "PENDING_UPDATE";
    public const string PendingDelete = "PENDING_DELETE";
    // Amphora-only values.
    public const string Booting = "BOOTING";
    public const string Allocated = "ALLOCATED";
    public const string Ready = "READY";
    public const string FailoverStopped = "FAILOVER_STOPPED";

    public static readonly string[] All =
        [Active, Deleted, Error, PendingCreate, PendingUpdate, PendingDelete, Booting, Allocated, Ready, FailoverStopped];

    public static bool IsPending(string? status) => status is PendingCreate or PendingUpdate or PendingDelete;
}

/// <summary>Operating status values (upstream <c>operating_status</c> lookup table).</summary>
public static class OperatingStatus
{
    public const string Online = "ONLINE";
    public const string Offline = "OFFLINE";
    public const string Degraded = "DEGRADED";
    public const string Error = "ERROR";
    public const string NoMonitor = "NO_MONITOR";
    public const string Draining = "DRAINING";

    public static readonly string[] All = [Online, Offline, Degraded, Error, NoMonitor, Draining];
}

/// <summary>Listener and pool protocols.</summary>
public static class Protocols
{
    public const string Tcp = "TCP";
    public const string Udp = "UDP";
    public const string Sctp = "SCTP";
    public const string Http = "HTTP";
    public const string Https = "HTTPS";
    public const string TerminatedHttps = "TERMINATED_HTTPS";
    public const string Proxy = "PROXY";
    public const string ProxyV2 = "PROXYV2";
    public const string Prometheus = "PROMETHEUS";

    public static readonly string[] Listener = [Tcp, Udp, Sctp, Http, Https, TerminatedHttps, Prometheus];
    public static readonly string[] Pool = [Tcp, Udp, Sctp, Http, Https, Proxy, ProxyV2];
    public static readonly string[] All = [Tcp, Udp, Sctp, Http, Https, TerminatedHttps, Proxy, ProxyV2, Prometheus];

    /// <summary>Upstream's VALID_LISTENER_POOL_PROTOCOL_MAP.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> ListenerPoolMap = new Dictionary<string, string[]>
    {
        [Tcp] = [Http, Https, Proxy, ProxyV2, Tcp],
        [Http] = [Http, Proxy, ProxyV2],
        [Https] = [Https, Proxy, ProxyV2, Tcp],
        [TerminatedHttps] = [Http, Proxy, ProxyV2],
        [Udp] = [Udp],
        [Sctp] = [Sctp],
        [Prometheus] = [],
    };
}

/// <summary>Pool load-balancing algorithms.</summary>
public static class LbAlgorithms
{
    public const string RoundRobin = "ROUND_ROBIN";
    public const string LeastConnections = "LEAST_CONNECTIONS";
    public const string SourceIp = "SOURCE_IP";
    public const string SourceIpPort = "SOURCE_IP_PORT";

    public static readonly string[] All = [RoundRobin, LeastConnections, SourceIp, SourceIpPort];
}

/// <summary>Session persistence types.</summary>
public static class SessionPersistenceTypes
{
    public const string SourceIp = "SOURCE_IP";
    public const string HttpCookie = "HTTP_COOKIE";
    public const string AppCookie = "APP_COOKIE";

    public static readonly string[] All = [SourceIp, HttpCookie, AppCookie];
}

/// <summary>Health monitor types.</summary>
public static class HealthMonitorTypes
{
    public const string Http = "HTTP";
    public const string Https = "HTTPS";
    public const string Ping = "PING";
    public const string Tcp = "TCP";
    public const string TlsHello = "TLS-HELLO";
    public const string UdpConnect = "UDP-CONNECT";
    public const string Sctp = "SCTP";

    public static readonly string[] All = [Http, Https, Ping, Tcp, TlsHello, UdpConnect, Sctp];
}

/// <summary>L7 policy actions.</summary>
public static class L7PolicyActions
{
    public const string Reject = "REJECT";
    public const string RedirectToUrl = "REDIRECT_TO_URL";
    public const string RedirectToPool = "REDIRECT_TO_POOL";
    public const string RedirectPrefix = "REDIRECT_PREFIX";

    public static readonly string[] All = [Reject, RedirectToUrl, RedirectToPool, RedirectPrefix];
}

/// <summary>L7 rule types.</summary>
public static class L7RuleTypes
{
    public const string HostName = "HOST_NAME";
    public const string Path = "PATH";
    public const string FileType = "FILE_TYPE";
    public const string Header = "HEADER";
    public const string Cookie = "COOKIE";
    public const string SslConnHasCert = "SSL_CONN_HAS_CERT";
    public const string SslVerifyResult = "SSL_VERIFY_RESULT";
    public const string SslDnField = "SSL_DN_FIELD";

    public static readonly string[] All = [HostName, Path, FileType, Header, Cookie, SslConnHasCert, SslVerifyResult, SslDnField];
}

/// <summary>L7 rule compare types.</summary>
public static class L7RuleCompareTypes
{
    public const string Regex = "REGEX";
    public const string StartsWith = "STARTS_WITH";
    public const string EndsWith = "ENDS_WITH";
    public const string Contains = "CONTAINS";
    public const string EqualTo = "EQUAL_TO";

    public static readonly string[] All = [Regex, StartsWith, EndsWith, Contains, EqualTo];
}

/// <summary>Load balancer topologies.</summary>
public static class Topologies
{
    public const string Single = "SINGLE";
    public const string ActiveStandby = "ACTIVE_STANDBY";

    public static readonly string[] All = [Single, ActiveStandby];
}

/// <summary>Amphora roles.</summary>
public static class AmphoraRoles
{
    public const string Master = "MASTER";
    public const string Backup = "BACKUP";
    public const string Standalone = "STANDALONE";

    public static readonly string[] All = [Master, Backup, Standalone];
}

/// <summary>Listener client-authentication modes.</summary>
public static class ClientAuthenticationModes
{
    public const string None = "NONE";
    public const string Optional = "OPTIONAL";
    public const string Mandatory = "MANDATORY";

    public static readonly string[] All = [None, Optional, Mandatory];
}
