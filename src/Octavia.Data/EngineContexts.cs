// Licensed under the Apache License, Version 2.0.

using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Octavia.Data;

// One context type per engine: EF Core binds a migration set to a context type, and each engine's
// migrations differ (column types, identity, quoting). The model itself is the shared OctaviaDbContext's.

/// <summary>The context for SQLite; its migrations live in <c>Migrations/Sqlite</c>.</summary>
public sealed class SqliteOctaviaDbContext(DbContextOptions options) : OctaviaDbContext(options);

/// <summary>The context for PostgreSQL; its migrations live in <c>Migrations/PostgreSql</c>.</summary>
public sealed class PostgreSqlOctaviaDbContext(DbContextOptions options) : OctaviaDbContext(options);

/// <summary>The context for MariaDB and MySQL; its migrations live in <c>Migrations/MySql</c>.</summary>
public sealed class MySqlOctaviaDbContext(DbContextOptions options) : OctaviaDbContext(options);

// Design-time factories for `dotnet ef migrations add`; they never connect.
internal sealed class SqliteDesignFactory : IDesignTimeDbContextFactory<SqliteOctaviaDbContext>
{
    public SqliteOctaviaDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<OctaviaDbContext>().UseSqlite("Data Source=design.db").Options);
}

internal sealed class PostgreSqlDesignFactory : IDesignTimeDbContextFactory<PostgreSqlOctaviaDbContext>
{
    public PostgreSqlOctaviaDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<OctaviaDbContext>().UseNpgsql("Host=localhost;Database=octavia").Options);
}

internal sealed class MySqlDesignFactory : IDesignTimeDbContextFactory<MySqlOctaviaDbContext>
{
    public MySqlOctaviaDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<OctaviaDbContext>().UseMySQL("Server=localhost;Database=octavia").Options);
}
