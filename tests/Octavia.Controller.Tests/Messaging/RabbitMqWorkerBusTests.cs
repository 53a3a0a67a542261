// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Octavia.Controller.Messaging;
using Octavia.Core.Messaging;
using RabbitMQ.Client;

namespace Octavia.Controller.Tests.Messaging;

/// <summary>Against the real broker from <c>OCTAVIA_TEST_RABBIT</c>; each test uses its own queue.</summary>
public sealed class RabbitMqWorkerBusTests : IAsyncLifetime
{
    private readonly string? _url = Environment.GetEnvironmentVariable("OCTAVIA_TEST_RABBIT");
    private readonly string _topic = "owk-" + Guid.NewGuid().ToString("N")[..12];
    private readonly List<RabbitMqWorkerBus> _buses = [];

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        foreach (var bus in _buses)
        {
            await bus.DisposeAsync();
        }
        if (_url is null)
        {
            return;
        }
        var factory = new ConnectionFactory { Uri = RabbitMqWorkerBus.ToAmqpUri(_url) };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        await channel.QueueDeleteAsync(_topic);
    }

    private RabbitMqWorkerBus NewBus(int prefetch = 1)
    {
        if (_url is null)
        {
            Assert.Skip("OCTAVIA_TEST_RABBIT is not set");
        }
        var bus = new RabbitMqWorkerBus(new RabbitMqBusOptions { TransportUrl = _url, Topic = _topic, Prefetch = prefetch }, NullLogger<RabbitMqWorkerBus>.Instance);
        _buses.Add(bus);
        return bus;
    }

    [Fact]
    public async Task Consume_TwoWorkersOnOneQueue_EachCastHandledOnceAndBothGetWork()
    {
        var publisher = NewBus();
        var a = NewBus();
        var b = NewBus();
        var handled = new ConcurrentDictionary<string, string>();
        var duplicates = 0;
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        const int count = 20;
        Func<WorkerCast, CancellationToken, Task> Handler(string who) => async (cast, ct) =>
        {
            await Task.Delay(30, ct);
            if (!handled.TryAdd(cast.MessageId, who))
            {
                Interlocked.Increment(ref duplicates);
            }
            if (handled.Count == count)
            {
                all.TrySetResult();
            }
        };
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var consumeA = a.ConsumeAsync(Handler("a"), cts.Token);
        var consumeB = b.ConsumeAsync(Handler("b"), cts.Token);
        for (var i = 0; i < count; i++)
        {
            await publisher.CastAsync(new WorkerCast("create_member", new JsonObject { ["member"] = new JsonObject { ["member_id"] = $"m{i}" } }), TestContext.Current.CancellationToken);
        }

        await all.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        await cts.CancelAsync();
        await Task.WhenAll(consumeA, consumeB);

        handled.Count.ShouldBe(count);
        duplicates.ShouldBe(0);
        handled.Values.ShouldContain("a");
        handled.Values.ShouldContain("b");
    }

    [Fact]
    public async Task Consume_WorkerDiesBeforeAck_CastRedeliveredToAnotherWorkerWithSameId()
    {
        var publisher = NewBus();
        var cast = new WorkerCast("create_load_balancer", new JsonObject { ["loadbalancer"] = new JsonObject { ["loadbalancer_id"] = "lb-1" } });
        await publisher.CastAsync(cast, TestContext.Current.CancellationToken);

        var gotA = new TaskCompletionSource<WorkerCast>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var killA = new CancellationTokenSource();
        var consumeA = NewBus().ConsumeAsync(async (c, ct) =>
        {
            gotA.TrySetResult(c);
            await Task.Delay(Timeout.Infinite, ct);
        }, killA.Token);
        (await gotA.Task.WaitAsync(TimeSpan.FromSeconds(15), TestContext.Current.CancellationToken)).MessageId.ShouldBe(cast.MessageId);

        // Worker A goes away without acknowledging (its connection closes).
        await killA.CancelAsync();
        await consumeA;

        var gotB = new TaskCompletionSource<WorkerCast>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stopB = new CancellationTokenSource();
        var consumeB = NewBus().ConsumeAsync((c, _) =>
        {
            gotB.TrySetResult(c);
            return Task.CompletedTask;
        }, stopB.Token);
        var redelivered = await gotB.Task.WaitAsync(TimeSpan.FromSeconds(15), TestContext.Current.CancellationToken);
        await stopB.CancelAsync();
        await consumeB;

        redelivered.MessageId.ShouldBe(cast.MessageId);
        redelivered.Method.ShouldBe("create_load_balancer");
        redelivered.Args["loadbalancer"]!["loadbalancer_id"]!.GetValue<string>().ShouldBe("lb-1");
    }

    [Fact]
    public async Task Cast_QueueIsDurableAndMessagePersistent_SurvivesWithNoConsumer()
    {
        var publisher = NewBus();
        await publisher.CastAsync(new WorkerCast("delete_amphora", new JsonObject { ["amphora_id"] = "a1" }), TestContext.Current.CancellationToken);

        var factory = new ConnectionFactory { Uri = RabbitMqWorkerBus.ToAmqpUri(_url!) };
        await using var connection = await factory.CreateConnectionAsync(TestContext.Current.CancellationToken);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: TestContext.Current.CancellationToken);
        // A passive declare with durable: false would fail on a durable queue; redeclaring the same way must succeed.
        var ok = await channel.QueueDeclareAsync(_topic, durable: true, exclusive: false, autoDelete: false, cancellationToken: TestContext.Current.CancellationToken);
        ok.MessageCount.ShouldBe(1u);
        var message = await channel.BasicGetAsync(_topic, autoAck: false, TestContext.Current.CancellationToken);
        message.ShouldNotBeNull();
        message.BasicProperties.Persistent.ShouldBeTrue();
        var decoded = RabbitMqWorkerBus.Decode(message.Body.Span, message.BasicProperties.MessageId);
        decoded.Method.ShouldBe("delete_amphora");
    }

    [Fact]
    public void ToAmqpUri_OsloUrlWithSeveralHosts_UsesFirstHostAndVhost()
    {
        RabbitMqWorkerBus.ToAmqpUri("rabbit://u:p@h1:5672,u:p@h2:5672/octavia?ssl=0").ToString().ShouldBe("amqp://u:p@h1:5672/octavia");
        Should.Throw<ArgumentException>(() => RabbitMqWorkerBus.ToAmqpUri("kafka://x"));
    }
}
