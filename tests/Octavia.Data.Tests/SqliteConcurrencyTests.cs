// Licensed under the Apache License, Version 2.0.

using Microsoft.EntityFrameworkCore;
using Octavia.Core.Model;

namespace Octavia.Data.Tests;

public sealed class SqliteConcurrencyTests
{
    private const int Writers = 16;
    private const int WritesEach = 25;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task SixteenWriters_SeparateContexts_NoLockErrorAndNoLostWrite()
    {
        await using var test = await TestDatabase.CreateAsync(TestDatabase.Sqlite);
        using (var setup = test.Open())
        {
            await DatabaseSchema.UpgradeAsync(setup, cancellationToken: Ct);
            await using var context = setup.CreateContext();
            context.Quotas.Add(new Quotas { ProjectId = "counter", LoadBalancer = 0 });
            await context.SaveChangesAsync(Ct);
        }

        // Each writer has its own OctaviaDatabase, as separate processes (API, worker, health manager) would.
        using var start = new Barrier(Writers);
        await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            using var db = test.Open();
            start.SignalAndWait(Ct);
            for (var i = 0; i < WritesEach; i++)
            {
                await using var context = db.CreateContext();
                context.LoadBalancers.Add(new LoadBalancer { Id = $"lb-{w}-{i}", ProjectId = "p", Vip = new Vip { IpAddress = "198.18.0.1" } });
                await context.SaveChangesAsync(Ct);
                await context.Quotas.Where(q => q.ProjectId == "counter")
                    .ExecuteUpdateAsync(s => s.SetProperty(q => q.LoadBalancer, q => q.LoadBalancer + 1), Ct);
            }
        }, Ct)));

        using var check = test.Open();
        await using var verify = check.CreateContext();
        (await verify.LoadBalancers.CountAsync(Ct)).ShouldBe(Writers * WritesEach);
        (await verify.Vips.CountAsync(Ct)).ShouldBe(Writers * WritesEach);
        (await verify.Quotas.SingleAsync(q => q.ProjectId == "counter", Ct)).LoadBalancer.ShouldBe(Writers * WritesEach);
        (await verify.Database.SqlQueryRaw<string>("PRAGMA journal_mode").ToListAsync(Ct)).ShouldBe(["wal"]);
    }
}
