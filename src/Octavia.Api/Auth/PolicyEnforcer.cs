// Licensed under the Apache License, Version 2.0.

namespace Octavia.Api.Auth;

/// <summary>A policy name the code asked about is not registered (upstream: PolicyNotRegistered, a 500).</summary>
public sealed class PolicyNotRegisteredException(string rule)
    : InvalidOperationException($"Policy {rule} has not been registered")
{
    public string Rule { get; } = rule;
}

/// <summary>
/// oslo.policy's enforcer over upstream's registered policies: operator overrides (from
/// <c>[oslo_policy] policy_file</c>) replace a default; otherwise a rule with a deprecated check string
/// is "new OR deprecated" unless <c>enforce_new_defaults</c> is set, exactly as oslo.policy does.
/// </summary>
public sealed class PolicyEnforcer : IPolicyEnforcer
{
    private readonly Dictionary<string, PolicyCheck> _rules = new(StringComparer.Ordinal);
    private readonly HashSet<string> _registered = new(StringComparer.Ordinal);

    /// <summary>Upstream's defaults, deprecated rules ORed in (oslo.policy's default behaviour).</summary>
    public PolicyEnforcer()
        : this(null, enforceNewDefaults: false)
    {
    }

    /// <summary>Defaults plus operator <paramref name="overrides"/> (policy name → check string).</summary>
    /// <exception cref="FormatException">An override is not a valid check string (the message names the policy).</exception>
    public PolicyEnforcer(IReadOnlyDictionary<string, string>? overrides, bool enforceNewDefaults)
    {
        overrides ??= new Dictionary<string, string>();
        foreach (var policy in DefaultPolicies.All)
        {
            _registered.Add(policy.Name);
            if (overrides.ContainsKey(policy.Name))
            {
                continue;
            }
            var check = PolicyCheck.Parse(policy.CheckString);
            if (policy.DeprecatedCheckString is { } deprecated && !enforceNewDefaults)
            {
                check = PolicyCheck.Or(check, PolicyCheck.Parse(deprecated));
            }
            _rules[policy.Name] = check;
        }
        foreach (var (name, text) in overrides)
        {
            try
            {
                _rules[name] = PolicyCheck.Parse(text);
            }
            catch (FormatException e)
            {
                throw new FormatException($"policy \"{name}\": {e.Message}", e);
            }
        }
    }

    /// <summary>The registered policy names.</summary>
    public IReadOnlyCollection<string> RegisteredPolicies => _registered;

    /// <inheritdoc />
    public bool Authorize(string rule, RequestContext context, string? targetProjectId)
    {
        ArgumentNullException.ThrowIfNull(rule);
        ArgumentNullException.ThrowIfNull(context);
        if (!_registered.Contains(rule))
        {
            throw new PolicyNotRegisteredException(rule);
        }
        var target = new Dictionary<string, string?>(StringComparer.Ordinal);
        if ((targetProjectId ?? context.ProjectId) is { } project)
        {
            target["project_id"] = project;
        }
        return _rules[rule].Evaluate(new PolicyEvaluation(Credentials(context), target, _rules));
    }

    /// <summary>
    /// Upstream's <c>check_is_admin</c>: whether the token's roles satisfy <c>context_is_admin</c>
    /// (with the defaults: <c>admin</c> or <c>load-balancer_admin</c>). The auth middleware sets
    /// <see cref="RequestContext.IsAdmin"/> from it.
    /// </summary>
    public bool IsContextAdmin(RequestContext context) =>
        Authorize("context_is_admin", context with { IsAdmin = false }, context.ProjectId);

    // The keys of oslo.context's to_policy_values(), plus octavia's is_admin.
    private static Dictionary<string, object?> Credentials(RequestContext context) => new(StringComparer.Ordinal)
    {
        ["roles"] = context.Roles,
        ["project_id"] = context.ProjectId,
        ["user_id"] = context.UserId,
        ["domain_id"] = context.DomainId,
        ["user_domain_id"] = context.UserDomainId,
        ["project_domain_id"] = context.ProjectDomainId,
        ["system_scope"] = context.SystemScopeAll ? "all" : null,
        ["is_admin"] = context.IsAdmin,
    };
}
