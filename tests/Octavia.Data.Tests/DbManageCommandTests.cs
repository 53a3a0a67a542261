// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using Octavia.Tests.Shared;

namespace Octavia.Data.Tests;

/// <summary>
/// The real <c>octavia db-manage</c> process against one engine; one class per engine so xunit runs the
/// engines in parallel (each run starts several processes).
/// </summary>
public abstract class DbManageEngineTests(string engine) : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("odb-cli-");

    public void Dispose()
    {
        _dir.Delete(recursive: true);
        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task UpgradeCurrentHistory_BothArgumentOrders_ManageTheSchema()
    {
        await using var test = await TestDatabase.CreateAsync(engine);
        var conf = test.WriteConfig(_dir.FullName);

        var empty = Octavia("db-manage", "current", "--config-file", conf);
        empty.ExitCode.ShouldBe(0, empty.Output);
        empty.Output.ShouldContain("no schema yet");

        // Upstream's order: octavia-db-manage --config-file X upgrade head.
        var upgrade = Octavia("db-manage", "--config-file", conf, "upgrade", "head");
        upgrade.ExitCode.ShouldBe(0, upgrade.Output);
        upgrade.Output.ShouldContain("Running upgrade  -> 20261125000000_Initial\nRunning upgrade 20261125000000_Initial -> 20261125180000_FlowJob");

        var again = Octavia("db-manage", "upgrade", "head", "--config-file", conf);
        again.ExitCode.ShouldBe(0, again.Output);
        again.Output.ShouldContain("nothing to do");

        var current = Octavia("db-manage", "--config-file", conf, "current");
        current.ExitCode.ShouldBe(0, current.Output);
        current.Output.Trim().ShouldBe("20261125180000_FlowJob (head)");

        var history = Octavia("db-manage", "history", "--config-file", conf);
        history.ExitCode.ShouldBe(0, history.Output);
        history.Output.ReplaceLineEndings("\n").ShouldBe(
            "20261125000000_Initial -> 20261125180000_FlowJob (head) (current), FlowJob\n<base> -> 20261125000000_Initial, Initial\n");
    }

    [Fact]
    public async Task Upgrade_TwoProcessesAtOnce_BothSucceedAndApplyOnce()
    {
        await using var test = await TestDatabase.CreateAsync(engine);
        var conf = test.WriteConfig(_dir.FullName);

        var runs = await Task.WhenAll(
            Task.Run(() => Octavia("db-manage", "--config-file", conf, "upgrade", "head"), TestContext.Current.CancellationToken),
            Task.Run(() => Octavia("db-manage", "--config-file", conf, "upgrade", "head"), TestContext.Current.CancellationToken));

        runs.ShouldAllBe(r => r.ExitCode == 0);
        runs.Count(r => r.Output.Contains("Running upgrade", StringComparison.Ordinal)).ShouldBe(1, string.Join("\n", runs.Select(r => r.Output)));
        using var db = test.Open();
        (await DatabaseSchema.HistoryAsync(db, TestContext.Current.CancellationToken)).ShouldAllBe(r => r.Applied);
    }

    internal static (int ExitCode, string Output) Octavia(params string[] args)
    {
        var sw = Stopwatch.StartNew();
        var result = TestEnvironment.Run(TestEnvironment.OctaviaExe, args);
        sw.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(60));
        return result;
    }
}

public sealed class DbManageSqliteTests() : DbManageEngineTests(TestDatabase.Sqlite);

public sealed class DbManagePostgresTests() : DbManageEngineTests(TestDatabase.Postgres);

public sealed class DbManageMySqlTests() : DbManageEngineTests(TestDatabase.MySql);

/// <summary><c>octavia db-manage</c> errors, as a real process.</summary>
public sealed class DbManageCommandTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("odb-cli-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public void Upgrade_BadUrl_OneLineErrorNamingTheOption()
    {
        var conf = Path.Combine(_dir.FullName, "bad.conf");
        File.WriteAllText(conf, "[database]\nconnection = oracle://u:p@h/db\n");

        var run = DbManageEngineTests.Octavia("db-manage", "--config-file", conf, "upgrade", "head");

        run.ExitCode.ShouldBe(1);
        run.Output.Trim().ShouldBe("octavia: [database] connection: unsupported database 'oracle' (use sqlite, mysql or postgresql)");
    }

    [Theory]
    [InlineData("postgresql+psycopg2")]
    [InlineData("mysql+pymysql")]
    public void Upgrade_UnreachableServer_SaysSoAndExits1(string scheme)
    {
        var port = TestEnvironment.FreeTcpPort();
        var conf = Path.Combine(_dir.FullName, "down.conf");
        File.WriteAllText(conf, $"[database]\nconnection = {scheme}://octavia:hunter2@127.0.0.1:{port}/octavia\n");

        var run = DbManageEngineTests.Octavia("db-manage", "--config-file", conf, "upgrade", "head");

        run.ExitCode.ShouldBe(1);
        run.Output.ShouldStartWith($"octavia: cannot connect to the database ");
        run.Output.ShouldContain($"127.0.0.1:{port}/octavia");
        run.Output.ShouldNotContain("hunter2");
        run.Output.Trim().Split('\n').Length.ShouldBe(1);
    }

}
