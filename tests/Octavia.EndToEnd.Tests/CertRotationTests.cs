// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;

namespace Octavia.EndToEnd.Tests;

/// <summary>
/// Issue #4, scenario 4: amphora certificates valid for 60 s and a housekeeper that renews them 40 s before
/// they expire, so rotation happens while the test watches; the controller must keep talking to the agent.
/// </summary>
[Collection("ofo")]
public sealed class CertRotationTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ShortLivedAmphoraCertificate_IsRotatedByTheHousekeeper_AndTheAgentStillObeys()
    {
        if (!IsRoot)
        {
            Assert.Skip("needs root (stack.sh makes bridges, namespaces and veths)");
        }
        foreach (var program in new[] { "openstack", "haproxy", "python3" })
        {
            if (!HasProgram(program))
            {
                Assert.Skip($"needs {program}");
            }
        }
        var repo = RepoRoot;
        using var stack = HealthStack.Start(repo, output.WriteLine, """
            [certificates]
            cert_validity_time = 60

            [house_keeping]
            cert_interval = 2
            cert_expiry_buffer = 40
            """);
        var state = stack.State;
        try
        {
            var web = stack.Backend("web-1");
            var lb = HealthStack.Json(stack.Run(repo, "openstack loadbalancer create --name lb1 --vip-subnet-id private-subnet --wait -f json"));
            var vip = (string)lb["vip_address"]!;
            var amphoraId = (string)stack.Amphorae(repo, "lb1").Single()["id"]!;
            var first = Expiration(stack, repo, amphoraId);
            output.WriteLine($"amphora {amphoraId} certificate expires at {first:O}");

            var watch = Stopwatch.StartNew();
            var latest = first;
            while (watch.Elapsed < TimeSpan.FromSeconds(120) && latest <= first)
            {
                await Task.Delay(2000, TestContext.Current.CancellationToken);
                latest = Expiration(stack, repo, amphoraId);
            }
            output.WriteLine($"after {watch.Elapsed.TotalSeconds:F1} s the certificate expires at {latest:O}");
            latest.ShouldBeGreaterThan(first, "the housekeeper did not rotate the amphora certificate");
            stack.LogTimes("Casting rotate_amphora_certificate").ShouldBeEmpty("a rotation cast failed");
            stack.LogTimes("(rotate_amphora_certificate) succeeded").ShouldNotBeEmpty();

            // The agent now serves the new certificate: the controller still configures it, traffic flows.
            stack.Run(repo, "openstack loadbalancer listener create --name listener1 --protocol HTTP --protocol-port 80 --wait lb1");
            stack.Run(repo, "openstack loadbalancer pool create --name pool1 --lb-algorithm ROUND_ROBIN --listener listener1 --protocol HTTP --wait");
            stack.Run(repo, $"openstack loadbalancer member create --address {HealthStack.TenantHost} --protocol-port {web.Port} --subnet-id private-subnet --wait pool1");
            var answer = await Deployment.GetUntilAsync($"http://{vip}/", (s, b) => s == 200 && b == "web-1", seconds: 30);
            answer.Status.ShouldBe(200, answer.Body);
            ((string?)stack.Show(repo, "loadbalancer show lb1")["provisioning_status"]).ShouldBe("ACTIVE");
            Expiration(stack, repo, amphoraId).ShouldBeGreaterThan(DateTime.UtcNow, "the amphora's certificate is expired");
        }
        finally
        {
            stack.Unstack(repo);
        }
        Deployment.ProcessesMentioning(state).ShouldBeEmpty();
        var links = Deployment.Links();
        links.ShouldNotContain("ofo-mgmt");
        links.ShouldNotContain("ofo-priv");
    }

    private static DateTime Expiration(HealthStack stack, string repo, string amphoraId)
    {
        var text = (string?)stack.Show(repo, $"loadbalancer amphora show {amphoraId}")["cert_expiration"];
        text.ShouldNotBeNull();
        return DateTime.Parse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal);
    }
}
