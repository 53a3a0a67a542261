// Licensed under the Apache License, Version 2.0.

using Octavia.Core.Configuration;

namespace Octavia.Data.Tests;

public sealed class DatabaseUrlTests
{
    [Theory]
    [InlineData("sqlite:////var/lib/octavia/octavia.db", "/var/lib/octavia/octavia.db")]
    [InlineData("sqlite:///octavia.db", "octavia.db")]
    public void Parse_SqliteFile_KeepsThePath(string url, string path)
    {
        var parsed = DatabaseUrl.Parse(url);

        parsed.Engine.ShouldBe(DatabaseEngine.Sqlite);
        parsed.ConnectionString.ShouldBe($"Data Source={path}");
    }

    [Fact]
    public void Parse_MysqlWithDriverAndPort_BuildsConnectionString()
    {
        var parsed = DatabaseUrl.Parse("mysql+pymysql://octavia:p%40ss;word@db.example:3307/octavia?charset=utf8");

        parsed.Engine.ShouldBe(DatabaseEngine.MySql);
        parsed.DatabaseName.ShouldBe("octavia");
        var csb = new MySql.Data.MySqlClient.MySqlConnectionStringBuilder(parsed.ConnectionString);
        csb.Server.ShouldBe("db.example");
        csb.Port.ShouldBe(3307u);
        csb.UserID.ShouldBe("octavia");
        csb.Password.ShouldBe("p@ss;word");
        parsed.Describe().ShouldBe("mysql://db.example:3307/octavia");
    }

    [Fact]
    public void Parse_PostgresDefaultPortAndIpv6_BuildsConnectionString()
    {
        var parsed = DatabaseUrl.Parse("postgresql+psycopg2://u:p@[::1]/octavia");

        var csb = new Npgsql.NpgsqlConnectionStringBuilder(parsed.ConnectionString);
        csb.Host.ShouldBe("::1");
        csb.Port.ShouldBe(5432);
        csb.Database.ShouldBe("octavia");
    }

    [Theory]
    [InlineData("octavia.db", "is not a URL")]
    [InlineData("oracle://u:p@h/db", "unsupported database 'oracle'")]
    [InlineData("mysql://u:p@h/", "names no database")]
    [InlineData("mysql://u:p@h:99999/db", "invalid port")]
    public void Parse_BadUrl_ErrorNamesTheOption(string url, string expected)
    {
        var ex = Should.Throw<ConfigException>(() => DatabaseUrl.Parse(url));

        ex.Message.ShouldStartWith("[database] connection: ");
        ex.Message.ShouldContain(expected);
        ex.Message.ShouldNotContain(":p@");
    }
}
