// Licensed under the Apache License, Version 2.0.

using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Octavia.Data;

/// <summary>
/// Creates contexts for the configured <c>[database] connection</c>. SQLite files are opened in WAL mode
/// with a busy timeout so the API, worker and health manager can share one file; <c>sqlite://</c> (in memory)
/// is one named shared-cache database kept alive for as long as this object lives.
/// </summary>
public sealed partial class OctaviaDatabase : IDisposable
{
    /// <summary>How long a SQLite writer waits for another writer before failing.</summary>
    public static readonly TimeSpan SqliteBusyTimeout = TimeSpan.FromSeconds(30);

    private readonly DbContextOptions _options;
    private readonly SqliteConnection? _keepAlive;

    /// <summary>Opens nothing yet (except the keep-alive connection of an in-memory SQLite database).</summary>
    public OctaviaDatabase(DatabaseUrl url)
    {
        ArgumentNullException.ThrowIfNull(url);
        var connectionString = url.ConnectionString;
        if (url.Engine == DatabaseEngine.Sqlite)
        {
            var csb = new SqliteConnectionStringBuilder(connectionString);
            if (csb.DataSource is ":memory:" or "")
            {
                // A private :memory: database would be empty for every new connection; a named shared-cache one
                // lives while at least one connection is open.
                csb.DataSource = "octavia-" + Guid.NewGuid().ToString("N");
                csb.Mode = SqliteOpenMode.Memory;
                csb.Cache = SqliteCacheMode.Shared;
                connectionString = csb.ConnectionString;
                _keepAlive = new SqliteConnection(connectionString);
                _keepAlive.Open();
            }
            else
            {
                csb.DefaultTimeout = (int)SqliteBusyTimeout.TotalSeconds;
                csb.Pooling = true;
                connectionString = csb.ConnectionString;
            }
        }
        Url = url with { ConnectionString = connectionString };
        var builder = new DbContextOptionsBuilder<OctaviaDbContext>();
        Configure(builder, Url);
        _options = builder.Options;
    }

    /// <summary>The parsed connection (for in-memory SQLite, the shared database's name).</summary>
    public DatabaseUrl Url { get; }

    /// <summary>A new context; dispose it after use. Its type carries the engine's migrations.</summary>
    public OctaviaDbContext CreateContext() => Url.Engine switch
    {
        DatabaseEngine.Sqlite => new SqliteOctaviaDbContext(_options),
        DatabaseEngine.PostgreSql => new PostgreSqlOctaviaDbContext(_options),
        DatabaseEngine.MySql => new MySqlOctaviaDbContext(_options),
        _ => throw new InvalidOperationException($"unknown engine {Url.Engine}"),
    };

    /// <summary>Points <paramref name="builder"/> at the database, with the per-connection settings each engine needs.</summary>
    public static void Configure(DbContextOptionsBuilder builder, DatabaseUrl url)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(url);
        switch (url.Engine)
        {
            case DatabaseEngine.Sqlite:
                builder.UseSqlite(url.ConnectionString);
                builder.AddInterceptors(SqlitePragmas.Instance);
                break;
            case DatabaseEngine.PostgreSql:
                builder.UseNpgsql(url.ConnectionString);
                break;
            case DatabaseEngine.MySql:
                builder.UseMySQL(url.ConnectionString);
                builder.AddInterceptors(MariaDbDeleteRewriter.Instance);
                break;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _keepAlive?.Dispose();

    /// <summary>
    /// MySql.EntityFrameworkCore writes <c>ExecuteDelete</c> as <c>DELETE FROM `t` AS `a` WHERE ...</c>, which MySQL 8
    /// accepts but MariaDB rejects; the multi-table form <c>DELETE `a` FROM `t` AS `a` WHERE ...</c> works on both.
    /// </summary>
    private sealed partial class MariaDbDeleteRewriter : DbCommandInterceptor
    {
        public static readonly MariaDbDeleteRewriter Instance = new();

        public override InterceptionResult<int> NonQueryExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<int> result)
        {
            Rewrite(command);
            return result;
        }

        public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData,
            InterceptionResult<int> result, CancellationToken cancellationToken = default)
        {
            Rewrite(command);
            return ValueTask.FromResult(result);
        }

        private static void Rewrite(DbCommand command)
        {
            if (command.CommandText.Contains("DELETE FROM", StringComparison.Ordinal))
            {
                command.CommandText = DeleteWithAlias().Replace(command.CommandText, "DELETE ${alias} FROM ${table} AS ${alias}");
            }
        }

        [System.Text.RegularExpressions.GeneratedRegex(@"DELETE FROM (?<table>`[^`]+`) AS (?<alias>`[^`]+`)")]
        private static partial System.Text.RegularExpressions.Regex DeleteWithAlias();
    }

    /// <summary>Sets WAL and the busy timeout on every SQLite connection as it opens.</summary>
    private sealed class SqlitePragmas : DbConnectionInterceptor
    {
        public static readonly SqlitePragmas Instance = new();

        public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => Apply(connection);

        public override Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
        {
            Apply(connection);
            return Task.CompletedTask;
        }

        // Pooled SqliteConnections reuse their native handle, and these settings live on the handle: set
        // them once per handle instead of four statements before every query.
        private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<object, object> s_configured = [];

        private static void Apply(DbConnection connection)
        {
            var handle = (connection as SqliteConnection)?.Handle;
            if (handle is not null && s_configured.TryGetValue(handle, out _))
            {
                return;
            }
            using var command = connection.CreateCommand();
            var memory = connection.ConnectionString.Contains("Mode=Memory", StringComparison.OrdinalIgnoreCase);
            // WAL lets readers run beside the one writer; the busy timeout makes writers queue instead of
            // failing with "database is locked". journal_mode is persistent, but setting it again is cheap.
            command.CommandText = $"PRAGMA busy_timeout={(int)SqliteBusyTimeout.TotalMilliseconds}; PRAGMA foreign_keys=ON;"
                + (memory ? "" : " PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
            command.ExecuteNonQuery();
            if (handle is not null)
            {
                s_configured.AddOrUpdate(handle, s_configured);
            }
        }
    }
}
