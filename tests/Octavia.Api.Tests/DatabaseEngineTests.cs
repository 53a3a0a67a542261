// Licensed under the Apache License, Version 2.0.

using Microsoft.EntityFrameworkCore;
using Octavia.Data;

namespace Octavia.Api.Tests;

/// <summary>The resource tests again on PostgreSQL, in a database of their own made for the class.</summary>
public sealed class PostgresResourceTests : ResourceTests
{
    public override async ValueTask InitializeAsync() => Api = await ServerDatabase.StartAsync("OCTAVIA_TEST_POSTGRES");
}

/// <summary>The resource tests again on MariaDB, in a database of their own made for the class.</summary>
public sealed class MariaDbResourceTests : ResourceTests
{
    public override async ValueTask InitializeAsync() => Api = await ServerDatabase.StartAsync("OCTAVIA_TEST_MYSQL");
}

// The database name is generated here (oapi_ + hex), never taken from input.
#pragma warning disable EF1002, EF1003
internal static class ServerDatabase
{
    /// <summary>Creates a uniquely named database on the server named by <paramref name="envVar"/> and starts the API on it.</summary>
    public static async Task<ApiServer> StartAsync(string envVar)
    {
        var adminUrl = Environment.GetEnvironmentVariable(envVar);
        if (string.IsNullOrEmpty(adminUrl))
        {
            Assert.Skip($"{envVar} is not set");
        }
        var name = "oapi_" + Guid.NewGuid().ToString("N")[..12];
        var admin = new OctaviaDatabase(DatabaseUrl.Parse(adminUrl));
        await using (var db = admin.CreateContext())
        {
            await db.Database.ExecuteSqlRawAsync("CREATE DATABASE " + name);
        }
        var url = adminUrl[..adminUrl.LastIndexOf('/')] + "/" + name;
        return await ApiServer.StartAsync(url, drop: async () =>
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            if (admin.Url.Engine == DatabaseEngine.PostgreSql)
            {
                Npgsql.NpgsqlConnection.ClearAllPools();
                await using var db = admin.CreateContext();
                await db.Database.ExecuteSqlRawAsync($"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            }
            else
            {
                MySql.Data.MySqlClient.MySqlConnection.ClearAllPools();
                await using var db = admin.CreateContext();
                await db.Database.ExecuteSqlRawAsync($"DROP DATABASE IF EXISTS {name}");
            }
        });
    }
}
#pragma warning restore EF1002, EF1003
