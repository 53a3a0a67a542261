// Licensed under the Apache License, Version 2.0.

using Octavia.Core.Configuration;

namespace Octavia.Api.Auth;

/// <summary>The <c>[api_settings]</c> options the auth middleware reads.</summary>
[OsloSection("api_settings")]
public sealed class ApiAuthOptions
{
    /// <summary><c>keystone</c> (default), <c>noauth</c> (every caller is admin) or <c>testing</c> (headers, policy applies).</summary>
    [OsloOption("auth_strategy")] public string AuthStrategy { get; set; } = "keystone";

    /// <summary>Ours: the project of noauth requests that carry no X-Project-Id.</summary>
    [OsloOption("noauth_default_project_id")] public string? NoauthDefaultProjectId { get; set; }

    /// <summary>Ours: an extra path prefix the API is also served under (e.g. <c>/load-balancer</c>).</summary>
    [OsloOption("path_prefix")] public string? PathPrefix { get; set; }
}

/// <summary><c>[oslo_policy]</c>.</summary>
[OsloSection("oslo_policy")]
public sealed class OsloPolicyOptions
{
    /// <summary>Operator overrides (YAML or JSON); relative to the directory of the configuration files.</summary>
    [OsloOption("policy_file")] public string PolicyFile { get; set; } = "policy.yaml";

    /// <summary>Drop the deprecated check strings instead of ORing them in.</summary>
    [OsloOption("enforce_new_defaults")] public bool EnforceNewDefaults { get; set; }
}

/// <summary>The auth strategies upstream accepts.</summary>
public static class AuthStrategies
{
    public const string Keystone = "keystone";
    public const string NoAuth = "noauth";
    public const string Testing = "testing";
}
