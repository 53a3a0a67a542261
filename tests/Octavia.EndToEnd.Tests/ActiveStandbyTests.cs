// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;

namespace Octavia.EndToEnd.Tests;

/// <summary>
/// ACTIVE_STANDBY through stack.sh and the stock openstack CLI on the "oha" networks: two amphorae in
/// namespaces running HAProxy and keepalived, the VIP on one, the master killed under load, and a load
/// balancer failover, with real backends and real traffic.
/// </summary>
public sealed class ActiveStandbyTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StackTimeout = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task ActiveStandby_KillMasterUnderLoadThenLoadBalancerFailover_TrafficKeepsFlowing()
    {
        SkipUnlessReady();
        var d = new ActiveStandbyDeployment(output);
        var sh = d.Shell;
        var backends = new List<HttpBackend>();
        var seen = new HashSet<string>();
        var total = Stopwatch.StartNew();
        try
        {
            sh.Run("./stack.sh", StackTimeout);
            output.WriteLine($"stack.sh took {total.Elapsed.TotalSeconds:F1} s");

            // 1. Create: two amphorae, MASTER and BACKUP, each with a VRRP address, keepalived in each namespace.
            var created = Deployment.Json(sh.Run("openstack loadbalancer create --name lb1 --vip-subnet-id private-subnet --wait -f json", TimeSpan.FromMinutes(5)));
            ((string?)created["provisioning_status"]).ShouldBe("ACTIVE");
            var lbId = (string)created["id"]!;
            var vip = (string)created["vip_address"]!;
            vip.ShouldStartWith("198.18.53.");
            var amphorae = d.Amphorae("lb1");
            seen.UnionWith(amphorae.Select(a => a.ComputeId));
            amphorae.Select(a => a.Role).Order().ShouldBe(["BACKUP", "MASTER"]);
            amphorae.ShouldAllBe(a => a.Status == "ALLOCATED" && a.VrrpIp != null && a.VrrpIp.StartsWith("198.18.53.") && a.HaIp == vip);
            amphorae.Select(a => a.VrrpIp).Distinct().Count().ShouldBe(2);
            foreach (var a in amphorae)
            {
                Deployment.Namespaces().ShouldContain("amphora-" + a.ComputeId);
                Deployment.ProcessesMentioning(Path.Combine(d.AmphoraDir(a.ComputeId), "lb", "vrrp", "octavia-keepalived.conf"))
                    .ShouldNotBeEmpty($"keepalived of {a.Id}");
            }

            sh.Run("openstack loadbalancer listener create --name listener1 --protocol HTTP --protocol-port 80 --wait lb1");
            backends.Add(new HttpBackend("web-1", ActiveStandbyDeployment.TenantHost));
            backends.Add(new HttpBackend("web-2", ActiveStandbyDeployment.TenantHost));
            sh.Run("openstack loadbalancer pool create --name pool1 --lb-algorithm ROUND_ROBIN --listener listener1 --protocol HTTP --wait");
            foreach (var b in backends)
            {
                sh.Run($"openstack loadbalancer member create --address {ActiveStandbyDeployment.TenantHost} --protocol-port {b.Port} --subnet-id private-subnet --wait pool1");
            }

            // The VIP is on exactly one amphora (keepalived waits for HAProxy's check script to pass).
            var master = await ActiveStandbyDeployment.VipHolderAsync(amphorae, vip);
            master.ShouldNotBeNull("the VIP is on neither or both amphorae");
            output.WriteLine($"VIP {vip} is on {master.Id} (role {master.Role})");
            await AssertBothMembersAnswerAsync(vip);

            // 2. Each amphora's HAProxy has its own stats socket and keepalived its own check script.
            foreach (var a in amphorae)
            {
                var lbDir = Path.Combine(d.AmphoraDir(a.ComputeId), "lb");
                File.Exists(Path.Combine(lbDir, lbId + ".sock")).ShouldBeTrue($"stats socket of {a.Id}");
                File.ReadAllText(Path.Combine(lbDir, lbId, "haproxy.cfg")).ShouldContain($"server-state-file {Path.Combine(lbDir, lbId, "servers-state")}");
                File.ReadAllText(Path.Combine(lbDir, "vrrp", "octavia-keepalived.conf")).ShouldContain($"script {Path.Combine(lbDir, "vrrp", "check_script.sh")}");
                sh.Run($"ip netns exec amphora-{a.ComputeId} bash {Path.Combine(lbDir, "vrrp", "check_script.sh")}");
                // Each amphora's admin log has its keepalived's lines (the agent is the amphora's log daemon).
                (await WaitForLogAsync(Path.Combine(lbDir, "logs", "admin.log"), l => l.Contains(" Keepalived - - - ", StringComparison.Ordinal))).ShouldBeTrue($"keepalived lines in the admin log of {a.Id}");
            }
            // The master's HAProxy logged the requests above: the controller's rendered log lines, routed by the
            // agent into its FIFOs, stored as upstream's connection log format.
            (await WaitForLogAsync(Path.Combine(d.AmphoraDir(master.ComputeId), "lb", "logs", "traffic.log"),
                l => l.Contains($" {lbId} ", StringComparison.Ordinal) && l.Contains("\"GET / HTTP/1.1\" 200 ", StringComparison.Ordinal))).ShouldBeTrue("traffic lines in the master's traffic.log");

            // 3. The master dies under load: the backup takes the VIP, the health manager replaces the dead one.
            var backup = amphorae.Single(a => a.Id != master.Id);
            await using (var load = new VipLoad($"http://{vip}/"))
            {
                await Task.Delay(2000, TestContext.Current.CancellationToken);
                var killedAt = load.Now;
                var killed = d.Kill(master.ComputeId);
                output.WriteLine($"SIGKILLed {string.Join(", ", killed)} of {master.Id} and deleted its namespace");
                killed.Count.ShouldBeGreaterThanOrEqualTo(3, "agent, HAProxy and keepalived");
                (await ActiveStandbyDeployment.VipHolderAsync([backup], vip, 30)).ShouldNotBeNull("the backup did not take the VIP");
                var replaced = await WaitForTwoHealthyAmphoraeAsync(d, master.Id, TimeSpan.FromMinutes(4));
                await Task.Delay(2000, TestContext.Current.CancellationToken);
                var (ok, failed, gap, firstOk) = load.Summary(killedAt);
                output.WriteLine($"master kill: {ok} answered, {failed} failed, longest gap {gap.TotalSeconds:F2} s, " +
                    $"first answer after kill at +{((firstOk ?? killedAt) - killedAt).TotalSeconds:F2} s; replaced in {replaced.TotalSeconds:F1} s");
                gap.ShouldBeLessThan(TimeSpan.FromSeconds(15), "the VIP did not move to the backup in time");
                ok.ShouldBeGreaterThan(failed * 4);
            }
            amphorae = d.Amphorae("lb1");
            seen.UnionWith(amphorae.Select(a => a.ComputeId));
            amphorae.Select(a => a.Role).Order().ShouldBe(["BACKUP", "MASTER"]);
            amphorae.ShouldContain(a => a.Id == backup.Id);
            var holder = await ActiveStandbyDeployment.VipHolderAsync(amphorae, vip);
            holder.ShouldNotBeNull();
            holder.Id.ShouldBe(backup.Id, "nopreempt: the survivor keeps the VIP");
            await AssertBothMembersAnswerAsync(vip);

            // 4. Load balancer failover: both amphorae replaced one at a time while traffic flows.
            var before = amphorae.Select(a => a.Id).ToHashSet();
            await using (var load = new VipLoad($"http://{vip}/"))
            {
                await Task.Delay(1000, TestContext.Current.CancellationToken);
                var start = load.Now;
                sh.Run("openstack loadbalancer failover --wait lb1", TimeSpan.FromMinutes(8));
                await Task.Delay(2000, TestContext.Current.CancellationToken);
                var (ok, failed, gap, _) = load.Summary(start);
                output.WriteLine($"loadbalancer failover: {ok} answered, {failed} failed, longest gap {gap.TotalSeconds:F2} s, took {(load.Now - start).TotalSeconds:F1} s");
                gap.ShouldBeLessThan(TimeSpan.FromSeconds(15));
                ok.ShouldBeGreaterThan(failed * 4);
            }
            var lb = Deployment.Json(sh.Run("openstack loadbalancer show lb1 -f json"));
            ((string?)lb["provisioning_status"]).ShouldBe("ACTIVE");
            amphorae = d.Amphorae("lb1");
            seen.UnionWith(amphorae.Select(a => a.ComputeId));
            amphorae.Count.ShouldBe(2);
            amphorae.ShouldAllBe(a => !before.Contains(a.Id) && a.Status == "ALLOCATED");
            amphorae.Select(a => a.Role).Order().ShouldBe(["BACKUP", "MASTER"]);
            (await ActiveStandbyDeployment.VipHolderAsync(amphorae, vip)).ShouldNotBeNull();
            await AssertBothMembersAnswerAsync(vip);

            sh.Run("openstack loadbalancer delete --cascade --wait lb1", TimeSpan.FromMinutes(3));
            foreach (var a in amphorae)
            {
                Deployment.Namespaces().ShouldNotContain("amphora-" + a.ComputeId);
            }
            output.WriteLine($"scenario took {total.Elapsed.TotalSeconds:F1} s");
        }
        finally
        {
            backends.ForEach(b => b.Dispose());
            sh.Try("./unstack.sh --purge", TimeSpan.FromMinutes(2));
            try
            {
                Deployment.ProcessesMentioning(d.State).ShouldBeEmpty();
                var links = Deployment.Links();
                links.ShouldNotContain(ActiveStandbyDeployment.MgmtBridge);
                links.ShouldNotContain(ActiveStandbyDeployment.TenantBridge);
                var namespaces = Deployment.Namespaces();
                seen.ShouldAllBe(id => !namespaces.Contains("amphora-" + id));
            }
            finally
            {
                d.Delete();
            }
        }
    }

    /// <summary>Waits up to 20 s for a line of the log file at <paramref name="path"/> to match.</summary>
    private static async Task<bool> WaitForLogAsync(string path, Func<string, bool> matches)
    {
        for (var sw = Stopwatch.StartNew(); sw.Elapsed < TimeSpan.FromSeconds(20); await Task.Delay(200, TestContext.Current.CancellationToken))
        {
            if (File.Exists(path) && File.ReadLines(path).Any(matches))
            {
                return true;
            }
        }
        return false;
    }

    private async Task AssertBothMembersAnswerAsync(string vip)
    {
        var bodies = new List<string>();
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(60))
        {
            bodies.Clear();
            for (var i = 0; i < 4; i++)
            {
                var (status, body) = await Deployment.GetAsync($"http://{vip}/");
                bodies.Add(status == 200 ? body : $"{status} {body}");
            }
            if (bodies.All(b => b is "web-1" or "web-2") && bodies.Distinct().Count() == 2)
            {
                break;
            }
            await Task.Delay(500, TestContext.Current.CancellationToken);
        }
        output.WriteLine("VIP answers: " + string.Join(", ", bodies));
        bodies.ShouldAllBe(b => b == "web-1" || b == "web-2");
        bodies.Distinct().Count().ShouldBe(2);
    }

    /// <summary>Waits until <paramref name="dead"/> is gone and two amphorae are ALLOCATED with the LB ACTIVE/ONLINE.</summary>
    private static async Task<TimeSpan> WaitForTwoHealthyAmphoraeAsync(ActiveStandbyDeployment d, string dead, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        var last = "";
        while (sw.Elapsed < timeout)
        {
            var lb = Deployment.Json(d.Shell.Run("openstack loadbalancer show lb1 -f json"));
            var amps = Deployment.Json(d.Shell.Run("openstack loadbalancer amphora list --loadbalancer lb1 -f json"))["items"]!.AsArray();
            last = $"{lb["provisioning_status"]}/{lb["operating_status"]}: " + string.Join(", ", amps.Select(a => $"{a!["id"]} {a["role"]} {a["status"]}"));
            if ((string?)lb["provisioning_status"] == "ACTIVE" && (string?)lb["operating_status"] == "ONLINE"
                && amps.Count == 2 && amps.All(a => (string?)a!["status"] == "ALLOCATED" && (string?)a["id"] != dead))
            {
                return sw.Elapsed;
            }
            await Task.Delay(3000, TestContext.Current.CancellationToken);
        }
        throw new ShouldAssertException($"no replacement amphora within {timeout}: {last}");
    }

    private static void SkipUnlessReady()
    {
        if (!IsRoot)
        {
            Assert.Skip("needs root (stack.sh makes bridges, namespaces and veths)");
        }
        foreach (var program in new[] { "openstack", "haproxy", "keepalived", "socat", "python3" })
        {
            if (!HasProgram(program))
            {
                Assert.Skip($"needs {program}");
            }
        }
    }
}
