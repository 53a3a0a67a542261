// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Octavia.Amphora.Agent.Logging;

/// <summary>
/// The amphora's log daemon (rsyslog's role in an upstream amphora): receives HAProxy's ring forwarding on an
/// abstract unix socket private to this amphora, stores tenant traffic and administrative lines under
/// <c>base_path/logs/</c> (unless <c>disable_local_log_storage</c>), and forwards them to
/// <c>tenant_log_targets</c> / <c>admin_log_targets</c>.
/// </summary>
/// <remarks>
/// Traffic logs come at the request rate, so the receiving path is built for batches, not lines: each HAProxy
/// connection has its own thread that reads with blocking calls into a large buffer, appends every complete
/// line of a read to the file with one write, and makes no string per line unless a forwarder needs one.
/// After a small read the thread waits <see cref="BatchDelay"/> before reading again, so lines arrive in
/// batches of many instead of one wake-up (for HAProxy's send and for this thread) per few lines; HAProxy
/// keeps what it has not sent yet in its ring. Lines therefore reach the file at most that much later.
/// </remarks>
internal sealed class AmphoraLogReceiver : BackgroundService
{
    /// <summary>Local files are rotated (one old generation kept) when they reach this size.</summary>
    internal const long RotateBytes = 16 * 1024 * 1024;

    /// <summary>Bytes read at once. A line is at most the ring's <c>maxlen</c> (4096), far less.</summary>
    internal const int BufferBytes = 256 * 1024;

    /// <summary>A read shorter than this means HAProxy has little queued: wait before the next read.</summary>
    internal const int SmallRead = 64 * 1024;

    /// <summary>The wait after a small read: how long lines may wait in HAProxy's ring and socket.</summary>
    internal static readonly TimeSpan BatchDelay = TimeSpan.FromMilliseconds(10);

    private readonly LogSettings _settings;
    private readonly ILogger<AmphoraLogReceiver> _logger;
    private readonly string _trafficName;
    private readonly string _adminName;
    private readonly string _directory;
    private readonly byte[] _tenantHeaderStart;
    private readonly byte[] _tenantHeaderEnd;
    private readonly LogFile? _trafficFile;
    private readonly LogFile? _adminFile;
    private readonly LogForwarder? _tenant;
    private readonly LogForwarder? _admin;
    private readonly List<(Socket Socket, bool Traffic)> _listeners = [];
    private readonly ConcurrentDictionary<Socket, Task> _readers = new();
    private volatile bool _stopping;
    private long _received;

    public AmphoraLogReceiver(AgentSettings settings, AgentPaths paths, ILogger<AmphoraLogReceiver> logger)
    {
        _settings = settings.Logs;
        _logger = logger;
        // Abstract sockets belong to the network namespace; in loopback mode all amphorae share the host's.
        var id = settings.AmphoraId ?? Guid.NewGuid().ToString("N");
        _trafficName = "octavia-traffic-" + id;
        _adminName = "octavia-admin-" + id;
        _directory = Path.Combine(paths.BasePath, "logs");
        // RFC 5424 at info level in the tenant facility, as HAProxy would have sent it: "<PRI>1 TIMESTAMP HOST haproxy - - - ".
        _tenantHeaderStart = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"<{((16 + _settings.UserLogFacility) * 8) + 6}>1 "));
        _tenantHeaderEnd = Encoding.UTF8.GetBytes($" {settings.AmphoraId ?? "-"} haproxy - - - ");
        if (!_settings.DisableLocalStorage)
        {
            _trafficFile = new LogFile(TrafficLogPath, this);
            _adminFile = new LogFile(AdminLogPath, this);
        }
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
        var forwarders = new[] { _tenant, _admin }.OfType<LogForwarder>().Select(f => Task.Run(() => f.RunAsync(stoppingToken), CancellationToken.None)).ToList();
        try
        {
            await Task.WhenAll(_listeners.Select(l => AcceptAsync(l.Socket, l.Traffic, stoppingToken))).ConfigureAwait(false);
        }
        finally
        {
            _stopping = true;
            _listeners.ForEach(l => l.Socket.Dispose());
            foreach (var connection in _readers.Keys)
            {
                connection.Dispose();
            }
            await Task.WhenAll(_readers.Values.Concat(forwarders).Select(w => w.ContinueWith(_ => { }, TaskScheduler.Default))).ConfigureAwait(false);
            _trafficFile?.Dispose();
            _adminFile?.Dispose();
        }
    }

    private async Task AcceptAsync(Socket listener, bool traffic, CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var connection = await listener.AcceptAsync(ct).ConfigureAwait(false);
                // Blocking reads on a thread of its own: no event-loop round trip per read (see the remarks).
                _readers[connection] = Task.Factory.StartNew(() => Read(connection, traffic), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Read(Socket connection, bool traffic)
    {
        var buffer = new byte[BufferBytes];
        var kept = 0;   // the start of a line whose end has not arrived yet
        try
        {
            while (!_stopping)
            {
                if (kept == buffer.Length)
                {
                    kept = 0;   // no newline in a whole buffer: not HAProxy's ring (maxlen 4096); drop it
                }
                var n = connection.Receive(buffer.AsSpan(kept));
                if (n == 0)
                {
                    Deliver(traffic, buffer.AsSpan(0, kept), lastLineEnded: false);
                    return;
                }
                var end = kept + n;
                var complete = buffer.AsSpan(0, end).LastIndexOf((byte)'\n') + 1;
                if (complete > 0)
                {
                    Deliver(traffic, buffer.AsSpan(0, complete), lastLineEnded: true);
                    buffer.AsSpan(complete, end - complete).CopyTo(buffer);
                }
                kept = end - complete;
                if (n < SmallRead)
                {
                    Thread.Sleep(BatchDelay);
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // HAProxy reconnects (a reload starts new workers), or the agent is stopping; nothing to do.
        }
        finally
        {
            connection.Dispose();
            _readers.TryRemove(connection, out _);
        }
    }

    /// <summary>
    /// Stores and forwards the lines in <paramref name="data"/>: complete lines each ending with a newline, except
    /// the last one when <paramref name="lastLineEnded"/> is false (the connection closed in mid-line). Empty
    /// lines are skipped. Traffic lines arrive raw and get an RFC 5424 header to travel.
    /// </summary>
    internal void Deliver(bool traffic, ReadOnlySpan<byte> data, bool lastLineEnded)
    {
        if (data.IsEmpty)
        {
            return;
        }
        var forwarder = traffic ? _tenant : _admin;
        var file = traffic ? _trafficFile : _adminFile;
        // The common case, and the one at the request rate: whole, non-empty lines, stored as they came in one write.
        var whole = lastLineEnded && data[0] != (byte)'\n' && data.IndexOf("\n\n"u8) < 0;
        if (whole)
        {
            file?.Append(data, []);
            Interlocked.Add(ref _received, data.Count((byte)'\n'));
            if (forwarder is null)
            {
                return;
            }
        }
        var header = traffic && forwarder is not null ? TenantHeader() : [];
        var count = 0;
        for (var rest = data; !rest.IsEmpty;)
        {
            var eol = rest.IndexOf((byte)'\n');
            var line = eol < 0 ? rest : rest[..eol];
            rest = eol < 0 ? [] : rest[(eol + 1)..];
            if (line.IsEmpty)
            {
                continue;
            }
            count++;
            if (!whole)
            {
                file?.Append(line, "\n"u8);
            }
            forwarder?.Enqueue(header, line);
        }
        if (!whole)
        {
            Interlocked.Add(ref _received, count);
        }
    }

    /// <summary>The RFC 5424 header of forwarded traffic lines, with the time they were received.</summary>
    internal byte[] TenantHeader()
    {
        Span<byte> time = stackalloc byte[32];
        DateTime.UtcNow.TryFormat(time, out var length, "yyyy-MM-ddTHH:mm:ss.ffffffZ", CultureInfo.InvariantCulture);
        return [.. _tenantHeaderStart, .. time[..length], .. _tenantHeaderEnd];
    }

    /// <summary>
    /// One local log file, appended to by every connection's thread: each append is one write of whole lines,
    /// so lines from two HAProxy workers (during a reload) never mix. A write error stops storage with one error.
    /// </summary>
    private sealed class LogFile(string path, AmphoraLogReceiver owner) : IDisposable
    {
        private readonly Lock _lock = new();
        private FileStream? _stream;
        private long _length;
        private bool _failed;

        public void Append(ReadOnlySpan<byte> data, ReadOnlySpan<byte> suffix)
        {
            lock (_lock)
            {
                if (_failed)
                {
                    return;
                }
                try
                {
                    if (_stream is null || _length >= RotateBytes)
                    {
                        if (_stream is not null)
                        {
                            _stream.Dispose();
                            File.Move(path, path + ".1", overwrite: true);
                        }
                        Directory.CreateDirectory(owner._directory);
                        // Unbuffered: each Write is one write(2), so readers (an operator's tail -f) see whole lines at once.
                        _stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
                        _length = _stream.Length;
                    }
                    _stream.Write(data);
                    _stream.Write(suffix);
                    _length += data.Length + suffix.Length;
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    _failed = true;
                    Log.LogStorageFailed(owner._logger, owner._directory, ex.Message);
                }
            }
        }

        public void Dispose()
        {
            lock (_lock)
            {
                _stream?.Dispose();
                _stream = null;
                _failed = true;
            }
        }
    }
}
