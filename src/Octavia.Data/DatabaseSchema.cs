// Licensed under the Apache License, Version 2.0.

using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace Octavia.Data;

/// <summary>One schema revision (an EF Core migration of the engine in use).</summary>
/// <param name="Id">The migration id, e.g. <c>20261125000000_Initial</c>.</param>
/// <param name="Applied">Whether the database has it.</param>
/// <param name="IsHead">Whether it is the newest revision this build knows.</param>
public sealed record SchemaRevision(string Id, bool Applied, bool IsHead)
{
    /// <summary>The part after the timestamp (<c>Initial</c>).</summary>
    public string Name => Id.IndexOf('_', StringComparison.Ordinal) is var i and >= 0 ? Id[(i + 1)..] : Id;
}

/// <summary>The database could not be reached or opened.</summary>
public sealed class DatabaseUnavailableException : Exception
{
    public DatabaseUnavailableException(string message, Exception innerException) : base(message, innerException)
    {
    }

    public DatabaseUnavailableException(string message) : base(message)
    {
    }

    public DatabaseUnavailableException()
    {
    }
}

/// <summary>A schema operation was refused (unknown revision, a database newer than this build).</summary>
public sealed class SchemaException : Exception
{
    public SchemaException(string message) : base(message)
    {
    }

    public SchemaException(string message, Exception innerException) : base(message, innerException)
    {
    }

    public SchemaException()
    {
    }
}

/// <summary>
/// Upgrades, reports and lists the schema (upstream's <c>octavia-db-manage upgrade|current|history</c>).
/// Each engine has its own migration set; applied revisions are tracked in <c>__EFMigrationsHistory</c>.
/// Migrations are applied as plain SQL scripts under an engine lock (SQLite: one immediate transaction;
/// PostgreSQL: an advisory lock; MariaDB/MySQL: <c>GET_LOCK</c>), because EF's own <c>Migrate()</c> crashes
/// on MariaDB and offers no revision target.
/// </summary>
public static class DatabaseSchema
{
    /// <summary>The newest revision.</summary>
    public const string Head = "head";

    private const string LockName = "octavia_db_manage";
    private const long PostgresLockKey = 0x6F637461_76696100; // "octavia" as a 64-bit advisory key.
    private static readonly TimeSpan s_lockWait = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Applies every revision up to <paramref name="target"/> (<c>head</c>, a full id or its name) that the
    /// database lacks. Running it again, or in two processes at once, applies nothing twice.
    /// </summary>
    /// <returns>The ids applied by this call (empty when already up to date).</returns>
    public static async Task<IReadOnlyList<string>> UpgradeAsync(OctaviaDatabase db, string target = Head, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(target);
        await using var context = db.CreateContext();
        var known = KnownMigrations(context);
        var targetId = ResolveTarget(known, target);
        await OpenAsync(context, db, cancellationToken).ConfigureAwait(false);
        var connection = context.Database.GetDbConnection();
        var history = context.GetService<IHistoryRepository>();
        var migrator = context.GetService<IMigrator>();
        var applied = new List<string>();

        if (db.Url.Engine == DatabaseEngine.Sqlite)
        {
            // BEGIN IMMEDIATE takes SQLite's write lock (waiting out the busy timeout), and SQLite DDL is
            // transactional, so the check and the whole upgrade are one atomic step.
            await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await context.Database.UseTransactionAsync(tx, cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(connection, tx, history.GetCreateIfNotExistsScript(), cancellationToken).ConfigureAwait(false);
            await ApplyPendingAsync(connection, tx, history, migrator, known, targetId, applied, cancellationToken).ConfigureAwait(false);
            await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
            return applied;
        }

        await AcquireLockAsync(connection, db.Url.Engine, cancellationToken).ConfigureAwait(false);
        try
        {
            await ExecuteAsync(connection, null, history.GetCreateIfNotExistsScript(), cancellationToken).ConfigureAwait(false);
            await ApplyPendingAsync(connection, null, history, migrator, known, targetId, applied, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await ReleaseLockAsync(connection, db.Url.Engine).ConfigureAwait(false);
        }
        return applied;
    }

    /// <summary>The newest applied revision, or null when the database has no schema yet.</summary>
    public static async Task<string?> CurrentAsync(OctaviaDatabase db, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(db);
        await using var context = db.CreateContext();
        await OpenAsync(context, db, cancellationToken).ConfigureAwait(false);
        var applied = await AppliedAsync(context, cancellationToken).ConfigureAwait(false);
        return applied.Count == 0 ? null : applied[^1];
    }

    /// <summary>Every revision this build knows (oldest first) and whether the database has it.</summary>
    public static async Task<IReadOnlyList<SchemaRevision>> HistoryAsync(OctaviaDatabase db, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(db);
        await using var context = db.CreateContext();
        var known = KnownMigrations(context);
        await OpenAsync(context, db, cancellationToken).ConfigureAwait(false);
        var applied = (await AppliedAsync(context, cancellationToken).ConfigureAwait(false)).ToHashSet(StringComparer.Ordinal);
        return [.. known.Select((id, i) => new SchemaRevision(id, applied.Contains(id), i == known.Count - 1))];
    }

    private static List<string> KnownMigrations(OctaviaDbContext context) =>
        [.. context.GetService<IMigrationsAssembly>().Migrations.Keys.Order(StringComparer.Ordinal)];

    private static string ResolveTarget(List<string> known, string target)
    {
        if (known.Count == 0)
        {
            throw new SchemaException("this build has no migrations for the database engine");
        }
        if (target.Equals(Head, StringComparison.OrdinalIgnoreCase) || target.Equals("heads", StringComparison.OrdinalIgnoreCase))
        {
            return known[^1];
        }
        var match = known.Where(id => id.Equals(target, StringComparison.OrdinalIgnoreCase)
            || id.EndsWith("_" + target, StringComparison.OrdinalIgnoreCase)).ToList();
        return match.Count switch
        {
            1 => match[0],
            0 => throw new SchemaException($"unknown revision '{target}' (known: head, {string.Join(", ", known)})"),
            _ => throw new SchemaException($"revision '{target}' is ambiguous: {string.Join(", ", match)}"),
        };
    }

    private static async Task ApplyPendingAsync(DbConnection connection, DbTransaction? sqliteTx, IHistoryRepository history,
        IMigrator migrator, List<string> known, string targetId, List<string> appliedNow, CancellationToken cancellationToken)
    {
        var applied = (await history.GetAppliedMigrationsAsync(cancellationToken).ConfigureAwait(false))
            .Select(r => r.MigrationId).Order(StringComparer.Ordinal).ToList();
        var unknown = applied.Where(id => !known.Contains(id)).ToList();
        if (unknown.Count > 0)
        {
            throw new SchemaException($"the database has revision {unknown[^1]}, which this build does not know (it is newer than this build?)");
        }
        var targetIndex = known.IndexOf(targetId);
        if (applied.Count > 0 && known.IndexOf(applied[^1]) > targetIndex)
        {
            throw new SchemaException($"the database is already at {applied[^1]}, past {targetId}; downgrades are not supported");
        }
        var previous = applied.Count == 0 ? null : applied[^1];
        foreach (var id in known.Take(targetIndex + 1))
        {
            if (applied.Contains(id))
            {
                previous = id;
                continue;
            }
            // The plain script of one migration, with its history row; no transaction statements, we own those.
            var script = migrator.GenerateScript(previous ?? Migration.InitialDatabase, id, MigrationsSqlGenerationOptions.NoTransactions);
            if (sqliteTx is not null)
            {
                await ExecuteAsync(connection, sqliteTx, script, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                // PostgreSQL DDL is transactional; MariaDB commits DDL implicitly, so there the transaction only
                // keeps the history row from being written when a statement fails.
                await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await ExecuteAsync(connection, tx, script, cancellationToken).ConfigureAwait(false);
                await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
            appliedNow.Add(id);
            previous = id;
        }
    }

    private static async Task<List<string>> AppliedAsync(OctaviaDbContext context, CancellationToken cancellationToken)
    {
        var history = context.GetService<IHistoryRepository>();
        if (!await history.ExistsAsync(cancellationToken).ConfigureAwait(false))
        {
            return [];
        }
        var rows = await history.GetAppliedMigrationsAsync(cancellationToken).ConfigureAwait(false);
        return [.. rows.Select(r => r.MigrationId).Order(StringComparer.Ordinal)];
    }

    private static async Task OpenAsync(OctaviaDbContext context, OctaviaDatabase db, CancellationToken cancellationToken)
    {
        try
        {
            await context.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is DbException or InvalidOperationException or ArgumentException or System.Net.Sockets.SocketException or TimeoutException)
        {
            throw new DatabaseUnavailableException($"cannot connect to the database {db.Url.Describe()}: {FirstLine(ex)}", ex);
        }
    }

    private static string FirstLine(Exception ex)
    {
        // The chain reads "transient failure" (EF) -> "Failed to connect to host:port" -> "Connection refused".
        var messages = new List<string>();
        for (var e = ex; e is not null; e = e.InnerException)
        {
            var line = e.Message.Split('\n', 2)[0].Trim();
            if (!line.Contains("transient failure", StringComparison.OrdinalIgnoreCase) && !messages.Any(m => m.Contains(line, StringComparison.Ordinal)))
            {
                messages.Add(line);
            }
        }
        return messages.Count == 0 ? ex.GetType().Name : string.Join(": ", messages);
    }

    private static async Task AcquireLockAsync(DbConnection connection, DatabaseEngine engine, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandTimeout = (int)s_lockWait.TotalSeconds + 30;
        if (engine == DatabaseEngine.PostgreSql)
        {
            command.CommandText = $"SELECT pg_advisory_lock({PostgresLockKey})";
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return;
        }
        // GET_LOCK with a negative timeout returns NULL on MariaDB (the reason EF's Migrate() crashes there); a
        // positive one returns 1 when taken and 0 on timeout. Lock names are server-wide, so include the schema.
        command.CommandText = $"SELECT GET_LOCK(CONCAT('{LockName}.', DATABASE()), {(int)s_lockWait.TotalSeconds})";
        var result = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        if (result is null or DBNull || Convert.ToInt64(result, System.Globalization.CultureInfo.InvariantCulture) != 1)
        {
            throw new SchemaException($"another db-manage held the schema lock for over {s_lockWait.TotalMinutes} minutes");
        }
    }

    private static async Task ReleaseLockAsync(DbConnection connection, DatabaseEngine engine)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = engine == DatabaseEngine.PostgreSql
            ? $"SELECT pg_advisory_unlock({PostgresLockKey})"
            : $"SELECT RELEASE_LOCK(CONCAT('{LockName}.', DATABASE()))";
        await command.ExecuteScalarAsync().ConfigureAwait(false);
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(sql))
        {
            return;
        }
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.CommandTimeout = 600;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
