// Licensed under the Apache License, Version 2.0.

namespace Octavia.Core.Drivers;

/// <summary>
/// A network driver refused a request because of what was asked (upstream <c>network/base.py</c>
/// exceptions such as <c>AllocateVIPException</c>, <c>SubnetNotFound</c>); the API answers 400.
/// </summary>
public class NetworkRequestException : Exception
{
    public NetworkRequestException(string message) : base(message)
    {
    }

    public NetworkRequestException()
    {
    }

    public NetworkRequestException(string message, Exception innerException) : base(message, innerException)
    {
    }
}

/// <summary>The requested address is already allocated on the subnet (Neutron <c>IpAddressAlreadyAllocated</c>); the API answers 409.</summary>
public sealed class IpAddressInUseException : NetworkRequestException
{
    public IpAddressInUseException(string message) : base(message)
    {
    }

    public IpAddressInUseException()
    {
    }

    public IpAddressInUseException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
