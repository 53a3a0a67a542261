// Licensed under the Apache License, Version 2.0.

using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Octavia.Core.Messaging;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Octavia.Controller.Messaging;

/// <summary>Settings of <see cref="RabbitMqWorkerBus"/>.</summary>
public sealed record RabbitMqBusOptions
{
    /// <summary>oslo.messaging transport URL: <c>rabbit://user:pass@host:5672/vhost</c> (the first host of a list is used).</summary>
    public required string TransportUrl { get; init; }

    /// <summary>Queue name (<c>[oslo_messaging] topic</c>).</summary>
    public string Topic { get; init; } = "octavia_provisioning_v2";

    /// <summary>Unacknowledged casts one consumer holds, and handlers it runs at once (<c>[controller_worker] workers</c>).</summary>
    public int Prefetch { get; init; } = 1;
}

/// <summary>
/// Casts over RabbitMQ: one durable queue named after the topic, persistent messages confirmed by the
/// broker, and manual acknowledgement after the handler finishes, so a cast whose worker dies is
/// delivered to another (at-least-once). Workers sharing the queue compete for casts. The body is
/// oslo.messaging's envelope (<c>oslo.version</c> 2.0 with the message JSON inside).
/// </summary>
public sealed partial class RabbitMqWorkerBus : IWorkerBus, IWorkerBusConsumer, IAsyncDisposable
{
    private readonly RabbitMqBusOptions _options;
    private readonly ConnectionFactory _factory;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _publishLock = new(1, 1);
    private IConnection? _publishConnection;
    private IChannel? _publishChannel;

    public RabbitMqWorkerBus(RabbitMqBusOptions options, ILogger<RabbitMqWorkerBus> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        _options = options;
        _logger = logger;
        _factory = new ConnectionFactory
        {
            Uri = ToAmqpUri(options.TransportUrl),
            AutomaticRecoveryEnabled = true,
            ConsumerDispatchConcurrency = (ushort)Math.Clamp(options.Prefetch, 1, ushort.MaxValue),
            ClientProvidedName = "octavia-worker-bus",
        };
    }

    /// <summary>Turns an oslo.messaging <c>rabbit://</c> URL into an AMQP URI.</summary>
    public static Uri ToAmqpUri(string transportUrl)
    {
        ArgumentNullException.ThrowIfNull(transportUrl);
        var schemeEnd = transportUrl.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd < 0 || !transportUrl[..schemeEnd].StartsWith("rabbit", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"[DEFAULT] transport_url: expected rabbit://user:pass@host:5672/, got '{transportUrl}'", nameof(transportUrl));
        }
        var rest = transportUrl[(schemeEnd + 3)..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var hosts = slash < 0 ? rest : rest[..slash];
        var path = slash < 0 ? "/" : rest[slash..];
        var query = path.IndexOf('?', StringComparison.Ordinal);
        if (query >= 0)
        {
            path = path[..query];
        }
        var first = hosts.Split(',')[0];
        return new Uri($"amqp://{first}{path}");
    }

    public async Task CastAsync(WorkerCast cast, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cast);
        var body = Encode(cast);
        await _publishLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_publishChannel is not { IsOpen: true })
            {
                _publishConnection ??= await _factory.CreateConnectionAsync(cancellationToken).ConfigureAwait(false);
                _publishChannel = await _publishConnection.CreateChannelAsync(
                    new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken).ConfigureAwait(false);
                await DeclareAsync(_publishChannel, cancellationToken).ConfigureAwait(false);
            }
            var props = new BasicProperties
            {
                Persistent = true,
                MessageId = cast.MessageId,
                ContentType = "application/json",
                Type = cast.Method,
            };
            // With confirmation tracking on, this returns once the broker has stored the message.
            await _publishChannel.BasicPublishAsync(string.Empty, _options.Topic, mandatory: true, props, body, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _publishLock.Release();
        }
    }

    public async Task ConsumeAsync(Func<WorkerCast, CancellationToken, Task> handler, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(handler);
        await using var connection = await _factory.CreateConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        await DeclareAsync(channel, cancellationToken).ConfigureAwait(false);
        await channel.BasicQosAsync(0, (ushort)Math.Clamp(_options.Prefetch, 1, ushort.MaxValue), false, cancellationToken).ConfigureAwait(false);
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += async (_, delivery) =>
        {
            WorkerCast cast;
            try
            {
                cast = Decode(delivery.Body.Span, delivery.BasicProperties.MessageId);
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
            {
                Log.Undecodable(_logger, delivery.DeliveryTag, ex);
                await channel.BasicRejectAsync(delivery.DeliveryTag, requeue: false, CancellationToken.None).ConfigureAwait(false);
                return;
            }
            try
            {
                await handler(cast, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Not acknowledged: the broker gives it to another worker once this channel closes.
                return;
            }
            catch (Exception ex)
            {
                // The handler already turned flow failures into reverts; an exception here is a bug or
                // an unreachable database. Acknowledge anyway: redelivering would loop for ever, and the
                // flow job (if one was created) is resumed by lease expiry.
                Log.HandlerFailed(_logger, cast.Method, cast.MessageId, ex);
            }
            await channel.BasicAckAsync(delivery.DeliveryTag, multiple: false, CancellationToken.None).ConfigureAwait(false);
        };
        await channel.BasicConsumeAsync(_options.Topic, autoAck: false, consumer, cancellationToken).ConfigureAwait(false);
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_publishChannel is not null)
        {
            await _publishChannel.DisposeAsync().ConfigureAwait(false);
        }
        if (_publishConnection is not null)
        {
            await _publishConnection.DisposeAsync().ConfigureAwait(false);
        }
        _publishLock.Dispose();
    }

    /// <summary>oslo.messaging's wire envelope for a cast.</summary>
    public static byte[] Encode(WorkerCast cast)
    {
        ArgumentNullException.ThrowIfNull(cast);
        var message = new JsonObject
        {
            ["method"] = cast.Method,
            ["args"] = cast.Args.DeepClone(),
            ["namespace"] = "controller",
            ["version"] = "2.0",
            ["_unique_id"] = cast.MessageId,
        };
        var envelope = new JsonObject { ["oslo.version"] = "2.0", ["oslo.message"] = message.ToJsonString() };
        return Encoding.UTF8.GetBytes(envelope.ToJsonString());
    }

    /// <summary>Reads an envelope (or a bare message) back into a cast.</summary>
    public static WorkerCast Decode(ReadOnlySpan<byte> body, string? messageId)
    {
        var node = JsonNode.Parse(Encoding.UTF8.GetString(body)) as JsonObject ?? throw new FormatException("message is not a JSON object");
        if (node["oslo.message"]?.GetValue<string>() is { } inner)
        {
            node = JsonNode.Parse(inner) as JsonObject ?? throw new FormatException("oslo.message is not a JSON object");
        }
        var method = node["method"]?.GetValue<string>() ?? throw new FormatException("message has no method");
        var args = node["args"] as JsonObject ?? [];
        var id = node["_unique_id"]?.GetValue<string>() ?? messageId ?? Guid.NewGuid().ToString();
        return new WorkerCast(method, (JsonObject)args.DeepClone()) { MessageId = id };
    }

    private Task<QueueDeclareOk> DeclareAsync(IChannel channel, CancellationToken cancellationToken) =>
        channel.QueueDeclareAsync(_options.Topic, durable: true, exclusive: false, autoDelete: false, arguments: null, cancellationToken: cancellationToken);

    private static partial class Log
    {
        [LoggerMessage(EventId = 3201, Level = LogLevel.Error, Message = "Dropping undecodable message {DeliveryTag}")]
        public static partial void Undecodable(ILogger logger, ulong deliveryTag, Exception exception);

        [LoggerMessage(EventId = 3202, Level = LogLevel.Error, Message = "Handler for cast {Method} ({MessageId}) failed")]
        public static partial void HandlerFailed(ILogger logger, string method, string messageId, Exception exception);
    }
}
