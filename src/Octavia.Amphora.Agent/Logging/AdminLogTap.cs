// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.Logging;

namespace Octavia.Amphora.Agent.Logging;

/// <summary>
/// Copies the agent's log records that upstream's amphora sends to the administrative syslog facility into the
/// admin log (<see cref="AmphoraLogReceiver.AdminLine"/>), as upstream's rsyslog rule <c>local&lt;admin&gt;.*</c>
/// does: the agent's own records from Information up (upstream's agent logs to syslog in that facility) and
/// keepalived's output (upstream starts it with <c>--log-facility</c>). HAProxy's console output (start-up
/// notices and warnings, in the journal in upstream's amphora) only with <c>forward_all_logs</c>.
/// It is a logger provider, so that the receiver, which logs too, can be created after it.
/// </summary>
internal sealed class AdminLogTap(bool forwardAllLogs) : ILoggerProvider
{
    /// <summary>Where the records go once the receiver is up: program, syslog severity, message.</summary>
    internal Action<string, int, string>? Sink { get; set; }

    /// <summary>The agent's own categories from Information up; the framework's (a line per API request) from Warning up.</summary>
    public ILogger CreateLogger(string categoryName) =>
        new Tap(this, categoryName.StartsWith("Octavia.", StringComparison.Ordinal) ? LogLevel.Information : LogLevel.Warning);

    public void Dispose()
    {
    }

    private void Write(LogLevel level, LogLevel minimum, EventId id, string message)
    {
        // The programs' output is logged at Debug here; it is their ordinary output, info in syslog's terms.
        var (program, severity, wanted) = id.Id switch
        {
            Log.KeepalivedOutputId => ("Keepalived", 6, true),
            Log.HaproxyOutputId => ("haproxy", 6, forwardAllLogs),
            _ => ("amphora-agent", Severity(level), level >= minimum),
        };
        if (wanted)
        {
            Sink?.Invoke(program, severity, message);
        }
    }

    /// <summary>The syslog severity Python's SysLogHandler gives a record of this level.</summary>
    private static int Severity(LogLevel level) => level switch
    {
        LogLevel.Critical => 2,
        LogLevel.Error => 3,
        LogLevel.Warning => 4,
        LogLevel.Information => 6,
        _ => 7,
    };

    private sealed class Tap(AdminLogTap owner, LogLevel minimum) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        // Debug: the level HAProxy's and keepalived's output is logged at.
        public bool IsEnabled(LogLevel logLevel) => owner.Sink is not null && logLevel is >= LogLevel.Debug and < LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                var message = formatter(state, exception);
                owner.Write(logLevel, minimum, eventId, exception is null ? message : $"{message}: {exception.Message}");
            }
        }
    }
}
