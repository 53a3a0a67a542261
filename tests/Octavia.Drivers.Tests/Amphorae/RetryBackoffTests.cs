// Licensed under the Apache License, Version 2.0.

using Octavia.Drivers.Amphorae;

namespace Octavia.Drivers.Tests.Amphorae;

public sealed class RetryBackoffTests
{
    private static List<TimeSpan> Waits(TimeSpan interval, int retries)
    {
        var backoff = new RetryBackoff(interval, retries);
        var waits = new List<TimeSpan>();
        while (backoff.TryNext(out var wait))
        {
            waits.Add(wait);
            waits.Count.ShouldBeLessThan(10_000);
        }
        return waits;
    }

    [Fact]
    public void OneSecondInterval_StartsAt50MsAndDoublesUpToTheInterval()
    {
        var waits = Waits(TimeSpan.FromSeconds(1), 120);
        waits.Take(6).Select(w => (int)w.TotalMilliseconds).ShouldBe([50, 100, 200, 400, 800, 1000]);
        waits.Skip(5).ShouldAllBe(w => w == TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void TotalWait_NeverExceedsUpstreamsBudgetAndLosesLessThanOneInterval()
    {
        var interval = TimeSpan.FromSeconds(1);
        var total = Waits(interval, 120).Aggregate(TimeSpan.Zero, (a, w) => a + w);
        total.ShouldBeLessThanOrEqualTo(interval * 119);
        total.ShouldBeGreaterThan(interval * 118);
    }

    [Fact]
    public void OneRetry_NeverWaits()
    {
        Waits(TimeSpan.FromSeconds(5), 1).ShouldBeEmpty();
    }

    [Fact]
    public void ZeroInterval_RetriesBackToBackAsManyTimesAsUpstream()
    {
        var waits = Waits(TimeSpan.Zero, 4);
        waits.Count.ShouldBe(3);
        waits.ShouldAllBe(w => w == TimeSpan.Zero);
    }

    [Fact]
    public void IntervalShorterThanFirstStep_WaitsTheIntervalEachTime()
    {
        Waits(TimeSpan.FromMilliseconds(20), 5).ShouldBe(Enumerable.Repeat(TimeSpan.FromMilliseconds(20), 4));
    }

    [Fact]
    public void Attempt_CountsWholeIntervalsWaited()
    {
        var backoff = new RetryBackoff(TimeSpan.FromSeconds(1), 10);
        backoff.Attempt.ShouldBe(1);
        for (var i = 0; i < 5; i++)
        {
            backoff.TryNext(out _).ShouldBeTrue();
        }
        // 50 + 100 + 200 + 400 + 800 ms = 1.55 s waited.
        backoff.Attempt.ShouldBe(2);
    }
}
