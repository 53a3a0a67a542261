// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Octavia.Api.Errors;
using Octavia.Core.Configuration;

namespace Octavia.Api.Paging;

/// <summary>
/// Upstream's PaginationHelper for every collection: filtering on any attribute, tag filters,
/// sorting (<c>sort=k:dir</c> or <c>sort_key</c>/<c>sort_dir</c>), marker paging with
/// <c>&lt;collection&gt;_links</c>, and <c>fields=</c>, applied to the response objects.
/// </summary>
internal static class ListQuery
{
    private static readonly HashSet<string> s_reserved =
        ["limit", "marker", "sort", "sort_key", "sort_dir", "fields", "page_reverse", "tags", "tags-any", "not-tags", "not-tags-any"];

    /// <summary>
    /// Parses and validates the list parameters, in upstream's order: filters (unknown attributes are a 400),
    /// then sort keys and directions, then the limit. The marker is checked by whoever runs the query.
    /// </summary>
    public static ListRequest Parse(HttpContext http, ApiSettingsOptions settings, IReadOnlyCollection<string> attributes, params string[] ignoredFilters)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(settings);
        var query = http.Request.Query;
        var filters = new List<(string, string)>();
        List<string> all = [], any = [], notAll = [], notAny = [];
        if (settings.AllowFiltering)
        {
            foreach (var (key, values) in query)
            {
                if (s_reserved.Contains(key) || ignoredFilters.Contains(key))
                {
                    continue;
                }
                var attr = ResolveFilter(key, attributes)
                    ?? throw ApiException.BadRequest($"One or more arguments are either duplicate or invalid: {key}");
                filters.Add((attr, values.ToString()));
            }
            all = TagValues(query, "tags");
            any = TagValues(query, "tags-any");
            notAll = TagValues(query, "not-tags");
            notAny = TagValues(query, "not-tags-any");
        }
        var sort = settings.AllowSorting ? ParseSort(query, attributes) : [];
        var paginate = settings.AllowPagination;
        var limit = paginate ? ParseLimit(query, settings) : null;
        var marker = paginate ? query["marker"].FirstOrDefault() : null;
        var reverse = paginate && string.Equals(query["page_reverse"].FirstOrDefault(), "true", StringComparison.OrdinalIgnoreCase);
        return new ListRequest(filters, all, any, notAll, notAny, sort, paginate, limit, marker, reverse);
    }

    /// <summary>Builds <c>{collection: [...], links: [...]}</c> from every visible object (in memory).</summary>
    public static JsonObject Respond(HttpContext http, ApiSettingsOptions settings, IEnumerable<JsonObject> all,
        string collection, string? linksKey, IReadOnlyCollection<string> attributes, params string[] ignoredFilters)
    {
        var request = Parse(http, settings, attributes, ignoredFilters);
        IEnumerable<JsonObject> items = all;
        foreach (var (attr, wanted) in request.Filters)
        {
            items = items.Where(o => Matches(o, attr, wanted));
        }
        items = TagFilter(items, request);

        var list = items.ToList();
        var sortKeys = request.Sort.ToList();
        sortKeys.Add(("created_at", true));
        sortKeys.Add(("id", true));
        list.Sort((a, b) =>
        {
            foreach (var (key, asc) in sortKeys)
            {
                var c = Compare(a[key], b[key]);
                if (c != 0)
                {
                    return asc ? c : -c;
                }
            }
            return 0;
        });

        var links = new JsonArray();
        if (request.Paginate)
        {
            var limit = request.Limit;
            var marker = request.Marker;
            var reverse = request.Reverse;
            var start = 0;
            var end = list.Count;
            if (marker is not null)
            {
                var index = list.FindIndex(o => (string?)o["id"] == marker);
                if (index < 0)
                {
                    throw ApiException.BadRequest($"Invalid marker: {marker}");
                }
                if (reverse)
                {
                    end = index;
                    start = limit is { } l ? Math.Max(0, index - l) : 0;
                }
                else
                {
                    start = index + 1;
                }
            }
            if (!reverse && limit is { } lim)
            {
                end = Math.Min(list.Count, start + lim);
            }
            list = list.GetRange(start, Math.Max(0, end - start));
            if (limit is { } pageLimit && list.Count >= pageLimit && list.Count > 0)
            {
                links.Add(Link(http, settings, "next", (string?)list[^1]["id"], false));
            }
            if (marker is not null && list.Count > 0)
            {
                links.Add(Link(http, settings, "previous", (string?)list[0]["id"], true));
            }
        }

        var fields = Fields(http, settings);
        var array = new JsonArray();
        foreach (var item in list)
        {
            array.Add(Select(item, fields));
        }
        var body = new JsonObject { [collection] = array };
        if (linksKey is not null)
        {
            body[linksKey] = links;
        }
        return body;
    }

    /// <summary>The <c>fields=</c> of the request (null when absent or disabled).</summary>
    public static HashSet<string>? Fields(HttpContext http, ApiSettingsOptions settings)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (settings is null || !settings.AllowFieldSelection || !http.Request.Query.TryGetValue("fields", out var values))
        {
            return null;
        }
        return values.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToHashSet();
    }

    /// <summary>Keeps only the selected attributes of <paramref name="item"/>.</summary>
    public static JsonObject Select(JsonObject item, HashSet<string>? fields)
    {
        ArgumentNullException.ThrowIfNull(item);
        if (fields is null || fields.Count == 0)
        {
            return item;
        }
        var result = new JsonObject();
        foreach (var (key, value) in item)
        {
            if (fields.Contains(key))
            {
                result[key] = value?.DeepClone();
            }
        }
        return result;
    }

    private static string? ResolveFilter(string key, IReadOnlyCollection<string> attributes)
    {
        if (key == "tags")
        {
            return null;
        }
        if (attributes.Contains(key))
        {
            return key;
        }
        // loadbalancer_id -> loadbalancers:[{id}], pool_id -> pools:[{id}], listener_id -> listeners:[{id}].
        if (key.EndsWith("_id", StringComparison.Ordinal) && attributes.Contains(key[..^3] + "s"))
        {
            return key[..^3] + "s";
        }
        return null;
    }

    private static bool Matches(JsonObject item, string attr, string wanted)
    {
        var node = item[attr];
        switch (node)
        {
            case null:
                return wanted.Length == 0 || wanted == "None";
            case JsonArray arr:
                return arr.Any(e => e is JsonObject o ? (string?)o["id"] == wanted : e?.ToString() == wanted);
            case JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False:
                return bool.TryParse(wanted, out var b) && b == v.GetValue<bool>();
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                return v.GetValue<string>() == wanted;
            default:
                return node.ToJsonString() == wanted;
        }
    }

    private static List<string> TagValues(IQueryCollection q, string key) =>
        q.TryGetValue(key, out var v) ? v.SelectMany(s => (s ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries)).ToList() : [];

    private static IEnumerable<JsonObject> TagFilter(IEnumerable<JsonObject> items, ListRequest request)
    {
        static HashSet<string> Tags(JsonObject o) =>
            o["tags"] is JsonArray a ? a.Select(t => t?.ToString() ?? "").ToHashSet() : [];
        if (request.TagsAll.Count > 0)
        {
            items = items.Where(o => request.TagsAll.All(Tags(o).Contains));
        }
        if (request.TagsAny.Count > 0)
        {
            items = items.Where(o => request.TagsAny.Any(Tags(o).Contains));
        }
        if (request.NotTagsAll.Count > 0)
        {
            items = items.Where(o => !request.NotTagsAll.All(Tags(o).Contains));
        }
        if (request.NotTagsAny.Count > 0)
        {
            items = items.Where(o => !request.NotTagsAny.Any(Tags(o).Contains));
        }
        return items;
    }

    private static List<(string Key, bool Asc)> ParseSort(IQueryCollection query, IReadOnlyCollection<string> attributes)
    {
        var result = new List<(string, bool)>();
        var pairs = new List<(string Key, string? Dir)>();
        if (query.TryGetValue("sort", out var sort))
        {
            foreach (var part in sort.SelectMany(s => (s ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
            {
                var kv = part.Split(':', 2);
                pairs.Add((kv[0], kv.Length > 1 ? kv[1] : null));
            }
        }
        else if (query.TryGetValue("sort_key", out var keys))
        {
            var dirs = query["sort_dir"].SelectMany(s => (s ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries)).ToList();
            var keyList = keys.SelectMany(s => (s ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries)).ToList();
            for (var i = 0; i < keyList.Count; i++)
            {
                pairs.Add((keyList[i], i < dirs.Count ? dirs[i] : dirs.LastOrDefault()));
            }
        }
        else if (query["sort_dir"].FirstOrDefault() is { } onlyDir)
        {
            pairs.Add(("created_at", onlyDir));
        }
        foreach (var (key, dir) in pairs)
        {
            if (!attributes.Contains(key))
            {
                throw ApiException.BadRequest($"Supplied sort key '{key}' is not valid.");
            }
            var d = (dir ?? "asc").ToLowerInvariant();
            if (d is not ("asc" or "desc"))
            {
                throw ApiException.BadRequest($"Supplied sort direction '{dir}' is not valid.");
            }
            result.Add((key, d == "asc"));
        }
        return result;
    }

    private static int? ParseLimit(IQueryCollection query, ApiSettingsOptions settings)
    {
        int? max = int.TryParse(settings.PaginationMaxLimit, NumberStyles.Integer, CultureInfo.InvariantCulture, out var m) && m > 0 ? m : null;
        var raw = query["limit"].FirstOrDefault();
        if (raw is null || raw.Length == 0)
        {
            return max;
        }
        if (raw == "infinite")
        {
            return max;
        }
        if (!int.TryParse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var limit))
        {
            throw ApiException.BadRequest($"Supplied pagination limit '{raw}' is not valid.");
        }
        if (limit < 1)
        {
            return max;
        }
        return max is { } mx ? Math.Min(limit, mx) : limit;
    }

    private static JsonObject Link(HttpContext http, ApiSettingsOptions settings, string rel, string? marker, bool reverse) =>
        new() { ["href"] = LinkHref(http, settings, marker, reverse), ["rel"] = rel };

    /// <summary>The href of a <c>next</c> or <c>previous</c> link: this request's sort and limit, a new marker.</summary>
    public static string LinkHref(HttpContext http, ApiSettingsOptions settings, string? marker, bool reverse)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(settings);
        var baseUri = string.IsNullOrEmpty(settings.ApiBaseUri)
            ? $"{http.Request.Scheme}://{http.Request.Host}"
            : settings.ApiBaseUri.TrimEnd('/');
        var sb = new StringBuilder(baseUri).Append(http.Request.PathBase).Append(http.Request.Path).Append('?');
        foreach (var key in new[] { "limit", "sort", "sort_key", "sort_dir" })
        {
            foreach (var v in http.Request.Query[key])
            {
                sb.Append(key).Append('=').Append(Uri.EscapeDataString(v ?? "")).Append('&');
            }
        }
        sb.Append("marker=").Append(Uri.EscapeDataString(marker ?? ""));
        if (reverse)
        {
            sb.Append("&page_reverse=True");
        }
        return sb.ToString();
    }

    private static int Compare(JsonNode? a, JsonNode? b)
    {
        if (a is null || b is null)
        {
            return a is null ? (b is null ? 0 : -1) : 1;
        }
        if (a is JsonValue va && b is JsonValue vb)
        {
            var ka = va.GetValueKind();
            if (ka == JsonValueKind.Number && vb.GetValueKind() == JsonValueKind.Number)
            {
                return va.GetValue<double>().CompareTo(vb.GetValue<double>());
            }
            if (ka == JsonValueKind.String && vb.GetValueKind() == JsonValueKind.String)
            {
                return string.CompareOrdinal(va.GetValue<string>(), vb.GetValue<string>());
            }
        }
        return string.CompareOrdinal(a.ToJsonString(), b.ToJsonString());
    }
}

/// <summary>The validated parameters of one list request.</summary>
internal sealed record ListRequest(
    List<(string Attribute, string Value)> Filters,
    List<string> TagsAll,
    List<string> TagsAny,
    List<string> NotTagsAll,
    List<string> NotTagsAny,
    List<(string Key, bool Asc)> Sort,
    bool Paginate,
    int? Limit,
    string? Marker,
    bool Reverse);
