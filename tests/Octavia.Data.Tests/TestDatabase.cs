// Licensed under the Apache License, Version 2.0.

using System.Data.Common;
using MySql.Data.MySqlClient;
using Npgsql;

namespace Octavia.Data.Tests;

/// <summary>
/// A throwaway database of one engine: a file in a unique temp directory for SQLite, a uniquely named
/// database on the server named by OCTAVIA_TEST_POSTGRES / OCTAVIA_TEST_MYSQL otherwise (dropped on dispose).
/// </summary>
internal sealed class TestDatabase : IAsyncDisposable
{
    private readonly Func<Task> _drop;

    private TestDatabase(string url, Func<Task> drop)
    {
        ConnectionUrl = url;
        _drop = drop;
    }

    /// <summary>The upstream-style URL to put in <c>[database] connection</c>.</summary>
    public string ConnectionUrl { get; }

    public const string Sqlite = "sqlite";
    public const string Postgres = "postgres";
    public const string MySql = "mysql";

    public static TheoryData<string> Engines => [Sqlite, Postgres, MySql];

    /// <summary>Creates the database, or skips the test when the engine's server is not configured.</summary>
    public static async Task<TestDatabase> CreateAsync(string engine)
    {
        var name = "odb_" + Guid.NewGuid().ToString("N")[..12];
        switch (engine)
        {
            case Sqlite:
                {
                    var dir = Directory.CreateTempSubdirectory("odb-");
                    return new TestDatabase($"sqlite:///{dir.FullName}/octavia.db", () =>
                    {
                        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                        dir.Delete(recursive: true);
                        return Task.CompletedTask;
                    });
                }
            case Postgres:
                {
                    var server = Environment.GetEnvironmentVariable("OCTAVIA_TEST_POSTGRES");
                    if (string.IsNullOrEmpty(server))
                    {
                        Assert.Skip("OCTAVIA_TEST_POSTGRES is not set");
                    }
                    var admin = DatabaseUrl.Parse(server).ConnectionString;
                    await AdminAsync(new NpgsqlConnection(admin), $"CREATE DATABASE {name}");
                    return new TestDatabase(WithDatabase(server, name), async () =>
                    {
                        NpgsqlConnection.ClearAllPools();
                        await AdminAsync(new NpgsqlConnection(admin), $"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    });
                }
            case MySql:
                {
                    var server = Environment.GetEnvironmentVariable("OCTAVIA_TEST_MYSQL");
                    if (string.IsNullOrEmpty(server))
                    {
                        Assert.Skip("OCTAVIA_TEST_MYSQL is not set");
                    }
                    var admin = DatabaseUrl.Parse(server).ConnectionString;
                    await AdminAsync(new MySqlConnection(admin), $"CREATE DATABASE {name}");
                    return new TestDatabase(WithDatabase(server, name), async () =>
                    {
                        MySqlConnection.ClearAllPools();
                        await AdminAsync(new MySqlConnection(admin), $"DROP DATABASE IF EXISTS {name}");
                    });
                }
            default:
                throw new ArgumentOutOfRangeException(nameof(engine), engine, null);
        }
    }

    /// <summary>A new <see cref="OctaviaDatabase"/> on this database.</summary>
    public OctaviaDatabase Open() => new(DatabaseUrl.Parse(ConnectionUrl));

    /// <summary>Writes an octavia.conf pointing at this database into <paramref name="dir"/>.</summary>
    public string WriteConfig(string dir)
    {
        var path = Path.Combine(dir, "octavia.conf");
        File.WriteAllText(path, $"[database]\nconnection = {ConnectionUrl}\n");
        return path;
    }

    public async ValueTask DisposeAsync() => await _drop();

    private static string WithDatabase(string serverUrl, string database)
    {
        var query = serverUrl.IndexOf('?', StringComparison.Ordinal);
        var baseUrl = query < 0 ? serverUrl : serverUrl[..query];
        return baseUrl[..(baseUrl.LastIndexOf('/') + 1)] + database;
    }

    private static async Task AdminAsync(DbConnection connection, string sql)
    {
        await using (connection)
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            await command.ExecuteNonQueryAsync();
        }
    }
}
