// Licensed under the Apache License, Version 2.0.

using System.Buffers;
using System.Globalization;
using System.Linq.Expressions;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Octavia.Api.Errors;
using Octavia.Core.Configuration;
using Octavia.Core.Model;

namespace Octavia.Api.Paging;

/// <summary>How one API attribute of <typeparamref name="T"/> is filtered and sorted in SQL.</summary>
internal sealed record Column<T>(Func<string, Expression<Func<T, bool>>> Filter, LambdaExpression? Sort, bool SortNullable);

/// <summary>The column maps for one resource, built from the entity's properties.</summary>
internal static class Columns
{
    private sealed class Box<TValue>(TValue value)
    {
        public TValue Value { get; } = value;
    }

    // A closure member, so EF sends the value as a parameter and caches one plan per query shape.
    private static MemberExpression Param<TValue>(TValue value) => Expression.Property(Expression.Constant(new Box<TValue>(value)), "Value");

    private static Expression<Func<T, bool>> Lambda<T>(Expression body, ParameterExpression p) => Expression.Lambda<Func<T, bool>>(body, p);

    private static Expression<Func<T, bool>> Never<T>() => _ => false;

    private static bool IsNone(string wanted) => wanted.Length == 0 || wanted == "None";

    /// <summary>A string the view shows as is (null shows as JSON null, which <c>""</c> and <c>None</c> match).</summary>
    public static Column<T> Str<T>(Expression<Func<T, string?>> sel, bool nullable = true) => new(wanted =>
    {
        var eq = Expression.Equal(sel.Body, Param<string?>(wanted));
        return Lambda<T>(nullable && IsNone(wanted) ? Expression.OrElse(Expression.Equal(sel.Body, Expression.Constant(null, typeof(string))), eq) : eq, sel.Parameters[0]);
    }, sel, nullable);

    /// <summary>A boolean: <c>True</c>/<c>false</c> in any case, anything else matches nothing.</summary>
    public static Column<T> Bool<T>(Expression<Func<T, bool>> sel) => new(wanted =>
        bool.TryParse(wanted, out var b) ? Lambda<T>(Expression.Equal(sel.Body, Param(b)), sel.Parameters[0]) : Never<T>(), sel, false);

    /// <summary>An integer: matches its canonical decimal text only (the JSON number's text).</summary>
    public static Column<T> Int<T>(Expression<Func<T, int?>> sel, bool nullable) => new(wanted =>
    {
        if (nullable && IsNone(wanted))
        {
            return Lambda<T>(Expression.Equal(sel.Body, Expression.Constant(null, typeof(int?))), sel.Parameters[0]);
        }
        return int.TryParse(wanted, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) && n.ToString(CultureInfo.InvariantCulture) == wanted
            ? Lambda<T>(Expression.Equal(sel.Body, Param<int?>(n)), sel.Parameters[0])
            : Never<T>();
    }, sel, nullable);

    /// <summary>A timestamp shown as <c>yyyy-MM-ddTHH:mm:ss</c>; the filter matches that text.</summary>
    public static Column<T> Time<T>(Expression<Func<T, DateTime?>> sel) => new(wanted =>
    {
        if (IsNone(wanted))
        {
            return Lambda<T>(Expression.Equal(sel.Body, Expression.Constant(null, typeof(DateTime?))), sel.Parameters[0]);
        }
        return DateTime.TryParseExact(wanted, "yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.None, out var t)
            ? Lambda<T>(Expression.Equal(sel.Body, Param<DateTime?>(t)), sel.Parameters[0])
            : Never<T>();
    }, sel, true);

    /// <summary>A list of <c>{"id": ...}</c> objects: the filter matches when one id equals the value; never a sort key.</summary>
    public static Column<T> Has<T>(Func<string, Expression<Func<T, bool>>> filter) => new(filter, null, false);

    /// <summary>The attributes every LBaaS object has.</summary>
    public static Dictionary<string, Column<T>> Base<T>() where T : LbaasObject => new(StringComparer.Ordinal)
    {
        ["id"] = Str<T>(x => x.Id, nullable: false),
        ["name"] = Str<T>(x => x.Name ?? "", nullable: false),
        ["provisioning_status"] = Str<T>(x => x.ProvisioningStatus, nullable: false),
        ["operating_status"] = Str<T>(x => x.OperatingStatus, nullable: false),
        ["admin_state_up"] = Bool<T>(x => x.Enabled),
        ["project_id"] = Str<T>(x => x.ProjectId),
        ["created_at"] = Time<T>(x => x.CreatedAt),
        ["updated_at"] = Time<T>(x => x.UpdatedAt),
    };
}

/// <summary>One page of a list, chosen in SQL.</summary>
internal sealed record Page<T>(List<T> Items, List<(string Rel, string Href)> Links);

/// <summary>
/// Upstream's PaginationHelper pushed into SQL: project scope and attribute filters become WHERE clauses,
/// tag filters become EXISTS/COUNT subqueries, sort keys become ORDER BY (then created_at, id as upstream),
/// and the page is cut with LIMIT. A marker is located in the id-only projection of the same ordered
/// query, so only the page's rows are ever loaded as entities. Requests that name an attribute without a
/// SQL mapping (lists such as <c>additional_vips</c> as a sort key) return null and take the in-memory path.
/// </summary>
internal static class SqlList
{
    public static async Task<Page<T>?> PageAsync<T>(HttpContext http, ApiSettingsOptions settings, IQueryable<T> query,
        IReadOnlyDictionary<string, Column<T>> columns, IReadOnlyCollection<string> attributes,
        Func<IQueryable<T>, IQueryable<T>> load, CancellationToken ct) where T : LbaasObject
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(settings);
        var request = ListQuery.Parse(http, settings, attributes);
        if (Prepare(request, query, columns) is not var (filtered, ordered))
        {
            return null;
        }
        query = filtered;
        if (!request.Paginate)
        {
            return new Page<T>(await load(ordered).ToListAsync(ct).ConfigureAwait(false), []);
        }
        List<T> items;
        if (request.Marker is null)
        {
            // Upstream ignores the limit of a reverse page without a marker.
            items = await load(request.Reverse || request.Limit is null ? ordered : ordered.Take(request.Limit.Value)).ToListAsync(ct).ConfigureAwait(false);
        }
        else
        {
            var pageIds = MarkerWindow(await ordered.Select(x => x.Id).ToListAsync(ct).ConfigureAwait(false), request);
            var rows = pageIds.Count == 0 ? [] : await load(query.Where(x => pageIds.Contains(x.Id))).ToListAsync(ct).ConfigureAwait(false);
            var position = pageIds.Select((id, i) => (id, i)).ToDictionary(p => p.id, p => p.i, StringComparer.Ordinal);
            items = [.. rows.OrderBy(r => position[r.Id])];
        }
        return new Page<T>(items, Links(http, settings, request, items.Count, items.Count == 0 ? null : items[0].Id, items.Count == 0 ? null : items[^1].Id));
    }

    /// <summary>The ids of the page after (or, reversed, before) the request's marker in the ordered ids.</summary>
    private static List<string> MarkerWindow(List<string> ids, ListRequest request)
    {
        var index = ids.IndexOf(request.Marker!);
        if (index < 0)
        {
            throw ApiException.BadRequest($"Invalid marker: {request.Marker}");
        }
        var (start, end) = request.Reverse
            ? (request.Limit is { } l ? Math.Max(0, index - l) : 0, index)
            : (index + 1, request.Limit is { } lim ? Math.Min(ids.Count, index + 1 + lim) : ids.Count);
        return ids.GetRange(start, Math.Max(0, end - start));
    }

    /// <summary>
    /// The same page as <see cref="PageAsync{T}"/>, as the ids of its rows in order (for a caller that reads the
    /// rows itself); null when the request needs the in-memory path.
    /// </summary>
    public static async Task<Page<string>?> PageIdsAsync<T>(HttpContext http, ApiSettingsOptions settings, IQueryable<T> query,
        IReadOnlyDictionary<string, Column<T>> columns, IReadOnlyCollection<string> attributes, CancellationToken ct) where T : LbaasObject
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(settings);
        var request = ListQuery.Parse(http, settings, attributes);
        if (Prepare(request, query, columns) is not var (_, ordered))
        {
            return null;
        }
        var ids = ordered.Select(x => x.Id);
        if (!request.Paginate)
        {
            return new Page<string>(await ids.ToListAsync(ct).ConfigureAwait(false), []);
        }
        List<string> items;
        if (request.Marker is null)
        {
            // Upstream ignores the limit of a reverse page without a marker.
            items = await (request.Reverse || request.Limit is null ? ids : ids.Take(request.Limit.Value)).ToListAsync(ct).ConfigureAwait(false);
        }
        else
        {
            items = MarkerWindow(await ids.ToListAsync(ct).ConfigureAwait(false), request);
        }
        return new Page<string>(items, Links(http, settings, request, items.Count, items.Count == 0 ? null : items[0], items.Count == 0 ? null : items[^1]));
    }

    /// <summary>A page of ids turned into a page of the rows <paramref name="rows"/> holds for them, in the same order.</summary>
    public static Page<T> WithItems<T>(Page<string> ids, List<T> rows)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return new Page<T>(rows, ids.Links);
    }

    private static List<(string Rel, string Href)> Links(HttpContext http, ApiSettingsOptions settings, ListRequest request, int count, string? firstId, string? lastId)
    {
        var links = new List<(string, string)>();
        if (request.Limit is { } pageLimit && count >= pageLimit && count > 0)
        {
            links.Add(("next", ListQuery.LinkHref(http, settings, lastId, false)));
        }
        if (request.Marker is not null && count > 0)
        {
            links.Add(("previous", ListQuery.LinkHref(http, settings, firstId, true)));
        }
        return links;
    }

    /// <summary>The request's filters and sort keys applied in SQL; null when one of them has no SQL mapping.</summary>
    private static (IQueryable<T> Filtered, IQueryable<T> Ordered)? Prepare<T>(ListRequest request, IQueryable<T> query, IReadOnlyDictionary<string, Column<T>> columns)
        where T : LbaasObject
    {
        foreach (var (attr, wanted) in request.Filters)
        {
            if (!columns.TryGetValue(attr, out var column))
            {
                return null;
            }
            query = query.Where(column.Filter(wanted));
        }
        query = TagFilter(query, request);

        var sortKeys = new List<(Column<T> Column, bool Asc)>();
        foreach (var (key, asc) in request.Sort.Append(("created_at", true)).Append(("id", true)))
        {
            if (!columns.TryGetValue(key, out var column) || column.Sort is null)
            {
                return null;
            }
            sortKeys.Add((column, asc));
        }
        return (query, Order(query, sortKeys));
    }

    private static IQueryable<T> TagFilter<T>(IQueryable<T> query, ListRequest request) where T : LbaasObject
    {
        // Tags are unique per resource (the table's key), so "has all of N" is "N of them match".
        var all = request.TagsAll.Distinct(StringComparer.Ordinal).ToList();
        var any = request.TagsAny.Distinct(StringComparer.Ordinal).ToList();
        var notAll = request.NotTagsAll.Distinct(StringComparer.Ordinal).ToList();
        var notAny = request.NotTagsAny.Distinct(StringComparer.Ordinal).ToList();
        if (all.Count > 0)
        {
            query = query.Where(x => x.Tags.Count(t => all.Contains(t.Value)) == all.Count);
        }
        if (any.Count > 0)
        {
            query = query.Where(x => x.Tags.Any(t => any.Contains(t.Value)));
        }
        if (notAll.Count > 0)
        {
            query = query.Where(x => x.Tags.Count(t => notAll.Contains(t.Value)) < notAll.Count);
        }
        if (notAny.Count > 0)
        {
            query = query.Where(x => !x.Tags.Any(t => notAny.Contains(t.Value)));
        }
        return query;
    }

    private static IQueryable<T> Order<T>(IQueryable<T> query, List<(Column<T> Column, bool Asc)> keys)
    {
        var expression = query.Expression;
        var first = true;
        foreach (var (column, asc) in keys)
        {
            var sort = column.Sort!;
            if (column.SortNullable)
            {
                // Nulls sort first ascending (as the JSON comparison did) on every engine, PostgreSQL included.
                var notNull = Expression.Lambda(Expression.NotEqual(sort.Body, Expression.Constant(null, sort.Body.Type.IsValueType && Nullable.GetUnderlyingType(sort.Body.Type) is null
                    ? typeof(Nullable<>).MakeGenericType(sort.Body.Type) : sort.Body.Type)), sort.Parameters);
                expression = Call(expression, first, asc, notNull);
                first = false;
            }
            expression = Call(expression, first, asc, sort);
            first = false;
        }
        return query.Provider.CreateQuery<T>(expression);

        static Expression Call(Expression source, bool first, bool asc, LambdaExpression key) =>
            Expression.Call(typeof(Queryable), (first, asc) switch
            {
                (true, true) => nameof(Queryable.OrderBy),
                (true, false) => nameof(Queryable.OrderByDescending),
                (false, true) => nameof(Queryable.ThenBy),
                _ => nameof(Queryable.ThenByDescending),
            }, [typeof(T), key.ReturnType], source, Expression.Quote(key));
    }

    /// <summary>Writes <c>{collection: [...], links: [...]}</c> straight to the response body, one item at a time.</summary>
    public static IResult Write<T>(Page<T> page, string collection, string? linksKey, HashSet<string>? fields, Action<Utf8JsonWriter, T, HashSet<string>?> item) =>
        new PageResult<T>(page, collection, linksKey, fields, item);

    /// <summary>The same bytes as <see cref="Write{T}"/>, in one array (for the response cache).</summary>
    public static byte[] Render<T>(Page<T> page, string collection, string? linksKey, HashSet<string>? fields, Action<Utf8JsonWriter, T, HashSet<string>?> item)
    {
        ArgumentNullException.ThrowIfNull(page);
        ArgumentNullException.ThrowIfNull(item);
        var buffer = new ArrayBufferWriter<byte>(16384);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray(collection);
            foreach (var x in page.Items)
            {
                item(writer, x, fields);
            }
            WriteEnd(writer, page, linksKey);
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteEnd<T>(Utf8JsonWriter writer, Page<T> page, string? linksKey)
    {
        writer.WriteEndArray();
        if (linksKey is not null)
        {
            writer.WriteStartArray(linksKey);
            foreach (var (rel, href) in page.Links)
            {
                writer.WriteStartObject();
                writer.WriteString("href", href);
                writer.WriteString("rel", rel);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
        }
        writer.WriteEndObject();
    }

    private sealed class PageResult<T>(Page<T> page, string collection, string? linksKey, HashSet<string>? fields, Action<Utf8JsonWriter, T, HashSet<string>?> item) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "application/json";
            await using (var writer = new Utf8JsonWriter(response.BodyWriter))
            {
                writer.WriteStartObject();
                writer.WriteStartArray(collection);
                foreach (var x in page.Items)
                {
                    item(writer, x, fields);
                    if (writer.BytesPending > 16384)
                    {
                        writer.Flush();
                        await response.BodyWriter.FlushAsync(httpContext.RequestAborted).ConfigureAwait(false);
                    }
                }
                WriteEnd(writer, page, linksKey);
            }
            await response.BodyWriter.FlushAsync(httpContext.RequestAborted).ConfigureAwait(false);
        }
    }
}
