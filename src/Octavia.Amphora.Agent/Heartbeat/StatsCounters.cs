// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Octavia.Amphora.Agent.Heartbeat;

/// <summary>
/// Upstream's <c>stats_counters.json</c>: the last absolute HAProxy counters per listener, persisted so a
/// restarted agent keeps sending deltas. A counter that went down means HAProxy restarted: the delta is then
/// the new absolute value.
/// </summary>
internal sealed class StatsCounters(string path)
{
    /// <summary>Counters upstream reports as deltas.</summary>
    public static readonly string[] DeltaMetrics = ["bin", "bout", "ereq", "stot"];

    private Dictionary<string, Dictionary<string, long>>? _counters;

    public Dictionary<string, long> Deltas(string listenerId, IReadOnlyDictionary<string, string> row)
    {
        var counters = Load();
        if (!counters.TryGetValue(listenerId, out var last))
        {
            last = new Dictionary<string, long>(StringComparer.Ordinal);
            counters[listenerId] = last;
        }
        var deltas = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var metric in DeltaMetrics)
        {
            var current = row.TryGetValue(metric, out var text) && long.TryParse(text, CultureInfo.InvariantCulture, out var v) ? v : 0;
            var previous = last.GetValueOrDefault(metric);
            last[metric] = current;
            var delta = current - previous;
            deltas[metric] = delta < 0 ? current : delta;
        }
        return deltas;
    }

    public void Persist()
    {
        if (_counters is null)
        {
            return;
        }
        var json = new JsonObject();
        foreach (var (listener, values) in _counters)
        {
            var o = new JsonObject();
            foreach (var (k, v) in values)
            {
                o[k] = v;
            }
            json[listener] = o;
        }
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, json.ToJsonString());
        File.Move(tmp, path, overwrite: true);
    }

    private Dictionary<string, Dictionary<string, long>> Load()
    {
        if (_counters is not null)
        {
            return _counters;
        }
        _counters = new(StringComparer.Ordinal);
        try
        {
            if (File.Exists(path) && JsonNode.Parse(File.ReadAllText(path)) is JsonObject root)
            {
                foreach (var (listener, node) in root)
                {
                    if (node is not JsonObject values)
                    {
                        continue;
                    }
                    var d = new Dictionary<string, long>(StringComparer.Ordinal);
                    foreach (var (k, v) in values)
                    {
                        if (v is JsonValue jv && jv.TryGetValue<long>(out var n))
                        {
                            d[k] = n;
                        }
                    }
                    _counters[listener] = d;
                }
            }
        }
        catch (JsonException)
        {
            // A torn file is treated as "no history", as upstream does.
        }
        return _counters;
    }
}
