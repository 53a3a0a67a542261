// Licensed under the Apache License, Version 2.0.
// In-process doubles for the drivers other helpers write (network, certificate generator) and a
// fault injector; the compute and amphora drivers under test are the real noop drivers.

using System.Collections.Concurrent;
using System.Reflection;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Octavia.Core.Drivers;
using Octavia.Core.Model;

namespace Octavia.Controller.Tests.Worker;

/// <summary>A Neutron-shaped in-memory network with one VIP network and two member networks.</summary>
internal sealed class InMemoryNetworkDriver : INetworkDriver
{
    private readonly ConcurrentDictionary<string, PortInfo> _ports = new();
    private int _nextIp = 10;

    public static readonly NetworkInfo VipNet = new("net-vip", "vip", null, ["sub-vip"]);
    public static readonly SubnetInfo VipSubnet = new("sub-vip", "vip", "net-vip", "198.18.40.0/24", "198.18.40.1", 4, null);
    public static readonly SubnetInfo MemberSubnetA = new("sub-a", "a", "net-a", "198.18.41.0/24", "198.18.41.1", 4, null);
    public static readonly SubnetInfo MemberSubnetB = new("sub-b", "b", "net-b", "198.18.42.0/24", "198.18.42.1", 4, null);
    private static readonly SubnetInfo[] s_subnets = [VipSubnet, MemberSubnetA, MemberSubnetB];

    public IReadOnlyCollection<PortInfo> Ports => _ports.Values.ToList();

    private string NextIp(string prefix) => $"{prefix}.{Interlocked.Increment(ref _nextIp)}";

    public Task<Vip> AllocateVipAsync(LoadBalancer loadBalancer, CancellationToken cancellationToken)
    {
        var portId = loadBalancer.Vip?.PortId ?? "vip-" + loadBalancer.Id;
        var ip = loadBalancer.Vip?.IpAddress ?? NextIp("198.18.40");
        _ports.TryAdd(portId, new PortInfo(portId, "octavia-lb-" + loadBalancer.Id, VipNet.Id, "fa:16:3e:00:00:01", [new FixedIp(VipSubnet.Id, ip)], null, "Octavia", loadBalancer.ProjectId));
        return Task.FromResult(new Vip { LoadBalancerId = loadBalancer.Id, PortId = portId, IpAddress = ip, SubnetId = VipSubnet.Id, NetworkId = VipNet.Id, OctaviaOwned = true });
    }

    public Task DeallocateVipAsync(LoadBalancer loadBalancer, CancellationToken cancellationToken)
    {
        if (loadBalancer.Vip?.PortId is { } id)
        {
            _ports.TryRemove(id, out _);
        }
        return Task.CompletedTask;
    }

    public Task<AmphoraNetworkConfig> PlugVipAsync(LoadBalancer loadBalancer, Amphora amphora, CancellationToken cancellationToken)
    {
        var port = _ports.GetOrAdd("vrrp-" + amphora.Id, id => new PortInfo(id, "octavia-lb-vrrp-" + amphora.Id, VipNet.Id, "fa:16:3e:00:00:02", [new FixedIp(VipSubnet.Id, NextIp("198.18.40"))], amphora.ComputeId, "compute:nova", null));
        return Task.FromResult(new AmphoraNetworkConfig { AmphoraId = amphora.Id, VrrpPort = port, VipSubnet = VipSubnet, HaPortId = loadBalancer.Vip?.PortId, HaIp = loadBalancer.Vip?.IpAddress });
    }

    public Task UnplugVipAsync(LoadBalancer loadBalancer, Amphora amphora, CancellationToken cancellationToken)
    {
        _ports.TryRemove("vrrp-" + amphora.Id, out _);
        return Task.CompletedTask;
    }

    public Task<PortInfo> PlugNetworkAsync(Amphora amphora, string networkId, string? subnetId, CancellationToken cancellationToken) =>
        Task.FromResult(_ports.GetOrAdd($"m-{amphora.Id}-{networkId}", id => new PortInfo(id, id, networkId, "fa:16:3e:00:00:03", [new FixedIp(subnetId ?? "", NextIp("198.18.41"))], amphora.ComputeId, "compute:nova", null)));

    public Task UnplugNetworkAsync(Amphora amphora, string networkId, CancellationToken cancellationToken)
    {
        _ports.TryRemove($"m-{amphora.Id}-{networkId}", out _);
        return Task.CompletedTask;
    }

    public Task<NetworkInfo?> GetNetworkAsync(string id, CancellationToken cancellationToken) => Task.FromResult<NetworkInfo?>(null);
    public Task<SubnetInfo?> GetSubnetAsync(string id, CancellationToken cancellationToken) => Task.FromResult(s_subnets.FirstOrDefault(s => s.Id == id));
    public Task<PortInfo?> GetPortAsync(string id, CancellationToken cancellationToken) => Task.FromResult(_ports.GetValueOrDefault(id));
    public Task<QosPolicyInfo?> GetQosPolicyAsync(string id, CancellationToken cancellationToken) => Task.FromResult<QosPolicyInfo?>(null);
    public Task<IReadOnlyList<NetworkInfo>> ListNetworksAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<NetworkInfo>>([VipNet]);
    public Task<IReadOnlyList<SubnetInfo>> ListSubnetsAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<SubnetInfo>>(s_subnets);
    public Task<IReadOnlyList<PortInfo>> ListPortsAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<PortInfo>>(_ports.Values.ToList());
    public Task<IReadOnlyList<QosPolicyInfo>> ListQosPoliciesAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<QosPolicyInfo>>([]);
}

/// <summary>Signs real (self-signed, P-256) certificates so the amphora build sees a genuine PEM.</summary>
internal sealed class SelfSignedCertGenerator : ICertGenerator
{
    public int Issued;

    public SignedCertificate Generate(string commonName, TimeSpan validity)
    {
        Interlocked.Increment(ref Issued);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        var notAfter = DateTimeOffset.UtcNow.Add(validity);
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), notAfter);
        return new SignedCertificate(cert.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem(), null, cert.NotAfter.ToUniversalTime());
    }
}

/// <summary>Counts driver calls across every wrapped driver and throws at call number <see cref="FailAt"/>.</summary>
internal sealed class FaultPlan
{
    private int _calls;

    /// <summary>1-based call that throws; 0 never.</summary>
    public int FailAt { get; set; }

    public int Calls => Volatile.Read(ref _calls);

    public List<string> Log { get; } = [];

    public void OnCall(string name)
    {
        var n = Interlocked.Increment(ref _calls);
        lock (Log)
        {
            Log.Add(name);
        }
        if (n == FailAt)
        {
            throw new InvalidOperationException($"injected failure at driver call {n} ({name})");
        }
    }

    public T Wrap<T>(T inner) where T : class
    {
        var proxy = DispatchProxy.Create<T, FaultProxy>();
        var p = (FaultProxy)(object)proxy;
        p.Inner = inner;
        p.Plan = this;
        return proxy;
    }
}

/// <summary>Dispatch proxy that reports each call to a <see cref="FaultPlan"/> before forwarding it.</summary>
public class FaultProxy : DispatchProxy
{
    internal object Inner { get; set; } = null!;
    internal FaultPlan Plan { get; set; } = null!;

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        Plan.OnCall(targetMethod.DeclaringType!.Name + "." + targetMethod.Name);
        try
        {
            return targetMethod.Invoke(Inner, args);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            throw ex.InnerException;
        }
    }
}
