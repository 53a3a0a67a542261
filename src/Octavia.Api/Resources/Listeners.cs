// Licensed under the Apache License, Version 2.0.

using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Octavia.Api.Errors;
using Octavia.Api.Json;
using Octavia.Api.Paging;
using Octavia.Api.Policy;
using Octavia.Core.Model;
using Octavia.Data;

namespace Octavia.Api.Resources;

/// <summary><c>/v2/lbaas/listeners</c>.</summary>
internal static class Listeners
{
    private static readonly string[] s_update =
    [
        "name", "description", "admin_state_up", "tags", "connection_limit", "default_pool_id", "default_tls_container_ref",
        "sni_container_refs", "client_authentication", "client_ca_tls_container_ref", "client_crl_container_ref", "insert_headers",
        "timeout_client_data", "timeout_member_connect", "timeout_member_data", "timeout_tcp_inspect", "allowed_cidrs",
        "tls_ciphers", "tls_versions", "alpn_protocols", "hsts_max_age", "hsts_include_subdomains", "hsts_preload",
    ];
    public static readonly string[] Create = [.. s_update, "project_id", "tenant_id", "protocol", "protocol_port", "loadbalancer_id"];
    public static readonly string[] GraphCreate = [.. s_update, "protocol", "protocol_port", "default_pool", "l7policies"];
    private static readonly string[] s_tlsVersions = ["SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];
    private static readonly string[] s_alpn = ["h2", "http/1.1", "http/1.0"];
    private static readonly string[] s_headers = ["X-Forwarded-For", "X-Forwarded-Port", "X-Forwarded-Proto"];
    private static readonly string[] s_sslHeaders =
    [
        "X-SSL-Client-Verify", "X-SSL-Client-Has-Cert", "X-SSL-Client-DN", "X-SSL-Client-CN", "X-SSL-Issuer",
        "X-SSL-Client-SHA1", "X-SSL-Client-Not-Before", "X-SSL-Client-Not-After",
    ];
    private const int MaxTimeout = 2073600000;

    public static void Map(RouteGroupBuilder g)
    {
        g.MapGet("/lbaas/listeners", async (HttpContext http, ApiServices api) =>
        {
            var scope = Policies.ListScope(http, "listener");
            await using var db = api.Store.Read();
            var page = await SqlList.PageAsync(http, api.Settings, Common.Scoped(db.Listeners.AsNoTracking(), scope), s_columns, Views.ListenerAttributes,
                q => q.Include(l => l.Tags).Include(l => l.SniContainers).Include(l => l.AllowedCidrs).Include(l => l.L7Policies).AsSplitQuery(), http.RequestAborted);
            if (page is not null)
            {
                return SqlList.Write(page, "listeners", "listeners_links", ListQuery.Fields(http, api.Settings), ViewWriters.Tree<Listener>(Views.Listener));
            }
            var items = await Common.Scoped(Common.ListenerView(db), scope).ToListAsync(http.RequestAborted);
            return Common.Json(ListQuery.Respond(http, api.Settings, items.Select(Views.Listener), "listeners", "listeners_links", Views.ListenerAttributes));
        });
        g.MapGet("/lbaas/listeners/{id}", async (HttpContext http, ApiServices api, string id) =>
        {
            var l = await FindAsync(api, id, http.RequestAborted);
            Policies.Authorize(http, "listener", "get_one", l.ProjectId);
            return Common.One(http, api, "listener", Views.Listener(l));
        });
        g.MapGet("/lbaas/listeners/{id}/stats", async (HttpContext http, ApiServices api, string id) =>
        {
            var l = await FindAsync(api, id, http.RequestAborted);
            Policies.Authorize(http, "listener", "get_stats", l.ProjectId);
            await using var db = api.Store.Read();
            return Common.Json(new JsonObject { ["stats"] = await Stats.ForListenersAsync(db, [l.Id], http.RequestAborted) });
        });
        g.MapPost("/lbaas/listeners", async (HttpContext http, ApiServices api) =>
        {
            var b = new Body(await Body.ReadRootAsync(http, "listener"), "listener", Create);
            var project = Common.ProjectForCreate(http, b);
            Policies.Authorize(http, "listener", "post", project);
            var lbId = b.Uuid("loadbalancer_id", required: true)!;
            var id = await api.Store.WriteAsync(lbId, async db =>
            {
                var lb = await Common.MutableLoadBalancerAsync(db, lbId, http.RequestAborted);
                if (lb.ProjectId != project)
                {
                    Policies.Authorize(http, "listener", "post", lb.ProjectId);
                }
                await Common.CheckQuotaAsync(db, api, lb.ProjectId!, "listener", 1, http.RequestAborted);
                var now = api.Store.Now;
                var listener = Build(b, lb, api, now, graph: false);
                CheckCidrsMatchVip(listener, await VipAddressAsync(db, lb.Id, http.RequestAborted));
                await TlsReferences.CheckListenerAsync(TlsReferences.Manager(http), listener, http.RequestAborted);
                await CheckPortAsync(db, lb.Id, listener, http.RequestAborted);
                if (listener.DefaultPoolId is { } poolId)
                {
                    await CheckDefaultPoolAsync(db, lb.Id, listener.Protocol, poolId, http.RequestAborted);
                }
                db.Listeners.Add(listener);
                Common.MarkUpdating(lb, now);
                await Common.SubmitAsync(api, lb, "create_listener", new JsonObject { ["listener_id"] = listener.Id }, http.RequestAborted);
                return listener.Id;
            }, http.RequestAborted);
            return Common.One(http, api, "listener", Views.Listener(await FindAsync(api, id, http.RequestAborted)), StatusCodes.Status201Created);
        });
        g.MapPut("/lbaas/listeners/{id}", async (HttpContext http, ApiServices api, string id) =>
        {
            var existing = await FindAsync(api, id, http.RequestAborted);
            Policies.Authorize(http, "listener", "put", existing.ProjectId);
            var b = new Body(await Body.ReadRootAsync(http, "listener"), "listener", s_update);
            await api.Store.WriteAsync(existing.LoadBalancerId, async db =>
            {
                var lb = await Common.MutableLoadBalancerAsync(db, existing.LoadBalancerId, http.RequestAborted);
                var l = await Common.ListenerView(db).FirstAsync(x => x.Id == existing.Id, http.RequestAborted);
                Common.RequireActive(l, "Listener");
                Apply(b, l, api, create: false);
                Validate(l, api);
                string?[] bodyBundles = [.. b.Has("sni_container_refs") ? l.SniContainers.Select(x => x.TlsContainerId) : [], b.Has("default_tls_container_ref") ? l.TlsCertificateId : null];
                await TlsReferences.CheckListenerUpdateAsync(TlsReferences.Manager(http), l, bodyBundles, http.RequestAborted);
                if (b.Has("allowed_cidrs"))
                {
                    CheckCidrsMatchVip(l, await VipAddressAsync(db, lb.Id, http.RequestAborted));
                }
                if (b.Has("default_pool_id") && l.DefaultPoolId is { } poolId)
                {
                    await CheckDefaultPoolAsync(db, lb.Id, l.Protocol, poolId, http.RequestAborted);
                }
                var now = api.Store.Now;
                Common.MarkUpdating(l, now);
                Common.MarkUpdating(lb, now);
                await Common.SubmitAsync(api, lb, "update_listener", new JsonObject { ["listener_id"] = l.Id, ["listener_updates"] = b.Raw() }, http.RequestAborted);
            }, http.RequestAborted);
            return Common.One(http, api, "listener", Views.Listener(await FindAsync(api, id, http.RequestAborted)));
        });
        g.MapDelete("/lbaas/listeners/{id}", async (HttpContext http, ApiServices api, string id) =>
        {
            var existing = await FindAsync(api, id, http.RequestAborted);
            Policies.Authorize(http, "listener", "delete", existing.ProjectId);
            await api.Store.WriteAsync(existing.LoadBalancerId, async db =>
            {
                var lb = await Common.MutableLoadBalancerAsync(db, existing.LoadBalancerId, http.RequestAborted);
                var l = await db.Listeners.FirstAsync(x => x.Id == existing.Id, http.RequestAborted);
                Common.RequireActive(l, "Listener");
                var now = api.Store.Now;
                l.ProvisioningStatus = ProvisioningStatus.PendingDelete;
                l.UpdatedAt = now;
                Common.MarkUpdating(lb, now);
                await Common.SubmitAsync(api, lb, "delete_listener", new JsonObject { ["listener_id"] = l.Id }, http.RequestAborted);
            }, http.RequestAborted);
            return Common.NoContent();
        });
    }

    private static readonly Dictionary<string, Column<Listener>> s_columns = BuildColumns();

    private static Dictionary<string, Column<Listener>> BuildColumns()
    {
        var c = Columns.Base<Listener>();
        c["description"] = Columns.Str<Listener>(l => l.Description ?? "", nullable: false);
        c["protocol"] = Columns.Str<Listener>(l => l.Protocol, nullable: false);
        c["protocol_port"] = Columns.Int<Listener>(l => l.ProtocolPort, nullable: false);
        c["connection_limit"] = Columns.Int<Listener>(l => l.ConnectionLimit ?? -1, nullable: false);
        c["default_tls_container_ref"] = Columns.Str<Listener>(l => l.TlsCertificateId);
        c["default_pool_id"] = Columns.Str<Listener>(l => l.DefaultPoolId);
        c["loadbalancers"] = Columns.Has<Listener>(id => l => l.LoadBalancerId == id);
        c["timeout_client_data"] = Columns.Int<Listener>(l => l.TimeoutClientData, nullable: true);
        c["timeout_member_connect"] = Columns.Int<Listener>(l => l.TimeoutMemberConnect, nullable: true);
        c["timeout_member_data"] = Columns.Int<Listener>(l => l.TimeoutMemberData, nullable: true);
        c["timeout_tcp_inspect"] = Columns.Int<Listener>(l => l.TimeoutTcpInspect, nullable: true);
        c["client_ca_tls_container_ref"] = Columns.Str<Listener>(l => l.ClientCaTlsCertificateId);
        c["client_authentication"] = Columns.Str<Listener>(l => l.ClientAuthentication, nullable: false);
        c["client_crl_container_ref"] = Columns.Str<Listener>(l => l.ClientCrlContainerId);
        c["tls_ciphers"] = Columns.Str<Listener>(l => l.TlsCiphers);
        c["hsts_max_age"] = Columns.Int<Listener>(l => l.HstsMaxAge, nullable: true);
        c["hsts_include_subdomains"] = Columns.Bool<Listener>(l => l.HstsIncludeSubdomains ?? false);
        c["hsts_preload"] = Columns.Bool<Listener>(l => l.HstsPreload ?? false);
        return c;
    }

    public static async Task<Listener> FindAsync(ApiServices api, string id, CancellationToken ct)
    {
        var key = Common.PathId(id, "Listener");
        await using var db = api.Store.Read();
        return await Common.ListenerView(db).FirstOrDefaultAsync(l => l.Id == key, ct) ?? throw ApiException.NotFound("Listener", id);
    }

    /// <summary>A new listener of <paramref name="lb"/> from a POST (or graph) body, validated.</summary>
    public static Listener Build(Body b, LoadBalancer lb, ApiServices api, DateTime now, bool graph)
    {
        var l = new Listener
        {
            Protocol = b.Enum("protocol", Protocols.Listener, required: true)!,
            ProtocolPort = b.Int("protocol_port", 1, 65535, required: true)!.Value,
            LoadBalancerId = lb.Id,
        };
        Common.Stamp(l, lb.ProjectId!, now);
        Apply(b, l, api, create: true);
        if (!graph && b.Uuid("default_pool_id") is { } poolId)
        {
            l.DefaultPoolId = poolId;
        }
        Validate(l, api);
        api.Providers.Get(lb.Provider).CheckOptions("listener", l.Protocol, null);
        return l;
    }

    private static void Apply(Body b, Listener l, ApiServices api, bool create)
    {
        Common.ApplyBase(l, b, create, d => l.Description = d);
        if (b.Has("connection_limit") || create)
        {
            l.ConnectionLimit = b.Int("connection_limit", -1, int.MaxValue) ?? -1;
        }
        if (b.Has("default_pool_id") && !create)
        {
            l.DefaultPoolId = b.Uuid("default_pool_id");
        }
        if (b.Has("default_tls_container_ref"))
        {
            l.TlsCertificateId = b.Str("default_tls_container_ref");
        }
        if (b.Has("sni_container_refs"))
        {
            var refs = b.StrList("sni_container_refs") ?? [];
            l.SniContainers.Clear();
            l.SniContainers.AddRange(refs.Distinct().Select((r, i) => new Sni { ListenerId = l.Id, TlsContainerId = r, Position = i }));
        }
        if (b.Has("client_authentication") || create)
        {
            l.ClientAuthentication = b.Enum("client_authentication", ClientAuthenticationModes.All) ?? ClientAuthenticationModes.None;
        }
        if (b.Has("client_ca_tls_container_ref"))
        {
            l.ClientCaTlsCertificateId = b.Str("client_ca_tls_container_ref");
        }
        if (b.Has("client_crl_container_ref"))
        {
            l.ClientCrlContainerId = b.Str("client_crl_container_ref");
        }
        if (b.Has("insert_headers"))
        {
            l.InsertHeaders = b.StrDict("insert_headers");
        }
        if (b.Has("timeout_client_data") || create)
        {
            l.TimeoutClientData = b.Int("timeout_client_data", 0, MaxTimeout) ?? api.Haproxy.TimeoutClientData;
        }
        if (b.Has("timeout_member_connect") || create)
        {
            l.TimeoutMemberConnect = b.Int("timeout_member_connect", 0, MaxTimeout) ?? api.Haproxy.TimeoutMemberConnect;
        }
        if (b.Has("timeout_member_data") || create)
        {
            l.TimeoutMemberData = b.Int("timeout_member_data", 0, MaxTimeout) ?? api.Haproxy.TimeoutMemberData;
        }
        if (b.Has("timeout_tcp_inspect") || create)
        {
            l.TimeoutTcpInspect = b.Int("timeout_tcp_inspect", 0, MaxTimeout) ?? api.Haproxy.TimeoutTcpInspect;
        }
        if (b.Has("allowed_cidrs"))
        {
            var cidrs = b.StrList("allowed_cidrs", 64) ?? [];
            foreach (var c in cidrs.Where(c => !IPNetwork.TryParse(c, out _)))
            {
                throw ApiException.InvalidInput("allowed_cidrs", c, "Value should be a valid CIDR.");
            }
            l.AllowedCidrs.Clear();
            l.AllowedCidrs.AddRange(cidrs.Select(c => IPNetwork.Parse(c).ToString()).Distinct().Select(c => new ListenerCidr { ListenerId = l.Id, Cidr = c }));
        }
        if (b.Has("hsts_max_age"))
        {
            l.HstsMaxAge = b.Int("hsts_max_age", 0, int.MaxValue);
        }
        if (b.Has("hsts_include_subdomains") || create)
        {
            l.HstsIncludeSubdomains = b.Bool("hsts_include_subdomains") ?? false;
        }
        if (b.Has("hsts_preload") || create)
        {
            l.HstsPreload = b.Bool("hsts_preload") ?? false;
        }
        if (b.Has("tls_ciphers"))
        {
            var ciphers = b.Str("tls_ciphers", 2048);
            if (ciphers is not null && ciphers.Any(ch => !char.IsAsciiLetterOrDigit(ch) && "-+!:@=_.".IndexOf(ch, StringComparison.Ordinal) < 0))
            {
                throw ApiException.InvalidInput("tls_ciphers", ciphers, "Value contains characters that are not allowed in an OpenSSL cipher string.");
            }
            l.TlsCiphers = ciphers;
        }
        if (b.Has("tls_versions"))
        {
            l.TlsVersions = b.StrList("tls_versions", 16, s_tlsVersions);
            if (l.TlsVersions is { Count: 0 })
            {
                throw ApiException.BadRequest("Validation failure: tls_versions must not be an empty list.");
            }
        }
        if (b.Has("alpn_protocols"))
        {
            l.AlpnProtocols = b.StrList("alpn_protocols", 16, s_alpn);
            if (l.AlpnProtocols is { Count: 0 })
            {
                throw ApiException.BadRequest("Validation failure: alpn_protocols must not be an empty list.");
            }
        }
    }

    private static Task<string?> VipAddressAsync(OctaviaDbContext db, string lbId, CancellationToken ct) =>
        db.Vips.Where(v => v.LoadBalancerId == lbId).Select(v => v.IpAddress).FirstOrDefaultAsync(ct);

    /// <summary>Upstream's rule: every allowed CIDR has the IP version of the VIP address.</summary>
    public static void CheckCidrsMatchVip(Listener l, string? vipAddress)
    {
        if (vipAddress is null || !IPAddress.TryParse(vipAddress, out var vip))
        {
            return;
        }
        foreach (var cidr in l.AllowedCidrs.Select(c => c.Cidr))
        {
            if (IPNetwork.TryParse(cidr, out var net) && net.BaseAddress.AddressFamily != vip.AddressFamily)
            {
                throw ApiException.BadRequest($"Validation failure: CIDR {cidr} IP version incompatible with VIP {vipAddress} IP version.");
            }
        }
    }

    private static void Validate(Listener l, ApiServices api)
    {
        // v2.27: the two flags only qualify a max-age, and HSTS is a header of TLS-terminated HTTP only.
        if ((l.HstsIncludeSubdomains == true || l.HstsPreload == true) && l.HstsMaxAge is null)
        {
            throw ApiException.BadRequest("Validation failure: HSTS configuration options hsts_include_subdomains and hsts_preload only make sense if hsts_max_age is set as well.");
        }
        if (l.Protocol != Protocols.TerminatedHttps && (l.HstsMaxAge is not null || l.HstsIncludeSubdomains == true || l.HstsPreload == true))
        {
            throw ApiException.BadRequest("Validation failure: The HSTS feature can only be used in combination with TERMINATED_HTTPS listeners.");
        }
        var tlsRefs = l.TlsCertificateId is not null || l.SniContainers.Count > 0;
        if (l.Protocol is Protocols.Udp or Protocols.Sctp)
        {
            if (tlsRefs || l.ClientCaTlsCertificateId is not null || l.ClientCrlContainerId is not null)
            {
                throw ApiException.BadRequest($"Validation failure: Certificate container references are not allowed on {l.Protocol} protocol listeners.");
            }
            if (l.InsertHeaders is { Count: > 0 })
            {
                throw ApiException.BadRequest($"Validation failure: {l.Protocol} protocol listener does not support insert_headers.");
            }
        }
        if (l.Protocol == Protocols.TerminatedHttps)
        {
            if (!api.Settings.AllowTlsTerminatedListeners)
            {
                throw ApiException.BadRequest("The selected protocol is not allowed in this deployment: TERMINATED_HTTPS");
            }
            if (!tlsRefs)
            {
                throw ApiException.BadRequest("An SNI or default certificate container reference must be provided for TERMINATED_HTTPS listeners.");
            }
            l.TlsCiphers ??= api.Settings.DefaultListenerCiphers;
            l.TlsVersions ??= [.. api.Settings.DefaultListenerTlsVersions];
            l.AlpnProtocols ??= [.. api.Settings.DefaultListenerAlpnProtocols];
        }
        else if (tlsRefs && l.Protocol != Protocols.Prometheus)
        {
            throw ApiException.BadRequest($"Validation failure: Certificate container references are only allowed on TERMINATED_HTTPS protocol listeners.");
        }
        if (l.Protocol == Protocols.Prometheus && !api.Settings.AllowPrometheusListeners)
        {
            throw ApiException.BadRequest("The selected protocol is not allowed in this deployment: PROMETHEUS");
        }
        if (l.Protocol == Protocols.Prometheus && l.DefaultPoolId is not null)
        {
            throw ApiException.BadRequest("Validation failure: PROMETHEUS listeners cannot have a default pool.");
        }
        if (l.ClientCaTlsCertificateId is not null && !tlsRefs)
        {
            throw ApiException.BadRequest("Validation failure: An SNI or default certificate container reference must be provided with a client CA container reference.");
        }
        if (l.ClientAuthentication != ClientAuthenticationModes.None && l.ClientCaTlsCertificateId is null)
        {
            throw ApiException.BadRequest("Validation failure: Client authentication setting " + l.ClientAuthentication + " requires a client CA container reference.");
        }
        if (l.ClientCrlContainerId is not null && l.ClientCaTlsCertificateId is null)
        {
            throw ApiException.BadRequest("Validation failure: A client authentication CA reference is required to specify a client authentication revocation list.");
        }
        if (l.InsertHeaders is { Count: > 0 } headers)
        {
            if (l.Protocol is not (Protocols.Http or Protocols.TerminatedHttps))
            {
                throw ApiException.BadRequest($"Validation failure: The {l.Protocol} protocol does not support insert_headers.");
            }
            foreach (var (key, value) in headers)
            {
                var allowed = s_headers.Contains(key) || (l.Protocol == Protocols.TerminatedHttps && s_sslHeaders.Contains(key));
                if (!allowed)
                {
                    throw ApiException.BadRequest($"Validation failure: Unsupported header(s): {key}");
                }
                if (value is not ("true" or "false" or "True" or "False"))
                {
                    throw ApiException.BadRequest($"Validation failure: Header {key} value must be \"true\" or \"false\".");
                }
            }
        }
        if (api.Settings.MinimumTlsVersion is { } min && l.TlsVersions is { } versions)
        {
            var minIndex = Array.IndexOf(s_tlsVersions, min);
            if (versions.Any(v => Array.IndexOf(s_tlsVersions, v) < minIndex))
            {
                throw ApiException.BadRequest($"Validation failure: TLS version must be at least {min}.");
            }
        }
        ProhibitedCiphers(api, l.TlsCiphers);
    }

    public static void ProhibitedCiphers(ApiServices api, string? ciphers)
    {
        if (ciphers is null || string.IsNullOrEmpty(api.Settings.TlsCipherProhibitList))
        {
            return;
        }
        var prohibited = api.Settings.TlsCipherProhibitList.Split(':', StringSplitOptions.RemoveEmptyEntries);
        var bad = ciphers.Split(':').Where(prohibited.Contains).ToList();
        if (bad.Count > 0)
        {
            throw ApiException.BadRequest($"Validation failure: The following ciphers have been prohibited by an administrator: {string.Join(", ", bad)}");
        }
    }

    private static bool SameL4(string a, string b)
    {
        static string L4(string p) => p is Protocols.Udp or Protocols.Sctp ? p : Protocols.Tcp;
        return L4(a) == L4(b);
    }

    /// <summary>409 if another listener of the load balancer has the port in the same L4 protocol.</summary>
    public static async Task CheckPortAsync(Data.OctaviaDbContext db, string lbId, Listener l, CancellationToken ct)
    {
        var others = await db.Listeners.Where(x => x.LoadBalancerId == lbId && x.ProtocolPort == l.ProtocolPort && x.Id != l.Id)
            .Select(x => x.Protocol).ToListAsync(ct).ConfigureAwait(false);
        others.AddRange(db.Listeners.Local.Where(x => x.LoadBalancerId == lbId && x.ProtocolPort == l.ProtocolPort && x.Id != l.Id).Select(x => x.Protocol));
        if (others.Any(p => SameL4(p, l.Protocol)))
        {
            throw ApiException.Conflict($"Another Listener on this Load Balancer is already using protocol_port {l.ProtocolPort}");
        }
    }

    private static async Task CheckDefaultPoolAsync(Data.OctaviaDbContext db, string lbId, string protocol, string poolId, CancellationToken ct)
    {
        var pool = await db.Pools.AsNoTracking().FirstOrDefaultAsync(p => p.Id == poolId, ct).ConfigureAwait(false);
        if (pool is null || pool.LoadBalancerId != lbId)
        {
            throw ApiException.NotFound("Pool", poolId);
        }
        CheckProtocols(protocol, pool.Protocol);
    }

    /// <summary>400 unless the pool protocol is valid behind the listener protocol.</summary>
    public static void CheckProtocols(string listenerProtocol, string poolProtocol)
    {
        if (!Protocols.ListenerPoolMap.TryGetValue(listenerProtocol, out var allowed) || !allowed.Contains(poolProtocol))
        {
            throw ApiException.BadRequest($"The pool protocol '{poolProtocol}' is invalid while the listener protocol is '{listenerProtocol}'.");
        }
    }
}
