// Licensed under the Apache License, Version 2.0.

using System.Text.Json;
using System.Text.Json.Nodes;
using Octavia.Api.Paging;
using Octavia.Core.Model;

namespace Octavia.Api.Resources;

/// <summary>
/// The hot list shapes written straight to UTF-8, honouring <c>fields=</c>, with no JSON tree per row.
/// Each writes exactly what its <see cref="Views"/> counterpart builds (a test compares the two).
/// </summary>
internal static class ViewWriters
{
    private readonly ref struct Fields(Utf8JsonWriter w, HashSet<string>? fields)
    {
        private bool Want(string name) => fields is null || fields.Count == 0 || fields.Contains(name);

        public void Str(string name, string? value)
        {
            if (Want(name))
            {
                w.WriteString(name, value);
            }
        }

        public void Bool(string name, bool value)
        {
            if (Want(name))
            {
                w.WriteBoolean(name, value);
            }
        }

        public void Ids(string name, List<string> ids)
        {
            if (Want(name))
            {
                w.WriteStartArray(name);
                foreach (var id in ids)
                {
                    w.WriteStartObject();
                    w.WriteString("id", id);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
        }

        public void Strings(string name, IEnumerable<string> values)
        {
            if (Want(name))
            {
                w.WriteStartArray(name);
                foreach (var v in values)
                {
                    w.WriteStringValue(v);
                }
                w.WriteEndArray();
            }
        }

        public void AdditionalVips(List<AdditionalVip> vips)
        {
            if (Want("additional_vips"))
            {
                w.WriteStartArray("additional_vips");
                foreach (var a in vips)
                {
                    w.WriteStartObject();
                    w.WriteString("subnet_id", a.SubnetId);
                    w.WriteString("ip_address", a.IpAddress);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
        }
    }

    public static void LoadBalancer(Utf8JsonWriter w, LoadBalancer lb, HashSet<string>? fields)
    {
        var f = new Fields(w, fields);
        w.WriteStartObject();
        f.Str("id", lb.Id);
        f.Str("name", lb.Name ?? "");
        f.Str("description", lb.Description ?? "");
        f.Str("provisioning_status", lb.ProvisioningStatus);
        f.Str("operating_status", lb.OperatingStatus);
        f.Bool("admin_state_up", lb.Enabled);
        f.Str("project_id", lb.ProjectId);
        f.Str("created_at", Views.Time(lb.CreatedAt));
        f.Str("updated_at", Views.Time(lb.UpdatedAt));
        f.Str("vip_address", lb.Vip?.IpAddress);
        f.Str("vip_port_id", lb.Vip?.PortId);
        f.Str("vip_subnet_id", lb.Vip?.SubnetId);
        f.Str("vip_network_id", lb.Vip?.NetworkId);
        f.Str("vip_qos_policy_id", lb.Vip?.QosPolicyId);
        f.AdditionalVips(lb.AdditionalVips);
        f.Ids("listeners", [.. lb.Listeners.Select(l => l.Id)]);
        f.Ids("pools", [.. lb.Pools.Select(p => p.Id)]);
        f.Str("provider", lb.Provider ?? "octavia");
        f.Str("flavor_id", lb.FlavorId);
        f.Str("availability_zone", lb.AvailabilityZone);
        f.Strings("tags", lb.Tags.Select(t => t.Value).Order(StringComparer.Ordinal));
        w.WriteEndObject();
    }

    /// <summary>Any other shape: its JSON tree, cut to <c>fields=</c>.</summary>
    public static Action<Utf8JsonWriter, T, HashSet<string>?> Tree<T>(Func<T, JsonObject> view) =>
        (w, item, fields) => ListQuery.Select(view(item), fields).WriteTo(w);
}
