// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;

namespace Octavia.EndToEnd.Tests;

/// <summary>One at a time: both deployments use the all-in-one defaults (bridges, 198.18/198.19, port 5555).</summary>
[CollectionDefinition("stack", DisableParallelization = true)]
public sealed class StackCollection
{
}

/// <summary>
/// The whole product through stack.sh and the stock openstack CLI: real all-in-one process, real amphorae
/// in network namespaces, real HAProxy, real traffic.
/// </summary>
[Collection("stack")]
public sealed class StackTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StackTimeout = TimeSpan.FromMinutes(4);
    private readonly List<HttpBackend> _backends = [];

    [Fact]
    public Task StackSh_StockCli_BalancesHttpAndDeletesEverything() => StackedScenarioAsync(tls: false);

    [Fact]
    public Task StackSh_TerminatedHttpsWithStoredCertificate_ServesTheMembers() => StackedScenarioAsync(tls: true);

    private async Task StackedScenarioAsync(bool tls)
    {
        SkipUnlessReady();
        var repo = RepoRoot;
        var state = Deployment.TempDir("oit-stack-");
        var port = FreeTcpPort();
        var env = new Dictionary<string, string>
        {
            ["OCTAVIA_STACK_DIR"] = state,
            ["OCTAVIA_API_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["OCTAVIA_OPENRC"] = Path.Combine(state, "openrc"),
            ["OS_AUTH_TYPE"] = "none",
            ["OS_ENDPOINT"] = $"http://127.0.0.1:{port}",
        };
        var sh = new Shell(repo, env, output);
        var total = Stopwatch.StartNew();
        string? tlsDir = null;
        try
        {
            sh.Run("./stack.sh", StackTimeout);
            output.WriteLine($"stack.sh took {total.Elapsed.TotalSeconds:F1} s");
            var lb = await CreateBalancedLoadBalancerAsync(sh, "");

            // TERMINATED_HTTPS with a certificate stored by `octavia certs store` (the local cert manager).
            tlsDir = tls ? Deployment.TempDir("oit-tls-") : null;
            if (tlsDir is { } dir)
            {
                sh.Run($"openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=www.example.test -keyout {dir}/key.pem -out {dir}/cert.pem");
                var reference = sh.Run($"bin/octavia certs store --config-file {state}/octavia.conf --cert {dir}/cert.pem --key {dir}/key.pem")
                    .Trim().Split('\n')[^1].Trim();
                reference.ShouldNotBeNullOrEmpty();
                sh.Run($"openstack loadbalancer listener create --name tls1 --protocol TERMINATED_HTTPS --protocol-port 443 --default-tls-container-ref {reference} --default-pool pool1 --wait lb1");
                var https = await Deployment.GetUntilAsync($"https://{lb.Vip}/", (s, _) => s == 200, "CN=www.example.test");
                https.Status.ShouldBe(200, https.Body);
                https.Body.ShouldBeOneOf("web-1", "web-2");
            }
            sh.Run("openstack loadbalancer delete --cascade --wait lb1");
            AssertAmphoraGone(lb);
            output.WriteLine($"scenario took {total.Elapsed.TotalSeconds:F1} s");
        }
        finally
        {
            _backends.ForEach(b => b.Dispose());
            if (tlsDir is not null)
            {
                Directory.Delete(tlsDir, recursive: true);
            }
            sh.Try("./unstack.sh --purge", TimeSpan.FromMinutes(2));
            AssertNothingLeft(state);
            if (Directory.Exists(state))
            {
                Directory.Delete(state, recursive: true);
            }
        }
    }

    [Fact]
    public async Task FreshClone_StackShThenQuickstartCommands_WorkAndUnstackLeavesNothing()
    {
        SkipUnlessReady();
        var clone = Deployment.TempDir("oit-clone-");
        var sh = new Shell(clone, new Dictionary<string, string>(), output);
        var total = Stopwatch.StartNew();
        try
        {
            sh.Run($"git clone -q {RepoRoot} {clone}");
            // The clone would build octavia itself (minutes on a busy 2-core machine); give it this checkout's
            // Release build, which the committed sources produced, and mark it current.
            var release = Path.Combine(RepoRoot, "artifacts", "bin", "Octavia", "release");
            if (Directory.Exists(release))
            {
                sh.Run($"mkdir -p artifacts/bin/Octavia && cp -a {release} artifacts/bin/Octavia/ && touch artifacts/.octavia-built");
            }
            sh.Run("./stack.sh", StackTimeout);
            output.WriteLine($"stack.sh took {total.Elapsed.TotalSeconds:F1} s");
            var lb = await CreateBalancedLoadBalancerAsync(sh, "source openrc && ");
            sh.Run("source openrc && openstack loadbalancer delete --cascade --wait lb1");
            AssertAmphoraGone(lb);
        }
        finally
        {
            _backends.ForEach(b => b.Dispose());
            sh.Try("./unstack.sh", TimeSpan.FromMinutes(2));
            AssertNothingLeft(clone);
            output.WriteLine($"scenario took {total.Elapsed.TotalSeconds:F1} s");
            Directory.Delete(clone, recursive: true);
        }
    }

    private sealed record Lb(string Id, string Vip, string ComputeId, HashSet<string> LinksBefore);

    /// <summary>The quickstart's commands: lb1 ACTIVE with an amphora, 503 on the VIP, then two members alternating.</summary>
    private async Task<Lb> CreateBalancedLoadBalancerAsync(Shell sh, string prefix)
    {
        var linksBefore = Deployment.Links();
        var created = Deployment.Json(sh.Run($"{prefix}openstack loadbalancer create --name lb1 --vip-subnet-id private-subnet --wait -f json"));
        ((string?)created["provisioning_status"]).ShouldBe("ACTIVE");
        var vip = (string)created["vip_address"]!;
        vip.ShouldStartWith("198.19.0.");
        var amphorae = Deployment.Json(sh.Run($"{prefix}openstack loadbalancer amphora list --loadbalancer lb1 -f json"))["items"]!.AsArray();
        amphorae.Count.ShouldBe(1);
        var computeId = (string)amphorae[0]!["compute_id"]!;
        if (computeId is null)
        {
            var amphora = Deployment.Json(sh.Run($"{prefix}openstack loadbalancer amphora show {(string)amphorae[0]!["id"]!} -f json"));
            computeId = (string)amphora["compute_id"]!;
        }
        Deployment.Namespaces().ShouldContain("amphora-" + computeId);
        Deployment.ProcessesMentioning(computeId).ShouldNotBeEmpty();

        sh.Run($"{prefix}openstack loadbalancer listener create --name listener1 --protocol HTTP --protocol-port 80 --wait lb1");
        var empty = await Deployment.GetUntilAsync($"http://{vip}/", (s, _) => s == 503);
        empty.Status.ShouldBe(503, empty.Body);

        // They serve until the scenario ends (the TLS listener uses the same pool).
        var web1 = new HttpBackend("web-1", Deployment.TenantGateway);
        _backends.Add(web1);
        var web2 = new HttpBackend("web-2", Deployment.TenantGateway);
        _backends.Add(web2);
        sh.Run($"{prefix}openstack loadbalancer pool create --name pool1 --lb-algorithm ROUND_ROBIN --listener listener1 --protocol HTTP --wait");
        sh.Run($"{prefix}openstack loadbalancer member create --address {Deployment.TenantGateway} --protocol-port {web1.Port} --subnet-id private-subnet --wait pool1");
        sh.Run($"{prefix}openstack loadbalancer member create --address {Deployment.TenantGateway} --protocol-port {web2.Port} --subnet-id private-subnet --wait pool1");
        // Until haproxy has both members, answers may come from one only.
        var bodies = new List<string>();
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(20))
        {
            bodies.Clear();
            for (var i = 0; i < 6; i++)
            {
                var (status, body) = await Deployment.GetAsync($"http://{vip}/");
                bodies.Add(status == 200 ? body : $"{status}");
            }
            if (bodies.Zip(bodies.Skip(1)).All(p => p.First != p.Second) && bodies.All(b => b is "web-1" or "web-2"))
            {
                break;
            }
            await Task.Delay(500, TestContext.Current.CancellationToken);
        }
        output.WriteLine("VIP answers: " + string.Join(", ", bodies));
        bodies.ShouldAllBe(b => b == "web-1" || b == "web-2");
        bodies.Zip(bodies.Skip(1)).ShouldAllBe(p => p.First != p.Second);
        return new Lb((string)created["id"]!, vip, computeId, linksBefore);
    }

    private static void AssertAmphoraGone(Lb lb)
    {
        Deployment.Namespaces().ShouldNotContain("amphora-" + lb.ComputeId);
        Deployment.ProcessesMentioning(lb.ComputeId).ShouldBeEmpty();
        // Other suites on this machine add and remove links of their own meanwhile: only the all-in-one
        // bridges' ports are ours, and none may be left once the amphora is gone.
        foreach (var bridge in new[] { "br-lb-mgmt", "br-private" })
        {
            Run("ip", "-o", "link", "show", "master", bridge).Output.Trim().ShouldBeEmpty($"ports left on {bridge}");
        }
        Deployment.Addresses().ShouldNotContain(lb.Vip + "/");
    }

    private static void AssertNothingLeft(string stateRoot)
    {
        Deployment.ProcessesMentioning(stateRoot).ShouldBeEmpty();
        var links = Deployment.Links();
        links.ShouldNotContain("br-lb-mgmt");
        links.ShouldNotContain("br-private");
    }

    private static void SkipUnlessReady()
    {
        if (!IsRoot)
        {
            Assert.Skip("needs root (stack.sh makes bridges, namespaces and veths)");
        }
        foreach (var program in new[] { "openstack", "haproxy", "python3", "openssl", "git" })
        {
            if (!HasProgram(program))
            {
                Assert.Skip($"needs {program}");
            }
        }
    }
}
