// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using System.Data.Common;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;
using Octavia.Core.Model;
using Octavia.Data;

namespace Octavia.Api.Resources;

/// <summary>
/// The rows of a load balancer list page read with plain ADO.NET: one query for the load balancers with their
/// VIPs, one UNION ALL for listener ids, pool ids, tags and additional VIPs, each read by ordinal. EF Core's
/// per-row materialisation and per-request SQL generation (the id list is a collection parameter) cost more
/// than the reads themselves; this fills the same entity fields <see cref="ViewWriters.LoadBalancer"/> writes.
/// Table and column names come from the EF model and identifiers are quoted by the engine's own helper, so the
/// same code runs on SQLite, PostgreSQL and MariaDB.
/// </summary>
internal static class LoadBalancerRows
{
    private sealed record Sql(string Rows, string Children);

    private static readonly ConcurrentDictionary<string, Sql> s_sql = new(StringComparer.Ordinal);

    /// <summary>The load balancers with these ids, in this order (ids that no longer exist are left out).</summary>
    public static async Task<List<LoadBalancer>> LoadAsync(OctaviaDbContext db, IReadOnlyList<string> ids, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Count == 0)
        {
            return [];
        }
        var sql = s_sql.GetOrAdd(db.Database.ProviderName ?? "", _ => Build(db));
        var (inList, bound) = InList(ids);
        var byId = new Dictionary<string, LoadBalancer>(ids.Count, StringComparer.Ordinal);
        await db.Database.OpenConnectionAsync(ct).ConfigureAwait(false);
        try
        {
            var connection = db.Database.GetDbConnection();
            await using (var cmd = Command(connection, db, sql.Rows + inList, ids, bound))
            {
                await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
                while (await r.ReadAsync(ct).ConfigureAwait(false))
                {
                    var lb = new LoadBalancer
                    {
                        Id = r.GetString(0),
                        Name = Str(r, 1),
                        Description = Str(r, 2),
                        ProvisioningStatus = r.GetString(3),
                        OperatingStatus = r.GetString(4),
                        Enabled = r.GetBoolean(5),
                        ProjectId = Str(r, 6),
                        CreatedAt = r.IsDBNull(7) ? null : r.GetDateTime(7),
                        UpdatedAt = r.IsDBNull(8) ? null : r.GetDateTime(8),
                        Provider = Str(r, 9),
                        FlavorId = Str(r, 10),
                        AvailabilityZone = Str(r, 11),
                    };
                    if (!r.IsDBNull(12))
                    {
                        lb.Vip = new Vip
                        {
                            LoadBalancerId = lb.Id,
                            IpAddress = Str(r, 13),
                            PortId = Str(r, 14),
                            SubnetId = Str(r, 15),
                            NetworkId = Str(r, 16),
                            QosPolicyId = Str(r, 17),
                        };
                    }
                    byId[lb.Id] = lb;
                }
            }
            // Listener ids, pool ids, tags and additional VIPs as (kind, owner, value, extra) rows of one UNION ALL.
            await using (var cmd = Command(connection, db, string.Format(System.Globalization.CultureInfo.InvariantCulture, sql.Children, inList), ids, bound))
            {
                await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
                while (await r.ReadAsync(ct).ConfigureAwait(false))
                {
                    if (r.IsDBNull(1) || !byId.TryGetValue(r.GetString(1), out var lb))
                    {
                        continue;
                    }
                    var value = r.GetString(2);
                    switch (Convert.ToInt32(r.GetValue(0), System.Globalization.CultureInfo.InvariantCulture))
                    {
                        case 0:
                            lb.Listeners.Add(new Listener { Id = value });
                            break;
                        case 1:
                            lb.Pools.Add(new Pool { Id = value });
                            break;
                        case 2:
                            lb.Tags.Add(new Tag { ResourceId = lb.Id, Value = value });
                            break;
                        default:
                            lb.AdditionalVips.Add(new AdditionalVip { LoadBalancerId = lb.Id, SubnetId = value, IpAddress = Str(r, 3) });
                            break;
                    }
                }
            }
        }
        finally
        {
            await db.Database.CloseConnectionAsync().ConfigureAwait(false);
        }
        var result = new List<LoadBalancer>(byId.Count);
        foreach (var id in ids)
        {
            if (byId.TryGetValue(id, out var lb))
            {
                result.Add(lb);
            }
        }
        return result;
    }

    private static string? Str(DbDataReader r, int ordinal) => r.IsDBNull(ordinal) ? null : r.GetString(ordinal);

    /// <summary>
    /// The IN list. Ids made of ASCII letters, digits and dashes only (every id this service creates: UUIDs) are
    /// written as SQL string literals, which need no escaping in any engine; SQLite binds a named parameter by
    /// a linear search of the statement's names, so 125 bound ids cost more than the rows they select. Any other
    /// id makes the whole list bound parameters.
    /// </summary>
    private static (string Sql, bool Bound) InList(IReadOnlyList<string> ids)
    {
        var bound = !ids.All(IsPlain);
        var sb = new StringBuilder(ids.Count * 40 + 2).Append('(');
        for (var i = 0; i < ids.Count; i++)
        {
            sb.Append(i == 0 ? "" : ", ");
            if (bound)
            {
                sb.Append("@p").Append(i);
            }
            else
            {
                sb.Append('\'').Append(ids[i]).Append('\'');
            }
        }
        return (sb.Append(')').ToString(), bound);

        static bool IsPlain(string id) => id.Length is > 0 and <= 64 && id.All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or '-');
    }

    private static DbCommand Command(DbConnection connection, OctaviaDbContext db, string text, IReadOnlyList<string> ids, bool bound)
    {
        var cmd = connection.CreateCommand();
        cmd.CommandText = text;
        cmd.Transaction = db.Database.CurrentTransaction?.GetDbTransaction();
        for (var i = 0; bound && i < ids.Count; i++)
        {
            var p = cmd.CreateParameter();
            p.ParameterName = "@p" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            p.Value = ids[i];
            cmd.Parameters.Add(p);
        }
        return cmd;
    }

    private static Sql Build(OctaviaDbContext db)
    {
        var q = db.GetService<ISqlGenerationHelper>();
        var model = db.Model;
        IEntityType E<T>() => model.FindEntityType(typeof(T)) ?? throw new InvalidOperationException($"{typeof(T).Name} is not mapped");
        string T<TEntity>() => q.DelimitIdentifier(E<TEntity>().GetTableName()!);
        string C<TEntity>(string property)
        {
            var entity = E<TEntity>();
            var column = entity.FindProperty(property)!.GetColumnName(StoreObjectIdentifier.Table(entity.GetTableName()!, entity.GetSchema()))!;
            return q.DelimitIdentifier(column);
        }
        var lbColumns = new[]
        {
            nameof(LoadBalancer.Id), nameof(LoadBalancer.Name), nameof(LoadBalancer.Description), nameof(LoadBalancer.ProvisioningStatus),
            nameof(LoadBalancer.OperatingStatus), nameof(LoadBalancer.Enabled), nameof(LoadBalancer.ProjectId), nameof(LoadBalancer.CreatedAt),
            nameof(LoadBalancer.UpdatedAt), nameof(LoadBalancer.Provider), nameof(LoadBalancer.FlavorId), nameof(LoadBalancer.AvailabilityZone),
        };
        var vipColumns = new[]
        {
            nameof(Vip.LoadBalancerId), nameof(Vip.IpAddress), nameof(Vip.PortId), nameof(Vip.SubnetId), nameof(Vip.NetworkId), nameof(Vip.QosPolicyId),
        };
        var rows = new StringBuilder("SELECT ")
            .AppendJoin(", ", lbColumns.Select(c => "l." + C<LoadBalancer>(c)).Concat(vipColumns.Select(c => "v." + C<Vip>(c))))
            .Append(" FROM ").Append(T<LoadBalancer>()).Append(" l LEFT JOIN ").Append(T<Vip>()).Append(" v ON v.")
            .Append(C<Vip>(nameof(Vip.LoadBalancerId))).Append(" = l.").Append(C<LoadBalancer>(nameof(LoadBalancer.Id)))
            .Append(" WHERE l.").Append(C<LoadBalancer>(nameof(LoadBalancer.Id))).Append(" IN ").ToString();
        // {0} is the IN list, repeated in every branch (the same named parameters).
        string Child<TEntity>(int kind, string owner, string value, string? extra) =>
            $"SELECT {kind} AS k, {C<TEntity>(owner)} AS o, {C<TEntity>(value)} AS v, {(extra is null ? "NULL" : C<TEntity>(extra))} AS x FROM {T<TEntity>()} WHERE {C<TEntity>(owner)} IN {{0}}";
        var children = string.Join(" UNION ALL ",
            Child<Listener>(0, nameof(Listener.LoadBalancerId), nameof(Listener.Id), null),
            Child<Pool>(1, nameof(Pool.LoadBalancerId), nameof(Pool.Id), null),
            Child<Tag>(2, nameof(Tag.ResourceId), nameof(Tag.Value), null),
            Child<AdditionalVip>(3, nameof(AdditionalVip.LoadBalancerId), nameof(AdditionalVip.SubnetId), nameof(AdditionalVip.IpAddress)));
        return new Sql(rows, children);
    }
}
