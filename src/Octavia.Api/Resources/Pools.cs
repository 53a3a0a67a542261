// Licensed under the Apache License, Version 2.0.

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

namespace Octavia.Api.Resources;

/// <summary><c>/v2/lbaas/pools</c>.</summary>
internal static class Pools
{
    private static readonly string[] s_update =
    [
        "name", "description", "admin_state_up", "tags", "lb_algorithm", "session_persistence", "tls_enabled", "tls_container_ref",
        "ca_tls_container_ref", "crl_container_ref", "tls_ciphers", "tls_versions", "alpn_protocols",
    ];
    public static readonly string[] Create = [.. s_update, "project_id", "tenant_id", "protocol", "listener_id", "loadbalancer_id"];
    public static readonly string[] GraphCreate = [.. s_update, "protocol", "members", "healthmonitor"];
    private static readonly string[] s_persistence = ["type", "cookie_name", "persistence_timeout", "persistence_granularity"];

    public static void Map(RouteGroupBuilder g)
    {
        g.MapGet("/lbaas/pools", async (HttpContext http, ApiServices api) =>
        {
            var scope = Policies.ListScope(http, "pool");
            await using var db = api.Store.Read();
            var page = await SqlList.PageAsync(http, api.Settings, Common.Scoped(db.Pools.AsNoTracking(), scope), s_columns, Views.PoolAttributes,
                q => q.Include(p => p.Tags).Include(p => p.SessionPersistence).Include(p => p.HealthMonitor).Include(p => p.Members).AsSplitQuery(), http.RequestAborted);
            if (page is not null)
            {
                var pageUsers = await Common.PoolListenersAsync(db, [.. page.Items.Select(p => p.Id)], http.RequestAborted);
                return SqlList.Write(page, "pools", "pools_links", ListQuery.Fields(http, api.Settings), ViewWriters.Tree<Pool>(p => Views.Pool(p, pageUsers[p.Id])));
            }
            var items = await Common.Scoped(Common.PoolView(db), scope).ToListAsync(http.RequestAborted);
            var users = await Common.PoolListenersAsync(db, null, http.RequestAborted);
            return Common.Json(ListQuery.Respond(http, api.Settings, items.Select(p => Views.Pool(p, users[p.Id])), "pools", "pools_links", Views.PoolAttributes));
        });
        g.MapGet("/lbaas/pools/{id}", async (HttpContext http, ApiServices api, string id) =>
        {
            var view = await ViewAsync(api, id, http.RequestAborted);
            Policies.Authorize(http, "pool", "get_one", (string?)view["project_id"]);
            return Common.One(http, api, "pool", view);
        });
        g.MapPost("/lbaas/pools", async (HttpContext http, ApiServices api) =>
        {
            var b = new Body(await Body.ReadRootAsync(http, "pool"), "pool", Create);
            var project = Common.ProjectForCreate(http, b);
            Policies.Authorize(http, "pool", "post", project);
            var listenerId = b.Uuid("listener_id");
            var lbId = b.Uuid("loadbalancer_id");
            if (listenerId is null && lbId is null)
            {
                throw ApiException.BadRequest("Validation failure: A listener or load balancer must be specified.");
            }
            Listener? listenerRow = null;
            if (listenerId is not null)
            {
                await using var rdb = api.Store.Read();
                listenerRow = await rdb.Listeners.FirstOrDefaultAsync(l => l.Id == listenerId, http.RequestAborted) ?? throw ApiException.NotFound("Listener", listenerId);
                if (lbId is not null && lbId != listenerRow.LoadBalancerId)
                {
                    throw ApiException.BadRequest("Validation failure: The listener does not belong to the load balancer.");
                }
                lbId = listenerRow.LoadBalancerId;
            }
            var id = await api.Store.WriteAsync(lbId, async db =>
            {
                var lb = await Common.MutableLoadBalancerAsync(db, lbId, http.RequestAborted);
                if (lb.ProjectId != project)
                {
                    Policies.Authorize(http, "pool", "post", lb.ProjectId);
                }
                await Common.CheckQuotaAsync(db, api, lb.ProjectId!, "pool", 1, http.RequestAborted);
                var now = api.Store.Now;
                var pool = Build(b, lb, api, now);
                await TlsReferences.CheckPoolAsync(TlsReferences.Manager(http), pool, bundleChanged: true, http.RequestAborted);
                db.Pools.Add(pool);
                if (listenerRow is not null)
                {
                    var listener = await db.Listeners.FirstAsync(l => l.Id == listenerRow.Id, http.RequestAborted);
                    if (listener.DefaultPoolId is not null)
                    {
                        throw ApiException.Conflict($"Listener {listener.Id} already has a default pool.");
                    }
                    Listeners.CheckProtocols(listener.Protocol, pool.Protocol);
                    listener.DefaultPoolId = pool.Id;
                    Common.MarkUpdating(listener, now);
                }
                Common.MarkUpdating(lb, now);
                await Common.SubmitAsync(api, lb, "create_pool", new JsonObject { ["pool_id"] = pool.Id }, http.RequestAborted);
                return pool.Id;
            }, http.RequestAborted);
            return Common.One(http, api, "pool", await ViewAsync(api, id, http.RequestAborted), StatusCodes.Status201Created);
        });
        g.MapPut("/lbaas/pools/{id}", async (HttpContext http, ApiServices api, string id) =>
        {
            var existing = await FindAsync(api, id, http.RequestAborted);
            Policies.Authorize(http, "pool", "put", existing.ProjectId);
            var b = new Body(await Body.ReadRootAsync(http, "pool"), "pool", s_update);
            await api.Store.WriteAsync(existing.LoadBalancerId, async db =>
            {
                var lb = await Common.MutableLoadBalancerAsync(db, existing.LoadBalancerId, http.RequestAborted);
                var p = await Common.PoolView(db).FirstAsync(x => x.Id == existing.Id, http.RequestAborted);
                Common.RequireActive(p, "Pool");
                Apply(b, p, api, create: false);
                api.Providers.Get(lb.Provider).CheckOptions("pool", p.Protocol, p.LbAlgorithm);
                await TlsReferences.CheckPoolAsync(TlsReferences.Manager(http), p, b.Has("tls_container_ref"), http.RequestAborted);
                var now = api.Store.Now;
                Common.MarkUpdating(p, now);
                Common.MarkUpdating(lb, now);
                await Common.SubmitAsync(api, lb, "update_pool", new JsonObject { ["pool_id"] = p.Id, ["pool_updates"] = b.Raw() }, http.RequestAborted);
            }, http.RequestAborted);
            return Common.One(http, api, "pool", await ViewAsync(api, id, http.RequestAborted));
        });
        g.MapDelete("/lbaas/pools/{id}", async (HttpContext http, ApiServices api, string id) =>
        {
            var existing = await FindAsync(api, id, http.RequestAborted);
            Policies.Authorize(http, "pool", "delete", existing.ProjectId);
            await api.Store.WriteAsync(existing.LoadBalancerId, async db =>
            {
                var lb = await Common.MutableLoadBalancerAsync(db, existing.LoadBalancerId, http.RequestAborted);
                var p = await db.Pools.FirstAsync(x => x.Id == existing.Id, http.RequestAborted);
                Common.RequireActive(p, "Pool");
                if (await db.L7Policies.AnyAsync(x => x.RedirectPoolId == p.Id, http.RequestAborted))
                {
                    throw ApiException.Conflict($"Pool {p.Id} is in use by an L7 policy.");
                }
                var now = api.Store.Now;
                p.ProvisioningStatus = ProvisioningStatus.PendingDelete;
                p.UpdatedAt = now;
                Common.MarkUpdating(lb, now);
                await Common.SubmitAsync(api, lb, "delete_pool", new JsonObject { ["pool_id"] = p.Id }, http.RequestAborted);
            }, http.RequestAborted);
            return Common.NoContent();
        });
    }

    private static readonly Dictionary<string, Column<Pool>> s_columns = BuildColumns();

    private static Dictionary<string, Column<Pool>> BuildColumns()
    {
        var c = Columns.Base<Pool>();
        c["description"] = Columns.Str<Pool>(p => p.Description ?? "", nullable: false);
        c["protocol"] = Columns.Str<Pool>(p => p.Protocol, nullable: false);
        c["lb_algorithm"] = Columns.Str<Pool>(p => p.LbAlgorithm, nullable: false);
        c["loadbalancers"] = Columns.Has<Pool>(id => p => p.LoadBalancerId == id);
        c["healthmonitor_id"] = Columns.Str<Pool>(p => p.HealthMonitor!.Id);
        c["members"] = Columns.Has<Pool>(id => p => p.Members.Any(m => m.Id == id));
        c["tls_container_ref"] = Columns.Str<Pool>(p => p.TlsCertificateId);
        c["ca_tls_container_ref"] = Columns.Str<Pool>(p => p.CaTlsCertificateId);
        c["crl_container_ref"] = Columns.Str<Pool>(p => p.CrlContainerId);
        c["tls_enabled"] = Columns.Bool<Pool>(p => p.TlsEnabled);
        c["tls_ciphers"] = Columns.Str<Pool>(p => p.TlsCiphers);
        return c;
    }

    public static async Task<Pool> FindAsync(ApiServices api, string id, CancellationToken ct)
    {
        var key = Common.PathId(id, "Pool");
        await using var db = api.Store.Read();
        return await Common.PoolView(db).FirstOrDefaultAsync(p => p.Id == key, ct) ?? throw ApiException.NotFound("Pool", id);
    }

    public static async Task<JsonObject> ViewAsync(ApiServices api, string id, CancellationToken ct)
    {
        var pool = await FindAsync(api, id, ct);
        await using var db = api.Store.Read();
        var users = await Common.PoolListenersAsync(db, [pool.Id], ct);
        return Views.Pool(pool, users[pool.Id]);
    }

    /// <summary>A new pool of <paramref name="lb"/>, validated (without listener or graph children).</summary>
    public static Pool Build(Body b, LoadBalancer lb, ApiServices api, DateTime now)
    {
        var p = new Pool
        {
            Protocol = b.Enum("protocol", Protocols.Pool, required: true)!,
            LbAlgorithm = b.Enum("lb_algorithm", LbAlgorithms.All, required: true)!,
            LoadBalancerId = lb.Id,
        };
        Common.Stamp(p, lb.ProjectId!, now);
        Apply(b, p, api, create: true);
        api.Providers.Get(lb.Provider).CheckOptions("pool", p.Protocol, p.LbAlgorithm);
        return p;
    }

    private static void Apply(Body b, Pool p, ApiServices api, bool create)
    {
        Common.ApplyBase(p, b, create, d => p.Description = d);
        if (b.Has("lb_algorithm") && !create)
        {
            p.LbAlgorithm = b.Enum("lb_algorithm", LbAlgorithms.All) ?? throw ApiException.InvalidInput("lb_algorithm", "None", "Mandatory field missing.");
        }
        if (b.Has("session_persistence"))
        {
            var sp = b.Child("session_persistence", "session_persistence", s_persistence);
            if (sp is null)
            {
                p.SessionPersistence = null;
            }
            else
            {
                var s = new SessionPersistence
                {
                    PoolId = p.Id,
                    Type = sp.Enum("type", SessionPersistenceTypes.All, required: true)!,
                    CookieName = sp.Str("cookie_name"),
                    PersistenceTimeout = sp.Int("persistence_timeout", 0, int.MaxValue),
                    PersistenceGranularity = sp.Ip("persistence_granularity"),
                };
                if (s.CookieName is { } cookie && cookie.Any(c => char.IsWhiteSpace(c) || c is ',' or ';' or '\\' or '"' || char.IsControl(c)))
                {
                    throw ApiException.InvalidInput("cookie_name", cookie, "Value contains characters not allowed in a cookie name.");
                }
                if (s.Type == SessionPersistenceTypes.AppCookie && s.CookieName is null)
                {
                    throw ApiException.BadRequest("Validation failure: Field cookie_name must be specified when using the APP_COOKIE session persistence type.");
                }
                if (s.Type != SessionPersistenceTypes.AppCookie && s.CookieName is not null)
                {
                    throw ApiException.BadRequest("Validation failure: Field cookie_name can only be specified when using the APP_COOKIE session persistence type.");
                }
                var lvs = p.Protocol is Protocols.Udp or Protocols.Sctp;
                if (!lvs && (s.PersistenceTimeout is not null || s.PersistenceGranularity is not null))
                {
                    throw ApiException.BadRequest("Validation failure: persistence_timeout and persistence_granularity is only for UDP and SCTP protocol pools.");
                }
                if (lvs && s.Type != SessionPersistenceTypes.SourceIp)
                {
                    throw ApiException.BadRequest($"Validation failure: Session persistence of type {s.Type} is not supported for {p.Protocol} protocol pools.");
                }
                if (p.SessionPersistence is { } old)
                {
                    old.Type = s.Type;
                    old.CookieName = s.CookieName;
                    old.PersistenceTimeout = s.PersistenceTimeout;
                    old.PersistenceGranularity = s.PersistenceGranularity;
                }
                else
                {
                    p.SessionPersistence = s;
                }
            }
        }
        if (b.Has("tls_enabled") || create)
        {
            p.TlsEnabled = b.Bool("tls_enabled") ?? false;
        }
        if (b.Has("tls_container_ref"))
        {
            p.TlsCertificateId = b.Str("tls_container_ref");
        }
        if (b.Has("ca_tls_container_ref"))
        {
            p.CaTlsCertificateId = b.Str("ca_tls_container_ref");
        }
        if (b.Has("crl_container_ref"))
        {
            p.CrlContainerId = b.Str("crl_container_ref");
        }
        if (p.CrlContainerId is not null && p.CaTlsCertificateId is null)
        {
            throw ApiException.BadRequest("Validation failure: A CA reference is required to specify a certificate revocation list.");
        }
        if (b.Has("tls_ciphers"))
        {
            p.TlsCiphers = b.Str("tls_ciphers", 2048);
            Listeners.ProhibitedCiphers(api, p.TlsCiphers);
        }
        if (b.Has("tls_versions"))
        {
            p.TlsVersions = b.StrList("tls_versions", 16, ["SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]);
        }
        if (b.Has("alpn_protocols"))
        {
            p.AlpnProtocols = b.StrList("alpn_protocols", 16, ["h2", "http/1.1", "http/1.0"]);
        }
        if (p.TlsEnabled)
        {
            p.TlsCiphers ??= api.Settings.DefaultPoolCiphers;
            p.TlsVersions ??= [.. api.Settings.DefaultPoolTlsVersions];
            p.AlpnProtocols ??= [.. api.Settings.DefaultPoolAlpnProtocols];
        }
    }
}
