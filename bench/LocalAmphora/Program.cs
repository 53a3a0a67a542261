// Licensed under the Apache License, Version 2.0.
// How long the local compute driver takes to boot and delete an amphora, and to plug a VIP.
// Usage: LocalAmphora [namespace|loopback] [count] [agent-executable]. The default agent is a
// shell script that listens with socat, so the figures are the driver's own cost.

using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Octavia.Core.Configuration;
using Octavia.Core.Drivers;
using Octavia.Core.Model;
using Octavia.Drivers.Network.Local;

var mode = args.Length > 0 ? args[0] : (Environment.IsPrivilegedProcess ? "namespace" : "loopback");
var count = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 10;
var root = Path.Combine(Path.GetTempPath(), "olc-bench-" + Guid.NewGuid().ToString("N")[..8]);
Directory.CreateDirectory(root);
var agent = args.Length > 2 ? args[2] : Path.Combine(root, "agent.sh");
if (args.Length <= 2)
{
    File.WriteAllText(agent, """
        #!/bin/bash
        while [ $# -gt 0 ]; do case "$1" in --config-file) conf="$2"; shift 2;; *) shift;; esac; done
        host=$(awk -F' = ' '$1=="bind_host"{print $2}' "$conf" | tail -1)
        exec socat "TCP-LISTEN:9443,bind=$host,reuseaddr,fork" SYSTEM:true
        """ + "\n");
    if (!OperatingSystem.IsWindows())
    {
        File.SetUnixFileMode(agent, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }
}
var suffix = Guid.NewGuid().ToString("N")[..6];
var config = OctaviaConfig.FromText($"""
    [local_compute]
    state_dir = {root}/state
    agent_executable = {agent}
    mode = {mode}
    management_network = olcb-mgmt
    [local_networks]
    networks = name=olcb-mgmt,subnet=olcb-mgmt-subnet,cidr=198.18.39.0/26,gateway=none,host=198.18.39.1,bridge=olcbm{suffix},loopback_cidr=127.78.0.0/26
    networks = name=olcb-priv,subnet=olcb-priv-subnet,cidr=198.18.39.64/26,gateway=198.18.39.65,bridge=olcbp{suffix},loopback_cidr=127.78.1.0/26
    """);
var (compute, network) = LocalDrivers.Create(config, NullLoggerFactory.Instance, TimeProvider.System);
var build = new List<double>();
var ready = new List<double>();
var plug = new List<double>();
var delete = new List<double>();
try
{
    for (var i = 0; i < count; i++)
    {
        var id = Guid.NewGuid().ToString();
        var sw = Stopwatch.StartNew();
        await compute.BuildAsync(new AmphoraBootRequest { AmphoraId = id, AgentConfig = "[haproxy_amphora]\nbind_host = 0.0.0.0\nbind_port = 9443\n", ServerPem = "x", ClientCaPem = "x" }, default);
        build.Add(sw.Elapsed.TotalMilliseconds);
        var ip = (await compute.GetAsync(id, default)).LbNetworkIp!;
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(ip, 9443);
                break;
            }
            catch (SocketException)
            {
                await Task.Delay(5);
            }
        }
        ready.Add(sw.Elapsed.TotalMilliseconds);
        var lb = new LoadBalancer { Id = Guid.NewGuid().ToString(), Vip = new Vip { SubnetId = "olcb-priv-subnet" } };
        sw.Restart();
        lb.Vip = await network.AllocateVipAsync(lb, default);
        await network.PlugVipAsync(lb, new Amphora { Id = id }, default);
        plug.Add(sw.Elapsed.TotalMilliseconds);
        sw.Restart();
        await compute.DeleteAsync(id, default);
        await network.DeallocateVipAsync(lb, default);
        delete.Add(sw.Elapsed.TotalMilliseconds);
    }
}
finally
{
    foreach (var bridge in mode == "namespace" ? new[] { "olcbm" + suffix, "olcbp" + suffix } : [])
    {
        using var p = Process.Start("ip", ["link", "del", bridge]);
        await p.WaitForExitAsync();
    }
    Directory.Delete(root, recursive: true);
}

static string Stats(List<double> values)
{
    var sorted = values.Order().ToList();
    return string.Create(CultureInfo.InvariantCulture, $"median {sorted[sorted.Count / 2]:F0} ms, min {sorted[0]:F0} ms, max {sorted[^1]:F0} ms");
}
Console.WriteLine($"mode {mode}, {count} amphorae, agent {agent}");
Console.WriteLine($"BuildAsync returns:          {Stats(build)}");
Console.WriteLine($"build until agent answers:   {Stats(ready)}");
Console.WriteLine($"AllocateVip + PlugVip:       {Stats(plug)}");
Console.WriteLine($"DeleteAsync + DeallocateVip: {Stats(delete)}");
