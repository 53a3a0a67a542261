// Licensed under the Apache License, Version 2.0.

namespace Octavia.Controller.Worker.Engine;

/// <summary>A node of a flow: a task or a sub-flow.</summary>
public abstract class FlowNode
{
    /// <summary>Tasks of this node in depth-first order (their position is their persisted index).</summary>
    public abstract IEnumerable<FlowTask> Tasks();
}

/// <summary>A single task inside a flow.</summary>
public sealed class TaskNode(FlowTask task) : FlowNode
{
    public FlowTask Task { get; } = task;

    public override IEnumerable<FlowTask> Tasks() => [Task];
}

/// <summary>Children run one after another (TaskFlow's <c>linear_flow</c>).</summary>
public sealed class LinearFlow(string name, IEnumerable<FlowNode> children) : FlowNode
{
    public LinearFlow(string name, params FlowNode[] children) : this(name, (IEnumerable<FlowNode>)children)
    {
    }

    public string Name { get; } = name;
    public IReadOnlyList<FlowNode> Children { get; } = children.ToList();

    public override IEnumerable<FlowTask> Tasks() => Children.SelectMany(c => c.Tasks());
}

/// <summary>Children run concurrently (TaskFlow's <c>unordered_flow</c>).</summary>
public sealed class UnorderedFlow(string name, IEnumerable<FlowNode> children) : FlowNode
{
    public UnorderedFlow(string name, params FlowNode[] children) : this(name, (IEnumerable<FlowNode>)children)
    {
    }

    public string Name { get; } = name;
    public IReadOnlyList<FlowNode> Children { get; } = children.ToList();

    public override IEnumerable<FlowTask> Tasks() => Children.SelectMany(c => c.Tasks());
}

/// <summary>Builder shorthands for flow definitions.</summary>
public static class Flow
{
    public static LinearFlow Linear(string name, params object?[] items) => new(name, Nodes(items));

    public static UnorderedFlow Unordered(string name, params object?[] items) => new(name, Nodes(items));

    // Accepts tasks, nodes, nested enumerables and nulls (skipped) so flow definitions read top to bottom.
    private static IEnumerable<FlowNode> Nodes(IEnumerable<object?> items)
    {
        foreach (var item in items)
        {
            switch (item)
            {
                case null:
                    break;
                case FlowNode node:
                    yield return node;
                    break;
                case FlowTask task:
                    yield return new TaskNode(task);
                    break;
                case IEnumerable<object?> many:
                    foreach (var n in Nodes(many))
                    {
                        yield return n;
                    }
                    break;
                default:
                    throw new ArgumentException($"not a flow item: {item.GetType().Name}", nameof(items));
            }
        }
    }
}
