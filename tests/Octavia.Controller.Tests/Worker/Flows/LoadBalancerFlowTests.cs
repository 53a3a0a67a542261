// Licensed under the Apache License, Version 2.0.

using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Octavia.Core.Model;
using Octavia.Data;

namespace Octavia.Controller.Tests.Worker.Flows;

public sealed class LoadBalancerFlowTests
{
    private static JsonObject LbArgs(string id) => new() { ["loadbalancer"] = new JsonObject { ["loadbalancer_id"] = id } };

    [Fact]
    public async Task CreateLoadBalancer_Single_ActiveWithOneStandaloneAmphoraPluggedIntoVip()
    {
        await using var bed = await WorkerTestBed.CreateAsync();
        var id = await bed.SeedLoadBalancerAsync();

        await bed.CastAsync("create_load_balancer", LbArgs(id));

        await using var db = bed.Db();
        var lb = await db.LoadBalancers.Include(l => l.Vip).Include(l => l.Amphorae).SingleAsync(l => l.Id == id);
        lb.ProvisioningStatus.ShouldBe(ProvisioningStatus.Active);
        lb.Topology.ShouldBe(Topologies.Single);
        lb.Vip!.PortId.ShouldBe("vip-" + id);
        var amp = lb.Amphorae.ShouldHaveSingleItem();
        amp.Status.ShouldBe(ProvisioningStatus.Allocated);
        amp.Role.ShouldBe(AmphoraRoles.Standalone);
        amp.ComputeId.ShouldNotBeNull();
        amp.LbNetworkIp!.ShouldStartWith("192.0.2.");
        amp.VrrpPortId.ShouldBe("vrrp-" + amp.Id);
        amp.CertExpiration!.Value.ShouldBeGreaterThan(DateTime.UtcNow.AddDays(29));
        bed.Faults.Log.ShouldContain("IComputeDriver.BuildAsync");
        bed.Faults.Log.ShouldContain("IAmphoraDriver.PostVipPlugAsync");
        (await bed.PendingAsync()).ShouldBeEmpty();
        (await db.FlowJobs.SingleAsync()).State.ShouldBe(FlowJobStates.Success);
    }

    [Fact]
    public async Task CreateLoadBalancer_ActiveStandby_MasterBackupVrrpGroupAndKeepalivedStarted()
    {
        await using var bed = await WorkerTestBed.CreateAsync(Topologies.ActiveStandby);
        var id = await bed.SeedLoadBalancerAsync();

        await bed.CastAsync("create_load_balancer", LbArgs(id));

        await using var db = bed.Db();
        var lb = await db.LoadBalancers.Include(l => l.Amphorae).Include(l => l.VrrpGroup).SingleAsync(l => l.Id == id);
        lb.ProvisioningStatus.ShouldBe(ProvisioningStatus.Active);
        lb.Topology.ShouldBe(Topologies.ActiveStandby);
        lb.Amphorae.Select(a => a.Role).Order().ShouldBe([AmphoraRoles.Backup, AmphoraRoles.Master]);
        lb.Amphorae.ShouldAllBe(a => a.Status == ProvisioningStatus.Allocated && a.VrrpInterface == "eth1" && a.VrrpId == 1);
        lb.Amphorae.Single(a => a.Role == AmphoraRoles.Master).VrrpPriority.ShouldBe(100);
        lb.Amphorae.Single(a => a.Role == AmphoraRoles.Backup).VrrpPriority.ShouldBe(90);
        lb.VrrpGroup!.VrrpGroupName.ShouldBe(id.Replace("-", "", StringComparison.Ordinal));
        lb.VrrpGroup.VrrpAuthType.ShouldBe("PASS");
        lb.VrrpGroup.VrrpAuthPass!.Length.ShouldBe(7);
        lb.VrrpGroup.AdvertInt.ShouldBe(1);
        bed.Faults.Log.Count(c => c == "IAmphoraDriver.UpdateVrrpConfigAsync").ShouldBe(2);
        bed.Faults.Log.Count(c => c == "IAmphoraDriver.VrrpActionAsync").ShouldBe(2);
        (await bed.PendingAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task CreateLoadBalancer_ActiveStandbyWithAntiAffinity_ServerGroupCreatedAndDeletedWithLb()
    {
        await using var bed = await WorkerTestBed.CreateAsync(Topologies.ActiveStandby, "[nova]\nenable_anti_affinity = true\navailability_zone = owk-az");
        var id = await bed.SeedLoadBalancerAsync();

        await bed.CastAsync("create_load_balancer", LbArgs(id));
        (await bed.StatusAsync(id)).ShouldBe(ProvisioningStatus.Active);
        bed.Faults.Log.Count(c => c == "IComputeDriver.CreateServerGroupAsync").ShouldBe(1);

        await using (var db = bed.Db())
        {
            await db.LoadBalancers.Where(l => l.Id == id).ExecuteUpdateAsync(s => s.SetProperty(l => l.ServerGroupId, "sg-1").SetProperty(l => l.ProvisioningStatus, ProvisioningStatus.PendingDelete));
        }
        await bed.CastAsync("delete_load_balancer", LbArgs(id));

        (await bed.StatusAsync(id)).ShouldBe(ProvisioningStatus.Deleted);
        bed.Faults.Log.ShouldContain("IComputeDriver.DeleteServerGroupAsync");
    }

    [Fact]
    public async Task CreateLoadBalancer_FlavorSaysActiveStandby_OverridesConfiguredSingle()
    {
        await using var bed = await WorkerTestBed.CreateAsync(Topologies.Single);
        await using (var db = bed.Db())
        {
            db.FlavorProfiles.Add(new FlavorProfile { Id = "fp1", Name = "fp", ProviderName = "amphora", FlavorData = """{"loadbalancer_topology": "ACTIVE_STANDBY"}""" });
            db.Flavors.Add(new Flavor { Id = "f1", Name = "ha", FlavorProfileId = "fp1" });
            await db.SaveChangesAsync();
        }
        var id = await bed.SeedLoadBalancerAsync(flavorId: "f1");

        await bed.CastAsync("create_load_balancer", LbArgs(id));

        await using var check = bed.Db();
        (await check.Amphorae.CountAsync(a => a.LoadBalancerId == id && a.Status == ProvisioningStatus.Allocated)).ShouldBe(2);
        (await check.LoadBalancers.SingleAsync(l => l.Id == id)).Topology.ShouldBe(Topologies.ActiveStandby);
    }

    [Theory]
    [InlineData(Topologies.Single)]
    [InlineData(Topologies.ActiveStandby)]
    public async Task CreateLoadBalancer_DriverFailsAtEachCall_LoadBalancerErrorAndNothingPending(string topology)
    {
        int total;
        await using (var probe = await WorkerTestBed.CreateAsync(topology))
        {
            await probe.CastAsync("create_load_balancer", LbArgs(await probe.SeedLoadBalancerAsync()));
            total = probe.Faults.Calls;
        }
        total.ShouldBeGreaterThan(5);
        await using var bed = await WorkerTestBed.CreateAsync(topology);
        for (var n = 1; n <= total; n++)
        {
            var id = await bed.SeedLoadBalancerAsync();
            bed.Faults.FailAt = bed.Faults.Calls + n;
            await bed.CastAsync("create_load_balancer", LbArgs(id));

            (await bed.StatusAsync(id)).ShouldBe(ProvisioningStatus.Error, $"failure at call {n}");
            (await bed.PendingAsync()).ShouldBeEmpty($"failure at call {n}");
            await using var db = bed.Db();
            (await db.Amphorae.CountAsync(a => a.LoadBalancerId == id && a.Status == ProvisioningStatus.Allocated)).ShouldBe(0, $"failure at call {n}");
        }
        // Reverted amphorae released their VRRP ports and the VIP (octavia-owned) is deallocated.
        bed.Network.Ports.ShouldBeEmpty();
    }

    [Fact]
    public async Task CreateLoadBalancer_ReadySpareExists_TakesSpareInsteadOfBooting()
    {
        await using var bed = await WorkerTestBed.CreateAsync();
        await bed.CastAsync("create_spare_amphora", []);
        string spareId;
        await using (var db = bed.Db())
        {
            var spare = await db.Amphorae.SingleAsync();
            spare.Status.ShouldBe(ProvisioningStatus.Ready);
            spare.LoadBalancerId.ShouldBeNull();
            spareId = spare.Id;
        }
        var builds = bed.Faults.Log.Count(c => c == "IComputeDriver.BuildAsync");
        var id = await bed.SeedLoadBalancerAsync();

        await bed.CastAsync("create_load_balancer", LbArgs(id));

        await using var check = bed.Db();
        var amp = await check.Amphorae.SingleAsync(a => a.LoadBalancerId == id);
        amp.Id.ShouldBe(spareId);
        amp.Status.ShouldBe(ProvisioningStatus.Allocated);
        amp.Role.ShouldBe(AmphoraRoles.Standalone);
        bed.Faults.Log.Count(c => c == "IComputeDriver.BuildAsync").ShouldBe(builds);
    }

    [Fact]
    public async Task CreateLoadBalancer_SameMessageDeliveredTwice_FlowRunsOnce()
    {
        await using var bed = await WorkerTestBed.CreateAsync();
        var id = await bed.SeedLoadBalancerAsync();

        await bed.CastAsync("create_load_balancer", LbArgs(id), messageId: "m-1");
        var calls = bed.Faults.Calls;
        await bed.CastAsync("create_load_balancer", LbArgs(id), messageId: "m-1");

        bed.Faults.Calls.ShouldBe(calls);
        await using var db = bed.Db();
        (await db.Amphorae.CountAsync()).ShouldBe(1);
    }

    [Fact]
    public async Task DeleteLoadBalancer_Cascade_ChildrenRemovedAmphoraeAndLbDeletedPortsReleased()
    {
        await using var bed = await WorkerTestBed.CreateAsync(Topologies.ActiveStandby);
        var id = await bed.CreateActiveLoadBalancerAsync();
        await bed.SeedChildAsync(id, db =>
        {
            db.Pools.Add(new Pool
            {
                Id = "p1",
                LoadBalancerId = id,
                Protocol = "HTTP",
                LbAlgorithm = "ROUND_ROBIN",
                ProvisioningStatus = ProvisioningStatus.Active,
                Members = [new Member { Id = "m1", IpAddress = "198.18.41.5", ProtocolPort = 80, SubnetId = "sub-a", ProvisioningStatus = ProvisioningStatus.Active }]
            });
            db.Listeners.Add(new Listener { Id = "l1", LoadBalancerId = id, Protocol = "HTTP", ProtocolPort = 80, DefaultPoolId = "p1", ProvisioningStatus = ProvisioningStatus.Active });
        });
        await using (var db = bed.Db())
        {
            await db.LoadBalancers.Where(l => l.Id == id).ExecuteUpdateAsync(s => s.SetProperty(l => l.ProvisioningStatus, ProvisioningStatus.PendingDelete));
        }

        await bed.CastAsync("delete_load_balancer", new JsonObject { ["loadbalancer"] = new JsonObject { ["loadbalancer_id"] = id }, ["cascade"] = true });

        await using var check = bed.Db();
        (await bed.StatusAsync(id)).ShouldBe(ProvisioningStatus.Deleted);
        (await check.Listeners.CountAsync()).ShouldBe(0);
        (await check.Pools.CountAsync()).ShouldBe(0);
        (await check.Members.CountAsync()).ShouldBe(0);
        (await check.VrrpGroups.CountAsync()).ShouldBe(0);
        (await check.Amphorae.Where(a => a.LoadBalancerId == id).Select(a => a.Status).ToListAsync()).ShouldAllBe(s => s == ProvisioningStatus.Deleted);
        bed.Network.Ports.ShouldBeEmpty();
    }

    [Fact]
    public async Task UpdateLoadBalancer_NameAndAdminState_AppliedAndPushedToAmphorae()
    {
        await using var bed = await WorkerTestBed.CreateAsync();
        var id = await bed.CreateActiveLoadBalancerAsync();
        await bed.MarkPendingAsync(id, _ => Task.CompletedTask);

        await bed.CastAsync("update_load_balancer", new JsonObject
        {
            ["original_load_balancer"] = new JsonObject { ["loadbalancer_id"] = id },
            ["load_balancer_updates"] = new JsonObject { ["name"] = "renamed", ["admin_state_up"] = false },
        });

        await using var db = bed.Db();
        var lb = await db.LoadBalancers.SingleAsync(l => l.Id == id);
        lb.Name.ShouldBe("renamed");
        lb.Enabled.ShouldBeFalse();
        lb.ProvisioningStatus.ShouldBe(ProvisioningStatus.Active);
    }

    [Fact]
    public async Task FailoverAmphora_MasterFails_ReplacedWithNewMasterAndVrrpReconfigured()
    {
        await using var bed = await WorkerTestBed.CreateAsync(Topologies.ActiveStandby);
        var id = await bed.CreateActiveLoadBalancerAsync();
        string oldMaster;
        await using (var db = bed.Db())
        {
            oldMaster = await db.Amphorae.Where(a => a.LoadBalancerId == id && a.Role == AmphoraRoles.Master).Select(a => a.Id).SingleAsync();
            await db.LoadBalancers.Where(l => l.Id == id).ExecuteUpdateAsync(s => s.SetProperty(l => l.ProvisioningStatus, ProvisioningStatus.PendingUpdate));
        }

        await bed.CastAsync("failover_amphora", new JsonObject { ["amphora_id"] = oldMaster });

        await using var check = bed.Db();
        (await bed.StatusAsync(id)).ShouldBe(ProvisioningStatus.Active);
        (await check.Amphorae.SingleAsync(a => a.Id == oldMaster)).Status.ShouldBe(ProvisioningStatus.Deleted);
        var serving = await check.Amphorae.Where(a => a.LoadBalancerId == id && a.Status == ProvisioningStatus.Allocated).ToListAsync();
        serving.Select(a => a.Role).Order().ShouldBe([AmphoraRoles.Backup, AmphoraRoles.Master]);
        serving.ShouldNotContain(a => a.Id == oldMaster);
        bed.Network.Ports.ShouldNotContain(p => p.Id == "vrrp-" + oldMaster);
        (await bed.PendingAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task FailoverAmphora_ReplacementBootFails_LoadBalancerAndAmphoraError()
    {
        await using var bed = await WorkerTestBed.CreateAsync();
        var id = await bed.CreateActiveLoadBalancerAsync();
        string amp;
        await using (var db = bed.Db())
        {
            amp = await db.Amphorae.Where(a => a.LoadBalancerId == id).Select(a => a.Id).SingleAsync();
        }
        var before = bed.Faults.Calls;
        bed.Faults.FailAt = before + 1;

        await bed.CastAsync("failover_amphora", new JsonObject { ["amphora_id"] = amp });

        (await bed.StatusAsync(id)).ShouldBe(ProvisioningStatus.Error);
        await using var check = bed.Db();
        (await check.Amphorae.SingleAsync(a => a.Id == amp)).Status.ShouldBe(ProvisioningStatus.Error);
        (await bed.PendingAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task FailoverLoadBalancer_ErrorLoadBalancer_RebuiltWithFreshAmphorae()
    {
        await using var bed = await WorkerTestBed.CreateAsync(Topologies.ActiveStandby);
        var id = await bed.CreateActiveLoadBalancerAsync();
        List<string> old;
        await using (var db = bed.Db())
        {
            old = await db.Amphorae.Where(a => a.LoadBalancerId == id).Select(a => a.Id).ToListAsync();
            await db.LoadBalancers.Where(l => l.Id == id).ExecuteUpdateAsync(s => s.SetProperty(l => l.ProvisioningStatus, ProvisioningStatus.PendingUpdate));
        }

        await bed.CastAsync("failover_load_balancer", new JsonObject { ["load_balancer_id"] = id });

        (await bed.StatusAsync(id)).ShouldBe(ProvisioningStatus.Active);
        await using var check = bed.Db();
        var amps = await check.Amphorae.Where(a => a.LoadBalancerId == id).ToListAsync();
        amps.Where(a => old.Contains(a.Id)).ShouldAllBe(a => a.Status == ProvisioningStatus.Deleted);
        amps.Where(a => a.Status == ProvisioningStatus.Allocated).Select(a => a.Role).Order().ShouldBe([AmphoraRoles.Backup, AmphoraRoles.Master]);
    }

    [Fact]
    public async Task AmphoraFlows_AgentConfigCertificateRotationAndDelete_UpdateTheAmphora()
    {
        await using var bed = await WorkerTestBed.CreateAsync();
        await bed.CastAsync("create_spare_amphora", []);
        string ampId;
        DateTime? expiry;
        await using (var db = bed.Db())
        {
            var amp = await db.Amphorae.SingleAsync();
            ampId = amp.Id;
            expiry = amp.CertExpiration;
            await db.Amphorae.Where(a => a.Id == ampId).ExecuteUpdateAsync(s => s.SetProperty(a => a.CertBusy, true).SetProperty(a => a.CertExpiration, DateTime.UtcNow));
        }

        await bed.CastAsync("update_amphora_agent_config", new JsonObject { ["amphora_id"] = ampId });
        await bed.CastAsync("rotate_amphora_certificate", new JsonObject { ["amphora_id"] = ampId });

        await using (var db = bed.Db())
        {
            var amp = await db.Amphorae.SingleAsync();
            amp.CertBusy.ShouldBeFalse();
            amp.CertExpiration!.Value.ShouldBeGreaterThan(DateTime.UtcNow.AddDays(29));
        }
        bed.Faults.Log.ShouldContain("IAmphoraDriver.UpdateAgentConfigAsync");
        bed.Faults.Log.ShouldContain("IAmphoraDriver.UploadServerCertificateAsync");

        await bed.CastAsync("delete_amphora", new JsonObject { ["amphora_id"] = ampId });

        await using var check = bed.Db();
        (await check.Amphorae.SingleAsync()).Status.ShouldBe(ProvisioningStatus.Deleted);
    }

    [Fact]
    public async Task HandleCast_UnknownMethodOrMissingObject_RejectedWithoutAJob()
    {
        await using var bed = await WorkerTestBed.CreateAsync();

        await bed.CastAsync("explode_load_balancer", []);
        await bed.CastAsync("create_listener", new JsonObject { ["listener"] = new JsonObject() });

        await using var db = bed.Db();
        (await db.FlowJobs.CountAsync()).ShouldBe(0);
    }
}
