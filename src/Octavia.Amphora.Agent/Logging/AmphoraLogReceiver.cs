// Licensed under the Apache License, Version 2.0.

using System.Globalization;
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
    private readonly string _trafficName;
    private readonly string _adminName;
    private readonly string _hostname;
    private readonly string _directory;
    private readonly Channel<(bool Traffic, string Line)> _local;
    private readonly LogForwarder? _tenant;
    private readonly LogForwarder? _admin;
    private readonly List<(Socket Socket, bool Traffic)> _listeners = [];
    private long _received;
    private long _droppedLocal;

    public AmphoraLogReceiver(AgentSettings settings, AgentPaths paths, ILogger<AmphoraLogReceiver> logger)
    {
        _settings = settings.Logs;
        _logger = logger;
        // Abstract sockets belong to the network namespace; in loopback mode all amphorae share the host's.
        var id = settings.AmphoraId ?? Guid.NewGuid().ToString("N");
        _trafficName = "octavia-traffic-" + id;
        _adminName = "octavia-admin-" + id;
        _hostname = settings.AmphoraId ?? "-";
        _directory = Path.Combine(paths.BasePath, "logs");
        _local = Channel.CreateBounded<(bool, string)>(new BoundedChannelOptions(_settings.QueueSize)
        {
            FullMode = BoundedChannelFullMode.DropWrite,
            SingleReader = true,
        }, _ => Interlocked.Increment(ref _droppedLocal));
        _tenant = _settings.TenantTargets.Count > 0 ? new LogForwarder(_settings.TenantTargets, _settings, logger) : null;
        _admin = _settings.AdminTargets.Count > 0 ? new LogForwarder(_settings.AdminTargets, _settings, logger) : null;
    }

    /// <summary>Where HAProxy's traffic ring forwards to (<c>server agent …</c>).</summary>
    public string TrafficTarget => "abns@" + _trafficName;

    /// <summary>Where HAProxy's administrative ring forwards to.</summary>
    public string AdminTarget => "abns@" + _adminName;

    /// <summary>Routes an uploaded configuration's logs to this receiver.</summary>
    public string Route(string config) => LogRouting.RouteToAgent(config, _settings.UserLogFacility, TrafficTarget, AdminTarget);

    /// <summary>The tenant traffic log file.</summary>
    public string TrafficLogPath => Path.Combine(_directory, "traffic.log");

    /// <summary>The administrative log file.</summary>
    public string AdminLogPath => Path.Combine(_directory, "admin.log");

    /// <summary>Lines received from HAProxy.</summary>
    public long Received => Interlocked.Read(ref _received);

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // Bound before the hosted services that start HAProxy, so their first lines are not lost.
        foreach (var (name, traffic) in new[] { (_trafficName, true), (_adminName, false) })
        {
            try
            {
                var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                // HAProxy's abns@ addresses fill all of sun_path (108 bytes) and pad the name with NULs.
                listener.Bind(new UnixDomainSocketEndPoint("\0" + name.PadRight(107, '\0')));
                listener.Listen(16);
                _listeners.Add((listener, traffic));
                Log.LogReceiverListening(_logger, "abns@" + name, _settings.DisableLocalStorage ? "(not stored)" : _directory);
            }
            catch (SocketException ex)
            {
                Log.LogReceiverFailed(_logger, "abns@" + name, ex.Message);
            }
        }
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_listeners.Count == 0)
        {
            return;
        }
        var workers = new List<Task> { Task.Run(() => StoreAsync(stoppingToken), CancellationToken.None) };
        workers.AddRange(new[] { _tenant, _admin }.OfType<LogForwarder>().Select(f => Task.Run(() => f.RunAsync(stoppingToken), CancellationToken.None)));
        try
        {
            await Task.WhenAll(_listeners.Select(l => AcceptAsync(l.Socket, l.Traffic, stoppingToken))).ConfigureAwait(false);
        }
        finally
        {
            _listeners.ForEach(l => l.Socket.Dispose());
            _local.Writer.TryComplete();
            await Task.WhenAll(workers.Select(w => w.ContinueWith(_ => { }, TaskScheduler.Default))).ConfigureAwait(false);
        }
    }

    private async Task AcceptAsync(Socket listener, bool traffic, CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var connection = await listener.AcceptAsync(ct).ConfigureAwait(false);
                _ = Task.Run(() => ReadAsync(connection, traffic, ct), CancellationToken.None);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task ReadAsync(Socket connection, bool traffic, CancellationToken ct)
    {
        using var stream = new NetworkStream(connection, ownsSocket: true);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        try
        {
            while (await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
            {
                if (line.Length > 0)
                {
                    Dispatch(traffic, line);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or SocketException)
        {
            // HAProxy reconnects (a reload starts new workers); nothing to do.
        }
    }

    /// <summary>Hands a line to storage and the forwarders. Traffic lines arrive raw and get an RFC 5424 header to travel.</summary>
    internal void Dispatch(bool traffic, string line)
    {
        Interlocked.Increment(ref _received);
        if (!_settings.DisableLocalStorage)
        {
            _local.Writer.TryWrite((traffic, line));
        }
        if (traffic)
        {
            _tenant?.Enqueue(SyslogLine(line));
        }
        else
        {
            _admin?.Enqueue(line);
        }
    }

    /// <summary>An RFC 5424 line at info level in the tenant facility, as HAProxy would have sent it.</summary>
    internal string SyslogLine(string message) => string.Create(CultureInfo.InvariantCulture,
        $"<{((16 + _settings.UserLogFacility) * 8) + 6}>1 {DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.ffffffZ} {_hostname} haproxy - - - {message}");

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
