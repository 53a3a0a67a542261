// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Octavia.Controller.Messaging;
using Octavia.Core.Messaging;

namespace Octavia.Controller.Tests.Messaging;

public sealed class InProcessWorkerBusTests
{
    [Fact]
    public async Task Consume_ConcurrencyTwo_RunsTwoHandlersAtOnceAndDeliversEverything()
    {
        var bus = new InProcessWorkerBus(concurrency: 2);
        var seen = new ConcurrentBag<string>();
        using var barrier = new Barrier(2);
        var passed = 0;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var consume = bus.ConsumeAsync((cast, _) =>
        {
            if (barrier.SignalAndWait(TimeSpan.FromSeconds(10), CancellationToken.None))
            {
                Interlocked.Increment(ref passed);
            }
            seen.Add(cast.MessageId);
            return Task.CompletedTask;
        }, cts.Token);
        var casts = Enumerable.Range(0, 4).Select(i => new WorkerCast("create_pool", new JsonObject { ["i"] = i })).ToList();
        foreach (var c in casts)
        {
            await bus.CastAsync(c, TestContext.Current.CancellationToken);
        }

        while (seen.Count < 4)
        {
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
        await cts.CancelAsync();
        await consume;

        seen.Order().ShouldBe(casts.Select(c => c.MessageId).Order());
        passed.ShouldBe(4);
    }
}
