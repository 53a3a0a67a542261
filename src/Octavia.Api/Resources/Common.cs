// Licensed under the Apache License, Version 2.0.

using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Octavia.Api.Auth;
using Octavia.Api.Errors;
using Octavia.Api.Json;
using Octavia.Api.Paging;
using Octavia.Api.Persistence;
using Octavia.Api.Providers;
using Octavia.Core.Configuration;
using Octavia.Core.Drivers;
using Octavia.Core.Model;
using Octavia.Data;

namespace Octavia.Api.Resources;

/// <summary>Everything an endpoint needs, resolved once.</summary>
internal sealed class ApiServices(
    Store store,
    ApiSettingsOptions settings,
    NetworkingOptions networking,
    QuotasOptions quotas,
    HaproxyAmphoraOptions haproxy,
    ControllerWorkerOptions worker,
    ProviderRegistry providers,
    INetworkDriver network,
    ResponseCache cache)
{
    public Store Store { get; } = store;
    public ApiSettingsOptions Settings { get; } = settings;
    public NetworkingOptions Networking { get; } = networking;
    public QuotasOptions Quotas { get; } = quotas;
    public HaproxyAmphoraOptions Haproxy { get; } = haproxy;
    public ControllerWorkerOptions Worker { get; } = worker;
    public ProviderRegistry Providers { get; } = providers;
    public INetworkDriver Network { get; } = network;
    public ResponseCache Cache { get; } = cache;
}

/// <summary>A JSON body already in UTF-8 (a cached or buffered response), sent with its Content-Length.</summary>
internal sealed class JsonBytesResult(byte[] body) : IResult
{
    public Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var response = httpContext.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json";
        response.ContentLength = body.Length;
        return response.Body.WriteAsync(body, httpContext.RequestAborted).AsTask();
    }
}

/// <summary>
/// Writes a JSON tree straight to UTF-8 with a Content-Length (no intermediate string): the same bytes
/// <c>ToJsonString()</c> gives, at a fraction of the allocations on large lists.
/// </summary>
internal sealed class JsonNodeResult(JsonNode body, int status) : IResult
{
    public async Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            body.WriteTo(writer);
        }
        var response = httpContext.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.ContentLength = buffer.WrittenCount;
        await response.Body.WriteAsync(buffer.WrittenMemory, httpContext.RequestAborted).ConfigureAwait(false);
    }
}

/// <summary>Response helpers and the rules shared by every LBaaS resource.</summary>
internal static class Common
{
    public static readonly string[] BaseCreate = ["name", "description", "admin_state_up", "project_id", "tenant_id", "tags"];

    public static IResult Json(JsonObject body, int status = StatusCodes.Status200OK) => new JsonNodeResult(body, status);

    /// <summary>One object under its root key, honouring <c>fields=</c>.</summary>
    public static IResult One(HttpContext http, ApiServices api, string root, JsonObject item, int status = StatusCodes.Status200OK) =>
        Json(new JsonObject { [root] = ListQuery.Select(item, ListQuery.Fields(http, api.Settings)) }, status);

    public static IResult Accepted() => Results.StatusCode(StatusCodes.Status202Accepted);

    public static IResult NoContent() => Results.StatusCode(StatusCodes.Status204NoContent);

    /// <summary>A path id: anything that is not UUID-shaped cannot exist.</summary>
    public static string PathId(string id, string resource) =>
        Ids.IsUuid(id) ? Guid.Parse(id).ToString() : throw ApiException.NotFound(resource, id);

    /// <summary>The owner of a new object: the caller's project; only an admin may name another.</summary>
    public static string ProjectForCreate(HttpContext http, Body body)
    {
        var ctx = RequestContext.Of(http);
        var requested = body.Str("project_id", 36) ?? body.Str("tenant_id", 36);
        if (requested is not null && requested != ctx.ProjectId && !ctx.IsAdmin && !ctx.Roles.Contains("admin") && !ctx.Roles.Contains("load-balancer_admin"))
        {
            throw ApiException.Forbidden();
        }
        return requested ?? ctx.ProjectId ?? throw ApiException.BadRequest("Missing project ID in request where one is required.");
    }

    /// <summary>Sets name, description (when the type has one), admin_state_up and tags from the body.</summary>
    public static void ApplyBase(LbaasObject o, Body b, bool create, Action<string?>? description = null)
    {
        if (b.Has("name"))
        {
            o.Name = b.Str("name");
        }
        if (description is not null && b.Has("description"))
        {
            description(b.Str("description"));
        }
        if (b.Has("admin_state_up") || create)
        {
            o.Enabled = b.Bool("admin_state_up") ?? true;
        }
        if (b.Has("tags"))
        {
            SetTags(o, b.StrList("tags") ?? []);
        }
    }

    /// <summary>Replaces the tag list (a diff, so unchanged rows are not re-inserted).</summary>
    public static void SetTags(LbaasObject o, IEnumerable<string> tags)
    {
        var wanted = tags.ToHashSet(StringComparer.Ordinal);
        o.Tags.RemoveAll(t => !wanted.Contains(t.Value));
        foreach (var t in wanted.Where(t => o.Tags.All(x => x.Value != t)))
        {
            o.Tags.Add(new Tag { ResourceId = o.Id, Value = t });
        }
    }

    /// <summary>Stamps a new child object: ids, owner, PENDING_CREATE/OFFLINE, times.</summary>
    public static void Stamp(LbaasObject o, string projectId, DateTime now)
    {
        if (o.Id.Length == 0)
        {
            o.Id = Ids.New();
        }
        foreach (var t in o.Tags)
        {
            t.ResourceId = o.Id;
        }
        o.ProjectId = projectId;
        o.ProvisioningStatus = ProvisioningStatus.PendingCreate;
        o.OperatingStatus = OperatingStatus.Offline;
        o.CreatedAt = now;
    }

    /// <summary>The parent load balancer, locked, in a state that allows changes (409 otherwise).</summary>
    public static async Task<LoadBalancer> MutableLoadBalancerAsync(OctaviaDbContext db, string? lbId, CancellationToken ct)
    {
        var lb = await db.LoadBalancers.FirstOrDefaultAsync(l => l.Id == lbId, ct).ConfigureAwait(false);
        if (lb is null || lb.ProvisioningStatus == ProvisioningStatus.Deleted)
        {
            throw ApiException.NotFound("Load Balancer", lbId);
        }
        if (lb.ProvisioningStatus != ProvisioningStatus.Active)
        {
            throw ApiException.Conflict($"Invalid state {lb.ProvisioningStatus} of loadbalancer resource {lb.Id}");
        }
        return lb;
    }

    /// <summary>409 unless the object is ACTIVE (upstream's ImmutableObject).</summary>
    public static void RequireActive(LbaasObject o, string resource)
    {
        if (o.ProvisioningStatus != ProvisioningStatus.Active)
        {
            throw ApiException.Immutable(resource, o.Id);
        }
    }

    public static void MarkUpdating(LbaasObject o, DateTime now)
    {
        o.ProvisioningStatus = ProvisioningStatus.PendingUpdate;
        o.UpdatedAt = now;
    }

    /// <summary>Hands the change to the load balancer's provider.</summary>
    public static Task SubmitAsync(ApiServices api, LoadBalancer lb, string method, JsonObject args, CancellationToken ct) =>
        api.Providers.Get(lb.Provider).SubmitAsync(new ProviderCall(method, args, lb.Id), ct);

    /// <summary>Quota check for <paramref name="adding"/> more objects of a kind in a project (403 when exceeded).</summary>
    public static async Task CheckQuotaAsync(OctaviaDbContext db, ApiServices api, string projectId, string kind, int adding, CancellationToken ct)
    {
        if (adding <= 0)
        {
            return;
        }
        var q = await db.Quotas.AsNoTracking().FirstOrDefaultAsync(x => x.ProjectId == projectId, ct).ConfigureAwait(false);
        var (limit, label) = kind switch
        {
            "loadbalancer" => (q?.LoadBalancer ?? api.Quotas.DefaultLoadBalancerQuota, "Load Balancer"),
            "listener" => (q?.Listener ?? api.Quotas.DefaultListenerQuota, "Listener"),
            "pool" => (q?.Pool ?? api.Quotas.DefaultPoolQuota, "Pool"),
            "member" => (q?.Member ?? api.Quotas.DefaultMemberQuota, "Member"),
            "healthmonitor" => (q?.HealthMonitor ?? api.Quotas.DefaultHealthMonitorQuota, "Health Monitor"),
            "l7policy" => (q?.L7Policy ?? api.Quotas.DefaultL7PolicyQuota, "L7 Policy"),
            _ => (q?.L7Rule ?? api.Quotas.DefaultL7RuleQuota, "L7 Rule"),
        };
        if (limit < 0)
        {
            return;
        }
        var used = await CountAsync(db, projectId, kind, ct).ConfigureAwait(false);
        if (used + adding > limit)
        {
            throw new ApiException(403, $"Quota has been met for resources: {label}");
        }
    }

    public static Task<int> CountAsync(OctaviaDbContext db, string projectId, string kind, CancellationToken ct) => kind switch
    {
        "loadbalancer" => db.LoadBalancers.CountAsync(x => x.ProjectId == projectId && x.ProvisioningStatus != ProvisioningStatus.Deleted, ct),
        "listener" => db.Listeners.CountAsync(x => x.ProjectId == projectId, ct),
        "pool" => db.Pools.CountAsync(x => x.ProjectId == projectId, ct),
        "member" => db.Members.CountAsync(x => x.ProjectId == projectId, ct),
        "healthmonitor" => db.HealthMonitors.CountAsync(x => x.ProjectId == projectId, ct),
        "l7policy" => db.L7Policies.CountAsync(x => x.ProjectId == projectId, ct),
        _ => db.L7Rules.CountAsync(x => x.ProjectId == projectId, ct),
    };

    /// <summary>Listener ids that use each pool (as default pool or L7 redirect target).</summary>
    public static async Task<ILookup<string, string>> PoolListenersAsync(OctaviaDbContext db, IReadOnlyCollection<string>? poolIds, CancellationToken ct)
    {
        var defaults = db.Listeners.Where(l => l.DefaultPoolId != null);
        var redirects = db.L7Policies.Where(p => p.RedirectPoolId != null);
        if (poolIds is not null)
        {
            defaults = defaults.Where(l => poolIds.Contains(l.DefaultPoolId!));
            redirects = redirects.Where(p => poolIds.Contains(p.RedirectPoolId!));
        }
        var a = await defaults.Select(l => new { Pool = l.DefaultPoolId!, Listener = l.Id }).ToListAsync(ct).ConfigureAwait(false);
        var b = await redirects.Select(p => new { Pool = p.RedirectPoolId!, Listener = p.ListenerId }).ToListAsync(ct).ConfigureAwait(false);
        return a.Concat(b).ToLookup(x => x.Pool, x => x.Listener);
    }

    public static IQueryable<LoadBalancer> LoadBalancerView(OctaviaDbContext db) =>
        db.LoadBalancers.Include(l => l.Vip).Include(l => l.AdditionalVips).Include(l => l.Tags)
            .Include(l => l.Listeners).Include(l => l.Pools).AsSplitQuery();

    public static IQueryable<Listener> ListenerView(OctaviaDbContext db) =>
        db.Listeners.Include(l => l.Tags).Include(l => l.SniContainers).Include(l => l.AllowedCidrs).Include(l => l.L7Policies).AsSplitQuery();

    public static IQueryable<Pool> PoolView(OctaviaDbContext db) =>
        db.Pools.Include(p => p.Tags).Include(p => p.SessionPersistence).Include(p => p.HealthMonitor).Include(p => p.Members).AsSplitQuery();

    public static IQueryable<L7Policy> L7PolicyView(OctaviaDbContext db) =>
        db.L7Policies.Include(p => p.Tags).Include(p => p.L7Rules).AsSplitQuery();

    /// <summary>Lists a project-scoped query (all projects when <paramref name="scope"/> is null).</summary>
    public static IQueryable<T> Scoped<T>(IQueryable<T> q, string? scope) where T : LbaasObject =>
        scope is null ? q : q.Where(x => x.ProjectId == scope);
}
