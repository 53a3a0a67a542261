// Licensed under the Apache License, Version 2.0.

using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Octavia.Core.Configuration;
using Octavia.Core.Drivers;
using Octavia.Core.Messaging;
using Octavia.Data;

namespace Octavia.Controller.HealthManager;

/// <summary>
/// The health manager process (upstream's <c>octavia-health-manager</c>): the heartbeat receiver, the
/// database updater behind a bounded queue, and the failover detector, run together until cancelled.
/// </summary>
public sealed partial class HealthManagerService : IAsyncDisposable
{
    /// <summary>Heartbeats held between the socket and the updater before new ones are dropped.</summary>
    public const int DefaultQueueCapacity = 65536;

    private readonly Channel<HeartbeatMessage> _queue;
    private readonly HeartbeatReceiver _receiver;
    private readonly HealthUpdater _updater;
    private readonly Socket _socket;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    /// <summary>Binds the heartbeat socket at once so a port conflict fails at startup.</summary>
    public HealthManagerService(
        OctaviaDatabase database,
        IWorkerBus bus,
        HealthManagerOptions options,
        TimeProvider timeProvider,
        ILoggerFactory loggerFactory,
        IComputeDriver? compute = null,
        int queueCapacity = DefaultQueueCapacity,
        int socketReceiveBuffer = 0)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(bus);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        if (string.IsNullOrEmpty(options.HeartbeatKey))
        {
            throw new ConfigException("[health_manager] heartbeat_key must be set: amphora heartbeats are signed with it");
        }
        _timeProvider = timeProvider;
        _logger = loggerFactory.CreateLogger("Octavia.HealthManager");
        _queue = Channel.CreateBounded<HeartbeatMessage>(new BoundedChannelOptions(queueCapacity)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _receiver = new HeartbeatReceiver(Encoding.UTF8.GetBytes(options.HeartbeatKey), Counters, _queue.Writer, timeProvider, loggerFactory.CreateLogger("Octavia.HealthManager.Receiver"));
        _updater = new HealthUpdater(database, options, Counters, timeProvider, loggerFactory.CreateLogger("Octavia.HealthManager.Updater"), compute);
        Detector = new FailoverDetector(database, bus, options, timeProvider, loggerFactory.CreateLogger("Octavia.HealthManager.Failover"));
        _socket = HeartbeatReceiver.Bind(options.BindIp, options.BindPort, socketReceiveBuffer);
    }

    /// <summary>What the receiver and updater have done.</summary>
    public HeartbeatCounters Counters { get; } = new();

    /// <summary>The failover detector (its events let callers observe cycles).</summary>
    public FailoverDetector Detector { get; }

    /// <summary>Where the heartbeat socket is bound (useful with <c>bind_port = 0</c>).</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    /// <summary>Runs receiver, updater and detector until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var receive = Task.Run(() => _receiver.RunAsync(_socket, cancellationToken), cancellationToken);
        var update = Task.Run(() => _updater.RunAsync(_queue.Reader, cancellationToken), cancellationToken);
        var detect = Task.Run(() => Detector.RunAsync(cancellationToken), cancellationToken);
        var report = ReportAsync(cancellationToken);
        try
        {
            await Task.WhenAll(receive, update, detect, report).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    // The counters reach the operator as one log line a minute while heartbeats arrive.
    private async Task ReportAsync(CancellationToken cancellationToken)
    {
        long lastReceived = 0;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(ReportInterval, _timeProvider, cancellationToken).ConfigureAwait(false);
                var s = Counters.Snapshot();
                if (s.Received == lastReceived)
                {
                    continue;
                }
                lastReceived = s.Received;
                LogCounters(_logger, s.Received, s.Processed, s.BadSignature, s.BadCompression, s.BadMessage, s.QueueFull, s.UnknownAmphora, s.ZombieAmphora, s.FailedBatches);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private static readonly TimeSpan ReportInterval = TimeSpan.FromMinutes(1);

    [LoggerMessage(EventId = 4130, Level = LogLevel.Information, Message = "Heartbeats: received {Received}, processed {Processed}; dropped: bad signature {BadSignature}, bad compression {BadCompression}, bad message {BadMessage}, queue full {QueueFull}; unknown amphora {Unknown}, zombie amphora {Zombie}; failed batches {FailedBatches}")]
    private static partial void LogCounters(ILogger logger, long received, long processed, long badSignature, long badCompression, long badMessage, long queueFull, long unknown, long zombie, long failedBatches);

    public async ValueTask DisposeAsync()
    {
        _socket.Dispose();
        await _updater.DisposeAsync().ConfigureAwait(false);
    }
}
