// Licensed under the Apache License, Version 2.0.

using Microsoft.EntityFrameworkCore;

namespace Octavia.Data.Tests;

public sealed class DatabaseSchemaTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(TestDatabase.Engines), MemberType = typeof(TestDatabase))]
    public async Task Upgrade_FreshDatabase_AppliesHeadAndCurrentReportsIt(string engine)
    {
        await using var test = await TestDatabase.CreateAsync(engine);
        using var db = test.Open();

        (await DatabaseSchema.CurrentAsync(db, Ct)).ShouldBeNull();
        var applied = await DatabaseSchema.UpgradeAsync(db, cancellationToken: Ct);

        var history = await DatabaseSchema.HistoryAsync(db, Ct);
        applied.ShouldBe(history.Select(r => r.Id));
        history.ShouldAllBe(r => r.Applied);
        history[^1].IsHead.ShouldBeTrue();
        (await DatabaseSchema.CurrentAsync(db, Ct)).ShouldBe(history[^1].Id);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Engines), MemberType = typeof(TestDatabase))]
    public async Task Upgrade_RunTwice_SecondRunAppliesNothing(string engine)
    {
        await using var test = await TestDatabase.CreateAsync(engine);
        using var db = test.Open();

        (await DatabaseSchema.UpgradeAsync(db, cancellationToken: Ct)).ShouldNotBeEmpty();
        (await DatabaseSchema.UpgradeAsync(db, "head", Ct)).ShouldBeEmpty();

        await using var context = db.CreateContext();
        (await context.Database.GetAppliedMigrationsAsync(Ct)).Count().ShouldBe((await DatabaseSchema.HistoryAsync(db, Ct)).Count);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Engines), MemberType = typeof(TestDatabase))]
    public async Task Upgrade_ConcurrentCallers_ApplyEachRevisionOnce(string engine)
    {
        await using var test = await TestDatabase.CreateAsync(engine);
        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            using var db = test.Open();
            return await DatabaseSchema.UpgradeAsync(db, cancellationToken: Ct);
        }, Ct)));

        using var check = test.Open();
        var history = await DatabaseSchema.HistoryAsync(check, Ct);
        results.SelectMany(r => r).ShouldBe(history.Select(r => r.Id), ignoreOrder: true);
    }

    [Fact]
    public async Task Upgrade_UnknownRevision_ThrowsNamingTheKnownOnes()
    {
        await using var test = await TestDatabase.CreateAsync(TestDatabase.Sqlite);
        using var db = test.Open();

        var ex = await Should.ThrowAsync<SchemaException>(() => DatabaseSchema.UpgradeAsync(db, "nosuchrev", Ct));

        ex.Message.ShouldContain("unknown revision 'nosuchrev'");
        ex.Message.ShouldContain("Initial");
        (await DatabaseSchema.CurrentAsync(db, Ct)).ShouldBeNull();
    }

    [Fact]
    public async Task Upgrade_TargetByName_StopsThereAndHeadAppliesTheRest()
    {
        await using var test = await TestDatabase.CreateAsync(TestDatabase.Sqlite);
        using var db = test.Open();

        (await DatabaseSchema.UpgradeAsync(db, "Initial", Ct)).ShouldBe(["20261125000000_Initial"]);
        (await DatabaseSchema.CurrentAsync(db, Ct)).ShouldBe("20261125000000_Initial");
        (await DatabaseSchema.HistoryAsync(db, Ct)).Select(r => (r.Name, r.Applied)).ShouldBe([("Initial", true), ("FlowJob", false)]);

        (await DatabaseSchema.UpgradeAsync(db, cancellationToken: Ct)).ShouldBe(["20261125180000_FlowJob"]);
        var ex = await Should.ThrowAsync<SchemaException>(() => DatabaseSchema.UpgradeAsync(db, "Initial", Ct));
        ex.Message.ShouldContain("downgrades are not supported");
    }

    [Fact]
    public async Task Upgrade_DatabaseNewerThanBuild_Refuses()
    {
        await using var test = await TestDatabase.CreateAsync(TestDatabase.Sqlite);
        using var db = test.Open();
        await DatabaseSchema.UpgradeAsync(db, cancellationToken: Ct);
        await using (var context = db.CreateContext())
        {
            await context.Database.ExecuteSqlRawAsync(
                "INSERT INTO \"__EFMigrationsHistory\" (\"MigrationId\", \"ProductVersion\") VALUES ('29990101000000_Future', '10.0.15')", Ct);
        }

        var ex = await Should.ThrowAsync<SchemaException>(() => DatabaseSchema.UpgradeAsync(db, cancellationToken: Ct));

        ex.Message.ShouldContain("29990101000000_Future");
    }

    [Fact]
    public async Task Current_UnreachableServer_ThrowsDatabaseUnavailable()
    {
        var port = Octavia.Tests.Shared.TestEnvironment.FreeTcpPort();
        using var db = new OctaviaDatabase(DatabaseUrl.Parse($"postgresql://u:secret@127.0.0.1:{port}/octavia"));

        var ex = await Should.ThrowAsync<DatabaseUnavailableException>(() => DatabaseSchema.CurrentAsync(db, Ct));

        ex.Message.ShouldContain($"127.0.0.1:{port}/octavia");
        ex.Message.ShouldNotContain("secret");
    }

    [Theory]
    [InlineData("sqlite:////tmp/x.db")]
    [InlineData("postgresql://u:p@localhost/octavia")]
    [InlineData("mysql+pymysql://u:p@localhost/octavia")]
    public void Migrations_MatchTheModel_NoPendingChanges(string url)
    {
        using var db = new OctaviaDatabase(DatabaseUrl.Parse(url));
        using var context = db.CreateContext();

        context.Database.HasPendingModelChanges().ShouldBeFalse();
    }

    [Fact]
    public async Task InMemorySqlite_TwoContexts_SeeTheSameDatabase()
    {
        using var db = new OctaviaDatabase(DatabaseUrl.Parse("sqlite://"));
        await DatabaseSchema.UpgradeAsync(db, cancellationToken: Ct);
        await using (var writer = db.CreateContext())
        {
            writer.Quotas.Add(new() { ProjectId = "p1", LoadBalancer = 3 });
            await writer.SaveChangesAsync(Ct);
        }

        await using var reader = db.CreateContext();
        (await reader.Quotas.SingleAsync(Ct)).LoadBalancer.ShouldBe(3);
    }
}
