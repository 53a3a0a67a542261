// Licensed under the Apache License, Version 2.0.
// How fast the VIP moves when an ACTIVE_STANDBY master dies. Two amphora-like namespaces run HAProxy and
// keepalived with the configuration KeepalivedConfigRenderer renders; a client namespace requests the VIP
// every 10 ms. Each run SIGKILLs the master's keepalived and HAProxy and deletes its namespace, then
// separates VRRP detection (kill -> VIP on the backup) from the move (VIP on the backup -> first answer).
// Usage (root): VrrpBench [runs] [advert_int]. Uses bridge oha-bvr, namespaces oha-vr-*, 198.18.53.0/24
// without a host address (no host route), so it does not disturb anything else.

using System.Diagnostics;
using System.Globalization;
using Octavia.Core.Model;
using Octavia.Drivers.Amphorae;

var runs = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5;
var advertInt = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1;
if (!Environment.IsPrivilegedProcess)
{
    Console.Error.WriteLine("VrrpBench needs root (namespaces, veths, a bridge).");
    return 2;
}
const string Vip = "198.18.53.100";
const string Bridge = "oha-bvr";
const string Client = "oha-vr-c";
var work = Directory.CreateTempSubdirectory("oha-vrb-").FullName;
var probe = Path.Combine(work, "probe.py");
File.WriteAllText(probe, """
    import socket, sys, time
    vip, seconds = sys.argv[1], float(sys.argv[2])
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        ok = False
        try:
            with socket.create_connection((vip, 80), timeout=0.2) as s:
                s.settimeout(0.2)
                s.sendall(b"GET / HTTP/1.0\r\nHost: vip\r\n\r\n")
                ok = b" 200 " in s.recv(64)
        except OSError:
            pass
        print(time.monotonic_ns(), "ok" if ok else "fail", flush=True)
        time.sleep(0.01)
    """);

var results = new List<(double Detect, double Move, double Total)>();
var running = new List<Process>();
try
{
    Sh("ip", "link", "add", Bridge, "type", "bridge");
    Sh("ip", "link", "set", Bridge, "up");
    MakeNamespace(Client, "oha-vc", "198.18.53.20");
    for (var run = 0; run < runs; run++)
    {
        // The kernel tears a deleted namespace's veths down asynchronously (seconds on a loaded machine).
        WaitFor(() => !Sh("ip", "-o", "link", "show").Contains(" oha-va@", StringComparison.Ordinal)
            && !Sh("ip", "-o", "link", "show").Contains(" oha-vb@", StringComparison.Ordinal), TimeSpan.FromSeconds(60), "the veths of the last run did not go away");
        var a = new Amp("oha-vr-a", "oha-va", "198.18.53.11", AmphoraRoles.Master, 100);
        var b = new Amp("oha-vr-b", "oha-vb", "198.18.53.12", AmphoraRoles.Backup, 90);
        foreach (var amp in new[] { a, b })
        {
            MakeNamespace(amp.Ns, amp.Veth, amp.Ip);
            Sh("ip", "netns", "exec", amp.Ns, "sysctl", "-qw", "net.ipv4.ip_nonlocal_bind=1");
            StartHaproxy(amp);
        }
        // As in the product, the first keepalived up takes the VIP and keeps it (nopreempt).
        running.Add(StartKeepalived(a, b));
        WaitFor(() => HoldsVip(a.Ns), TimeSpan.FromSeconds(20), "the first amphora did not take the VIP");
        running.Add(StartKeepalived(b, a));
        Thread.Sleep(2000);
        if (HoldsVip(b.Ns))
        {
            throw new InvalidOperationException("both amphorae hold the VIP");
        }

        var client = Start("ip", "netns", "exec", Client, "python3", probe, Vip, "20");
        var lines = new List<(long At, bool Ok)>();
        client.OutputDataReceived += (_, e) =>
        {
            if (e.Data?.Split(' ') is [var t, var s])
            {
                lock (lines)
                {
                    lines.Add((long.Parse(t, CultureInfo.InvariantCulture), s == "ok"));
                }
            }
        };
        client.BeginOutputReadLine();
        Thread.Sleep(1000);

        // The amphora dies as a VM would: its link goes first, so no keepalived child can send a
        // priority-0 advertisement on the way out (that would hand the VIP over in ~0.7 s instead).
        var killAt = NowNs();
        Sh("ip", "link", "set", a.Veth, "down");
        foreach (var pid in Pids(a))
        {
            Sh("kill", "-9", pid.ToString(CultureInfo.InvariantCulture));
        }
        Sh("ip", "netns", "delete", a.Ns);
        WaitFor(() => HoldsVip(b.Ns), TimeSpan.FromSeconds(20), "the backup did not take the VIP");
        var vipAt = NowNs();
        long okAt = 0;
        WaitFor(() =>
        {
            lock (lines)
            {
                okAt = lines.FirstOrDefault(l => l.At > killAt && l.Ok && lines.Any(f => f.At > killAt && !f.Ok && f.At < l.At)).At;
            }
            return okAt != 0;
        }, TimeSpan.FromSeconds(15), "no answer through the backup");
        client.Kill();
        client.WaitForExit();
        var r = ((vipAt - killAt) / 1e6, (okAt - vipAt) / 1e6, (okAt - killAt) / 1e6);
        results.Add(r);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"run {run + 1}: VIP on backup after {r.Item1:F0} ms (detection), first answer {r.Item2:F0} ms later (move), {r.Item3:F0} ms in all"));

        foreach (var pid in Pids(b))
        {
            Sh("kill", "-9", pid.ToString(CultureInfo.InvariantCulture));
        }
        Sh("ip", "netns", "delete", b.Ns);
        foreach (var p in running)
        {
            p.WaitForExit(5000);
            p.Dispose();
        }
        running.Clear();
    }
}
finally
{
    foreach (var p in running.Where(p => !p.HasExited))
    {
        p.Kill(entireProcessTree: true);
    }
    foreach (var ns in new[] { "oha-vr-a", "oha-vr-b", Client })
    {
        Try("ip", "netns", "delete", ns);
    }
    Try("ip", "link", "delete", Bridge);
    Directory.Delete(work, recursive: true);
}

var priorityBackup = 90;
var expected = (3 * advertInt) + ((256 - priorityBackup) * advertInt / 256.0);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"advert_int {advertInt} s: keepalived's master_down_interval for the backup (priority {priorityBackup}) is {expected * 1000:F0} ms"));
Print("detection (kill -> VIP on backup)", results.Select(r => r.Detect));
Print("move (VIP on backup -> first answer)", results.Select(r => r.Move));
Print("total (kill -> first answer)", results.Select(r => r.Total));
Console.WriteLine("load average: " + File.ReadAllText("/proc/loadavg").Trim());
return 0;

void Print(string what, IEnumerable<double> values)
{
    var v = values.Order().ToList();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{what}: median {v[v.Count / 2]:F0} ms, min {v[0]:F0} ms, max {v[^1]:F0} ms (n={v.Count})"));
}

void MakeNamespace(string ns, string veth, string ip)
{
    Sh("ip", "netns", "add", ns);
    Sh("ip", "-n", ns, "link", "set", "lo", "up");
    Sh("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns);
    Sh("ip", "link", "set", veth, "master", Bridge, "up");
    Sh("ip", "-n", ns, "addr", "add", ip + "/24", "dev", "eth0");
    Sh("ip", "-n", ns, "link", "set", "eth0", "up");
}

void StartHaproxy(Amp amp)
{
    var cfg = Path.Combine(work, amp.Ns + ".cfg");
    File.WriteAllText(cfg, $"""
        global
            maxconn 200
            stats socket {Path.Combine(work, amp.Ns + ".sock")} mode 0600 level user
        defaults
            mode http
            timeout connect 1s
            timeout client 5s
            timeout server 5s
        frontend vip
            bind {Vip}:80
            http-request return status 200 content-type text/plain string {amp.Ns}

        """);
    Sh("ip", "netns", "exec", amp.Ns, "haproxy", "-D", "-p", Path.Combine(work, amp.Ns + ".haproxy.pid"), "-f", cfg);
}

Process StartKeepalived(Amp self, Amp peer)
{
    var lb = new LoadBalancer
    {
        Id = "0b0e6f0c-4a3e-4d54-9d2e-6f0d1b7a0001",
        Vip = new Vip { IpAddress = Vip },
        VrrpGroup = new VrrpGroup { VrrpGroupName = "ohavrb", VrrpAuthType = "PASS", VrrpAuthPass = "ohapass", AdvertInt = advertInt },
    };
    var me = new Amphora { Id = self.Ns, VrrpIp = self.Ip, VrrpInterface = "eth0", Role = self.Role, VrrpPriority = self.Priority, Status = ProvisioningStatus.Allocated };
    var other = new Amphora { Id = peer.Ns, VrrpIp = peer.Ip, VrrpInterface = "eth0", Role = peer.Role, VrrpPriority = peer.Priority, Status = ProvisioningStatus.Allocated };
    var check = Path.Combine(work, self.Ns + "-check.sh");
    File.WriteAllText(check, $"#!/bin/sh\necho 'show info' | socat stdio UNIX-CONNECT:{Path.Combine(work, self.Ns + ".sock")} > /dev/null\n");
    if (!OperatingSystem.IsWindows())
    {
        File.SetUnixFileMode(check, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }
    var conf = Path.Combine(work, self.Ns + "-keepalived.conf");
    File.WriteAllText(conf, KeepalivedConfigRenderer.Render(lb, me, new KeepalivedOptions { CheckScriptPath = check, VrrpAdvertInt = advertInt }, null, [me, other]));
    var p = Start("ip", "netns", "exec", self.Ns, "keepalived", "-n", "-l", "-D", "-f", conf,
        "-p", Path.Combine(work, self.Ns + ".k.pid"), "-r", Path.Combine(work, self.Ns + ".kv.pid"), "-c", Path.Combine(work, self.Ns + ".kc.pid"));
    p.BeginOutputReadLine();
    p.BeginErrorReadLine();
    return p;
}

IEnumerable<int> Pids(Amp amp)
{
    foreach (var f in new[] { ".kv.pid", ".kc.pid", ".k.pid", ".haproxy.pid" })
    {
        var path = Path.Combine(work, amp.Ns + f);
        if (File.Exists(path) && int.TryParse(File.ReadAllText(path).Trim(), out var pid))
        {
            yield return pid;
        }
    }
}

bool HoldsVip(string ns) => Sh("ip", "-n", ns, "-o", "-4", "addr", "show", "dev", "eth0").Contains($" {Vip}/32 ", StringComparison.Ordinal);

static long NowNs() => (long)(Stopwatch.GetTimestamp() * (1e9 / Stopwatch.Frequency));

static void WaitFor(Func<bool> condition, TimeSpan timeout, string failure)
{
    var sw = Stopwatch.StartNew();
    while (!condition())
    {
        if (sw.Elapsed > timeout)
        {
            throw new TimeoutException(failure);
        }
        Thread.Sleep(5);
    }
}

static Process Start(string file, params string[] arguments)
{
    var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
    foreach (var a in arguments)
    {
        psi.ArgumentList.Add(a);
    }
    return Process.Start(psi)!;
}

static string Sh(string file, params string[] arguments)
{
    using var p = Start(file, arguments);
    var output = p.StandardOutput.ReadToEnd();
    var error = p.StandardError.ReadToEnd();
    p.WaitForExit();
    if (p.ExitCode != 0)
    {
        throw new InvalidOperationException($"{file} {string.Join(' ', arguments)}: {error}");
    }
    return output;
}

static void Try(string file, params string[] arguments)
{
    try
    {
        Sh(file, arguments);
    }
    catch (InvalidOperationException)
    {
    }
}

internal sealed record Amp(string Ns, string Veth, string Ip, string Role, int Priority);
