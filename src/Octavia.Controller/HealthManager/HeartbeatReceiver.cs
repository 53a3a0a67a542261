// Licensed under the Apache License, Version 2.0.

using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Octavia.Core.Heartbeat;

namespace Octavia.Controller.HealthManager;

/// <summary>
/// Upstream's <c>UDPStatusGetter</c>: reads heartbeats from the UDP socket, verifies and decodes them and
/// hands them to the updater through a bounded queue. Hostile or broken packets are counted and dropped;
/// when the updater falls behind, heartbeats are dropped (and counted) rather than stalling the socket.
/// </summary>
internal sealed partial class HeartbeatReceiver
{
    private const int SolSocket = 1;
    private const int SoRcvBufForce = 33;

    private readonly byte[] _key;
    private readonly HeartbeatCounters _counters;
    private readonly ChannelWriter<HeartbeatMessage> _queue;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly LogThrottle _throttle;

    internal HeartbeatReceiver(byte[] key, HeartbeatCounters counters, ChannelWriter<HeartbeatMessage> queue, TimeProvider timeProvider, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(counters);
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _key = key;
        _counters = counters;
        _queue = queue;
        _timeProvider = timeProvider;
        _logger = logger;
        _throttle = new LogThrottle(timeProvider, TimeSpan.FromSeconds(10));
    }

    /// <summary>Binds the heartbeat socket (<c>[health_manager] bind_ip:bind_port</c>).</summary>
    public static Socket Bind(string ip, int port, int receiveBuffer)
    {
        var address = IPAddress.Parse(ip);
        var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (receiveBuffer > 0)
            {
                socket.ReceiveBufferSize = receiveBuffer;
                // SO_RCVBUF is capped by net.core.rmem_max; root may go past it with SO_RCVBUFFORCE (Linux).
                if (OperatingSystem.IsLinux() && socket.ReceiveBufferSize < receiveBuffer)
                {
                    try
                    {
                        socket.SetRawSocketOption(SolSocket, SoRcvBufForce, BitConverter.GetBytes(receiveBuffer));
                    }
                    catch (SocketException)
                    {
                    }
                }
            }
            socket.Bind(new IPEndPoint(address, port));
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Receives until cancelled. Never throws on bad input.</summary>
    public async Task RunAsync(Socket socket, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(socket);
        var buffer = new byte[HeartbeatCodec.MaxDatagram];
        var endpoint = socket.LocalEndPoint?.ToString() ?? "?";
        LogListening(_logger, endpoint);
        while (!cancellationToken.IsCancellationRequested)
        {
            int length;
            try
            {
                length = await socket.ReceiveAsync(buffer.AsMemory(), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (SocketException ex)
            {
                // ICMP errors and the like surface here on UDP sockets; the socket stays usable.
                LogSocketError(_logger, ex.SocketErrorCode);
                continue;
            }
            try
            {
                Accept(buffer.AsSpan(0, length));
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Accept does not throw on any input we know of; if one is found, drop that packet, not the receiver.
                _counters.BadMessage();
                LogUnexpected(_logger, ex);
            }
        }
    }

    /// <summary>Verifies, decodes and queues one datagram.</summary>
    internal void Accept(ReadOnlySpan<byte> packet)
    {
        _counters.Received();
        var json = HeartbeatCodec.TryDecode(packet, _key, out var error);
        if (json is null)
        {
            if (error == "bad signature")
            {
                _counters.BadSignature();
            }
            else
            {
                _counters.BadCompression();
            }
            Dropped(error ?? "undecodable");
            return;
        }
        var message = HeartbeatMessage.TryParse(json, _timeProvider.GetUtcNow(), out error);
        if (message is null)
        {
            _counters.BadMessage();
            Dropped(error ?? "bad message");
            return;
        }
        if (!_queue.TryWrite(message))
        {
            _counters.QueueFull();
            Dropped("queue full");
            return;
        }
        _counters.Queued();
    }

    private void Dropped(string reason)
    {
        if (_logger.IsEnabled(LogLevel.Debug) && _throttle.ShouldLog(reason, out var suppressed))
        {
            LogDropped(_logger, reason, suppressed);
        }
    }

    [LoggerMessage(EventId = 4100, Level = LogLevel.Information, Message = "Listening for amphora heartbeats on {Endpoint}")]
    private static partial void LogListening(ILogger logger, string endpoint);

    [LoggerMessage(EventId = 4101, Level = LogLevel.Debug, Message = "Dropped a heartbeat packet: {Reason} ({Suppressed} more dropped for this reason since the last message)")]
    private static partial void LogDropped(ILogger logger, string reason, long suppressed);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Warning, Message = "Unexpected error decoding a heartbeat packet; dropped")]
    private static partial void LogUnexpected(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Debug, Message = "Heartbeat socket reported {Error}")]
    private static partial void LogSocketError(ILogger logger, SocketError error);
}
