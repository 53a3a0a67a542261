// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Octavia.EndToEnd.Tests;

/// <summary>
/// The quick start's other variants: <c>stack.sh --keystone</c> (password auth, RBAC), loopback mode as an
/// unprivileged user, SSH into amphorae, and <c>tools/install.sh</c>. Each runs the commands the docs show.
/// </summary>
[Collection("stack")]
public sealed class StackVariantTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StackTimeout = TimeSpan.FromMinutes(6);

    [Fact]
    public async Task StackShKeystone_PasswordAuthAndRbac_UnstackPurgeLeavesNothing()
    {
        SkipUnlessRootWith("openstack", "haproxy", "python3", "openssl");
        if (!File.Exists("/usr/bin/keystone-manage"))
        {
            Assert.Skip("needs python3-keystone (.ci/services.sh installs it)");
        }
        var state = Deployment.TempDir("ost-ks-");
        var port = FreeTcpPort();
        var sh = new Shell(RepoRoot, PrivateDeployment(state, port), output);
        try
        {
            sh.Run("./stack.sh --keystone", StackTimeout);
            // The demo user's openrc: password auth against the local Keystone, real tokens.
            var demo = $"source {state}/openrc && ";
            var admin = $"source {state}/keystone/admin-openrc && ";
            sh.Run($"{demo}env | grep -q '^OS_AUTH_TYPE=password' && openstack token issue -f value -c id");
            var lb = Deployment.Json(sh.Run($"{demo}openstack loadbalancer create --name lb1 --vip-subnet-id private-subnet --wait -f json"));
            ((string?)lb["provisioning_status"]).ShouldBe("ACTIVE");
            var vip = (string)lb["vip_address"]!;
            Deployment.Json(sh.Run($"{demo}openstack loadbalancer show lb1 -f json"))["id"]!.ToString().ShouldBe((string)lb["id"]!);
            sh.Run($"{demo}openstack loadbalancer listener create --name listener1 --protocol HTTP --protocol-port 80 --wait lb1");
            var empty = await Deployment.GetUntilAsync($"http://{vip}/", (s, _) => s == 503);
            empty.Status.ShouldBe(503, empty.Body);

            // Another project's load balancer (the admin's, on the no-op provider: no second amphora).
            sh.Run($"{admin}openstack loadbalancer create --name adminlb --provider noop_driver --vip-subnet-id private-subnet --wait");
            var demoNames = Names(sh.Run($"{demo}openstack loadbalancer list -f json"));
            demoNames.ShouldContain("lb1");
            demoNames.ShouldNotContain("adminlb");
            sh.Try($"{demo}openstack loadbalancer show adminlb").ExitCode.ShouldNotBe(0);
            var adminNames = Names(sh.Run($"{admin}openstack loadbalancer list -f json"));
            adminNames.ShouldContain("lb1");
            adminNames.ShouldContain("adminlb");

            // The amphora API is admin-only (upstream's load-balancer:admin rule).
            var denied = sh.Try($"{demo}openstack loadbalancer amphora list");
            denied.ExitCode.ShouldNotBe(0);
            denied.Output.ShouldContain("403");
            Deployment.Json(sh.Run($"{admin}openstack loadbalancer amphora list --loadbalancer {(string)lb["id"]!} -f json"))["items"]!.AsArray().Count.ShouldBe(1);

            sh.Run($"{admin}openstack loadbalancer delete --wait adminlb");
            sh.Run($"{demo}openstack loadbalancer delete --cascade --wait lb1");
        }
        finally
        {
            sh.Try("./unstack.sh --purge", TimeSpan.FromMinutes(2));
            AssertNothingLeft(state);
            Directory.Exists(state).ShouldBeFalse("unstack.sh --purge removes the state directory");
        }
    }

    [Fact]
    public void StackShWithAmpSshKey_SshIntoAmphoraSeesListener_DeleteStopsSshd()
    {
        SkipUnlessRootWith("openstack", "haproxy", "python3", "openssl", "ssh", "/usr/sbin/sshd");
        var state = Deployment.TempDir("ost-ssh-");
        var port = FreeTcpPort();
        var sh = new Shell(RepoRoot, PrivateDeployment(state, port), output);
        var rc = $"source {state}/openrc && ";
        try
        {
            sh.Run("./stack.sh", StackTimeout);
            sh.Run($"grep -x 'amp_ssh_key_name = octavia_ssh_key' {state}/octavia.conf");
            var lb = Deployment.Json(sh.Run($"{rc}openstack loadbalancer create --name lb1 --vip-subnet-id private-subnet --wait -f json"));
            var listener = Deployment.Json(sh.Run($"{rc}openstack loadbalancer listener create --name listener1 --protocol HTTP --protocol-port 80 --wait lb1 -f json"));
            var amphora = Deployment.Json(sh.Run($"{rc}openstack loadbalancer amphora list --loadbalancer lb1 -f json"))["items"]!.AsArray()[0]!;
            var id = (string)amphora["id"]!;
            var ip = (string)amphora["lb_network_ip"]!;
            var sshd = SshdPid(state, id);
            sshd.ShouldNotBeNull("instance.json records the amphora's sshd");

            // The operator guide's troubleshooting commands.
            var cfg = $"{state}/local/amphorae/{id}/lb/{(string)lb["id"]!}/haproxy.cfg";
            var viaSsh = sh.Run($"ssh -i {state}/ssh/octavia_ssh_key -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@{ip} 'id -un; ip -o addr show; cat {cfg}'");
            viaSsh.ShouldContain("root");
            viaSsh.ShouldContain(ip + "/");
            viaSsh.ShouldContain("frontend " + (string)listener["id"]!);
            var viaShell = sh.Run($"bin/octavia amphora shell --config-file {state}/octavia.conf {id} -- cat {cfg}");
            viaShell.ShouldContain("frontend " + (string)listener["id"]!);

            // Only the key in ssh_key_dir is accepted.
            var otherKey = Path.Combine(state, "other_key");
            sh.Run($"ssh-keygen -q -t ed25519 -N '' -f {otherKey}");
            sh.Try($"ssh -i {otherKey} -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@{ip} true").ExitCode.ShouldNotBe(0);

            sh.Run($"{rc}openstack loadbalancer delete --cascade --wait lb1");
            File.Exists($"/proc/{sshd}/stat").ShouldBeFalse("deleting the amphora stops its sshd");
            Deployment.ProcessesMentioning(id).ShouldBeEmpty();
        }
        finally
        {
            sh.Try("./unstack.sh --purge", TimeSpan.FromMinutes(2));
            AssertNothingLeft(state);
        }
    }

    [Fact]
    public async Task StackShAsUnprivilegedUser_LoopbackMode_SeedCommandsAndSshWork()
    {
        SkipUnlessRootWith("openstack", "haproxy", "python3", "openssl", "git", "useradd", "runuser", "ssh", "/usr/sbin/sshd");
        var release = Path.Combine(RepoRoot, "artifacts", "bin", "Octavia", "release");
        // Built here as root (bin/octavia builds when missing or stale), so the user need not restore NuGet packages.
        new Shell(RepoRoot, new Dictionary<string, string>(), output).Run("bin/octavia --help >/dev/null", TimeSpan.FromMinutes(15));
        var user = "ost" + Guid.NewGuid().ToString("N")[..8];
        var clone = Deployment.TempDir("ost-lo-");
        var root = new Shell(clone, new Dictionary<string, string>(), output);
        // As the user, from a login-like environment (no root's HOME, PATH with the system's dotnet).
        var sh = new Shell(clone, new Dictionary<string, string>(), output);
        string As(string command) => $"runuser -u {user} -- env -i HOME=/home/{user} PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 bash -c {Quote(command)}";
        try
        {
            root.Run($"useradd --create-home --shell /bin/bash {user}");
            root.Run($"git clone -q {RepoRoot} {clone}");
            // The user need not restore NuGet packages: it gets this checkout's Release build, marked current.
            root.Run($"mkdir -p artifacts/bin/Octavia && cp -a {release} artifacts/bin/Octavia/ && touch artifacts/.octavia-built && chown -R {user}: {clone}");

            var stacked = sh.Run(As("./stack.sh"), StackTimeout);
            stacked.ShouldContain("LOOPBACK MODE");
            var listenerPort = stacked.Contains("--protocol-port 8080", StringComparison.Ordinal) ? 8080 : 80;
            var rc = "source openrc && ";
            var lb = Deployment.Json(sh.Run(As($"{rc}openstack loadbalancer create --name lb1 --vip-subnet-id private-subnet --wait -f json")));
            ((string?)lb["provisioning_status"]).ShouldBe("ACTIVE");
            var vip = (string)lb["vip_address"]!;
            vip.ShouldStartWith("127.");
            sh.Run(As($"{rc}openstack loadbalancer show lb1"));
            sh.Run(As($"{rc}openstack loadbalancer listener create --name listener1 --protocol HTTP --protocol-port {listenerPort} --wait lb1"));
            var empty = await Deployment.GetUntilAsync($"http://{vip}:{listenerPort}/", (s, _) => s == 503);
            empty.Status.ShouldBe(503, empty.Body);

            // A member on the tenant gateway's loopback mapping, as stack.sh prints it.
            stacked.ShouldContain("--bind 127.65.0.1");
            using (var web = new HttpBackend("web-lo", "127.65.0.1"))
            {
                sh.Run(As($"{rc}openstack loadbalancer pool create --name pool1 --lb-algorithm ROUND_ROBIN --listener listener1 --protocol HTTP --wait"));
                sh.Run(As($"{rc}openstack loadbalancer member create --address {web.Address} --protocol-port {web.Port} --subnet-id private-subnet --wait pool1"));
                var served = await Deployment.GetUntilAsync($"http://{vip}:{listenerPort}/", (s, _) => s == 200);
                served.Status.ShouldBe(200, served.Body);
                served.Body.ShouldBe("web-lo");
            }

            // The amphora runs as the user on a 127.x management address; its sshd listens on port 2222 there.
            var amphora = Deployment.Json(sh.Run(As($"{rc}openstack loadbalancer amphora list --loadbalancer lb1 -f json")))["items"]!.AsArray()[0]!;
            var ip = (string)amphora["lb_network_ip"]!;
            ip.ShouldStartWith("127.");
            var whoami = sh.Run(As($"ssh -i .stack/ssh/octavia_ssh_key -p 2222 -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null {user}@{ip} 'id -un; ls {clone}/.stack/local/amphorae'"));
            whoami.ShouldContain(user);
            whoami.ShouldContain((string)amphora["id"]!);

            sh.Run(As($"{rc}openstack loadbalancer delete --cascade --wait lb1"));
            Deployment.ProcessesMentioning((string)amphora["id"]!).ShouldBeEmpty();
        }
        finally
        {
            sh.Try(As("./unstack.sh"), TimeSpan.FromMinutes(2));
            // Signalled processes take a moment to be reaped.
            for (var i = 0; i < 50 && UserProcesses(user).Count > 0; i++)
            {
                Thread.Sleep(200);
            }
            UserProcesses(user).ShouldBeEmpty("unstack.sh leaves no process of the user");
            AssertNothingLeft(clone);
            root.Try($"userdel --remove {user}");
            Directory.Delete(clone, recursive: true);
        }
    }

    [Fact]
    public void InstallSh_IntoATempRoot_InstalledCommandsMigrateAndServe()
    {
        SkipUnlessRootWith("curl");
        var dest = Deployment.TempDir("ost-inst-");
        var sh = new Shell(RepoRoot, new Dictionary<string, string>(), output);
        Process? api = null;
        try
        {
            sh.Run($"tools/install.sh --root {dest}", TimeSpan.FromMinutes(15));
            var bin = Path.Combine(dest, "usr/local/bin");
            foreach (var name in new[] { "octavia", "octavia-api", "octavia-worker", "octavia-health-manager", "octavia-housekeeping", "octavia-db-manage", "amphora-agent" })
            {
                File.Exists(Path.Combine(bin, name)).ShouldBeTrue($"{name} installed");
            }
            File.Exists(Path.Combine(dest, "etc/octavia/octavia.conf")).ShouldBeTrue();
            // Self-contained: the published executable carries its own runtime.
            File.Exists(Path.Combine(dest, "usr/local/lib/octavia/libcoreclr.so")).ShouldBeTrue();

            var conf = Path.Combine(dest, "test.conf");
            var port = FreeTcpPort();
            File.WriteAllText(conf, $"""
                [DEFAULT]
                state_path = {dest}/var/lib/octavia
                [database]
                connection = sqlite:///{dest}/octavia.db
                [api_settings]
                bind_host = 127.0.0.1
                bind_port = {port}
                auth_strategy = noauth
                [controller_worker]
                network_driver = network_noop_driver
                """);
            sh.Run($"{bin}/octavia-db-manage --config-file {conf} upgrade head");
            sh.Run($"{bin}/octavia-db-manage --config-file {conf} current").ShouldNotBeNullOrWhiteSpace();

            var psi = new ProcessStartInfo(Path.Combine(bin, "octavia-api"), ["--config-file", conf])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                // Nothing from the build tree: the installed runtime only.
                Environment = { ["DOTNET_ROOT"] = "/nonexistent" },
            };
            var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
            api = Process.Start(psi)!;
            api.OutputDataReceived += (_, e) => log.Enqueue(e.Data ?? "");
            api.ErrorDataReceived += (_, e) => log.Enqueue(e.Data ?? "");
            api.BeginOutputReadLine();
            api.BeginErrorReadLine();
            var answered = "";
            for (var i = 0; i < 240 && !api.HasExited; i++)
            {
                var (code, text) = Try("curl", "-fsS", $"http://127.0.0.1:{port}/");
                if (code == 0)
                {
                    answered = text;
                    break;
                }
                Thread.Sleep(500);
            }
            answered.ShouldContain("v2", customMessage: string.Join('\n', log));
            sh.Run($"curl -fsS http://127.0.0.1:{port}/v2/lbaas/loadbalancers").ShouldContain("loadbalancers");

            // The units run the installed names.
            var units = Directory.GetFiles(Path.Combine(dest, "etc/systemd/system"), "octavia-*.service");
            units.Length.ShouldBe(5);
            foreach (var unit in units)
            {
                var exec = File.ReadAllLines(unit).Single(l => l.StartsWith("ExecStart=", StringComparison.Ordinal))["ExecStart=".Length..].Split(' ');
                File.Exists(exec[0]).ShouldBeTrue($"{unit}: {exec[0]}");
                exec[0].ShouldStartWith(bin + "/");
                exec.ShouldContain(Path.Combine(dest, "etc/octavia/") + (unit.Contains("amphora-agent", StringComparison.Ordinal) ? "amphora-agent.conf" : "octavia.conf"));
            }
            if (HasProgram("systemd-analyze"))
            {
                sh.Run($"systemd-analyze verify --man=no {string.Join(' ', units)}");
            }
        }
        finally
        {
            if (api is { HasExited: false })
            {
                api.Kill();
                api.WaitForExit(10_000);
            }
            api?.Dispose();
            Directory.Delete(dest, recursive: true);
        }
    }

    private static Dictionary<string, string> PrivateDeployment(string state, int port) => new()
    {
        ["OCTAVIA_STACK_DIR"] = state,
        ["OCTAVIA_API_PORT"] = port.ToString(CultureInfo.InvariantCulture),
        ["OCTAVIA_OPENRC"] = Path.Combine(state, "openrc"),
    };

    private static (int ExitCode, string Output) Try(string file, params string[] args) => Run(file, args);

    private static List<string> Names(string json) =>
        [.. Deployment.Json(json)["items"]!.AsArray().Select(n => (string)n!["name"]!)];

    private static int? SshdPid(string state, string amphoraId)
    {
        var record = JsonNode.Parse(File.ReadAllText(Path.Combine(state, "local", "amphorae", amphoraId, "instance.json")))!;
        return record["sshd"] is { } s ? int.Parse(s.ToString().Split(' ')[0], CultureInfo.InvariantCulture) : null;
    }

    private static string Quote(string s) => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private static List<int> UserProcesses(string user)
    {
        var (_, text) = Run("pgrep", "-u", user);
        return [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => int.Parse(l.Trim(), CultureInfo.InvariantCulture))];
    }

    private static void AssertNothingLeft(string stateRoot)
    {
        Deployment.ProcessesMentioning(stateRoot).ShouldBeEmpty();
        // The only Keystone on port 5000 is ours (other suites pick free ports).
        Deployment.ProcessesMentioning("serve.py --port 5000").ShouldBeEmpty();
        var links = Deployment.Links();
        links.ShouldNotContain("br-lb-mgmt");
        links.ShouldNotContain("br-private");
    }

    private static void SkipUnlessRootWith(params string[] programs)
    {
        if (!IsRoot)
        {
            Assert.Skip("needs root");
        }
        foreach (var program in programs)
        {
            if (program.StartsWith('/') ? !File.Exists(program) : !HasProgram(program))
            {
                Assert.Skip($"needs {program}");
            }
        }
    }
}
