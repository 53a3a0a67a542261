// Licensed under the Apache License, Version 2.0.

using Octavia.Amphora.Agent.Heartbeat;

namespace Octavia.Amphora.Agent.Tests.Heartbeat;

public sealed class StatsCountersTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"oag-counters-{Guid.NewGuid():N}.json");

    private static Dictionary<string, string> Row(long bin, long bout, long ereq, long stot) => new()
    {
        ["bin"] = bin.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["bout"] = bout.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["ereq"] = ereq.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["stot"] = stot.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    [Fact]
    public void Deltas_AfterAgentRestart_ContinueFromThePersistedValues()
    {
        var first = new StatsCounters(_path);
        first.Deltas("l1", Row(100, 200, 1, 10))["bin"].ShouldBe(100);
        first.Persist();

        var restarted = new StatsCounters(_path);
        var d = restarted.Deltas("l1", Row(150, 260, 1, 12));
        d["bin"].ShouldBe(50);
        d["bout"].ShouldBe(60);
        d["ereq"].ShouldBe(0);
        d["stot"].ShouldBe(2);
    }

    [Fact]
    public void Deltas_WhenHaproxyRestartedAndCountersWentDown_ReportTheNewAbsoluteValue()
    {
        var counters = new StatsCounters(_path);
        counters.Deltas("l1", Row(1000, 2000, 5, 50));
        var d = counters.Deltas("l1", Row(30, 40, 0, 2));
        d["bin"].ShouldBe(30);
        d["bout"].ShouldBe(40);
        d["stot"].ShouldBe(2);
    }

    [Fact]
    public void Load_WithTornFile_StartsFromZero()
    {
        File.WriteAllText(_path, "{\"l1\": {\"bin\": 12");
        new StatsCounters(_path).Deltas("l1", Row(7, 0, 0, 1))["bin"].ShouldBe(7);
    }

    public void Dispose() => File.Delete(_path);
}
