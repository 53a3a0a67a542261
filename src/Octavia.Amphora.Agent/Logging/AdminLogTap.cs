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

    /// <summary>
    /// The least level a category's records are looked at from: Debug where HAProxy's and keepalived's output is
    /// logged, Information for the agent's other categories, Warning for the framework's (a line per API request).
    /// </summary>
    public ILogger CreateLogger(string categoryName) => new Tap(this,
        categoryName == typeof(Haproxy.HaproxyManager).FullName || categoryName == typeof(Keepalived.KeepalivedManager).FullName ? LogLevel.Debug
        : categoryName.StartsWith("Octavia.", StringComparison.Ordinal) ? LogLevel.Information
        : LogLevel.Warning);

    public void Dispose()
    {
    }

    private void Write(LogLevel level, EventId id, string message)
    {
        // The programs' output is logged at Debug here; it is their ordinary output, info in syslog's terms.
        var (program, severity, wanted) = id.Id switch
        {
            Log.KeepalivedOutputId => ("Keepalived", 6, true),
            Log.HaproxyOutputId => ("haproxy", 6, forwardAllLogs),
            _ => ("amphora-agent", Severity(level), level >= LogLevel.Information),
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

        public bool IsEnabled(LogLevel logLevel) => owner.Sink is not null && logLevel >= minimum && logLevel < LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                var message = formatter(state, exception);
                owner.Write(logLevel, eventId, exception is null ? message : $"{message}: {exception.Message}");
            }
        }
    }
}
