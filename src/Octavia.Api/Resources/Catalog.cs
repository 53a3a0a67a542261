// Licensed under the Apache License, Version 2.0.

using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Octavia.Api.Errors;
using Octavia.Api.Json;
using Octavia.Api.Paging;
using Octavia.Api.Policy;
using Octavia.Api.Providers;
using Octavia.Core.Model;
using Octavia.Data;

namespace Octavia.Api.Resources;

/// <summary>Operator catalog: providers, flavors, flavor profiles, availability zones and their profiles.</summary>
internal static class Catalog
{
    public static void Map(RouteGroupBuilder g)
    {
        g.MapGet("/lbaas/providers", (HttpContext http, ApiServices api) =>
        {
            Policies.Authorize(http, "provider", "get_all", null);
            var items = api.Providers.Enabled.Select(kv => new JsonObject { ["name"] = kv.Key, ["description"] = kv.Value });
            return Common.Json(ListQuery.Respond(http, api.Settings, items, "providers", null, ["name", "description"], "id", "created_at"));
        });
        foreach (var (path, root, obj) in new[]
        {
            ("/lbaas/providers/{provider}/flavor_capabilities", "flavor_capabilities", "provider-flavor"),
            ("/lbaas/providers/{provider}/availability_zone_capabilities", "availability_zone_capabilities", "provider-availability-zone"),
        })
        {
            g.MapGet(path, (HttpContext http, ApiServices api, string provider) =>
            {
                Policies.Authorize(http, obj, "get_all", null);
                var driver = api.Providers.Get(provider);
                var caps = root == "flavor_capabilities" ? driver.FlavorCapabilities : driver.AvailabilityZoneCapabilities;
                var items = caps.Select(kv => new JsonObject { ["name"] = kv.Key, ["description"] = kv.Value });
                return Common.Json(ListQuery.Respond(http, api.Settings, items, root, null, ["name", "description"]));
            });
        }
        MapFlavors(g);
        MapProfiles(g, FlavorProfiles);
        MapAvailabilityZones(g);
        MapProfiles(g, AvailabilityZoneProfiles);
    }

    private static JsonObject ParseData(string field, string? text)
    {
        try
        {
            return JsonNode.Parse(text ?? "") as JsonObject ?? throw new JsonException("not an object");
        }
        catch (JsonException)
        {
            throw ApiException.BadRequest($"Invalid input for field/attribute {field}. Value: '{text}'. A JSON object is required.");
        }
    }

    private static void MapFlavors(RouteGroupBuilder g)
    {
        string[] update = ["name", "description", "enabled"];
        g.MapGet("/lbaas/flavors", async (HttpContext http, ApiServices api) =>
        {
            Policies.Authorize(http, "flavor", "get_all", null);
            await using var db = api.Store.Read();
            var items = await db.Flavors.ToListAsync(http.RequestAborted);
            return Common.Json(ListQuery.Respond(http, api.Settings, items.Select(Views.Flavor), "flavors", "flavors_links", Views.FlavorAttributes));
        });
        g.MapGet("/lbaas/flavors/{id}", async (HttpContext http, ApiServices api, string id) =>
        {
            Policies.Authorize(http, "flavor", "get_one", null);
            return Common.One(http, api, "flavor", Views.Flavor(await FindFlavorAsync(api, id, http.RequestAborted)));
        });
        g.MapPost("/lbaas/flavors", async (HttpContext http, ApiServices api) =>
        {
            Policies.Authorize(http, "flavor", "post", null);
            var b = new Body(await Body.ReadRootAsync(http, "flavor"), "flavor", [.. update, "flavor_profile_id"]);
            var f = new Flavor
            {
                Id = Ids.New(),
                Name = b.Str("name", required: true)!,
                Description = b.Str("description"),
                Enabled = b.Bool("enabled") ?? true,
                FlavorProfileId = b.Uuid("flavor_profile_id", required: true)!,
            };
            await api.Store.WriteAsync(null, async db =>
            {
                if (!await db.FlavorProfiles.AnyAsync(p => p.Id == f.FlavorProfileId, http.RequestAborted))
                {
                    throw ApiException.BadRequest($"Validation failure: Flavor profile {f.FlavorProfileId} not found.");
                }
                if (await db.Flavors.AnyAsync(x => x.Name == f.Name, http.RequestAborted))
                {
                    throw ApiException.Conflict($"A flavor of name {f.Name} already exists.");
                }
                db.Flavors.Add(f);
            }, http.RequestAborted);
            return Common.One(http, api, "flavor", Views.Flavor(f), StatusCodes.Status201Created);
        });
        g.MapPut("/lbaas/flavors/{id}", async (HttpContext http, ApiServices api, string id) =>
        {
            Policies.Authorize(http, "flavor", "put", null);
            var existing = await FindFlavorAsync(api, id, http.RequestAborted);
            var b = new Body(await Body.ReadRootAsync(http, "flavor"), "flavor", update);
            var f = await api.Store.WriteAsync(null, async db =>
            {
                var row = await db.Flavors.FirstAsync(x => x.Id == existing.Id, http.RequestAborted);
                if (b.Has("name"))
                {
                    var name = b.Str("name") ?? throw ApiException.InvalidInput("name", "None", "Mandatory field missing.");
                    if (name != row.Name && await db.Flavors.AnyAsync(x => x.Name == name, http.RequestAborted))
                    {
                        throw ApiException.Conflict($"A flavor of name {name} already exists.");
                    }
                    row.Name = name;
                }
                if (b.Has("description"))
                {
                    row.Description = b.Str("description");
                }
                if (b.Has("enabled"))
                {
                    row.Enabled = b.Bool("enabled") ?? true;
                }
                return row;
            }, http.RequestAborted);
            return Common.One(http, api, "flavor", Views.Flavor(f));
        });
        g.MapDelete("/lbaas/flavors/{id}", async (HttpContext http, ApiServices api, string id) =>
        {
            Policies.Authorize(http, "flavor", "delete", null);
            var existing = await FindFlavorAsync(api, id, http.RequestAborted);
            await api.Store.WriteAsync(null, async db =>
            {
                if (await db.LoadBalancers.AnyAsync(l => l.FlavorId == existing.Id && l.ProvisioningStatus != ProvisioningStatus.Deleted, http.RequestAborted))
                {
                    throw ApiException.Conflict($"Flavor {existing.Id} is in use.");
                }
                db.Flavors.Remove(await db.Flavors.FirstAsync(x => x.Id == existing.Id, http.RequestAborted));
            }, http.RequestAborted);
            return Common.NoContent();
        });
    }

    private static async Task<Flavor> FindFlavorAsync(ApiServices api, string id, CancellationToken ct)
    {
        var key = Common.PathId(id, "Flavor");
        await using var db = api.Store.Read();
        return await db.Flavors.FirstOrDefaultAsync(f => f.Id == key, ct) ?? throw ApiException.NotFound("Flavor", id);
    }

    private static void MapAvailabilityZones(RouteGroupBuilder g)
    {
        g.MapGet("/lbaas/availabilityzones", async (HttpContext http, ApiServices api) =>
        {
            Policies.Authorize(http, "availability-zone", "get_all", null);
            await using var db = api.Store.Read();
            var items = await db.AvailabilityZones.ToListAsync(http.RequestAborted);
            return Common.Json(ListQuery.Respond(http, api.Settings, items.Select(Views.AvailabilityZone), "availability_zones", "availability_zones_links", Views.AvailabilityZoneAttributes));
        });
        g.MapGet("/lbaas/availabilityzones/{name}", async (HttpContext http, ApiServices api, string name) =>
        {
            Policies.Authorize(http, "availability-zone", "get_one", null);
            return Common.One(http, api, "availability_zone", Views.AvailabilityZone(await FindZoneAsync(api, name, http.RequestAborted)));
        });
        g.MapPost("/lbaas/availabilityzones", async (HttpContext http, ApiServices api) =>
        {
            Policies.Authorize(http, "availability-zone", "post", null);
            var b = new Body(await Body.ReadRootAsync(http, "availability_zone"), "availability_zone", ["name", "description", "enabled", "availability_zone_profile_id"]);
            var z = new AvailabilityZone
            {
                Name = b.Str("name", required: true, minLength: 1)!,
                Description = b.Str("description"),
                Enabled = b.Bool("enabled") ?? true,
                AvailabilityZoneProfileId = b.Uuid("availability_zone_profile_id", required: true)!,
            };
            await api.Store.WriteAsync(null, async db =>
            {
                if (!await db.AvailabilityZoneProfiles.AnyAsync(p => p.Id == z.AvailabilityZoneProfileId, http.RequestAborted))
                {
                    throw ApiException.BadRequest($"Validation failure: Availability zone profile {z.AvailabilityZoneProfileId} not found.");
                }
                if (await db.AvailabilityZones.AnyAsync(x => x.Name == z.Name, http.RequestAborted))
                {
                    throw ApiException.Conflict($"An availability zone of name {z.Name} already exists.");
                }
                db.AvailabilityZones.Add(z);
            }, http.RequestAborted);
            return Common.One(http, api, "availability_zone", Views.AvailabilityZone(z), StatusCodes.Status201Created);
        });
        g.MapPut("/lbaas/availabilityzones/{name}", async (HttpContext http, ApiServices api, string name) =>
        {
            Policies.Authorize(http, "availability-zone", "put", null);
            var existing = await FindZoneAsync(api, name, http.RequestAborted);
            var b = new Body(await Body.ReadRootAsync(http, "availability_zone"), "availability_zone", ["description", "enabled"]);
            var z = await api.Store.WriteAsync(null, async db =>
            {
                var row = await db.AvailabilityZones.FirstAsync(x => x.Name == existing.Name, http.RequestAborted);
                if (b.Has("description"))
                {
                    row.Description = b.Str("description");
                }
                if (b.Has("enabled"))
                {
                    row.Enabled = b.Bool("enabled") ?? true;
                }
                return row;
            }, http.RequestAborted);
            return Common.One(http, api, "availability_zone", Views.AvailabilityZone(z));
        });
        g.MapDelete("/lbaas/availabilityzones/{name}", async (HttpContext http, ApiServices api, string name) =>
        {
            Policies.Authorize(http, "availability-zone", "delete", null);
            var existing = await FindZoneAsync(api, name, http.RequestAborted);
            await api.Store.WriteAsync(null, async db =>
            {
                if (await db.LoadBalancers.AnyAsync(l => l.AvailabilityZone == existing.Name && l.ProvisioningStatus != ProvisioningStatus.Deleted, http.RequestAborted))
                {
                    throw ApiException.Conflict($"Availability zone {existing.Name} is in use.");
                }
                db.AvailabilityZones.Remove(await db.AvailabilityZones.FirstAsync(x => x.Name == existing.Name, http.RequestAborted));
            }, http.RequestAborted);
            return Common.NoContent();
        });
    }

    private static async Task<AvailabilityZone> FindZoneAsync(ApiServices api, string name, CancellationToken ct)
    {
        await using var db = api.Store.Read();
        return await db.AvailabilityZones.FirstOrDefaultAsync(z => z.Name == name, ct) ?? throw ApiException.NotFound("Availability Zone", name);
    }

    /// <summary>What differs between the two provider profile resources (flavor and availability zone profiles).</summary>
    private sealed record ProfileKind<T>(
        string Path,
        string PolicyObject,
        string Root,
        string LinksRoot,
        string ListRoot,
        string DataField,
        string Noun,
        string InUseNoun,
        Func<OctaviaDbContext, string, CancellationToken, Task<bool>> InUseAsync,
        Action<IProviderDriver, JsonObject> Validate,
        Func<T, JsonObject> View,
        IReadOnlyCollection<string> Attributes)
        where T : class, IProviderProfile, new();

    private static readonly ProfileKind<FlavorProfile> FlavorProfiles = new(
        "/lbaas/flavorprofiles", "flavor-profile", "flavorprofile", "flavorprofile_links", "flavorprofiles", "flavor_data",
        "Flavor profile", "Flavor profile",
        (db, id, ct) => db.Flavors.AnyAsync(f => f.FlavorProfileId == id, ct),
        (driver, data) => driver.ValidateFlavor(data),
        Views.FlavorProfile, Views.FlavorProfileAttributes);

    private static readonly ProfileKind<AvailabilityZoneProfile> AvailabilityZoneProfiles = new(
        "/lbaas/availabilityzoneprofiles", "availability-zone-profile", "availability_zone_profile", "availability_zone_profile_links",
        "availability_zone_profiles", "availability_zone_data", "Availability Zone Profile", "Availability zone profile",
        (db, id, ct) => db.AvailabilityZones.AnyAsync(z => z.AvailabilityZoneProfileId == id, ct),
        (driver, data) => driver.ValidateAvailabilityZone(data),
        Views.AvailabilityZoneProfile, Views.AvailabilityZoneProfileAttributes);

    private static void MapProfiles<T>(RouteGroupBuilder g, ProfileKind<T> kind)
        where T : class, IProviderProfile, new()
    {
        string[] fields = ["name", "provider_name", kind.DataField];
        g.MapGet(kind.Path, async (HttpContext http, ApiServices api) =>
        {
            Policies.Authorize(http, kind.PolicyObject, "get_all", null);
            await using var db = api.Store.Read();
            var items = await db.Set<T>().ToListAsync(http.RequestAborted);
            return Common.Json(ListQuery.Respond(http, api.Settings, items.Select(kind.View), kind.ListRoot, kind.LinksRoot, kind.Attributes));
        });
        g.MapGet(kind.Path + "/{id}", async (HttpContext http, ApiServices api, string id) =>
        {
            Policies.Authorize(http, kind.PolicyObject, "get_one", null);
            return Common.One(http, api, kind.Root, kind.View(await FindProfileAsync(api, kind, id, http.RequestAborted)));
        });
        g.MapPost(kind.Path, async (HttpContext http, ApiServices api) =>
        {
            Policies.Authorize(http, kind.PolicyObject, "post", null);
            var b = new Body(await Body.ReadRootAsync(http, kind.Root), kind.Root, fields);
            var p = new T
            {
                Id = Ids.New(),
                Name = b.Str("name", required: true)!,
                ProviderName = b.Str("provider_name", required: true)!,
                Data = b.Str(kind.DataField, 4096, required: true)!,
            };
            kind.Validate(api.Providers.Get(p.ProviderName), ParseData(kind.DataField, p.Data));
            await api.Store.WriteAsync(null, db =>
            {
                db.Set<T>().Add(p);
                return Task.CompletedTask;
            }, http.RequestAborted);
            return Common.One(http, api, kind.Root, kind.View(p), StatusCodes.Status201Created);
        });
        g.MapPut(kind.Path + "/{id}", async (HttpContext http, ApiServices api, string id) =>
        {
            Policies.Authorize(http, kind.PolicyObject, "put", null);
            var existing = await FindProfileAsync(api, kind, id, http.RequestAborted);
            var b = new Body(await Body.ReadRootAsync(http, kind.Root), kind.Root, fields);
            var p = await api.Store.WriteAsync(null, async db =>
            {
                var row = await db.Set<T>().FirstAsync(x => x.Id == existing.Id, http.RequestAborted);
                if ((b.Has("provider_name") || b.Has(kind.DataField)) && await kind.InUseAsync(db, row.Id, http.RequestAborted))
                {
                    throw ApiException.Conflict($"{kind.InUseNoun} {row.Id} is in use.");
                }
                row.Name = b.Has("name") ? b.Str("name") ?? row.Name : row.Name;
                row.ProviderName = b.Has("provider_name") ? b.Str("provider_name") ?? row.ProviderName : row.ProviderName;
                row.Data = b.Has(kind.DataField) ? b.Str(kind.DataField, 4096) ?? row.Data : row.Data;
                kind.Validate(api.Providers.Get(row.ProviderName), ParseData(kind.DataField, row.Data));
                return row;
            }, http.RequestAborted);
            return Common.One(http, api, kind.Root, kind.View(p));
        });
        g.MapDelete(kind.Path + "/{id}", async (HttpContext http, ApiServices api, string id) =>
        {
            Policies.Authorize(http, kind.PolicyObject, "delete", null);
            var existing = await FindProfileAsync(api, kind, id, http.RequestAborted);
            await api.Store.WriteAsync(null, async db =>
            {
                if (await kind.InUseAsync(db, existing.Id, http.RequestAborted))
                {
                    throw ApiException.Conflict($"{kind.InUseNoun} {existing.Id} is in use.");
                }
                db.Set<T>().Remove(await db.Set<T>().FirstAsync(x => x.Id == existing.Id, http.RequestAborted));
            }, http.RequestAborted);
            return Common.NoContent();
        });
    }

    private static async Task<T> FindProfileAsync<T>(ApiServices api, ProfileKind<T> kind, string id, CancellationToken ct)
        where T : class, IProviderProfile, new()
    {
        var key = Common.PathId(id, kind.Noun);
        await using var db = api.Store.Read();
        return await db.Set<T>().FirstOrDefaultAsync(f => f.Id == key, ct) ?? throw ApiException.NotFound(kind.Noun, id);
    }
}
