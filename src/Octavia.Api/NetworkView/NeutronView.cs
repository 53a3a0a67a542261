// Licensed under the Apache License, Version 2.0.

using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Octavia.Api.Errors;
using Octavia.Api.Resources;
using Octavia.Core.Drivers;

namespace Octavia.Api.NetworkView;

/// <summary>
/// A read-only, Neutron-shaped view of the network driver (<c>/v2.0/networks</c>, <c>subnets</c>,
/// <c>ports</c>, <c>qos/policies</c>) so the stock CLI can resolve names and ids without Neutron.
/// </summary>
internal static class NeutronView
{
    public static void Map(RouteGroupBuilder g)
    {
        MapKind(g, "networks", "network", async (n, id, ct) => id is null ? (await n.ListNetworksAsync(ct)).Select(Network) : await n.GetNetworkAsync(id, ct) is { } x ? [Network(x)] : []);
        MapKind(g, "subnets", "subnet", async (n, id, ct) => id is null ? (await n.ListSubnetsAsync(ct)).Select(Subnet) : await n.GetSubnetAsync(id, ct) is { } x ? [Subnet(x)] : []);
        MapKind(g, "ports", "port", async (n, id, ct) => id is null ? (await n.ListPortsAsync(ct)).Select(Port) : await n.GetPortAsync(id, ct) is { } x ? [Port(x)] : []);
        MapKind(g, "qos/policies", "policy", async (n, id, ct) => id is null ? (await n.ListQosPoliciesAsync(ct)).Select(Qos) : await n.GetQosPolicyAsync(id, ct) is { } x ? [Qos(x)] : []);
    }

    private static void MapKind(RouteGroupBuilder g, string collection, string single, Func<INetworkDriver, string?, CancellationToken, Task<IEnumerable<JsonObject>>> fetch)
    {
        var plural = collection.Contains('/', StringComparison.Ordinal) ? "policies" : collection;
        g.MapGet("/" + collection, async (HttpContext http, ApiServices api) =>
        {
            var id = http.Request.Query["id"].FirstOrDefault();
            var items = await fetch(api.Network, id, http.RequestAborted);
            foreach (var (key, values) in http.Request.Query)
            {
                if (key is "id" or "fields" or "limit" or "marker")
                {
                    continue;
                }
                var wanted = values.ToString();
                items = items.Where(o => o[key]?.ToString() == wanted);
            }
            return Common.Json(new JsonObject { [plural] = new JsonArray(items.Select(i => (JsonNode)i).ToArray()) });
        });
        g.MapGet("/" + collection + "/{id}", async (HttpContext http, ApiServices api, string id) =>
        {
            var item = (await fetch(api.Network, id, http.RequestAborted)).FirstOrDefault()
                ?? throw ApiException.NotFound(single, id);
            return Common.Json(new JsonObject { [single] = item });
        });
    }

    private static JsonArray Strings(IEnumerable<string> values) => new(values.Select(v => (JsonNode)JsonValue.Create(v)!).ToArray());

    private static JsonObject Network(NetworkInfo n) => new()
    {
        ["id"] = n.Id,
        ["name"] = n.Name,
        ["project_id"] = n.ProjectId,
        ["tenant_id"] = n.ProjectId,
        ["subnets"] = Strings(n.SubnetIds),
        ["mtu"] = n.Mtu,
        ["admin_state_up"] = n.AdminStateUp,
        ["status"] = n.Status,
        ["shared"] = false,
    };

    private static JsonObject Subnet(SubnetInfo s) => new()
    {
        ["id"] = s.Id,
        ["name"] = s.Name,
        ["network_id"] = s.NetworkId,
        ["cidr"] = s.Cidr,
        ["gateway_ip"] = s.GatewayIp,
        ["ip_version"] = s.IpVersion,
        ["project_id"] = s.ProjectId,
        ["tenant_id"] = s.ProjectId,
        ["host_routes"] = new JsonArray((s.HostRoutes ?? []).Select(r => (JsonNode)new JsonObject { ["destination"] = r.Destination, ["nexthop"] = r.NextHop }).ToArray()),
        ["enable_dhcp"] = false,
    };

    private static JsonObject Port(PortInfo p) => new()
    {
        ["id"] = p.Id,
        ["name"] = p.Name,
        ["network_id"] = p.NetworkId,
        ["mac_address"] = p.MacAddress,
        ["fixed_ips"] = new JsonArray(p.FixedIps.Select(f => (JsonNode)new JsonObject { ["subnet_id"] = f.SubnetId, ["ip_address"] = f.IpAddress }).ToArray()),
        ["device_id"] = p.DeviceId ?? "",
        ["device_owner"] = p.DeviceOwner ?? "",
        ["project_id"] = p.ProjectId,
        ["tenant_id"] = p.ProjectId,
        ["qos_policy_id"] = p.QosPolicyId,
        ["status"] = p.Status,
        ["admin_state_up"] = true,
    };

    private static JsonObject Qos(QosPolicyInfo q) => new()
    {
        ["id"] = q.Id,
        ["name"] = q.Name,
        ["project_id"] = q.ProjectId,
        ["tenant_id"] = q.ProjectId,
        ["rules"] = new JsonArray(),
        ["shared"] = false,
    };
}
