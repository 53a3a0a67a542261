// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Octavia.Core.Configuration;
using Octavia.Core.Drivers;
using Octavia.Core.Model;
using AmphoraEntity = Octavia.Core.Model.Amphora;

namespace Octavia.Drivers.Amphorae;

/// <summary><c>[keepalived_vrrp]</c> settings and the check script path used in keepalived.conf.</summary>
public sealed record KeepalivedOptions
{
    public int VrrpCheckInterval { get; init; } = 5;
    public int VrrpFailCount { get; init; } = 2;
    public int VrrpSuccessCount { get; init; } = 2;
    public int VrrpGarpRefreshInterval { get; init; } = 5;
    public int VrrpGarpRefreshCount { get; init; } = 2;
    public int VrrpAdvertInt { get; init; } = 1;

    /// <summary>The script keepalived runs to check HAProxy (upstream's <c>keepalived_check_script_path()</c>).</summary>
    public string CheckScriptPath { get; init; } = "/var/lib/octavia/vrrp/check_script.sh";

    /// <summary>Reads <c>[keepalived_vrrp]</c>.</summary>
    public static KeepalivedOptions FromConfig(OctaviaConfig config)
    {
        var k = OptionBinder.Bind<KeepalivedVrrpOptions>(config);
        var basePath = OptionBinder.Bind<HaproxyAmphoraOptions>(config).BasePath;
        return new KeepalivedOptions
        {
            CheckScriptPath = Path.Combine(string.IsNullOrEmpty(basePath) ? "/var/lib/octavia" : basePath, "vrrp", "check_script.sh"),
            VrrpCheckInterval = k.VrrpCheckInterval,
            VrrpFailCount = k.VrrpFailCount,
            VrrpSuccessCount = k.VrrpSuccessCount,
            VrrpGarpRefreshInterval = k.VrrpGarpRefreshInterval,
            VrrpGarpRefreshCount = k.VrrpGarpRefreshCount,
            VrrpAdvertInt = k.VrrpAdvertInt,
        };
    }
}

/// <summary>A VIP's subnet as keepalived needs it for its policy routes; null fields render no route.</summary>
public sealed record KeepalivedVipSubnet(string Cidr, string? GatewayIp, IReadOnlyList<HostRoute>? HostRoutes = null);

/// <summary>
/// Renders keepalived.conf for an ACTIVE_STANDBY amphora in the shape of upstream's
/// <c>keepalived_base.template</c>: one VRRP instance, unicast to the peers, nopreempt, a track_script that
/// checks HAProxy. Never a <c>virtual_server</c> block: without IPVS keepalived would exit.
/// </summary>
public static class KeepalivedConfigRenderer
{
    /// <summary>Renders the configuration of <paramref name="amphora"/>.</summary>
    /// <param name="loadBalancer">With <c>VrrpGroup</c>, <c>Vip</c> and <c>Amphorae</c> loaded.</param>
    /// <param name="amphora">The amphora the file is for (role, vrrp_ip, vrrp_interface, vrrp_id, priority).</param>
    /// <param name="options">Check and GARP settings.</param>
    /// <param name="vipSubnet">The VIP subnet; null renders no virtual routes.</param>
    /// <param name="amphorae">The pair; the load balancer's amphorae when null. Only ALLOCATED ones become peers.</param>
    /// <exception cref="HaproxyConfigException">Data keepalived needs is missing.</exception>
    public static string Render(LoadBalancer loadBalancer, AmphoraEntity amphora, KeepalivedOptions options,
        KeepalivedVipSubnet? vipSubnet = null, IReadOnlyList<AmphoraEntity>? amphorae = null)
    {
        ArgumentNullException.ThrowIfNull(loadBalancer);
        ArgumentNullException.ThrowIfNull(amphora);
        ArgumentNullException.ThrowIfNull(options);
        var group = loadBalancer.VrrpGroup
            ?? throw new HaproxyConfigException($"Load balancer {loadBalancer.Id} has no VRRP group; it is not ACTIVE_STANDBY.");
        var vip = loadBalancer.Vip?.IpAddress
            ?? throw new HaproxyConfigException($"Load balancer {loadBalancer.Id} has no VIP address.");
        if (amphora.VrrpIp is null || amphora.VrrpInterface is null)
        {
            throw new HaproxyConfigException($"Amphora {amphora.Id} has no VRRP address or interface yet.");
        }
        var vrrpV6 = IPAddress.Parse(amphora.VrrpIp).AddressFamily == AddressFamily.InterNetworkV6;
        var vips = new List<(string Address, bool V6, KeepalivedVipSubnet? Subnet)>
        {
            (vip, IPAddress.Parse(vip).AddressFamily == AddressFamily.InterNetworkV6, vipSubnet),
        };
        foreach (var add in loadBalancer.AdditionalVips.Where(a => a.IpAddress is not null).OrderBy(a => a.IpAddress, StringComparer.Ordinal))
        {
            vips.Add((add.IpAddress!, IPAddress.Parse(add.IpAddress!).AddressFamily == AddressFamily.InterNetworkV6, null));
        }
        var peers = (amphorae ?? loadBalancer.Amphorae)
            .Where(a => a.Status == ProvisioningStatus.Allocated && a.VrrpIp is not null && a.VrrpIp != amphora.VrrpIp)
            .Select(a => a.VrrpIp!);
        var intf = amphora.VrrpInterface;
        var priority = amphora.VrrpPriority ?? (amphora.Role == AmphoraRoles.Master ? 100 : 90);

        var sb = new StringBuilder();
        void L(string line) => sb.Append(line).Append('\n');
        L("vrrp_script check_script {");
        L($"    script {options.CheckScriptPath}");
        L(Inv($"    interval {options.VrrpCheckInterval}"));
        L(Inv($"    fall {options.VrrpFailCount}"));
        L(Inv($"    rise {options.VrrpSuccessCount}"));
        L("}");
        L("");
        L($"vrrp_instance {group.VrrpGroupName ?? loadBalancer.Id.Replace("-", "", StringComparison.Ordinal)} {{");
        // Both amphorae start as BACKUP; with nopreempt the first to win keeps the VIP (upstream's choice).
        L("    state BACKUP");
        L($"    interface {intf}");
        L(Inv($"    virtual_router_id {amphora.VrrpId ?? 1}"));
        L(Inv($"    priority {priority}"));
        L("    nopreempt");
        L("    accept");
        L(Inv($"    garp_master_refresh {options.VrrpGarpRefreshInterval}"));
        L(Inv($"    garp_master_refresh_repeat {options.VrrpGarpRefreshCount}"));
        L(Inv($"    advert_int {group.AdvertInt ?? options.VrrpAdvertInt}"));
        L("    authentication {");
        L($"        auth_type {group.VrrpAuthType ?? "PASS"}");
        L($"        auth_pass {group.VrrpAuthPass}");
        L("    }");
        L("");
        L($"    unicast_src_ip {amphora.VrrpIp}");
        L("    unicast_peer {");
        foreach (var p in peers)
        {
            L($"        {p}");
        }
        L("    }");
        L("");
        L("    virtual_ipaddress {");
        foreach (var v in vips.Where(v => v.V6 == vrrpV6))
        {
            L($"        {v.Address}");
        }
        L("    }");
        L("");
        L("    virtual_ipaddress_excluded {");
        foreach (var v in vips.Where(v => v.V6 != vrrpV6))
        {
            L($"        {v.Address}");
        }
        L("    }");
        L("");
        L("    virtual_routes {");
        foreach (var v in vips.Where(v => v.Subnet is not null))
        {
            L($"        {NormalizeCidr(v.Subnet!.Cidr)} dev {intf} src {v.Address} scope link table 1");
            if (v.Subnet.GatewayIp is { } gw)
            {
                L($"        default via {gw} dev {intf} onlink table 1");
            }
            foreach (var hr in v.Subnet.HostRoutes ?? [])
            {
                L($"        {hr.Destination} dev {intf} gateway {hr.NextHop} onlink table 1");
            }
        }
        L("    }");
        L("");
        L("    virtual_rules {");
        foreach (var v in vips.Where(v => v.Subnet is not null))
        {
            L($"        from {v.Address}/{(v.V6 ? 128 : 32)} table 1 priority 100");
        }
        L("    }");
        L("");
        L("    track_script {");
        L("        check_script");
        L("    }");
        L("}");
        return sb.ToString();
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static string NormalizeCidr(string cidr)
    {
        var network = IPNetwork.Parse(cidr);
        return network.ToString();
    }

    /// <summary>
    /// A check script for the amphora: succeeds while every HAProxy stats socket in <paramref name="socketDirectory"/>
    /// answers (upstream's <c>haproxy-vrrp-check</c>).
    /// </summary>
    public static string CheckScript(string socketDirectory) =>
        "#!/bin/sh\n" +
        "# Generated by Octavia: fails when any load balancer's HAProxy stops answering on its stats socket.\n" +
        $"for s in {socketDirectory}/*.sock; do\n" +
        "    [ -S \"$s\" ] || continue\n" +
        "    echo 'show info' | socat -t 2 - \"UNIX-CONNECT:$s\" | grep -q '^Pid:' || exit 1\n" +
        "done\n" +
        "exit 0\n";
}
