// Licensed under the Apache License, Version 2.0.

using Microsoft.EntityFrameworkCore;

namespace Octavia.Data;

/// <summary>Creates contexts for the configured <c>[database] connection</c>.</summary>
public sealed class OctaviaDatabase
{
    private readonly DbContextOptions<OctaviaDbContext> _options;

    public OctaviaDatabase(DatabaseUrl url)
    {
        ArgumentNullException.ThrowIfNull(url);
        Url = url;
        var builder = new DbContextOptionsBuilder<OctaviaDbContext>();
        Configure(builder, url);
        _options = builder.Options;
    }

    /// <summary>The parsed connection.</summary>
    public DatabaseUrl Url { get; }

    /// <summary>A new context; dispose it after use.</summary>
    public OctaviaDbContext CreateContext() => new(_options);

    /// <summary>Points <paramref name="builder"/> at the database.</summary>
    public static void Configure(DbContextOptionsBuilder builder, DatabaseUrl url)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(url);
        switch (url.Engine)
        {
            case DatabaseEngine.Sqlite:
                builder.UseSqlite(url.ConnectionString);
                break;
            case DatabaseEngine.PostgreSql:
                builder.UseNpgsql(url.ConnectionString);
                break;
            case DatabaseEngine.MySql:
                builder.UseMySQL(url.ConnectionString);
                break;
        }
    }
}
