// Licensed under the Apache License, Version 2.0.

using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Octavia.Core.Model;

namespace Octavia.Controller.Tests.Worker.Flows;

/// <summary>create/update/delete of every child object, on success and with a driver failing at each call.</summary>
public sealed class ChildObjectFlowTests
{
    // The cast argument names of upstream's endpoints: (object key, id key).
    public static TheoryData<string> Kinds => ["listener", "pool", "member", "health_monitor", "l7policy", "l7rule"];

    private static (string Noun, string IdKey, string Id) Target(string kind) => kind switch
    {
        "listener" => ("listener", "listener_id", "l2"),
        "pool" => ("pool", "pool_id", "p2"),
        "member" => ("member", "member_id", "m2"),
        "health_monitor" => ("health_monitor", "healthmonitor_id", "hm1"),
        "l7policy" => ("l7policy", "l7policy_id", "lp2"),
        "l7rule" => ("l7rule", "l7rule_id", "r2"),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>An ACTIVE LB with listener l1 → pool p1 (member m1 on sub-a), policy lp1 with rule r1.</summary>
    private static async Task<string> BaseAsync(WorkerTestBed bed)
    {
        var lb = await bed.CreateActiveLoadBalancerAsync();
        await using var db = bed.Db();
        db.Pools.Add(new Pool
        {
            Id = "p1",
            LoadBalancerId = lb,
            Protocol = "HTTP",
            LbAlgorithm = "ROUND_ROBIN",
            ProvisioningStatus = ProvisioningStatus.Active,
            Members = [new Member { Id = "m1", IpAddress = "198.18.41.5", ProtocolPort = 80, SubnetId = "sub-a", ProvisioningStatus = ProvisioningStatus.Active }]
        });
        db.Listeners.Add(new Listener
        {
            Id = "l1",
            LoadBalancerId = lb,
            Protocol = "HTTP",
            ProtocolPort = 80,
            DefaultPoolId = "p1",
            ProvisioningStatus = ProvisioningStatus.Active,
            L7Policies = [new L7Policy { Id = "lp1", Action = "REJECT", Position = 1, ProvisioningStatus = ProvisioningStatus.Active,
                L7Rules = [new L7Rule { Id = "r1", Type = "PATH", CompareType = "STARTS_WITH", Value = "/a", ProvisioningStatus = ProvisioningStatus.Active }] }]
        });
        await db.SaveChangesAsync();
        return lb;
    }

    /// <summary>What the API writes for a create: the new row PENDING_CREATE, its parents PENDING_UPDATE.</summary>
    private static Task SeedCreateAsync(WorkerTestBed bed, string lb, string kind) => bed.SeedChildAsync(lb, db =>
    {
        switch (kind)
        {
            case "listener":
                db.Listeners.Add(new Listener { Id = "l2", LoadBalancerId = lb, Protocol = "TCP", ProtocolPort = 443 });
                break;
            case "pool":
                db.Pools.Add(new Pool { Id = "p2", LoadBalancerId = lb, Protocol = "HTTP", LbAlgorithm = "ROUND_ROBIN" });
                break;
            case "member":
                db.Members.Add(new Member { Id = "m2", PoolId = "p1", IpAddress = "198.18.42.7", ProtocolPort = 80, SubnetId = "sub-b" });
                break;
            case "health_monitor":
                db.HealthMonitors.Add(new HealthMonitor { Id = "hm1", PoolId = "p1", Type = "HTTP", Delay = 5, Timeout = 3, RiseThreshold = 2, FallThreshold = 3 });
                break;
            case "l7policy":
                db.L7Policies.Add(new L7Policy { Id = "lp2", ListenerId = "l1", Action = "REDIRECT_TO_POOL", RedirectPoolId = "p1", Position = 2 });
                break;
            case "l7rule":
                db.L7Rules.Add(new L7Rule { Id = "r2", L7PolicyId = "lp1", Type = "HOST_NAME", CompareType = "EQUAL_TO", Value = "example.com" });
                break;
        }
    });

    private static async Task<(string Provisioning, string Operating)?> ObjectStatusAsync(WorkerTestBed bed, string kind, string id)
    {
        await using var db = bed.Db();
        LbaasObject? o = kind switch
        {
            "listener" => await db.Listeners.FindAsync(id),
            "pool" => await db.Pools.FindAsync(id),
            "member" => await db.Members.FindAsync(id),
            "health_monitor" => await db.HealthMonitors.FindAsync(id),
            "l7policy" => await db.L7Policies.FindAsync(id),
            "l7rule" => await db.L7Rules.FindAsync(id),
            _ => null,
        };
        return o is null ? null : (o.ProvisioningStatus, o.OperatingStatus);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Create_Succeeds_ObjectAndParentsActive(string kind)
    {
        await using var bed = await WorkerTestBed.CreateAsync();
        var lb = await BaseAsync(bed);
        await SeedCreateAsync(bed, lb, kind);
        var (noun, idKey, id) = Target(kind);
        var updates = bed.Faults.Log.Count(c => c == "IAmphoraDriver.UpdateAsync");

        await bed.CastAsync("create_" + noun, new JsonObject { [noun] = new JsonObject { [idKey] = id } });

        (await ObjectStatusAsync(bed, kind, id))!.Value.Provisioning.ShouldBe(ProvisioningStatus.Active);
        if (kind is "health_monitor" or "l7policy" or "l7rule")
        {
            (await ObjectStatusAsync(bed, kind, id))!.Value.Operating.ShouldBe(OperatingStatus.Online);
        }
        (await bed.StatusAsync(lb)).ShouldBe(ProvisioningStatus.Active);
        (await bed.PendingAsync()).ShouldBeEmpty();
        bed.Faults.Log.Count(c => c == "IAmphoraDriver.UpdateAsync").ShouldBe(updates + 1);
        if (kind is "member")
        {
            // The member's subnet sub-b (net-b) was new to the amphora: plugged and announced to the agent.
            bed.Network.Ports.ShouldContain(p => p.NetworkId == "net-b");
            bed.Faults.Log.ShouldContain("IAmphoraDriver.PostNetworkPlugAsync");
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Create_DriverFailsAtEachCall_ObjectErrorParentsActiveNothingPending(string kind)
    {
        var (noun, idKey, id) = Target(kind);
        int calls;
        await using (var probe = await WorkerTestBed.CreateAsync())
        {
            var lb0 = await BaseAsync(probe);
            await SeedCreateAsync(probe, lb0, kind);
            var before = probe.Faults.Calls;
            await probe.CastAsync("create_" + noun, new JsonObject { [noun] = new JsonObject { [idKey] = id } });
            calls = probe.Faults.Calls - before;
        }
        calls.ShouldBeGreaterThan(0);
        for (var n = 1; n <= calls; n++)
        {
            await using var bed = await WorkerTestBed.CreateAsync();
            var lb = await BaseAsync(bed);
            await SeedCreateAsync(bed, lb, kind);
            bed.Faults.FailAt = bed.Faults.Calls + n;

            await bed.CastAsync("create_" + noun, new JsonObject { [noun] = new JsonObject { [idKey] = id } });

            (await ObjectStatusAsync(bed, kind, id))!.Value.Provisioning.ShouldBe(ProvisioningStatus.Error, $"failure at call {n}");
            (await bed.StatusAsync(lb)).ShouldBe(ProvisioningStatus.Active, $"failure at call {n}");
            (await bed.PendingAsync()).ShouldBeEmpty($"failure at call {n}");
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Update_Succeeds_ChangesAppliedAndActive(string kind)
    {
        await using var bed = await WorkerTestBed.CreateAsync();
        var lb = await BaseAsync(bed);
        var (noun, idKey, id) = kind switch
        {
            "listener" => ("listener", "listener_id", "l1"),
            "pool" => ("pool", "pool_id", "p1"),
            "member" => ("member", "member_id", "m1"),
            "l7policy" => ("l7policy", "l7policy_id", "lp1"),
            "l7rule" => ("l7rule", "l7rule_id", "r1"),
            _ => Target(kind),
        };
        if (kind == "health_monitor")
        {
            await SeedCreateAsync(bed, lb, kind);
            await bed.CastAsync("create_health_monitor", new JsonObject { ["health_monitor"] = new JsonObject { ["healthmonitor_id"] = id } });
        }
        await bed.MarkPendingAsync(lb, _ => Task.CompletedTask);
        var updates = kind == "l7rule"
            ? new JsonObject { ["admin_state_up"] = false, ["value"] = "/b" }
            : new JsonObject { ["admin_state_up"] = false, ["name"] = "renamed" };

        await bed.CastAsync("update_" + noun, new JsonObject { ["original_" + noun] = new JsonObject { [idKey] = id }, [noun + "_updates"] = updates });

        (await ObjectStatusAsync(bed, kind, id))!.Value.Provisioning.ShouldBe(ProvisioningStatus.Active);
        await using var db = bed.Db();
        LbaasObject o = kind switch
        {
            "listener" => (await db.Listeners.FindAsync(id))!,
            "pool" => (await db.Pools.FindAsync(id))!,
            "member" => (await db.Members.FindAsync(id))!,
            "health_monitor" => (await db.HealthMonitors.FindAsync(id))!,
            "l7policy" => (await db.L7Policies.FindAsync(id))!,
            _ => (await db.L7Rules.FindAsync(id))!,
        };
        o.Enabled.ShouldBeFalse();
        if (kind == "l7rule")
        {
            ((L7Rule)o).Value.ShouldBe("/b");
        }
        else
        {
            o.Name.ShouldBe("renamed");
        }
        if (kind is "health_monitor" or "l7policy" or "l7rule")
        {
            o.OperatingStatus.ShouldBe(OperatingStatus.Offline);
        }
        (await bed.PendingAsync()).ShouldBeEmpty();
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Delete_Succeeds_RowGoneParentsActive(string kind)
    {
        await using var bed = await WorkerTestBed.CreateAsync();
        var lb = await BaseAsync(bed);
        var (noun, idKey, id) = kind switch
        {
            "listener" => ("listener", "listener_id", "l1"),
            "pool" => ("pool", "pool_id", "p1"),
            "member" => ("member", "member_id", "m1"),
            "l7policy" => ("l7policy", "l7policy_id", "lp1"),
            "l7rule" => ("l7rule", "l7rule_id", "r1"),
            _ => Target(kind),
        };
        if (kind == "health_monitor")
        {
            await SeedCreateAsync(bed, lb, kind);
            await bed.CastAsync("create_health_monitor", new JsonObject { ["health_monitor"] = new JsonObject { ["healthmonitor_id"] = id } });
        }
        await bed.MarkPendingAsync(lb, _ => Task.CompletedTask);

        await bed.CastAsync("delete_" + noun, new JsonObject { [noun] = new JsonObject { [idKey] = id } });

        (await ObjectStatusAsync(bed, kind, id)).ShouldBeNull();
        (await bed.StatusAsync(lb)).ShouldBe(ProvisioningStatus.Active);
        (await bed.PendingAsync()).ShouldBeEmpty();
        if (kind == "listener")
        {
            // The last listener went: the amphora's HAProxy is removed rather than reconfigured.
            bed.Faults.Log.ShouldContain("IAmphoraDriver.DeleteAsync");
        }
        if (kind is "pool" or "member")
        {
            // No member uses net-a any more: the amphora is unplugged from it.
            bed.Network.Ports.ShouldNotContain(p => p.NetworkId == "net-a");
        }
    }

    [Fact]
    public async Task Delete_DriverFails_ObjectErrorAndKept()
    {
        await using var bed = await WorkerTestBed.CreateAsync();
        var lb = await BaseAsync(bed);
        await bed.MarkPendingAsync(lb, _ => Task.CompletedTask);
        bed.Faults.FailAt = bed.Faults.Calls + 1;

        await bed.CastAsync("delete_member", new JsonObject { ["member"] = new JsonObject { ["member_id"] = "m1" } });

        (await ObjectStatusAsync(bed, "member", "m1"))!.Value.Provisioning.ShouldBe(ProvisioningStatus.Error);
        (await bed.StatusAsync(lb)).ShouldBe(ProvisioningStatus.Active);
    }

    [Fact]
    public async Task BatchUpdateMembers_CreatesUpdatesAndDeletesInOneFlow()
    {
        await using var bed = await WorkerTestBed.CreateAsync();
        var lb = await BaseAsync(bed);
        await bed.SeedChildAsync(lb, db =>
        {
            db.Members.Add(new Member { Id = "m2", PoolId = "p1", IpAddress = "198.18.42.7", ProtocolPort = 80, SubnetId = "sub-b", ProvisioningStatus = ProvisioningStatus.Active });
            db.Members.Add(new Member { Id = "m3", PoolId = "p1", IpAddress = "198.18.41.8", ProtocolPort = 80 });
        });
        await using (var db = bed.Db())
        {
            await db.Members.Where(m => m.Id == "m1").ExecuteUpdateAsync(s => s.SetProperty(m => m.ProvisioningStatus, ProvisioningStatus.PendingDelete));
            await db.Members.Where(m => m.Id == "m2").ExecuteUpdateAsync(s => s.SetProperty(m => m.ProvisioningStatus, ProvisioningStatus.PendingUpdate));
        }

        await bed.CastAsync("batch_update_members", new JsonObject
        {
            ["old_members"] = new JsonArray(new JsonObject { ["member_id"] = "m1" }),
            ["new_members"] = new JsonArray(new JsonObject { ["member_id"] = "m3" }),
            ["updated_members"] = new JsonArray(new JsonObject { ["id"] = "m2", ["weight"] = 7 }),
        });

        await using var check = bed.Db();
        (await check.Members.FindAsync("m1")).ShouldBeNull();
        var m2 = (await check.Members.FindAsync("m2"))!;
        m2.Weight.ShouldBe(7);
        m2.ProvisioningStatus.ShouldBe(ProvisioningStatus.Active);
        (await check.Members.FindAsync("m3"))!.ProvisioningStatus.ShouldBe(ProvisioningStatus.Active);
        (await bed.PendingAsync()).ShouldBeEmpty();
        bed.Network.Ports.ShouldNotContain(p => p.NetworkId == "net-a");
        bed.Network.Ports.ShouldContain(p => p.NetworkId == "net-b");
    }

    [Fact]
    public async Task GraphCreate_LoadBalancerWithChildren_AllActiveAndConfigPushed()
    {
        await using var bed = await WorkerTestBed.CreateAsync();
        var lb = await bed.SeedLoadBalancerAsync();
        await using (var db = bed.Db())
        {
            db.Pools.Add(new Pool
            {
                Id = "gp",
                LoadBalancerId = lb,
                Protocol = "HTTP",
                LbAlgorithm = "ROUND_ROBIN",
                Members = [new Member { Id = "gm", IpAddress = "198.18.41.5", ProtocolPort = 80, SubnetId = "sub-a" }],
                HealthMonitor = new HealthMonitor { Id = "ghm", Type = "HTTP", Delay = 5, Timeout = 3, RiseThreshold = 2, FallThreshold = 3 }
            });
            db.Listeners.Add(new Listener { Id = "gl", LoadBalancerId = lb, Protocol = "HTTP", ProtocolPort = 80, DefaultPoolId = "gp" });
            await db.SaveChangesAsync();
        }

        await bed.CastAsync("create_load_balancer", new JsonObject { ["loadbalancer"] = new JsonObject { ["loadbalancer_id"] = lb } });

        (await bed.StatusAsync(lb)).ShouldBe(ProvisioningStatus.Active);
        (await bed.PendingAsync()).ShouldBeEmpty();
        (await ObjectStatusAsync(bed, "health_monitor", "ghm"))!.Value.Operating.ShouldBe(OperatingStatus.Online);
        bed.Faults.Log.ShouldContain("IAmphoraDriver.UpdateAsync");
        bed.Network.Ports.ShouldContain(p => p.NetworkId == "net-a");
    }

    [Fact]
    public async Task GraphCreate_FailsLate_LoadBalancerAndChildrenError()
    {
        await using var bed = await WorkerTestBed.CreateAsync();
        var lb = await bed.SeedLoadBalancerAsync();
        await using (var db = bed.Db())
        {
            db.Listeners.Add(new Listener { Id = "gl", LoadBalancerId = lb, Protocol = "TCP", ProtocolPort = 80 });
            await db.SaveChangesAsync();
        }
        var probe = 0;
        await using (var p = await WorkerTestBed.CreateAsync())
        {
            var lb2 = await p.SeedLoadBalancerAsync();
            await using (var db = p.Db())
            {
                db.Listeners.Add(new Listener { Id = "gl", LoadBalancerId = lb2, Protocol = "TCP", ProtocolPort = 80 });
                await db.SaveChangesAsync();
            }
            await p.CastAsync("create_load_balancer", new JsonObject { ["loadbalancer"] = new JsonObject { ["loadbalancer_id"] = lb2 } });
            probe = p.Faults.Calls;
        }
        bed.Faults.FailAt = probe;

        await bed.CastAsync("create_load_balancer", new JsonObject { ["loadbalancer"] = new JsonObject { ["loadbalancer_id"] = lb } });

        (await bed.StatusAsync(lb)).ShouldBe(ProvisioningStatus.Error);
        (await ObjectStatusAsync(bed, "listener", "gl"))!.Value.Provisioning.ShouldBe(ProvisioningStatus.Error);
        (await bed.PendingAsync()).ShouldBeEmpty();
    }
}
