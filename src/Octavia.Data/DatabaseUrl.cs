// Licensed under the Apache License, Version 2.0.

using Octavia.Core.Configuration;

namespace Octavia.Data;

/// <summary>The database engines we support.</summary>
public enum DatabaseEngine
{
    Sqlite,
    PostgreSql,
    MySql,
}

/// <summary>
/// Parses upstream's SQLAlchemy URLs (<c>sqlite:////abs/path</c>, <c>mysql+pymysql://u:p@h:3306/db</c>,
/// <c>postgresql+psycopg2://u:p@h/db</c>; the <c>+driver</c> part optional) into an ADO.NET connection string.
/// </summary>
public sealed record DatabaseUrl(DatabaseEngine Engine, string ConnectionString, string? DatabaseName)
{
    /// <summary>Parses <paramref name="url"/>; errors name <c>[database] connection</c>.</summary>
    public static DatabaseUrl Parse(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd <= 0)
        {
            throw new ConfigException($"[database] connection: '{Redact(url)}' is not a URL like sqlite:////var/lib/octavia/octavia.db");
        }
        var scheme = url[..schemeEnd].ToLowerInvariant();
        var plus = scheme.IndexOf('+', StringComparison.Ordinal);
        var dialect = plus < 0 ? scheme : scheme[..plus];
        var rest = url[(schemeEnd + 3)..];
        switch (dialect)
        {
            case "sqlite":
                {
                    // sqlite:////abs/path -> "/abs/path"; sqlite:///rel/path -> "rel/path"; sqlite:// -> in memory.
                    var path = rest.StartsWith('/') ? rest[1..] : rest;
                    var query = path.IndexOf('?', StringComparison.Ordinal);
                    if (query >= 0)
                    {
                        path = path[..query];
                    }
                    if (path.Length == 0 || path == ":memory:")
                    {
                        return new DatabaseUrl(DatabaseEngine.Sqlite, "Data Source=:memory:", null);
                    }
                    return new DatabaseUrl(DatabaseEngine.Sqlite, $"Data Source={path}", null);
                }
            case "mysql":
            case "mariadb":
            case "postgresql":
            case "postgres":
                {
                    Uri uri;
                    try
                    {
                        uri = new Uri("x://" + rest);
                    }
                    catch (UriFormatException)
                    {
                        throw new ConfigException($"[database] connection: '{Redact(url)}' is not a valid URL");
                    }
                    var userInfo = uri.UserInfo.Split(':', 2);
                    var user = Uri.UnescapeDataString(userInfo[0]);
                    var password = userInfo.Length > 1 ? Uri.UnescapeDataString(userInfo[1]) : "";
                    var database = uri.AbsolutePath.Trim('/');
                    if (database.Length == 0)
                    {
                        throw new ConfigException("[database] connection: the URL names no database");
                    }
                    var isPg = dialect.StartsWith("postgres", StringComparison.Ordinal);
                    var port = uri.Port > 0 ? uri.Port : isPg ? 5432 : 3306;
                    var cs = isPg
                        ? $"Host={uri.Host};Port={port};Username={user};Password={password};Database={database}"
                        : $"Server={uri.Host};Port={port};User ID={user};Password={password};Database={database}";
                    return new DatabaseUrl(isPg ? DatabaseEngine.PostgreSql : DatabaseEngine.MySql, cs, database);
                }
            default:
                throw new ConfigException($"[database] connection: unsupported database '{dialect}' (use sqlite, mysql or postgresql)");
        }
    }

    private static string Redact(string url)
    {
        var at = url.IndexOf('@', StringComparison.Ordinal);
        var scheme = url.IndexOf("://", StringComparison.Ordinal);
        return at > 0 && scheme > 0 ? url[..(scheme + 3)] + "***" + url[at..] : url;
    }
}
