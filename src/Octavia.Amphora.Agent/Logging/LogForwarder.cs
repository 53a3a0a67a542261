// Licensed under the Apache License, Version 2.0.

using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Octavia.Amphora.Agent.Logging;

/// <summary>
/// Forwards log lines to one class of targets (tenant or admin) as rsyslog's omfwd does in an upstream
/// amphora: UDP datagrams to the first target, or newline-framed TCP to the first reachable target (the
/// others are backups), with <c>log_retry_count</c> × <c>log_retry_interval</c> before a line is dropped.
/// A bounded queue keeps a dead target from holding up anything else.
/// </summary>
internal sealed class LogForwarder
{
    private readonly IReadOnlyList<IPEndPoint> _targets;
    private readonly LogSettings _settings;
    private readonly ILogger _logger;
    private readonly Channel<string> _queue;
    private long _dropped;

    public LogForwarder(IReadOnlyList<IPEndPoint> targets, LogSettings settings, ILogger logger)
    {
        _targets = targets;
        _settings = settings;
        _logger = logger;
        _queue = Channel.CreateBounded<string>(new BoundedChannelOptions(settings.QueueSize)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        }, _ => Interlocked.Increment(ref _dropped));
    }

    /// <summary>Lines dropped because the queue was full or no target took them.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public void Enqueue(string line) => _queue.Writer.TryWrite(line);

    public Task RunAsync(CancellationToken ct) => _settings.Tcp ? RunTcpAsync(ct) : RunUdpAsync(ct);

    private async Task RunUdpAsync(CancellationToken ct)
    {
        var target = _targets[0];
        using var socket = new Socket(target.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        await foreach (var line in _queue.Reader.ReadAllAsync(ct).ConfigureAwait(false))
        {
            try
            {
                await socket.SendToAsync(Encoding.UTF8.GetBytes(line), target, ct).ConfigureAwait(false);
            }
            catch (SocketException)
            {
                Interlocked.Increment(ref _dropped);
            }
        }
    }

    private async Task RunTcpAsync(CancellationToken ct)
    {
        Socket? connection = null;
        try
        {
            await foreach (var line in _queue.Reader.ReadAllAsync(ct).ConfigureAwait(false))
            {
                var bytes = Encoding.UTF8.GetBytes(line + "\n");
                for (var attempt = 0; ; attempt++)
                {
                    connection ??= await ConnectAsync(ct).ConfigureAwait(false);
                    if (connection is not null)
                    {
                        try
                        {
                            await connection.SendAsync(bytes, ct).ConfigureAwait(false);
                            break;
                        }
                        catch (SocketException)
                        {
                            connection.Dispose();
                            connection = null;
                        }
                    }
                    if (attempt >= _settings.RetryCount)
                    {
                        Interlocked.Increment(ref _dropped);
                        break;
                    }
                    await Task.Delay(TimeSpan.FromSeconds(_settings.RetryInterval), ct).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            connection?.Dispose();
        }
    }

    /// <summary>The first target that accepts a connection, in order; null when none does.</summary>
    private async Task<Socket?> ConnectAsync(CancellationToken ct)
    {
        foreach (var target in _targets)
        {
            var socket = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(TimeSpan.FromSeconds(5));
                await socket.ConnectAsync(target, timeout.Token).ConfigureAwait(false);
                Log.LogTargetConnected(_logger, target.ToString());
                return socket;
            }
            catch (Exception ex) when (ex is SocketException || (ex is OperationCanceledException && !ct.IsCancellationRequested))
            {
                socket.Dispose();
                Log.LogTargetUnreachable(_logger, target.ToString(), ex.Message);
            }
        }
        return null;
    }
}
