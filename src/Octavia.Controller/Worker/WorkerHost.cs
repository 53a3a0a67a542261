// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Octavia.Controller.Messaging;
using Octavia.Controller.Worker.Engine;
using Octavia.Controller.Worker.Flows;
using Octavia.Core.Configuration;
using Octavia.Core.Messaging;
using Octavia.Data;

namespace Octavia.Controller.Worker;

/// <summary>
/// The controller worker process (upstream <c>octavia-worker</c>): resumes or reverts flows whose worker
/// died, then consumes casts from the bus, running up to <c>[controller_worker] workers</c> flows at once.
/// </summary>
public sealed partial class WorkerHost : IAsyncDisposable
{
    private readonly ServiceProvider _services;
    private readonly IWorkerBusConsumer _consumer;
    private readonly ILogger _logger;

    /// <param name="config">octavia.conf.</param>
    /// <param name="registry">Drivers by name.</param>
    /// <param name="loggerFactory">Logging.</param>
    /// <param name="time">The clock.</param>
    /// <param name="consumer">The bus to consume; null picks RabbitMQ from <c>[DEFAULT] transport_url</c>, else an in-process bus.</param>
    /// <exception cref="DriverConfigException">A driver name is unknown.</exception>
    public WorkerHost(OctaviaConfig config, DriverRegistry registry, ILoggerFactory loggerFactory, TimeProvider time, IWorkerBusConsumer? consumer = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        ArgumentNullException.ThrowIfNull(time);
        _logger = loggerFactory.CreateLogger<WorkerHost>();
        Settings = WorkerSettings.FromConfig(config);
        var driverContext = new DriverContext(config, Settings, loggerFactory, time);
        var db = WorkerDbContext.Factory(DatabaseUrl.Parse(OptionBinder.Bind<DatabaseOptions>(config).Connection));
        var workers = Math.Max(1, Settings.ControllerWorker.Workers);

        var services = new ServiceCollection();
        services.AddSingleton(loggerFactory);
        services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        services.AddSingleton(time);
        services.AddSingleton(Settings);
        services.AddSingleton(db);
        services.AddSingleton(registry.CreateCompute(driverContext));
        services.AddSingleton(registry.CreateNetwork(driverContext));
        services.AddSingleton(registry.CreateAmphora(driverContext));
        services.AddSingleton(registry.CreateCertGenerator(driverContext));
        services.AddSingleton(new FlowEngineOptions { Lease = TimeSpan.FromSeconds(Math.Max(2, Settings.ControllerWorker.FlowLeaseSeconds)) });
        services.AddSingleton(sp => new FlowEngine(db, sp, sp.GetRequiredService<FlowEngineOptions>(), time, sp.GetRequiredService<ILogger<FlowEngine>>()));
        services.AddSingleton(_ => new FlowCatalog(db, Settings, time));
        services.AddSingleton(sp => new ControllerWorker(sp.GetRequiredService<FlowEngine>(), sp.GetRequiredService<FlowCatalog>(), workers, sp.GetRequiredService<ILogger<ControllerWorker>>()));
        var transportUrl = OptionBinder.Bind<DefaultOptions>(config).TransportUrl;
        if (consumer is null)
        {
            if (string.IsNullOrEmpty(transportUrl))
            {
                Log.InProcessBus(_logger);
                var bus = new InProcessWorkerBus(workers);
                services.AddSingleton(bus);
                consumer = bus;
            }
            else
            {
                var topic = OptionBinder.Bind<OsloMessagingOptions>(config).Topic;
                var bus = new RabbitMqWorkerBus(
                    new RabbitMqBusOptions { TransportUrl = transportUrl, Topic = string.IsNullOrEmpty(topic) ? "octavia_provisioning_v2" : topic, Prefetch = workers },
                    loggerFactory.CreateLogger<RabbitMqWorkerBus>());
                services.AddSingleton(bus);
                consumer = bus;
            }
        }
        _consumer = consumer;
        _services = services.BuildServiceProvider();
        if (consumer is InProcessWorkerBus inProcess)
        {
            inProcess.Journal = _services.GetRequiredService<ControllerWorker>();
        }
        Time = time;
    }

    public WorkerSettings Settings { get; }

    public TimeProvider Time { get; }

    /// <summary>The worker's services (drivers, engine, catalog).</summary>
    public IServiceProvider Services => _services;

    /// <summary>Runs until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var worker = _services.GetRequiredService<ControllerWorker>();
        var engine = _services.GetRequiredService<FlowEngine>();
        var workers = Math.Max(1, Settings.ControllerWorker.Workers);
        Log.Starting(_logger, engine.Options.Owner, workers);
        var recovery = worker.RecoverOrphansLoopAsync(engine.Options.Lease / 2, Time, cancellationToken);
        var consume = _consumer.ConsumeAsync(worker.HandleCastAsync, cancellationToken);
        await Task.WhenAll(recovery, consume).ConfigureAwait(false);
        Log.Stopped(_logger);
    }

    public async ValueTask DisposeAsync()
    {
        await _services.DisposeAsync().ConfigureAwait(false);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3301, Level = LogLevel.Warning, Message = "[DEFAULT] transport_url is not set: consuming the in-process bus (all-in-one only)")]
        public static partial void InProcessBus(ILogger logger);

        [LoggerMessage(EventId = 3302, Level = LogLevel.Information, Message = "Controller worker {Owner} starting with {Workers} concurrent flows")]
        public static partial void Starting(ILogger logger, string owner, int workers);

        [LoggerMessage(EventId = 3303, Level = LogLevel.Information, Message = "Controller worker stopped")]
        public static partial void Stopped(ILogger logger);
    }
}
