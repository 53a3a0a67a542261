// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using Octavia.Amphora.Agent.Os;

namespace Octavia.Amphora.Agent.Logging;

/// <summary>
/// The amphora's log daemon (rsyslog's role in an upstream amphora). HAProxy writes its log lines into two FIFOs
/// under <c>base_path</c> (<see cref="LogRouting"/>): tenant traffic and administrative messages. A thread per
/// FIFO reads them in large batches, stores them under <c>base_path/logs/</c> (unless
/// <c>disable_local_log_storage</c>) and hands them to the forwarders of <c>tenant_log_targets</c> and
/// <c>admin_log_targets</c>.
/// </summary>
internal sealed class AmphoraLogReceiver : BackgroundService
{
    /// <summary>Local files are rotated (one old generation kept) when they reach this size.</summary>
    internal const long RotateBytes = 16 * 1024 * 1024;

    /// <summary>
    /// What the kernel holds per FIFO while the agent is busy or restarting (about 4,000 traffic lines). HAProxy
    /// never blocks on a full FIFO: it drops the line and counts it in <c>show info</c>'s <c>DroppedLogs</c>.
    /// </summary>
    internal const int PipeBytes = 1024 * 1024;

    private readonly LogSettings _settings;
    private readonly ILogger<AmphoraLogReceiver> _logger;
    private readonly string _hostname;
    private readonly string _directory;
    private readonly LogForwarder? _tenant;
    private readonly LogForwarder? _admin;
    private readonly FifoReader[] _readers;
    private readonly string _adminFifoPath;
    private readonly AdminLogTap? _adminLog;
    private SafeFileHandle? _adminWriter;
    private long _received;

    public AmphoraLogReceiver(AgentSettings settings, AgentPaths paths, ILogger<AmphoraLogReceiver> logger, AdminLogTap? adminLog = null)
    {
        _settings = settings.Logs;
        _logger = logger;
        _hostname = settings.AmphoraId ?? "-";
        _directory = Path.Combine(paths.BasePath, "logs");
        _adminFifoPath = paths.AdminLogFifoPath;
        _adminLog = adminLog;
        _tenant = _settings.TenantTargets.Count > 0 ? new LogForwarder(_settings.TenantTargets, _settings, logger) : null;
        _admin = _settings.AdminTargets.Count > 0 ? new LogForwarder(_settings.AdminTargets, _settings, logger) : null;
        _readers =
        [
            new FifoReader(this, traffic: true, paths.TrafficLogFifoPath, TrafficLogPath),
            new FifoReader(this, traffic: false, paths.AdminLogFifoPath, AdminLogPath),
        ];
    }

    /// <summary>Routes an uploaded configuration's logs to this receiver.</summary>
    public string Route(string config) => LogRouting.RouteToAgent(config, _settings.UserLogFacility);

    /// <summary>The tenant traffic log file.</summary>
    public string TrafficLogPath => Path.Combine(_directory, "traffic.log");

    /// <summary>The administrative log file.</summary>
    public string AdminLogPath => Path.Combine(_directory, "admin.log");

    /// <summary>Lines received from HAProxy (traffic lines of other levels than info not counted: they are not kept).</summary>
    public long Received => Interlocked.Read(ref _received);

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // Before the hosted services that start HAProxy: the FIFOs must exist when its shell opens them.
        foreach (var reader in _readers)
        {
            reader.Start();
        }
        try
        {
            _adminWriter = Posix.OpenFifoWriter(_adminFifoPath);
            _adminLog?.Sink = AdminLine;
        }
        catch (IOException ex)
        {
            Log.LogReceiverFailed(_logger, _adminFifoPath, ex.Message);
        }
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken) =>
        await Task.WhenAll(new[] { _tenant, _admin }.OfType<LogForwarder>().Select(f => f.RunAsync(stoppingToken)))
            .ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _adminLog?.Sink = null;
        foreach (var reader in _readers)
        {
            reader.Dispose();
        }
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    public override void Dispose()
    {
        foreach (var reader in _readers)
        {
            reader.Dispose();
        }
        _adminWriter?.Dispose();
        base.Dispose();
    }

    /// <summary>An RFC 5424 line at info level in the tenant facility, as HAProxy would have sent it.</summary>
    internal string SyslogLine(string message) => Rfc5424(((16 + _settings.UserLogFacility) * 8) + 6, "haproxy", message);

    /// <summary>
    /// A line from the amphora's other programs (the agent, keepalived) for the admin log, stored and forwarded
    /// like HAProxy's administrative lines. It goes into the admin FIFO with one write that never waits, so it
    /// cannot interleave with HAProxy's lines nor hold up the caller; it is dropped when the FIFO is full.
    /// </summary>
    internal void AdminLine(string program, int severity, string message)
    {
        if (_adminWriter is not { IsClosed: false } writer)
        {
            return;
        }
        var line = Rfc5424(((16 + _settings.AdminLogFacility) * 8) + severity, program, message.ReplaceLineEndings(" "));
        var bytes = Encoding.UTF8.GetBytes(line);
        // A write of up to PIPE_BUF (4,096) bytes is atomic.
        var length = Math.Min(bytes.Length, 4095);
        Array.Resize(ref bytes, length + 1);
        bytes[length] = (byte)'\n';
        Posix.TryWrite(writer, bytes);
    }

    private string Rfc5424(int priority, string program, string message) => string.Create(CultureInfo.InvariantCulture,
        $"<{priority}>1 {DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.ffffffZ} {_hostname} {program} - - - {message}");

    /// <summary>
    /// One FIFO and the thread that drains it. The thread reads as much as the FIFO holds, stores all complete
    /// lines with one write, and after a short read pauses for <see cref="BatchPause"/>: while it pauses it is
    /// not waiting on the FIFO, so HAProxy's writes only append to the kernel's buffer instead of waking it once
    /// per line. A busy listener's lines therefore cost the agent about 100 reads a second, an idle one nothing.
    /// </summary>
    private sealed class FifoReader(AmphoraLogReceiver owner, bool traffic, string fifoPath, string logPath) : IDisposable
    {
        private const int ReadBytes = 256 * 1024;
        private static readonly TimeSpan BatchPause = TimeSpan.FromMilliseconds(10);

        private readonly byte[] _buffer = new byte[ReadBytes];
        private readonly byte[] _lines = new byte[ReadBytes + 1];
        private FileStream? _fifo;
        private Thread? _thread;
        private FileStream? _file;
        private bool _storageFailing;
        private volatile bool _stopping;

        private LogForwarder? Forwarder => traffic ? owner._tenant : owner._admin;

        public void Start()
        {
            try
            {
                _fifo = new FileStream(Posix.OpenFifo(fifoPath, PipeBytes), FileAccess.ReadWrite, bufferSize: 0);
            }
            catch (IOException ex)
            {
                Log.LogReceiverFailed(owner._logger, fifoPath, ex.Message);
                return;
            }
            Log.LogReceiverListening(owner._logger, fifoPath, owner._settings.DisableLocalStorage ? "(not stored)" : logPath);
            _thread = new Thread(Run) { IsBackground = true, Name = traffic ? "haproxy traffic log" : "haproxy admin log" };
            _thread.Start();
        }

        /// <summary>Stores what HAProxy has written so far and closes the files; HAProxy keeps its end open.</summary>
        public void Dispose()
        {
            if (_thread is null || _stopping)
            {
                return;
            }
            _stopping = true;
            if (_thread.IsAlive)
            {
                // Wakes a read that waits on an empty FIFO; the empty line it reads is skipped.
                _ = Task.Run(() =>
                {
                    try
                    {
                        _fifo!.Write("\n"u8);
                    }
                    catch (Exception ex) when (ex is IOException or ObjectDisposedException)
                    {
                        // The reader has ended on its own.
                    }
                });
                _thread.Join(TimeSpan.FromSeconds(5));
            }
        }

        private void Run()
        {
            var pending = 0;
            try
            {
                while (true)
                {
                    // The agent holds a write end too, so the FIFO never reads as ended: a read waits for data.
                    var read = _fifo!.Read(_buffer.AsSpan(pending));
                    var stopping = _stopping;
                    var data = _buffer.AsSpan(0, pending + read);
                    var complete = data.LastIndexOf((byte)'\n') + 1;
                    if (stopping || (complete == 0 && data.Length == _buffer.Length))
                    {
                        complete = data.Length;        // an unfinished line at stop, or a line longer than the buffer: store it as it is
                    }
                    Deliver(data[..complete]);
                    data[complete..].CopyTo(_buffer);
                    pending = data.Length - complete;
                    if (stopping || read == 0)
                    {
                        return;
                    }
                    if (read < ReadBytes / 4)
                    {
                        Thread.Sleep(BatchPause);
                    }
                }
            }
            catch (IOException ex)
            {
                Log.LogReceiverFailed(owner._logger, fifoPath, ex.Message);
            }
            finally
            {
                _file?.Dispose();
                _fifo?.Dispose();
            }
        }

        /// <summary>Stores and forwards the non-empty lines of <paramref name="data"/> (the last one may lack its newline).</summary>
        private void Deliver(ReadOnlySpan<byte> data)
        {
            var length = 0;
            var count = 0;
            var forwarder = Forwarder;
            while (!data.IsEmpty)
            {
                var end = data.IndexOf((byte)'\n');
                var line = end < 0 ? data : data[..end];
                data = end < 0 ? [] : data[(end + 1)..];
                if (line.IsEmpty || (traffic && !IsTraffic(ref line)))
                {
                    continue;
                }
                line.CopyTo(_lines.AsSpan(length));
                _lines[length + line.Length] = (byte)'\n';
                length += line.Length + 1;
                count++;
                if (forwarder is not null)
                {
                    var text = Encoding.UTF8.GetString(line);
                    forwarder.Enqueue(traffic ? owner.SyslogLine(text) : text);
                }
            }
            if (length > 0 && !owner._settings.DisableLocalStorage)
            {
                Store(_lines.AsSpan(0, length));
            }
            Interlocked.Add(ref owner._received, count);
        }

        /// <summary>
        /// Traffic lines come in HAProxy's <c>short</c> format, each prefixed with its level (<c>&lt;6&gt;</c> is
        /// info). Like upstream's rsyslog rule <c>local0.=info</c>, only info lines are tenant traffic: the
        /// administrative messages HAProxy also sends to every <c>log</c> target are in the admin log.
        /// </summary>
        private static bool IsTraffic(ref ReadOnlySpan<byte> line)
        {
            if (line.Length >= 3 && line[0] == '<' && line[2] == '>' && line[1] is >= (byte)'0' and <= (byte)'7')
            {
                if (line[1] != '6')
                {
                    return false;
                }
                line = line[3..];
            }
            return true;
        }

        private void Store(ReadOnlySpan<byte> lines)
        {
            try
            {
                if (_file is null || _file.Position >= RotateBytes)
                {
                    if (_file is not null)
                    {
                        _file.Dispose();
                        File.Move(logPath, logPath + ".1", overwrite: true);
                    }
                    Directory.CreateDirectory(owner._directory);
                    // Unbuffered: one write per batch, seen at once by an operator's tail -f.
                    _file = new FileStream(logPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
                }
                _file.Write(lines);
                _storageFailing = false;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                if (!_storageFailing)
                {
                    Log.LogStorageFailed(owner._logger, owner._directory, ex.Message);
                }
                _storageFailing = true;
                _file?.Dispose();
                _file = null;
            }
        }
    }
}
