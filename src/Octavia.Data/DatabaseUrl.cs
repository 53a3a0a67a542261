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
                    var isPg = dialect.StartsWith("postgres", StringComparison.Ordinal);
                    var query = rest.IndexOf('?', StringComparison.Ordinal);
                    if (query >= 0)
                    {
                        rest = rest[..query];
                    }
                    var slash = rest.IndexOf('/', StringComparison.Ordinal);
                    var authority = slash < 0 ? rest : rest[..slash];
                    var database = slash < 0 ? "" : Uri.UnescapeDataString(rest[(slash + 1)..].Trim('/'));
                    if (database.Length == 0)
                    {
                        throw new ConfigException("[database] connection: the URL names no database");
                    }
                    var at = authority.LastIndexOf('@');
                    var userInfo = at < 0 ? "" : authority[..at];
                    var hostPort = at < 0 ? authority : authority[(at + 1)..];
                    var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
                    var user = Uri.UnescapeDataString(colon < 0 ? userInfo : userInfo[..colon]);
                    var password = colon < 0 ? "" : Uri.UnescapeDataString(userInfo[(colon + 1)..]);
                    string host;
                    var portText = "";
                    if (hostPort.StartsWith('['))
                    {
                        var close = hostPort.IndexOf(']', StringComparison.Ordinal);
                        if (close < 0)
                        {
                            throw new ConfigException($"[database] connection: '{Redact(url)}' has an unterminated IPv6 address");
                        }
                        host = hostPort[1..close];
                        portText = hostPort[(close + 1)..].TrimStart(':');
                    }
                    else
                    {
                        var pc = hostPort.LastIndexOf(':');
                        host = pc < 0 ? hostPort : hostPort[..pc];
                        portText = pc < 0 ? "" : hostPort[(pc + 1)..];
                    }
                    if (host.Length == 0)
                    {
                        host = "localhost";
                    }
                    var port = isPg ? 5432 : 3306;
                    if (portText.Length > 0 && (!int.TryParse(portText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
                    {
                        throw new ConfigException($"[database] connection: '{Redact(url)}' has an invalid port '{portText}'");
                    }
                    string cs;
                    if (isPg)
                    {
                        cs = new Npgsql.NpgsqlConnectionStringBuilder { Host = host, Port = port, Username = user, Password = password, Database = database }.ConnectionString;
                    }
                    else
                    {
                        cs = new MySql.Data.MySqlClient.MySqlConnectionStringBuilder { Server = host, Port = (uint)port, UserID = user, Password = password, Database = database }.ConnectionString;
                    }
                    return new DatabaseUrl(isPg ? DatabaseEngine.PostgreSql : DatabaseEngine.MySql, cs, database);
                }
            default:
                throw new ConfigException($"[database] connection: unsupported database '{dialect}' (use sqlite, mysql or postgresql)");
        }
    }

    /// <summary>Where the database is, without credentials (for messages).</summary>
    public string Describe()
    {
        var parts = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = ConnectionString };
        string Get(string key) => parts.TryGetValue(key, out var v) ? Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) ?? "" : "";
        return Engine switch
        {
            DatabaseEngine.Sqlite => $"sqlite:{Get("Data Source")}",
            DatabaseEngine.PostgreSql => $"postgresql://{Get("Host")}:{Get("Port")}/{DatabaseName}",
            _ => $"mysql://{Get("Server")}:{Get("Port")}/{DatabaseName}",
        };
    }

    private static string Redact(string url)
    {
        var at = url.IndexOf('@', StringComparison.Ordinal);
        var scheme = url.IndexOf("://", StringComparison.Ordinal);
        return at > 0 && scheme > 0 ? url[..(scheme + 3)] + "***" + url[at..] : url;
    }
}
