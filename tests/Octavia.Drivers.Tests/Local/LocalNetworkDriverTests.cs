// Licensed under the Apache License, Version 2.0.

using System.Net;
using Octavia.Core.Drivers;
using Octavia.Drivers.Network.Local;

namespace Octavia.Drivers.Tests.Local;

/// <summary>VIP allocation, the address book and the Neutron-shaped view (loopback mode: no root needed).</summary>
public sealed class LocalNetworkDriverTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<bool> LockIsFreeAsync(string lockFile)
    {
        using var probe = System.Diagnostics.Process.Start("flock", ["-n", lockFile, "true"])!;
        await probe.WaitForExitAsync(Ct);
        return probe.ExitCode == 0;
    }

    [Fact]
    public async Task AllocateVip_SubnetByName_AllocatesLowestFreeAddressAsUpstreamNamesIt()
    {
        await using var bed = LocalTestBed.Create(LocalMode.Loopback);
        var subnet = (await bed.Network.GetSubnetAsync(bed.PrivateSubnet, Ct))!;
        var lb = LocalTestBed.LoadBalancer(subnetId: bed.PrivateSubnet);

        var vip = await bed.Network.AllocateVipAsync(lb, Ct);

        vip.SubnetId.ShouldBe(subnet.Id);
        vip.NetworkId.ShouldBe(subnet.NetworkId);
        vip.OctaviaOwned.ShouldBe(true);
        vip.LoadBalancerId.ShouldBe(lb.Id);
        // .1 is the gateway (and host address): the first free one is .2.
        vip.IpAddress.ShouldBe(LocalTestBed.Host(IPNetwork.Parse(subnet.Cidr), 2).ToString());
        var port = (await bed.Network.GetPortAsync(vip.PortId!, Ct))!;
        port.Name.ShouldBe("octavia-lb-" + lb.Id);
        port.DeviceOwner.ShouldBe("Octavia");
        port.DeviceId.ShouldBe("lb-" + lb.Id);
        port.ProjectId.ShouldBe("project-1");
        port.MacAddress.ShouldStartWith("fa:16:3e:");
        (await bed.Network.AllocateVipAsync(lb, Ct)).PortId.ShouldBe(vip.PortId, "a repeated allocation returns the same port");
    }

    [Fact]
    public async Task AllocateVip_RequestedAddress_IsHonoured()
    {
        await using var bed = LocalTestBed.Create(LocalMode.Loopback);
        var cidr = IPNetwork.Parse((await bed.Network.GetSubnetAsync(bed.PrivateSubnet, Ct))!.Cidr);
        var wanted = LocalTestBed.Host(cidr, 40).ToString();

        var vip = await bed.Network.AllocateVipAsync(LocalTestBed.LoadBalancer(subnetId: bed.PrivateSubnet, address: wanted), Ct);

        vip.IpAddress.ShouldBe(wanted);
    }

    [Fact]
    public async Task AllocateVip_RequestedAddressTaken_ThrowsInUse()
    {
        await using var bed = LocalTestBed.Create(LocalMode.Loopback);
        var cidr = IPNetwork.Parse((await bed.Network.GetSubnetAsync(bed.PrivateSubnet, Ct))!.Cidr);
        var wanted = LocalTestBed.Host(cidr, 40).ToString();
        await bed.Network.AllocateVipAsync(LocalTestBed.LoadBalancer(subnetId: bed.PrivateSubnet, address: wanted), Ct);

        var taken = await Should.ThrowAsync<IpAddressInUseException>(() =>
            bed.Network.AllocateVipAsync(LocalTestBed.LoadBalancer(subnetId: bed.PrivateSubnet, address: wanted), Ct));
        var gateway = await Should.ThrowAsync<IpAddressInUseException>(() =>
            bed.Network.AllocateVipAsync(LocalTestBed.LoadBalancer(subnetId: bed.PrivateSubnet, address: LocalTestBed.Host(cidr, 1).ToString()), Ct));

        taken.Message.ShouldContain("already allocated");
        gateway.Message.ShouldContain("gateway");
    }

    [Theory]
    [InlineData("10.1.2.3", "not a usable address")]
    [InlineData("not-an-ip", "not a valid IPv4 address")]
    [InlineData("BROADCAST", "not a usable address")]
    public async Task AllocateVip_RequestedAddressInvalid_ThrowsClearError(string address, string expected)
    {
        await using var bed = LocalTestBed.Create(LocalMode.Loopback);
        var cidr = IPNetwork.Parse((await bed.Network.GetSubnetAsync(bed.PrivateSubnet, Ct))!.Cidr);
        if (address == "BROADCAST")
        {
            address = LocalTestBed.Host(cidr, 63).ToString();
        }

        var error = await Should.ThrowAsync<NetworkRequestException>(() =>
            bed.Network.AllocateVipAsync(LocalTestBed.LoadBalancer(subnetId: bed.PrivateSubnet, address: address), Ct));

        error.Message.ShouldContain(expected);
    }

    [Fact]
    public async Task AllocateVip_UnknownSubnet_ThrowsNotFound()
    {
        await using var bed = LocalTestBed.Create(LocalMode.Loopback);

        var error = await Should.ThrowAsync<NetworkRequestException>(() =>
            bed.Network.AllocateVipAsync(LocalTestBed.LoadBalancer(subnetId: "no-such-subnet"), Ct));

        error.Message.ShouldBe("Subnet no-such-subnet not found");
    }

    [Fact]
    public async Task AllocateVip_NetworkOnly_UsesItsSubnet()
    {
        await using var bed = LocalTestBed.Create(LocalMode.Loopback);
        var network = (await bed.Network.GetNetworkAsync(bed.PrivateNetwork, Ct))!;

        var vip = await bed.Network.AllocateVipAsync(LocalTestBed.LoadBalancer(networkId: network.Id), Ct);

        vip.SubnetId.ShouldBe(network.SubnetIds.Single());
    }

    [Fact]
    public async Task AllocateVip_ManyAtOnce_NeverHandsOutAnAddressTwice()
    {
        await using var bed = LocalTestBed.Create(LocalMode.Loopback);
        // A second context on the same state dir stands for another process (the API next to a worker).
        var other = new LocalNetworkDriver(
            Octavia.Drivers.Network.Local.LocalDriverContext.FromConfig(bed.Config, TimeProvider.System),
            Microsoft.Extensions.Logging.Abstractions.NullLogger<LocalNetworkDriver>.Instance);

        var tasks = Enumerable.Range(0, 40).Select(i => Task.Run(() =>
            (i % 2 == 0 ? bed.Network : other).AllocateVipAsync(LocalTestBed.LoadBalancer(subnetId: bed.PrivateSubnet), Ct), Ct));
        var vips = await Task.WhenAll(tasks);

        vips.Select(v => v.IpAddress).Distinct().Count().ShouldBe(40);
        (await bed.Network.ListPortsAsync(Ct)).Count.ShouldBe(40);
    }

    [Fact]
    public async Task AllocateVip_SubnetFull_ThrowsNoMoreAddresses()
    {
        await using var bed = LocalTestBed.Create(LocalMode.Loopback);
        // A /26 has 62 usable addresses; one is the gateway.
        for (var i = 0; i < 61; i++)
        {
            await bed.Network.AllocateVipAsync(LocalTestBed.LoadBalancer(subnetId: bed.PrivateSubnet), Ct);
        }

        var error = await Should.ThrowAsync<NetworkRequestException>(() =>
            bed.Network.AllocateVipAsync(LocalTestBed.LoadBalancer(subnetId: bed.PrivateSubnet), Ct));

        error.Message.ShouldContain("No more IP addresses");
    }

    [Fact]
    public async Task Ipam_LockHeldByAnotherProcess_AllocationWaitsForIt()
    {
        await using var bed = LocalTestBed.Create(LocalMode.Loopback);
        await bed.Network.ListPortsAsync(Ct);
        var lockFile = Path.Combine(bed.Context.StateDir, "ipam.json.lock");
        Directory.CreateDirectory(bed.Context.StateDir);

        // flock from a separate process, as another octavia process would hold it.
        var holder = System.Diagnostics.Process.Start("flock", [lockFile, "sleep", "1"])!;
        // Until the holder has the lock, a non-blocking flock of our own succeeds.
        while (await LockIsFreeAsync(lockFile))
        {
            await Task.Delay(10, Ct);
        }
        var started = DateTime.UtcNow;
        await bed.Network.AllocateVipAsync(LocalTestBed.LoadBalancer(subnetId: bed.PrivateSubnet), Ct);
        var waited = DateTime.UtcNow - started;
        await holder.WaitForExitAsync(Ct);

        waited.ShouldBeGreaterThan(TimeSpan.FromMilliseconds(400));
    }

    [Fact]
    public async Task DeallocateVip_ReleasesTheAddress()
    {
        await using var bed = LocalTestBed.Create(LocalMode.Loopback);
        var lb = LocalTestBed.LoadBalancer(subnetId: bed.PrivateSubnet);
        lb.Vip = await bed.Network.AllocateVipAsync(lb, Ct);

        await bed.Network.DeallocateVipAsync(lb, Ct);
        await bed.Network.DeallocateVipAsync(lb, Ct);

        (await bed.Network.ListPortsAsync(Ct)).ShouldBeEmpty();
        (await bed.Network.AllocateVipAsync(LocalTestBed.LoadBalancer(subnetId: bed.PrivateSubnet, address: lb.Vip.IpAddress), Ct))
            .IpAddress.ShouldBe(lb.Vip.IpAddress);
    }

    [Fact]
    public async Task AllocateVip_GivenPort_AdoptsItAsNotOctaviaOwned()
    {
        await using var bed = LocalTestBed.Create(LocalMode.Loopback);
        var first = LocalTestBed.LoadBalancer(subnetId: bed.PrivateSubnet);
        var existing = await bed.Network.AllocateVipAsync(first, Ct);
        var lb = LocalTestBed.LoadBalancer();
        lb.Vip!.PortId = existing.PortId;

        var vip = await bed.Network.AllocateVipAsync(lb, Ct);

        vip.IpAddress.ShouldBe(existing.IpAddress);
        vip.OctaviaOwned.ShouldBe(false);
        await bed.Network.DeallocateVipAsync(new Core.Model.LoadBalancer { Id = lb.Id, Vip = vip }, Ct);
        (await bed.Network.GetPortAsync(existing.PortId!, Ct)).ShouldNotBeNull("a port Octavia does not own is never released");
    }

    [Fact]
    public async Task NeutronView_ListsNetworksAndSubnetsFindableByNameOrId()
    {
        await using var bed = LocalTestBed.Create(LocalMode.Loopback);

        var networks = await bed.Network.ListNetworksAsync(Ct);
        var subnets = await bed.Network.ListSubnetsAsync(Ct);

        networks.Select(n => n.Name).ShouldBe([bed.MgmtNetwork, bed.PrivateNetwork]);
        subnets.Count.ShouldBe(2);
        var privateSubnet = subnets.Single(s => s.Name == bed.PrivateSubnet);
        (await bed.Network.GetSubnetAsync(privateSubnet.Id, Ct)).ShouldBe(privateSubnet);
        (await bed.Network.GetSubnetAsync(bed.PrivateSubnet, Ct)).ShouldBe(privateSubnet);
        privateSubnet.IpVersion.ShouldBe(4);
        privateSubnet.GatewayIp.ShouldNotBeNull();
        (await bed.Network.GetNetworkAsync(privateSubnet.NetworkId, Ct))!.Name.ShouldBe(bed.PrivateNetwork);
        (await bed.Network.GetNetworkAsync("missing", Ct)).ShouldBeNull();
        (await bed.Network.GetQosPolicyAsync("any", Ct)).ShouldBeNull();
    }
}
