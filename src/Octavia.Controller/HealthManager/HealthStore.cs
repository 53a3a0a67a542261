// Licensed under the Apache License, Version 2.0.

using System.Data;
using System.Data.Common;
using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Octavia.Core.Model;
using Octavia.Data;

namespace Octavia.Controller.HealthManager;

/// <summary>Net change of one listener_statistics row produced by a batch.</summary>
internal sealed class StatsUpdate
{
    /// <summary>True when the row is set to the values (v1/v2); false when they are added (v3 deltas).</summary>
    public bool Replace { get; set; }
    public long BytesIn { get; set; }
    public long BytesOut { get; set; }
    public long ActiveConnections { get; set; }
    public long TotalConnections { get; set; }
    public long RequestErrors { get; set; }
}

/// <summary>Everything one batch of heartbeats writes, applied in one transaction.</summary>
internal sealed class HealthBatch
{
    public List<string> HealthyAmphorae { get; } = [];
    public List<StatusChange> StatusChanges { get; } = [];
    public Dictionary<(string ListenerId, string AmphoraId), StatsUpdate> Stats { get; } = [];

    public bool IsEmpty => HealthyAmphorae.Count == 0 && StatusChanges.Count == 0 && Stats.Count == 0;
}

/// <summary>
/// The health manager's hot-path SQL. Plain parameterised statements on one long-lived connection,
/// prepared once and reused, because EF's per-statement overhead would cost more CPU than the database
/// work at ten thousand heartbeats a second. Portable across SQLite, PostgreSQL and MySQL: upserts are an
/// UPDATE followed by an INSERT when no row matched, as upstream's repositories do.
/// </summary>
internal sealed class HealthStore : IAsyncDisposable
{
    private const int InChunk = 400;
    private readonly OctaviaDbContext _context;
    private readonly DbConnection _connection;
    private readonly Dictionary<string, DbCommand> _commands = new(StringComparer.Ordinal);

    private HealthStore(OctaviaDbContext context, DbConnection connection)
    {
        _context = context;
        _connection = connection;
    }

    public static async Task<HealthStore> OpenAsync(OctaviaDatabase database, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(database);
        var context = database.CreateContext();
        var connection = context.Database.GetDbConnection();
        await context.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return new HealthStore(context, connection);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var command in _commands.Values)
        {
            await command.DisposeAsync().ConfigureAwait(false);
        }
        await _context.Database.CloseConnectionAsync().ConfigureAwait(false);
        await _context.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Reads the amphora rows for <paramref name="ids"/>; missing ids are absent from the result.</summary>
    public async Task<Dictionary<string, AmphoraRecord>> LoadAmphoraeAsync(IReadOnlyList<string> ids, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var result = new Dictionary<string, AmphoraRecord>(StringComparer.Ordinal);
        foreach (var chunk in ids.Chunk(InChunk))
        {
            await using var command = CreateInCommand("SELECT id, status, load_balancer_id, compute_id FROM amphora WHERE id IN ({0})", chunk);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var id = reader.GetString(0);
                result[id] = new AmphoraRecord(id, NullableString(reader, 1), NullableString(reader, 2), NullableString(reader, 3), now);
            }
        }
        return result;
    }

    /// <summary>Reads the health graphs of live (not DELETED) load balancers.</summary>
    public async Task<Dictionary<string, LoadBalancerHealthGraph>> LoadGraphsAsync(IReadOnlyList<string> lbIds, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var result = new Dictionary<string, LoadBalancerHealthGraph>(StringComparer.Ordinal);
        foreach (var chunk in lbIds.Chunk(InChunk))
        {
            await using (var command = CreateInCommand(
                "SELECT id, enabled, provisioning_status, operating_status FROM load_balancer WHERE id IN ({0})", chunk))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var provisioning = NullableString(reader, 2) ?? "";
                    if (provisioning == ProvisioningStatus.Deleted)
                    {
                        continue;
                    }
                    var id = reader.GetString(0);
                    result[id] = new LoadBalancerHealthGraph
                    {
                        Id = id,
                        Enabled = ReadBool(reader, 1),
                        ProvisioningStatus = provisioning,
                        OperatingStatus = NullableString(reader, 3) ?? OperatingStatus.Offline,
                        LoadedAt = now,
                    };
                }
            }
            await using (var command = CreateInCommand(
                "SELECT load_balancer_id, id, operating_status, enabled, protocol, default_pool_id FROM listener WHERE load_balancer_id IN ({0}) ORDER BY load_balancer_id, id", chunk))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    if (result.TryGetValue(reader.GetString(0), out var lb))
                    {
                        lb.Listeners[reader.GetString(1)] = new ListenerNode
                        {
                            OperatingStatus = NullableString(reader, 2) ?? OperatingStatus.Offline,
                            Enabled = ReadBool(reader, 3),
                            Protocol = NullableString(reader, 4) ?? "",
                            DefaultPoolId = NullableString(reader, 5),
                        };
                    }
                }
            }
            await using (var command = CreateInCommand(
                "SELECT pool.load_balancer_id, pool.id, pool.operating_status, member.id, member.operating_status, member.enabled " +
                "FROM pool LEFT JOIN member ON member.pool_id = pool.id WHERE pool.load_balancer_id IN ({0}) ORDER BY pool.load_balancer_id, pool.id, member.id", chunk))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    if (!result.TryGetValue(reader.GetString(0), out var lb))
                    {
                        continue;
                    }
                    var poolId = reader.GetString(1);
                    if (!lb.Pools.TryGetValue(poolId, out var pool))
                    {
                        pool = new PoolNode { OperatingStatus = NullableString(reader, 2) ?? OperatingStatus.Offline };
                        lb.Pools[poolId] = pool;
                    }
                    if (NullableString(reader, 3) is { } memberId)
                    {
                        pool.Members[memberId] = new MemberNode
                        {
                            OperatingStatus = NullableString(reader, 4) ?? OperatingStatus.Offline,
                            Enabled = ReadBool(reader, 5),
                        };
                    }
                }
            }
        }
        return result;
    }

    /// <summary>Writes a batch in one transaction (all or nothing).</summary>
    public async Task WriteAsync(HealthBatch batch, DateTime nowUtc, CancellationToken cancellationToken)
    {
        await using var transaction = await _connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        foreach (var amphoraId in batch.HealthyAmphorae)
        {
            var update = Prepared(transaction, "health.update", "UPDATE amphora_health SET last_update = @t WHERE amphora_id = @id", ("@t", DbType.DateTime), ("@id", DbType.String));
            if (await Execute(update, cancellationToken, nowUtc, amphoraId).ConfigureAwait(false) == 0)
            {
                var insert = Prepared(transaction, "health.insert", "INSERT INTO amphora_health (amphora_id, last_update, busy) VALUES (@id, @t, @busy)", ("@id", DbType.String), ("@t", DbType.DateTime), ("@busy", DbType.Boolean));
                await Execute(insert, cancellationToken, amphoraId, nowUtc, false).ConfigureAwait(false);
            }
        }
        foreach (var change in batch.StatusChanges)
        {
            var table = change.Target switch
            {
                StatusTarget.Listener => "listener",
                StatusTarget.Member => "member",
                StatusTarget.Pool => "pool",
                _ => "load_balancer",
            };
            var command = Prepared(transaction, "status." + table, $"UPDATE {table} SET operating_status = @s, updated_at = @t WHERE id = @id", ("@s", DbType.String), ("@t", DbType.DateTime), ("@id", DbType.String));
            await Execute(command, cancellationToken, change.NewStatus, nowUtc, change.Id).ConfigureAwait(false);
        }
        foreach (var ((listenerId, amphoraId), stats) in batch.Stats)
        {
            var key = stats.Replace ? "stats.replace" : "stats.increment";
            var sql = stats.Replace
                ? "UPDATE listener_statistics SET bytes_in = @bi, bytes_out = @bo, active_connections = @ac, total_connections = @tc, request_errors = @re WHERE listener_id = @l AND amphora_id = @a"
                : "UPDATE listener_statistics SET bytes_in = bytes_in + @bi, bytes_out = bytes_out + @bo, active_connections = @ac, total_connections = total_connections + @tc, request_errors = request_errors + @re WHERE listener_id = @l AND amphora_id = @a";
            var update = Prepared(transaction, key, sql,
                ("@bi", DbType.Int64), ("@bo", DbType.Int64), ("@ac", DbType.Int32), ("@tc", DbType.Int64), ("@re", DbType.Int64), ("@l", DbType.String), ("@a", DbType.String));
            var active = (int)Math.Clamp(stats.ActiveConnections, 0, int.MaxValue);
            if (await Execute(update, cancellationToken, stats.BytesIn, stats.BytesOut, active, stats.TotalConnections, stats.RequestErrors, listenerId, amphoraId).ConfigureAwait(false) == 0)
            {
                var insert = Prepared(transaction, "stats.insert",
                    "INSERT INTO listener_statistics (listener_id, amphora_id, bytes_in, bytes_out, active_connections, total_connections, request_errors) VALUES (@l, @a, @bi, @bo, @ac, @tc, @re)",
                    ("@l", DbType.String), ("@a", DbType.String), ("@bi", DbType.Int64), ("@bo", DbType.Int64), ("@ac", DbType.Int32), ("@tc", DbType.Int64), ("@re", DbType.Int64));
                await Execute(insert, cancellationToken, listenerId, amphoraId, stats.BytesIn, stats.BytesOut, active, stats.TotalConnections, stats.RequestErrors).ConfigureAwait(false);
            }
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    private DbCommand Prepared(DbTransaction transaction, string key, string sql, params (string Name, DbType Type)[] parameters)
    {
        if (!_commands.TryGetValue(key, out var command))
        {
            command = _connection.CreateCommand();
            command.CommandText = sql;
            foreach (var (name, type) in parameters)
            {
                var p = command.CreateParameter();
                p.ParameterName = name;
                // Timestamps are left to the provider: Npgsql picks timestamptz only from a UTC value it infers itself.
                if (type != DbType.DateTime)
                {
                    p.DbType = type;
                }
                command.Parameters.Add(p);
            }
            _commands[key] = command;
        }
        command.Transaction = transaction;
        return command;
    }

    private static Task<int> Execute(DbCommand command, CancellationToken cancellationToken, params object[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i];
        }
        return command.ExecuteNonQueryAsync(cancellationToken);
    }

    private DbCommand CreateInCommand(string sqlFormat, string[] ids)
    {
        var command = _connection.CreateCommand();
        var names = new string[ids.Length];
        for (var i = 0; i < ids.Length; i++)
        {
            names[i] = "@p" + i.ToString(CultureInfo.InvariantCulture);
            var p = command.CreateParameter();
            p.ParameterName = names[i];
            p.DbType = DbType.String;
            p.Value = ids[i];
            command.Parameters.Add(p);
        }
        command.CommandText = string.Format(CultureInfo.InvariantCulture, sqlFormat, string.Join(", ", names));
        return command;
    }

    private static string? NullableString(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static bool ReadBool(DbDataReader reader, int ordinal) =>
        !reader.IsDBNull(ordinal) && Convert.ToBoolean(reader.GetValue(ordinal), CultureInfo.InvariantCulture);
}
