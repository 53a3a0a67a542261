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
using Octavia.Core.Model;

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
        MapFlavorProfiles(g);
        MapAvailabilityZones(g);
        MapAvailabilityZoneProfiles(g);
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

    private static void MapFlavorProfiles(RouteGroupBuilder g)
    {
        string[] fields = ["name", "provider_name", "flavor_data"];
        g.MapGet("/lbaas/flavorprofiles", async (HttpContext http, ApiServices api) =>
        {
            Policies.Authorize(http, "flavor-profile", "get_all", null);
            await using var db = api.Store.Read();
            var items = await db.FlavorProfiles.ToListAsync(http.RequestAborted);
            return Common.Json(ListQuery.Respond(http, api.Settings, items.Select(Views.FlavorProfile), "flavorprofiles", "flavorprofile_links", Views.FlavorProfileAttributes));
        });
        g.MapGet("/lbaas/flavorprofiles/{id}", async (HttpContext http, ApiServices api, string id) =>
        {
            Policies.Authorize(http, "flavor-profile", "get_one", null);
            return Common.One(http, api, "flavorprofile", Views.FlavorProfile(await FindProfileAsync(api, id, http.RequestAborted)));
        });
        g.MapPost("/lbaas/flavorprofiles", async (HttpContext http, ApiServices api) =>
        {
            Policies.Authorize(http, "flavor-profile", "post", null);
            var b = new Body(await Body.ReadRootAsync(http, "flavorprofile"), "flavorprofile", fields);
            var p = new FlavorProfile
            {
                Id = Ids.New(),
                Name = b.Str("name", required: true)!,
                ProviderName = b.Str("provider_name", required: true)!,
                FlavorData = b.Str("flavor_data", 4096, required: true)!,
            };
            api.Providers.Get(p.ProviderName).ValidateFlavor(ParseData("flavor_data", p.FlavorData));
            await api.Store.WriteAsync(null, db =>
            {
                db.FlavorProfiles.Add(p);
                return Task.CompletedTask;
            }, http.RequestAborted);
            return Common.One(http, api, "flavorprofile", Views.FlavorProfile(p), StatusCodes.Status201Created);
        });
        g.MapPut("/lbaas/flavorprofiles/{id}", async (HttpContext http, ApiServices api, string id) =>
        {
            Policies.Authorize(http, "flavor-profile", "put", null);
            var existing = await FindProfileAsync(api, id, http.RequestAborted);
            var b = new Body(await Body.ReadRootAsync(http, "flavorprofile"), "flavorprofile", fields);
            var p = await api.Store.WriteAsync(null, async db =>
            {
                var row = await db.FlavorProfiles.FirstAsync(x => x.Id == existing.Id, http.RequestAborted);
                if ((b.Has("provider_name") || b.Has("flavor_data")) && await db.Flavors.AnyAsync(f => f.FlavorProfileId == row.Id, http.RequestAborted))
                {
                    throw ApiException.Conflict($"Flavor profile {row.Id} is in use.");
                }
                row.Name = b.Has("name") ? b.Str("name") ?? row.Name : row.Name;
                row.ProviderName = b.Has("provider_name") ? b.Str("provider_name") ?? row.ProviderName : row.ProviderName;
                row.FlavorData = b.Has("flavor_data") ? b.Str("flavor_data", 4096) ?? row.FlavorData : row.FlavorData;
                api.Providers.Get(row.ProviderName).ValidateFlavor(ParseData("flavor_data", row.FlavorData));
                return row;
            }, http.RequestAborted);
            return Common.One(http, api, "flavorprofile", Views.FlavorProfile(p));
        });
        g.MapDelete("/lbaas/flavorprofiles/{id}", async (HttpContext http, ApiServices api, string id) =>
        {
            Policies.Authorize(http, "flavor-profile", "delete", null);
            var existing = await FindProfileAsync(api, id, http.RequestAborted);
            await api.Store.WriteAsync(null, async db =>
            {
                if (await db.Flavors.AnyAsync(f => f.FlavorProfileId == existing.Id, http.RequestAborted))
                {
                    throw ApiException.Conflict($"Flavor profile {existing.Id} is in use.");
                }
                db.FlavorProfiles.Remove(await db.FlavorProfiles.FirstAsync(x => x.Id == existing.Id, http.RequestAborted));
            }, http.RequestAborted);
            return Common.NoContent();
        });
    }

    private static async Task<FlavorProfile> FindProfileAsync(ApiServices api, string id, CancellationToken ct)
    {
        var key = Common.PathId(id, "Flavor profile");
        await using var db = api.Store.Read();
        return await db.FlavorProfiles.FirstOrDefaultAsync(f => f.Id == key, ct) ?? throw ApiException.NotFound("Flavor profile", id);
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

    private static void MapAvailabilityZoneProfiles(RouteGroupBuilder g)
    {
        string[] fields = ["name", "provider_name", "availability_zone_data"];
        g.MapGet("/lbaas/availabilityzoneprofiles", async (HttpContext http, ApiServices api) =>
        {
            Policies.Authorize(http, "availability-zone-profile", "get_all", null);
            await using var db = api.Store.Read();
            var items = await db.AvailabilityZoneProfiles.ToListAsync(http.RequestAborted);
            return Common.Json(ListQuery.Respond(http, api.Settings, items.Select(Views.AvailabilityZoneProfile), "availability_zone_profiles", "availability_zone_profile_links", Views.AvailabilityZoneProfileAttributes));
        });
        g.MapGet("/lbaas/availabilityzoneprofiles/{id}", async (HttpContext http, ApiServices api, string id) =>
        {
            Policies.Authorize(http, "availability-zone-profile", "get_one", null);
            return Common.One(http, api, "availability_zone_profile", Views.AvailabilityZoneProfile(await FindZoneProfileAsync(api, id, http.RequestAborted)));
        });
        g.MapPost("/lbaas/availabilityzoneprofiles", async (HttpContext http, ApiServices api) =>
        {
            Policies.Authorize(http, "availability-zone-profile", "post", null);
            var b = new Body(await Body.ReadRootAsync(http, "availability_zone_profile"), "availability_zone_profile", fields);
            var p = new AvailabilityZoneProfile
            {
                Id = Ids.New(),
                Name = b.Str("name", required: true)!,
                ProviderName = b.Str("provider_name", required: true)!,
                AvailabilityZoneData = b.Str("availability_zone_data", 4096, required: true)!,
            };
            api.Providers.Get(p.ProviderName).ValidateAvailabilityZone(ParseData("availability_zone_data", p.AvailabilityZoneData));
            await api.Store.WriteAsync(null, db =>
            {
                db.AvailabilityZoneProfiles.Add(p);
                return Task.CompletedTask;
            }, http.RequestAborted);
            return Common.One(http, api, "availability_zone_profile", Views.AvailabilityZoneProfile(p), StatusCodes.Status201Created);
        });
        g.MapPut("/lbaas/availabilityzoneprofiles/{id}", async (HttpContext http, ApiServices api, string id) =>
        {
            Policies.Authorize(http, "availability-zone-profile", "put", null);
            var existing = await FindZoneProfileAsync(api, id, http.RequestAborted);
            var b = new Body(await Body.ReadRootAsync(http, "availability_zone_profile"), "availability_zone_profile", fields);
            var p = await api.Store.WriteAsync(null, async db =>
            {
                var row = await db.AvailabilityZoneProfiles.FirstAsync(x => x.Id == existing.Id, http.RequestAborted);
                if ((b.Has("provider_name") || b.Has("availability_zone_data")) && await db.AvailabilityZones.AnyAsync(z => z.AvailabilityZoneProfileId == row.Id, http.RequestAborted))
                {
                    throw ApiException.Conflict($"Availability zone profile {row.Id} is in use.");
                }
                row.Name = b.Has("name") ? b.Str("name") ?? row.Name : row.Name;
                row.ProviderName = b.Has("provider_name") ? b.Str("provider_name") ?? row.ProviderName : row.ProviderName;
                row.AvailabilityZoneData = b.Has("availability_zone_data") ? b.Str("availability_zone_data", 4096) ?? row.AvailabilityZoneData : row.AvailabilityZoneData;
                api.Providers.Get(row.ProviderName).ValidateAvailabilityZone(ParseData("availability_zone_data", row.AvailabilityZoneData));
                return row;
            }, http.RequestAborted);
            return Common.One(http, api, "availability_zone_profile", Views.AvailabilityZoneProfile(p));
        });
        g.MapDelete("/lbaas/availabilityzoneprofiles/{id}", async (HttpContext http, ApiServices api, string id) =>
        {
            Policies.Authorize(http, "availability-zone-profile", "delete", null);
            var existing = await FindZoneProfileAsync(api, id, http.RequestAborted);
            await api.Store.WriteAsync(null, async db =>
            {
                if (await db.AvailabilityZones.AnyAsync(z => z.AvailabilityZoneProfileId == existing.Id, http.RequestAborted))
                {
                    throw ApiException.Conflict($"Availability zone profile {existing.Id} is in use.");
                }
                db.AvailabilityZoneProfiles.Remove(await db.AvailabilityZoneProfiles.FirstAsync(x => x.Id == existing.Id, http.RequestAborted));
            }, http.RequestAborted);
            return Common.NoContent();
        });
    }

    private static async Task<AvailabilityZoneProfile> FindZoneProfileAsync(ApiServices api, string id, CancellationToken ct)
    {
        var key = Common.PathId(id, "Availability Zone Profile");
        await using var db = api.Store.Read();
        return await db.AvailabilityZoneProfiles.FirstOrDefaultAsync(f => f.Id == key, ct) ?? throw ApiException.NotFound("Availability Zone Profile", id);
    }
}
