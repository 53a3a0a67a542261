// Licensed under the Apache License, Version 2.0.
// SINGLE failover, repeated: a private stack.sh deployment on the ofo networks (heartbeat_interval 1,
// heartbeat_timeout 5, health_check_interval 1), one load balancer with an HTTP listener and two members,
// and N times: a client sends requests continuously, the amphora is killed (SIGKILL to everything in its
// namespace, namespace deleted), the health manager fails it over. Reports seconds without service and
// its parts. Needs root. Usage: FailoverBench [N=5]

using System.Diagnostics;
using System.Globalization;
using Octavia.EndToEnd.Tests;

var runs = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5;
if (!IsRoot)
{
    Console.Error.WriteLine("FailoverBench needs root (stack.sh makes bridges, namespaces and veths)");
    return 2;
}
var repo = RepoRoot;
var stack = HealthStack.Start(repo, _ => { });
var results = new List<FailoverResult>();
try
{
    var web1 = stack.Backend("web-1");
    var web2 = stack.Backend("web-2");
    var lb = HealthStack.Json(stack.Run(repo, "openstack loadbalancer create --name lb1 --vip-subnet-id private-subnet --wait -f json"));
    var vip = (string)lb["vip_address"]!;
    stack.Run(repo, "openstack loadbalancer listener create --name listener1 --protocol HTTP --protocol-port 80 --wait lb1");
    stack.Run(repo, "openstack loadbalancer pool create --name pool1 --lb-algorithm ROUND_ROBIN --listener listener1 --protocol HTTP --wait");
    stack.Run(repo, $"openstack loadbalancer member create --address {HealthStack.TenantHost} --protocol-port {web1.Port} --subnet-id private-subnet --wait pool1");
    stack.Run(repo, $"openstack loadbalancer member create --address {HealthStack.TenantHost} --protocol-port {web2.Port} --subnet-id private-subnet --wait pool1");
    for (var i = 0; i < runs; i++)
    {
        await WaitActiveAsync(stack, repo);
        var result = await FailoverDrill.RunAsync(stack, repo, vip, "lb1", Console.WriteLine);
        Console.WriteLine($"run {i + 1}/{runs}: {result}");
        results.Add(result);
    }
}
finally
{
    stack.Unstack(repo);
    stack.Dispose();
}

Console.WriteLine();
Console.WriteLine($"SINGLE failover, {results.Count} runs, heartbeat_timeout {HealthStack.HeartbeatTimeout} s, load average {File.ReadAllText("/proc/loadavg").Trim()}");
Console.WriteLine("| part | median s | max s |");
Console.WriteLine("|---|---|---|");
Row("without service", results.Select(r => r.Outage));
Row("detection (kill -> failover cast)", results.Select(r => r.Detection));
Row("rebuild (cast -> HAProxy configured on the new amphora)", results.Select(r => r.Rebuild));
Row("config (configured -> first answer)", results.Select(r => r.Config));
return results.All(r => r.Outage is not null && r.OldAmphoraDeleted) ? 0 : 1;

static void Row(string name, IEnumerable<TimeSpan?> values)
{
    var s = values.Where(v => v is not null).Select(v => v!.Value.TotalSeconds).Order().ToList();
    if (s.Count == 0)
    {
        Console.WriteLine($"| {name} | ? | ? |");
        return;
    }
    var median = s.Count % 2 == 1 ? s[s.Count / 2] : (s[(s.Count / 2) - 1] + s[s.Count / 2]) / 2;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {median:F2} | {s[^1]:F2} |"));
}

static async Task WaitActiveAsync(HealthStack stack, string repo)
{
    var deadline = Stopwatch.StartNew();
    while (deadline.Elapsed < TimeSpan.FromSeconds(120))
    {
        var shown = stack.Show(repo, "loadbalancer show lb1");
        var amphorae = stack.Amphorae(repo, "lb1");
        if ((string?)shown["provisioning_status"] == "ACTIVE" && amphorae.Count == 1 && (string?)amphorae[0]["status"] == "ALLOCATED")
        {
            return;
        }
        await Task.Delay(1000);
    }
    throw new TimeoutException("lb1 did not return to ACTIVE with one ALLOCATED amphora");
}
