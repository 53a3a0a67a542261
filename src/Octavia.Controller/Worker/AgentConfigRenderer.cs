// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using System.Text;

namespace Octavia.Controller.Worker;

/// <summary>
/// Renders <c>/etc/octavia/amphora-agent.conf</c> for one amphora, in the shape of upstream's
/// <c>amphorae/backends/agent/templates/amphora_agent_conf.template</c>.
/// </summary>
public static class AgentConfigRenderer
{
    public static string Render(WorkerSettings settings, string amphoraId, string topology)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var ha = settings.HaproxyAmphora;
        var agent = settings.AmphoraAgent;
        var hm = settings.HealthManager;
        var sb = new StringBuilder();
        void Line(string text) => sb.Append(text).Append('\n');
        string B(bool b) => b ? "True" : "False";
        string I(int i) => i.ToString(CultureInfo.InvariantCulture);

        Line("[DEFAULT]");
        Line($"debug = {B(settings.Debug)}");
        Line("use_syslog = True");
        Line($"syslog_log_facility = LOG_LOCAL{I(agent.AdministrativeLogFacility)}");
        Line("");
        Line("[haproxy_amphora]");
        Line($"base_cert_dir = {ha.BaseCertDir}");
        Line($"base_path = {ha.BasePath}");
        Line($"bind_host = {ha.BindHost}");
        Line($"bind_port = {I(ha.BindPort)}");
        Line($"haproxy_cmd = {ha.HaproxyCmd}");
        Line($"respawn_count = {I(ha.RespawnCount)}");
        Line($"respawn_interval = {I(ha.RespawnInterval)}");
        Line($"use_upstart = {B(ha.UseUpstart)}");
        Line($"user_log_facility = {I(agent.UserLogFacility)}");
        Line($"administrative_log_facility = {I(agent.AdministrativeLogFacility)}");
        Line("");
        Line("[health_manager]");
        Line($"controller_ip_port_list = {string.Join(", ", hm.ControllerIpPortList)}");
        Line($"heartbeat_interval = {I(hm.HeartbeatInterval)}");
        Line($"heartbeat_key = {hm.HeartbeatKey}");
        Line("");
        Line("[amphora_agent]");
        Line($"agent_server_ca = {agent.AgentServerCa}");
        Line($"agent_server_cert = {agent.AgentServerCert}");
        if (!string.IsNullOrEmpty(agent.AgentServerNetworkDir))
        {
            Line($"agent_server_network_dir = {agent.AgentServerNetworkDir}");
        }
        Line($"agent_request_read_timeout = {I(agent.AgentRequestReadTimeout)}");
        Line($"amphora_id = {amphoraId}");
        Line($"amphora_udp_driver = {agent.AmphoraUdpDriver}");
        Line($"agent_tls_protocol = {agent.AgentTlsProtocol}");
        // Upstream renders these into the amphora's rsyslog configuration; our agent is its own log daemon.
        Line($"user_log_facility = {I(agent.UserLogFacility)}");
        Line($"administrative_log_facility = {I(agent.AdministrativeLogFacility)}");
        Line($"tenant_log_targets = {string.Join(", ", agent.TenantLogTargets)}");
        Line($"admin_log_targets = {string.Join(", ", agent.AdminLogTargets)}");
        Line($"log_protocol = {agent.LogProtocol}");
        Line($"log_retry_count = {I(agent.LogRetryCount)}");
        Line($"log_retry_interval = {I(agent.LogRetryInterval)}");
        Line($"log_queue_size = {I(agent.LogQueueSize)}");
        Line($"disable_local_log_storage = {B(agent.DisableLocalLogStorage)}");
        Line($"forward_all_logs = {B(agent.ForwardAllLogs)}");
        Line("");
        Line("[controller_worker]");
        Line($"loadbalancer_topology = {topology}");
        return sb.ToString();
    }
}
