// Licensed under the Apache License, Version 2.0.

using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Octavia.Core.Configuration;
using Octavia.Data;

namespace Octavia.Api.Persistence;

/// <summary>
/// Response bodies of GET requests, valid for one state of the database (ours; upstream has no such cache).
/// <para>
/// Validation: on a SQLite file, <c>PRAGMA data_version</c> read on one dedicated connection that never writes
/// changes whenever any other connection commits, in this process or another one (the worker, the health
/// manager, a second API). A request reads the version <em>before</em> it builds its body; the body is stored
/// under that version and is only ever served to a request that read the same version, so a commit that lands
/// while a body is built can only make the stored body newer than its version, never older. The cache keeps the
/// bodies of the newest version only: a new version empties it.
/// </para>
/// <para>
/// The caller keys a body by everything that shapes it (path, query string, the scheme and host that links are
/// built from, and the outcome of the policy checks, e.g. the project scope of a list); this class adds nothing
/// to the key. Memory is bounded by <c>[api_settings] response_cache_size</c> (MiB), least recently used first.
/// Off for PostgreSQL and MariaDB (no equally cheap, sound commit counter) and for in-memory SQLite (shared-cache
/// connections share one pager, so data_version would not see their commits).
/// </para>
/// </summary>
public sealed partial class ResponseCache : IDisposable
{
    private readonly Lock _dbLock = new();
    private readonly Lock _lock = new();
    private readonly string? _connectionString;
    private readonly long _capacity;
    private readonly ILogger<ResponseCache> _logger;
    private readonly Dictionary<string, LinkedListNode<Entry>> _entries = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> _lru = new();
    private SqliteConnection? _connection;
    private SqliteCommand? _command;
    private long _epoch;
    private long _version = long.MinValue;
    private long _bytes;
    private long _hits;

    private sealed record Entry(string Key, byte[] Body);

    public ResponseCache(OctaviaDatabase database, ApiSettingsOptions settings, ILogger<ResponseCache> logger)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(settings);
        _logger = logger;
        _capacity = (long)Math.Max(0, settings.ResponseCacheSize) * 1024 * 1024;
        if (settings.ResponseCache && _capacity > 0 && IsSqliteFile(database.Url))
        {
            var csb = new SqliteConnectionStringBuilder(database.Url.ConnectionString) { Pooling = false, Mode = SqliteOpenMode.ReadWrite };
            _connectionString = csb.ConnectionString;
        }
    }

    /// <summary>False when the engine has no sound validation or the cache is turned off.</summary>
    public bool Enabled => _connectionString is not null;

    /// <summary>Bodies held now (for tests and the bench).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Requests answered from the cache so far.</summary>
    public long Hits
    {
        get
        {
            lock (_lock)
            {
                return _hits;
            }
        }
    }

    /// <summary>Bytes held now.</summary>
    public long Bytes
    {
        get
        {
            lock (_lock)
            {
                return _bytes;
            }
        }
    }

    private static bool IsSqliteFile(DatabaseUrl url)
    {
        if (url.Engine != DatabaseEngine.Sqlite)
        {
            return false;
        }
        var csb = new SqliteConnectionStringBuilder(url.ConnectionString);
        return csb.Mode != SqliteOpenMode.Memory && csb.DataSource is not (":memory:" or "")
            && !csb.DataSource.StartsWith("file::memory:", StringComparison.Ordinal);
    }

    /// <summary>
    /// The database's current version, to be read before a body is built; null when the cache is off or the
    /// version cannot be read (then nothing is served from or stored in the cache).
    /// </summary>
    public long? Version()
    {
        if (_connectionString is null)
        {
            return null;
        }
        lock (_dbLock)
        {
            try
            {
                if (_connection is null)
                {
                    // A new connection counts from its own start: a new epoch keeps its versions apart from the old ones.
                    _epoch++;
                    _connection = new SqliteConnection(_connectionString);
                    _connection.Open();
                    _command = _connection.CreateCommand();
                    _command.CommandText = "PRAGMA data_version";
                    _command.Prepare();
                }
                var v = Convert.ToInt64(_command!.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
                return (_epoch << 40) + v;
            }
            catch (SqliteException ex)
            {
                LogVersionFailed(_logger, ex);
                _command?.Dispose();
                _connection?.Dispose();
                _command = null;
                _connection = null;
                return null;
            }
        }
    }

    /// <summary>The body stored under <paramref name="key"/> for <paramref name="version"/>.</summary>
    public bool TryGet(long? version, string key, out byte[] body)
    {
        if (version is { } v)
        {
            lock (_lock)
            {
                if (v == _version && _entries.TryGetValue(key, out var node))
                {
                    _lru.Remove(node);
                    _lru.AddFirst(node);
                    body = node.Value.Body;
                    _hits++;
                    return true;
                }
            }
        }
        body = [];
        return false;
    }

    /// <summary>Stores a body built after <paramref name="version"/> was read.</summary>
    public void Add(long? version, string key, byte[] body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (version is not { } v || body.Length > _capacity / 4)
        {
            return;
        }
        lock (_lock)
        {
            if (v < _version)
            {
                return;
            }
            if (v > _version)
            {
                _entries.Clear();
                _lru.Clear();
                _bytes = 0;
                _version = v;
            }
            if (_entries.Remove(key, out var old))
            {
                _lru.Remove(old);
                _bytes -= old.Value.Body.Length;
            }
            while (_bytes + body.Length > _capacity && _lru.Last is { } last)
            {
                _lru.RemoveLast();
                _entries.Remove(last.Value.Key);
                _bytes -= last.Value.Body.Length;
            }
            _entries[key] = _lru.AddFirst(new Entry(key, body));
            _bytes += body.Length;
        }
    }

    public void Dispose()
    {
        lock (_dbLock)
        {
            _command?.Dispose();
            _connection?.Dispose();
            _command = null;
            _connection = null;
        }
    }

    [LoggerMessage(EventId = 1110, Level = LogLevel.Warning, Message = "Could not read the database version; responses are not cached for this request")]
    private static partial void LogVersionFailed(ILogger logger, Exception ex);
}
