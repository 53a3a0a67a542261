// Licensed under the Apache License, Version 2.0.

using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Octavia.Data;

namespace Octavia.Api.Persistence;

/// <summary>
/// The API's database access. Every mutation runs in one transaction that holds the load balancer's
/// row lock (<c>SELECT ... FOR UPDATE</c> on PostgreSQL and MariaDB, as upstream); writers in this
/// process are also serialized by one async lock, which is what SQLite needs (one writer at a time)
/// and keeps lock waits off the database elsewhere.
/// </summary>
public sealed partial class Store : IDisposable
{
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly TimeProvider _time;
    private readonly ILogger<Store> _logger;

    public Store(OctaviaDatabase database, TimeProvider time, ILogger<Store> logger)
    {
        ArgumentNullException.ThrowIfNull(database);
        Database = database;
        _time = time;
        _logger = logger;
    }

    public OctaviaDatabase Database { get; }

    /// <summary>Now, truncated to seconds (upstream's DateTime columns have no fractions).</summary>
    public DateTime Now
    {
        get
        {
            var now = _time.GetUtcNow().UtcDateTime;
            return new DateTime(now.Ticks - (now.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc);
        }
    }

    /// <summary>A context for reads (no tracking).</summary>
    public OctaviaDbContext Read()
    {
        var db = Database.CreateContext();
        db.ChangeTracker.QueryTrackingBehavior = QueryTrackingBehavior.NoTracking;
        return db;
    }

    /// <summary>Runs <paramref name="work"/> in a locked write transaction and commits it.</summary>
    public async Task<T> WriteAsync<T>(string? loadBalancerId, Func<OctaviaDbContext, Task<T>> work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await using var db = Database.CreateContext();
                    await using var tx = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                    if (loadBalancerId is not null && Database.Url.Engine != DatabaseEngine.Sqlite)
                    {
                        await db.Database.ExecuteSqlRawAsync("SELECT id FROM load_balancer WHERE id = {0} FOR UPDATE", [loadBalancerId], cancellationToken).ConfigureAwait(false);
                    }
                    var scope = WriteScope.Enter(db);
                    T result;
                    try
                    {
                        result = await work(db).ConfigureAwait(false);
                        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
                        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
                    }
                    finally
                    {
                        WriteScope.Exit();
                    }
                    await scope.CommittedAsync().ConfigureAwait(false);
                    return result;
                }
                catch (Exception ex) when (IsBusy(ex) && attempt < 8)
                {
                    LogBusyRetry(_logger, attempt);
                    await Task.Delay(TimeSpan.FromMilliseconds(20 * attempt), _time, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Runs <paramref name="work"/> in a locked write transaction and commits it.</summary>
    public Task WriteAsync(string? loadBalancerId, Func<OctaviaDbContext, Task> work, CancellationToken cancellationToken) =>
        WriteAsync<bool>(loadBalancerId, async db =>
        {
            await work(db).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    private static bool IsBusy(Exception ex) => ex switch
    {
        SqliteException s => s.SqliteErrorCode is 5 or 6,
        DbUpdateException { InnerException: { } inner } => IsBusy(inner),
        _ => ex.InnerException is SqliteException inner2 && inner2.SqliteErrorCode is 5 or 6,
    };

    public void Dispose() => _writeLock.Dispose();

    [LoggerMessage(EventId = 1100, Level = LogLevel.Debug, Message = "Database busy, retrying write (attempt {Attempt})")]
    private static partial void LogBusyRetry(ILogger logger, int attempt);
}
