// Licensed under the Apache License, Version 2.0.

using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Octavia.Amphora.Agent.Logging;

/// <summary>
/// The amphora's log daemon (rsyslog's role in an upstream amphora): receives HAProxy's ring forwarding on an
/// abstract unix socket private to this amphora, stores tenant traffic and administrative lines under
/// <c>base_path/logs/</c> (unless <c>disable_local_log_storage</c>), and forwards them to
/// <c>tenant_log_targets</c> / <c>admin_log_targets</c>.
/// </summary>
internal sealed class AmphoraLogReceiver : BackgroundService
{
    /// <summary>Local files are rotated (one old generation kept) when they reach this size.</summary>
    internal const long RotateBytes = 16 * 1024 * 1024;

    private readonly LogSettings _settings;
    private readonly ILogger<AmphoraLogReceiver> _logger;
    private readonly string _name;
    private readonly string _directory;
    private readonly Channel<(bool Traffic, string Line)> _local;
    private readonly LogForwarder? _tenant;
    private readonly LogForwarder? _admin;
    private Socket? _listener;
    private long _received;
    private long _droppedLocal;

    public AmphoraLogReceiver(AgentSettings settings, AgentPaths paths, ILogger<AmphoraLogReceiver> logger)
    {
        _settings = settings.Logs;
        _logger = logger;
        // Abstract sockets belong to the network namespace; in loopback mode all amphorae share the host's.
        _name = "octavia-log-" + (settings.AmphoraId ?? Guid.NewGuid().ToString("N"));
        _directory = Path.Combine(paths.BasePath, "logs");
        _local = Channel.CreateBounded<(bool, string)>(new BoundedChannelOptions(_settings.QueueSize)
        {
            FullMode = BoundedChannelFullMode.DropWrite,
            SingleReader = true,
        }, _ => Interlocked.Increment(ref _droppedLocal));
        _tenant = _settings.TenantTargets.Count > 0 ? new LogForwarder(_settings.TenantTargets, _settings, logger) : null;
        _admin = _settings.AdminTargets.Count > 0 ? new LogForwarder(_settings.AdminTargets, _settings, logger) : null;
    }

    /// <summary>The address HAProxy's ring forwards to (<c>server agent …</c>).</summary>
    public string RingTarget => "abns@" + _name;

    /// <summary>The tenant traffic log file.</summary>
    public string TrafficLogPath => Path.Combine(_directory, "traffic.log");

    /// <summary>The administrative log file.</summary>
    public string AdminLogPath => Path.Combine(_directory, "admin.log");

    /// <summary>Lines received from HAProxy.</summary>
    public long Received => Interlocked.Read(ref _received);

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // Bound before the hosted services that start HAProxy, so their first lines are not lost.
        try
        {
            var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            // HAProxy's abns@ addresses fill all of sun_path (108 bytes) and pad the name with NULs.
            listener.Bind(new UnixDomainSocketEndPoint("\0" + _name.PadRight(107, '\0')));
            listener.Listen(16);
            _listener = listener;
            Log.LogReceiverListening(_logger, RingTarget, _settings.DisableLocalStorage ? "(not stored)" : _directory);
        }
        catch (SocketException ex)
        {
            Log.LogReceiverFailed(_logger, RingTarget, ex.Message);
        }
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_listener is not { } listener)
        {
            return;
        }
        var workers = new List<Task> { Task.Run(() => StoreAsync(stoppingToken), CancellationToken.None) };
        workers.AddRange(new[] { _tenant, _admin }.OfType<LogForwarder>().Select(f => Task.Run(() => f.RunAsync(stoppingToken), CancellationToken.None)));
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var connection = await listener.AcceptAsync(stoppingToken).ConfigureAwait(false);
                _ = Task.Run(() => ReadAsync(connection, stoppingToken), CancellationToken.None);
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            listener.Dispose();
            _local.Writer.TryComplete();
            await Task.WhenAll(workers.Select(w => w.ContinueWith(_ => { }, TaskScheduler.Default))).ConfigureAwait(false);
        }
    }

    private async Task ReadAsync(Socket connection, CancellationToken ct)
    {
        using var stream = new NetworkStream(connection, ownsSocket: true);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        try
        {
            while (await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
            {
                if (line.Length > 0)
                {
                    Dispatch(line);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or SocketException)
        {
            // HAProxy reconnects (a reload starts new workers); nothing to do.
        }
    }

    /// <summary>Classifies a line by its syslog facility and hands it to storage and the forwarders.</summary>
    internal void Dispatch(string line)
    {
        Interlocked.Increment(ref _received);
        var traffic = Facility(line) == 16 + _settings.UserLogFacility;
        if (!_settings.DisableLocalStorage)
        {
            _local.Writer.TryWrite((traffic, line));
        }
        (traffic ? _tenant : _admin)?.Enqueue(line);
    }

    /// <summary>The facility in a syslog line's <c>&lt;PRI&gt;</c>, or -1.</summary>
    internal static int Facility(string line)
    {
        var end = line.IndexOf('>', StringComparison.Ordinal);
        return line.Length > 2 && line[0] == '<' && end is > 1 and < 5
            && int.TryParse(line.AsSpan(1, end - 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var pri)
            ? pri / 8
            : -1;
    }

    private async Task StoreAsync(CancellationToken ct)
    {
        Directory.CreateDirectory(_directory);
        var files = new Dictionary<bool, StreamWriter>();
        try
        {
            var reader = _local.Reader;
            while (await reader.WaitToReadAsync(ct).ConfigureAwait(false))
            {
                while (reader.TryRead(out var item))
                {
                    var path = item.Traffic ? TrafficLogPath : AdminLogPath;
                    if (!files.TryGetValue(item.Traffic, out var writer) || writer.BaseStream.Length >= RotateBytes)
                    {
                        if (writer is not null)
                        {
                            await writer.DisposeAsync().ConfigureAwait(false);
                            File.Move(path, path + ".1", overwrite: true);
                        }
                        writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite), new UTF8Encoding(false));
                        files[item.Traffic] = writer;
                    }
                    await writer.WriteLineAsync(item.Line).ConfigureAwait(false);
                }
                // Flush once the burst is written: readers (an operator's tail -f) see whole lines promptly.
                foreach (var writer in files.Values)
                {
                    await writer.FlushAsync(ct).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (IOException ex)
        {
            Log.LogStorageFailed(_logger, _directory, ex.Message);
        }
        finally
        {
            foreach (var writer in files.Values)
            {
                await writer.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
