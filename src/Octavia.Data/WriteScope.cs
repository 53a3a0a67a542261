// Licensed under the Apache License, Version 2.0.

namespace Octavia.Data;

/// <summary>
/// The transaction a caller is writing in right now (the API's store sets it around a request's write), so
/// that a row which must commit with it joins it, and work which must wait for that commit runs after it.
/// The all-in-one bus uses it: the cast's journal row commits with the load balancer's PENDING state, and
/// the worker is handed the cast only once both are visible.
/// </summary>
public sealed class WriteScope
{
    private static readonly AsyncLocal<WriteScope?> s_current = new();
    private readonly List<Func<Task>> _afterCommit = [];

    private WriteScope(OctaviaDbContext context) => Context = context;

    /// <summary>The scope of the write the current async flow is in, if any.</summary>
    public static WriteScope? Current => s_current.Value;

    /// <summary>The context whose transaction commits the write.</summary>
    public OctaviaDbContext Context { get; }

    /// <summary>
    /// Makes a scope current for the rest of the calling async method and what it awaits. Call it from the
    /// async method that commits: the value is restored when that method returns.
    /// </summary>
    public static WriteScope Enter(OctaviaDbContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var scope = new WriteScope(context);
        s_current.Value = scope;
        return scope;
    }

    /// <summary>Clears the current scope (after commit or rollback).</summary>
    public static void Exit() => s_current.Value = null;

    /// <summary>Runs <paramref name="action"/> after the transaction commits; never if it rolls back.</summary>
    public void AfterCommit(Func<Task> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        _afterCommit.Add(action);
    }

    /// <summary>Runs the after-commit actions, in order. The store calls it once the commit succeeded.</summary>
    public async Task CommittedAsync()
    {
        foreach (var action in _afterCommit)
        {
            await action().ConfigureAwait(false);
        }
    }
}
