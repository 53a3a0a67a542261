// Licensed under the Apache License, Version 2.0.

using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Octavia.Controller.Worker.Engine;

/// <summary>
/// One step of a flow (upstream TaskFlow's <c>task.Task</c>): <see cref="ExecuteAsync"/> does the work and
/// may return a JSON result stored under <see cref="Provides"/>; <see cref="RevertAsync"/> undoes it when
/// the flow fails. Both may run more than once for the same job (a worker can die at any point), so
/// both must tolerate a repeat.
/// </summary>
public abstract class FlowTask
{
    /// <summary>Name shown in logs and in <c>flow_job.current_task</c>.</summary>
    public virtual string Name => GetType().Name;

    /// <summary>Store key the result is saved under, or null when the result is only kept for revert.</summary>
    public string? Provides { get; init; }

    /// <summary>Does the work.</summary>
    public abstract Task<JsonNode?> ExecuteAsync(FlowContext context, CancellationToken cancellationToken);

    /// <summary>
    /// Undoes <see cref="ExecuteAsync"/>. <paramref name="result"/> is what it returned, or null when it
    /// failed or was interrupted before completing.
    /// </summary>
    public virtual Task RevertAsync(FlowContext context, JsonNode? result, CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>What a running task sees: the job's persisted store and the worker's services.</summary>
public sealed class FlowContext
{
    private readonly Lock _lock = new();

    public FlowContext(string jobId, JsonObject store, IServiceProvider services)
    {
        JobId = jobId;
        Store = store;
        Services = services;
    }

    /// <summary>The job being run.</summary>
    public string JobId { get; }

    /// <summary>The flow store: resolved arguments plus provided results. Persisted after every task.</summary>
    public JsonObject Store { get; }

    /// <summary>Worker services (drivers, database, options).</summary>
    public IServiceProvider Services { get; }

    /// <summary>A required service.</summary>
    public T Get<T>() where T : notnull =>
        (T)(Services.GetService(typeof(T)) ?? throw new InvalidOperationException($"service {typeof(T).Name} is not registered"));

    /// <summary>A required string value of the store.</summary>
    public string GetString(string key) =>
        TryGetString(key) ?? throw new InvalidOperationException($"flow store has no '{key}'");

    /// <summary>An optional string value of the store.</summary>
    public string? TryGetString(string key)
    {
        lock (_lock)
        {
            return Store[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
        }
    }

    /// <summary>A value of the store, cloned so the caller may keep it.</summary>
    public JsonNode? GetNode(string key)
    {
        lock (_lock)
        {
            return Store[key]?.DeepClone();
        }
    }

    /// <summary>Sets a store value (tasks of an unordered flow may call this concurrently).</summary>
    public void Set(string key, JsonNode? value)
    {
        lock (_lock)
        {
            Store[key] = value?.DeepClone();
        }
    }

    /// <summary>A snapshot of the store as JSON text.</summary>
    public string Snapshot()
    {
        lock (_lock)
        {
            return Store.ToJsonString();
        }
    }

    /// <summary>
    /// An id that is the same every time this job asks with the same <paramref name="salt"/>, so a
    /// repeated create finds the row it made before instead of making a second one.
    /// </summary>
    public string DeterministicId(string salt)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(JobId + "/" + salt));
        var bytes = hash.AsSpan(0, 16).ToArray();
        bytes[7] = (byte)((bytes[7] & 0x0F) | 0x40); // version 4 layout, as upstream's ids look
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        return new Guid(bytes).ToString();
    }
}
