// Licensed under the Apache License, Version 2.0.
// Sections of ours (upstream has no local drivers): [local_compute] and [local_networks].

namespace Octavia.Core.Configuration;

/// <summary>
/// [local_compute] (ours): amphorae as local amphora-agent processes, each in a network namespace
/// <c>amphora-&lt;id&gt;</c> (mode <c>namespace</c>) or on a 127.x address in the host namespace (mode <c>loopback</c>).
/// </summary>
[OsloSection("local_compute")]
public sealed class LocalComputeOptions
{
    /// <summary>Where amphora run directories and the address book live; empty means <c>[DEFAULT] state_path</c>/local.</summary>
    [OsloOption("state_dir")] public string StateDir { get; set; } = "";

    /// <summary>The agent program; empty means the running <c>octavia</c> executable.</summary>
    [OsloOption("agent_executable")] public string AgentExecutable { get; set; } = "";

    /// <summary>Arguments put before <c>--config-file &lt;conf&gt;</c> (default <c>amphora-agent</c>).</summary>
    [OsloOption("agent_arguments")] public List<string> AgentArguments { get; set; } = ["amphora-agent"];

    /// <summary><c>namespace</c>, <c>loopback</c> or <c>auto</c> (namespace when root, else loopback).</summary>
    [OsloOption("mode")] public string Mode { get; set; } = "auto";

    /// <summary>The management network (name or id) when <c>[controller_worker] amp_boot_network_list</c> is empty.</summary>
    [OsloOption("management_network")] public string ManagementNetwork { get; set; } = "lb-mgmt-net";

    /// <summary>Seconds between SIGTERM and SIGKILL when an amphora is deleted.</summary>
    [OsloOption("agent_stop_timeout")] public double AgentStopTimeout { get; set; } = 5;

    /// <summary>Where <c>[controller_worker] amp_ssh_key_name</c> is looked up as <c>&lt;dir&gt;/&lt;name&gt;.pub</c> (our stand-in for Nova keypairs); empty means <c>&lt;state_dir&gt;/keys</c>.</summary>
    [OsloOption("ssh_key_dir")] public string SshKeyDir { get; set; } = "";

    /// <summary>The amphora sshd's port; 0 means 22 in namespace mode and 2222 in loopback mode.</summary>
    [OsloOption("ssh_port")] public int SshPort { get; set; }

    /// <summary>The sshd program started in an amphora when a key name is set.</summary>
    [OsloOption("sshd_executable")] public string SshdExecutable { get; set; } = "/usr/sbin/sshd";
}

/// <summary>
/// [local_networks] (ours): the networks and subnets of the local network driver, one
/// <c>networks</c> line per subnet. See <see cref="DefaultNetworks"/> for the all-in-one layout.
/// </summary>
[OsloSection("local_networks")]
public sealed class LocalNetworksOptions
{
    /// <summary>The all-in-one layout: <c>lb-mgmt-net</c> 198.18.0.0/24 and <c>private</c>/<c>private-subnet</c> 198.19.0.0/24.</summary>
    public static readonly IReadOnlyList<string> DefaultNetworks =
    [
        "name=lb-mgmt-net,subnet=lb-mgmt-subnet,cidr=198.18.0.0/24,gateway=none,host=198.18.0.1,bridge=br-lb-mgmt",
        "name=private,subnet=private-subnet,cidr=198.19.0.0/24,gateway=198.19.0.1,host=198.19.0.1,bridge=br-private",
    ];

    /// <summary>One line per subnet (repeat the key); lines with the same network name form one network.</summary>
    [OsloOption("networks")] public List<string> Networks { get; set; } = [.. DefaultNetworks];
}

/// <summary>
/// The <c>[amphora_agent]</c> option the local compute driver writes into each amphora's agent config
/// (ours): where the agent runs, so it need not guess from <c>/proc/1/ns/net</c> (unreadable in some containers).
/// </summary>
[OsloSection("amphora_agent")]
public sealed class LocalAgentOptions
{
    /// <summary>Null when unset (the agent decides); empty in loopback mode (host namespace); else <c>amphora-&lt;id&gt;</c>.</summary>
    [OsloOption("network_namespace")] public string? NetworkNamespace { get; set; }
}
