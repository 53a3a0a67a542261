// Licensed under the Apache License, Version 2.0.

using Microsoft.EntityFrameworkCore;
using Octavia.Core.Model;

namespace Octavia.Data.Tests;

public sealed class RoundTripTests
{
    private static readonly DateTime s_created = new(2026, 11, 25, 17, 30, 15, DateTimeKind.Utc);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(TestDatabase.Engines), MemberType = typeof(TestDatabase))]
    public async Task SaveAndLoad_FullObjectGraph_EveryColumnSurvives(string engine)
    {
        await using var test = await TestDatabase.CreateAsync(engine);
        using var db = test.Open();
        await DatabaseSchema.UpgradeAsync(db, cancellationToken: Ct);

        await using (var context = db.CreateContext())
        {
            context.FlavorProfiles.Add(new FlavorProfile { Id = "fp1", Name = "fp", ProviderName = "amphora", FlavorData = "{\"loadbalancer_topology\": \"ACTIVE_STANDBY\"}" });
            context.Flavors.Add(new Flavor { Id = "f1", Name = "gold", Description = "d", Enabled = false, FlavorProfileId = "fp1" });
            context.AvailabilityZoneProfiles.Add(new AvailabilityZoneProfile { Id = "azp1", Name = "azp", ProviderName = "amphora", AvailabilityZoneData = "{\"compute_zone\": \"nova\"}" });
            context.AvailabilityZones.Add(new AvailabilityZone { Name = "az1", Description = "zone", AvailabilityZoneProfileId = "azp1" });
            context.Quotas.Add(new Quotas { ProjectId = "proj", LoadBalancer = 5, Listener = -1, InUseLoadBalancer = 1 });
            context.LoadBalancers.Add(BuildGraph());
            context.AmphoraHealth.Add(new AmphoraHealth { AmphoraId = "amp1", LastUpdate = s_created, Busy = true });
            context.Set<FlowJob>().Add(new FlowJob { Id = "job1", FlowName = "create_load_balancer", Args = "{\"loadbalancer_id\": \"lb1\"}", State = FlowJobStates.Running, Owner = "worker-1", LeaseExpiresAt = s_created.AddSeconds(30), CreatedAt = s_created, UpdatedAt = s_created });
            context.ListenerStatistics.Add(new ListenerStatistics { ListenerId = "l1", AmphoraId = "amp1", BytesIn = 5_000_000_000, BytesOut = 7, ActiveConnections = 3, TotalConnections = 9, RequestErrors = 1 });
            await context.SaveChangesAsync(Ct);
        }

        await using (var context = db.CreateContext())
        {
            var lb = await context.LoadBalancers
                .Include(x => x.Vip).Include(x => x.AdditionalVips).Include(x => x.VrrpGroup).Include(x => x.Tags)
                .Include(x => x.Amphorae)
                .Include(x => x.Listeners).ThenInclude(l => l.SniContainers)
                .Include(x => x.Listeners).ThenInclude(l => l.AllowedCidrs)
                .Include(x => x.Listeners).ThenInclude(l => l.Tags)
                .Include(x => x.Listeners).ThenInclude(l => l.L7Policies).ThenInclude(p => p.L7Rules).ThenInclude(r => r.Tags)
                .Include(x => x.Pools).ThenInclude(p => p.Members).ThenInclude(m => m.Tags)
                .Include(x => x.Pools).ThenInclude(p => p.HealthMonitor)
                .Include(x => x.Pools).ThenInclude(p => p.SessionPersistence)
                .AsSplitQuery()
                .SingleAsync(x => x.Id == "lb1", Ct);

            lb.Name.ShouldBe("lb");
            lb.Topology.ShouldBe(Topologies.ActiveStandby);
            lb.FlavorId.ShouldBe("f1");
            lb.AvailabilityZone.ShouldBe("az1");
            lb.CreatedAt.ShouldBe(s_created);
            lb.CreatedAt!.Value.Kind.ShouldBe(DateTimeKind.Utc);
            lb.Tags.Select(t => t.Value).ShouldBe(["blue", "green"], ignoreOrder: true);
            lb.Vip!.IpAddress.ShouldBe("198.18.0.10");
            lb.Vip.OctaviaOwned.ShouldBe(true);
            lb.AdditionalVips.Select(v => v.IpAddress).ShouldBe(["2001:db8::10", "198.18.1.10"], ignoreOrder: true);
            lb.VrrpGroup!.VrrpAuthPass.ShouldBe("pass1234");
            lb.VrrpGroup.AdvertInt.ShouldBe(1);

            var amp = lb.Amphorae.ShouldHaveSingleItem();
            amp.Role.ShouldBe("MASTER");
            amp.CertExpiration.ShouldBe(s_created.AddDays(30));
            amp.VrrpPriority.ShouldBe(100);

            var listener = lb.Listeners.ShouldHaveSingleItem();
            listener.Protocol.ShouldBe(Protocols.TerminatedHttps);
            listener.DefaultPoolId.ShouldBe("p1");
            listener.InsertHeaders.ShouldNotBeNull()["X-Forwarded-For"].ShouldBe("true");
            listener.TlsVersions.ShouldBe(["TLSv1.2", "TLSv1.3"]);
            listener.AlpnProtocols.ShouldBe(["h2", "http/1.1"]);
            listener.SniContainers.OrderBy(s => s.Position).Select(s => s.TlsContainerId).ShouldBe(["sni-a", "sni-b"]);
            listener.AllowedCidrs.Select(c => c.Cidr).ShouldBe(["198.18.0.0/24", "10.0.0.0/8"], ignoreOrder: true);
            listener.Tags.ShouldHaveSingleItem().Value.ShouldBe("web");
            listener.ClientAuthentication.ShouldBe("MANDATORY");
            listener.HstsIncludeSubdomains.ShouldBe(true);

            var policy = listener.L7Policies.ShouldHaveSingleItem();
            policy.Action.ShouldBe("REDIRECT_TO_POOL");
            policy.RedirectPoolId.ShouldBe("p1");
            var rule = policy.L7Rules.ShouldHaveSingleItem();
            rule.Key.ShouldBe("X-Env");
            rule.Invert.ShouldBeTrue();
            rule.Tags.ShouldHaveSingleItem().Value.ShouldBe("rule-tag");

            var pool = lb.Pools.ShouldHaveSingleItem();
            pool.LbAlgorithm.ShouldBe("ROUND_ROBIN");
            pool.TlsEnabled.ShouldBeTrue();
            pool.SessionPersistence!.CookieName.ShouldBe("SESSION");
            pool.HealthMonitor!.UrlPath.ShouldBe("/healthz");
            pool.HealthMonitor.HttpVersion.ShouldBe(1.1);
            pool.Members.Select(m => m.IpAddress).ShouldBe(["198.18.0.21", "198.18.0.22"], ignoreOrder: true);
            pool.Members.Single(m => m.Id == "m2").Backup.ShouldBeTrue();
            pool.Members.Single(m => m.Id == "m1").Tags.ShouldHaveSingleItem().Value.ShouldBe("member-tag");

            (await context.Flavors.SingleAsync(Ct)).Enabled.ShouldBeFalse();
            (await context.AvailabilityZones.SingleAsync(Ct)).AvailabilityZoneProfileId.ShouldBe("azp1");
            (await context.FlavorProfiles.SingleAsync(Ct)).FlavorData.ShouldContain("ACTIVE_STANDBY");
            (await context.AvailabilityZoneProfiles.SingleAsync(Ct)).AvailabilityZoneData.ShouldContain("nova");
            var quotas = await context.Quotas.SingleAsync(Ct);
            (quotas.LoadBalancer, quotas.Listener, quotas.Pool, quotas.InUseLoadBalancer).ShouldBe((5, -1, (int?)null, 1));
            var health = await context.AmphoraHealth.SingleAsync(Ct);
            health.LastUpdate.ShouldBe(s_created);
            health.Busy.ShouldBeTrue();
            (await context.ListenerStatistics.SingleAsync(Ct)).BytesIn.ShouldBe(5_000_000_000);
            var job = await context.Set<FlowJob>().SingleAsync(Ct);
            (job.FlowName, job.State, job.LeaseExpiresAt).ShouldBe(("create_load_balancer", FlowJobStates.Running, (DateTime?)s_created.AddSeconds(30)));
        }

        // Updates and deletes go through too: change a member, then delete the load balancer.
        await using (var context = db.CreateContext())
        {
            var member = await context.Members.SingleAsync(m => m.Id == "m1", Ct);
            member.Weight = 7;
            member.ProvisioningStatus = ProvisioningStatus.Active;
            await context.SaveChangesAsync(Ct);
        }
        await using (var context = db.CreateContext())
        {
            (await context.Members.SingleAsync(m => m.Id == "m1", Ct)).Weight.ShouldBe(7);
            // As the worker does: children first, then the load balancer (the database cascades the rest).
            var lb = await context.LoadBalancers.Include(x => x.Amphorae).Include(x => x.Listeners).ThenInclude(l => l.L7Policies)
                .SingleAsync(x => x.Id == "lb1", Ct);
            foreach (var listener in lb.Listeners)
            {
                context.L7Policies.RemoveRange(listener.L7Policies);
                listener.DefaultPoolId = null;
            }
            await context.SaveChangesAsync(Ct);
            context.LoadBalancers.Remove(lb);
            await context.SaveChangesAsync(Ct);
        }
        await using (var context = db.CreateContext())
        {
            (await context.LoadBalancers.CountAsync(Ct)).ShouldBe(0);
            (await context.Listeners.CountAsync(Ct)).ShouldBe(0);
            (await context.Pools.CountAsync(Ct)).ShouldBe(0);
            (await context.Members.CountAsync(Ct)).ShouldBe(0);
            (await context.Vips.CountAsync(Ct)).ShouldBe(0);
            (await context.Amphorae.SingleAsync(Ct)).LoadBalancerId.ShouldBeNull();
        }
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Engines), MemberType = typeof(TestDatabase))]
    public async Task BulkUpdateAndDelete_EveryEngine_AffectOnlyMatchingRows(string engine)
    {
        await using var test = await TestDatabase.CreateAsync(engine);
        using var db = test.Open();
        await DatabaseSchema.UpgradeAsync(db, cancellationToken: Ct);
        await using var context = db.CreateContext();
        context.AmphoraHealth.AddRange(
            new AmphoraHealth { AmphoraId = "old", LastUpdate = s_created.AddHours(-2) },
            new AmphoraHealth { AmphoraId = "new", LastUpdate = s_created });
        await context.SaveChangesAsync(Ct);

        // The housekeeper's and health manager's shapes: a conditional bulk update and delete.
        var busied = await context.AmphoraHealth.Where(h => h.LastUpdate < s_created.AddHours(-1))
            .ExecuteUpdateAsync(s => s.SetProperty(h => h.Busy, true), Ct);
        var deleted = await context.AmphoraHealth.Where(h => h.Busy).ExecuteDeleteAsync(Ct);

        (busied, deleted).ShouldBe((1, 1));
        (await context.AmphoraHealth.AsNoTracking().SingleAsync(Ct)).AmphoraId.ShouldBe("new");
    }

    private static LoadBalancer BuildGraph()
    {
        var pool = new Pool
        {
            Id = "p1",
            ProjectId = "proj",
            Name = "pool",
            Protocol = Protocols.Http,
            LbAlgorithm = "ROUND_ROBIN",
            TlsEnabled = true,
            TlsVersions = ["TLSv1.2"],
            CaTlsCertificateId = "ca-ref",
            CreatedAt = s_created,
            SessionPersistence = new SessionPersistence { Type = "APP_COOKIE", CookieName = "SESSION", PersistenceTimeout = 60 },
            HealthMonitor = new HealthMonitor
            {
                Id = "hm1",
                ProjectId = "proj",
                Type = "HTTP",
                Delay = 5,
                Timeout = 3,
                FallThreshold = 3,
                RiseThreshold = 2,
                HttpMethod = "GET",
                UrlPath = "/healthz",
                ExpectedCodes = "200-204",
                HttpVersion = 1.1,
                DomainName = "example.org",
            },
            Members =
            [
                new Member { Id = "m1", ProjectId = "proj", IpAddress = "198.18.0.21", ProtocolPort = 8080, Weight = 1, SubnetId = "s1", Tags = [new Tag { Value = "member-tag" }] },
                new Member { Id = "m2", ProjectId = "proj", IpAddress = "198.18.0.22", ProtocolPort = 8080, Backup = true, MonitorAddress = "198.18.0.99", MonitorPort = 9000 },
            ],
        };
        var listener = new Listener
        {
            Id = "l1",
            ProjectId = "proj",
            Name = "https",
            Protocol = Protocols.TerminatedHttps,
            ProtocolPort = 443,
            ConnectionLimit = -1,
            DefaultPool = pool,
            TlsCertificateId = "default-ref",
            ClientCaTlsCertificateId = "ca-ref",
            ClientAuthentication = "MANDATORY",
            ClientCrlContainerId = "crl-ref",
            InsertHeaders = new() { ["X-Forwarded-For"] = "true", ["X-Forwarded-Port"] = "false" },
            TlsVersions = ["TLSv1.2", "TLSv1.3"],
            AlpnProtocols = ["h2", "http/1.1"],
            TlsCiphers = "ECDHE-RSA-AES256-GCM-SHA384",
            TimeoutClientData = 50000,
            HstsMaxAge = 3600,
            HstsIncludeSubdomains = true,
            HstsPreload = false,
            SniContainers = [new Sni { TlsContainerId = "sni-a", Position = 0 }, new Sni { TlsContainerId = "sni-b", Position = 1 }],
            AllowedCidrs = [new ListenerCidr { Cidr = "198.18.0.0/24" }, new ListenerCidr { Cidr = "10.0.0.0/8" }],
            Tags = [new Tag { Value = "web" }],
            L7Policies =
            [
                new L7Policy
                {
                    Id = "pol1", ProjectId = "proj", Name = "to-pool", Action = "REDIRECT_TO_POOL", RedirectPool = pool, Position = 1,
                    L7Rules = [new L7Rule { Id = "r1", ProjectId = "proj", Type = "HEADER", CompareType = "EQUAL_TO", Key = "X-Env", Value = "prod", Invert = true, Tags = [new Tag { Value = "rule-tag" }] }],
                },
            ],
        };
        return new LoadBalancer
        {
            Id = "lb1",
            ProjectId = "proj",
            Name = "lb",
            Description = "graph",
            Topology = Topologies.ActiveStandby,
            Provider = "amphora",
            FlavorId = "f1",
            AvailabilityZone = "az1",
            ServerGroupId = "sg1",
            CreatedAt = s_created,
            UpdatedAt = s_created,
            Tags = [new Tag { Value = "blue" }, new Tag { Value = "green" }],
            Vip = new Vip { IpAddress = "198.18.0.10", PortId = "port1", SubnetId = "s1", NetworkId = "n1", QosPolicyId = "q1", OctaviaOwned = true },
            AdditionalVips =
            [
                new AdditionalVip { SubnetId = "s2", IpAddress = "2001:db8::10", PortId = "port2", NetworkId = "n2" },
                new AdditionalVip { SubnetId = "s3", IpAddress = "198.18.1.10" },
            ],
            VrrpGroup = new VrrpGroup { VrrpGroupName = "lb1", VrrpAuthType = "PASS", VrrpAuthPass = "pass1234", AdvertInt = 1 },
            Listeners = [listener],
            Pools = [pool],
            Amphorae =
            [
                new Amphora
                {
                    Id = "amp1", ComputeId = "c1", LbNetworkIp = "198.18.2.5", VrrpIp = "198.18.0.11", HaIp = "198.18.0.10", Role = "MASTER",
                    Status = "ALLOCATED", VrrpInterface = "eth1", VrrpId = 1, VrrpPriority = 100, CertExpiration = s_created.AddDays(30),
                    CachedZone = "az1", ImageId = "img", ComputeFlavor = "flv", CreatedAt = s_created,
                },
            ],
        };
    }
}
