// Licensed under the Apache License, Version 2.0.

using System.Text.Json.Nodes;
using Octavia.Api.Errors;
using Octavia.Api.Json;
using Octavia.Core.Drivers;
using Octavia.Core.Model;

namespace Octavia.Api.Resources;

/// <summary>
/// The L7 and TLS parts of the single-call graph create (<c>POST /v2/lbaas/loadbalancers</c> with listeners):
/// upstream's listener and l7policy <c>_graph_create</c> (api/v2/controllers/listener.py, l7policy.py) and
/// <c>db/prepare.py create_l7policy</c>.
/// </summary>
internal static class GraphCreate
{
    /// <summary>The attributes of <c>listeners[].l7policies[]</c> (upstream <c>L7PolicySingleCreate</c>).</summary>
    public static readonly string[] L7PolicyFields =
        ["name", "description", "admin_state_up", "action", "redirect_pool", "redirect_url", "redirect_prefix", "position", "rules", "tags", "redirect_http_code"];

    /// <summary>The attributes of <c>l7policies[].rules[]</c> (upstream <c>L7RuleSingleCreate</c>).</summary>
    public static readonly string[] L7RuleFields = ["type", "compare_type", "key", "value", "invert", "admin_state_up", "tags"];

    private const int MaxRulesPerPolicy = 50;
    private static readonly int[] s_codes = [301, 302, 303, 307, 308];

    /// <summary>The policy bodies of a listener body (empty when absent).</summary>
    public static List<Body> PolicyBodies(Body listenerBody)
    {
        ArgumentNullException.ThrowIfNull(listenerBody);
        return listenerBody.Children("l7policies", "l7policy", L7PolicyFields) ?? [];
    }

    /// <summary>A policy's <c>redirect_pool</c>: null, or the pool body (which must carry a name).</summary>
    public static Body? RedirectPoolBody(Body policyBody)
    {
        ArgumentNullException.ThrowIfNull(policyBody);
        var pool = policyBody.Child("redirect_pool", "pool", Pools.GraphCreate);
        if (pool is not null && string.IsNullOrEmpty(pool.Str("name")))
        {
            throw ApiException.BadRequest("Validation failure: Pools must be named when creating a fully populated loadbalancer.");
        }
        return pool;
    }

    /// <summary>Whether a nested pool object only names a pool defined elsewhere in the graph.</summary>
    public static bool IsReference(Body pool)
    {
        ArgumentNullException.ThrowIfNull(pool);
        var raw = pool.Raw();
        return raw.Count == 1 && raw.ContainsKey("name");
    }

    /// <summary>
    /// Adds the listener's L7 policies (with their rules) in upstream's order: each policy is inserted at its
    /// <c>position</c> among those already added, then positions are renumbered from 1.
    /// </summary>
    public static void AddL7Policies(LoadBalancer lb, Listener listener, List<Body> policyBodies, IReadOnlyDictionary<string, Pool> pools, DateTime now)
    {
        ArgumentNullException.ThrowIfNull(lb);
        ArgumentNullException.ThrowIfNull(listener);
        ArgumentNullException.ThrowIfNull(policyBodies);
        ArgumentNullException.ThrowIfNull(pools);
        if (policyBodies.Count == 0)
        {
            return;
        }
        if (listener.Protocol == Protocols.Prometheus)
        {
            throw ApiException.BadRequest($"Protocol {Protocols.Prometheus} listeners cannot have child objects.");
        }
        if (lb.Provider is "amphora" or "octavia" && listener.Protocol is not (Protocols.Http or Protocols.TerminatedHttps))
        {
            throw new ApiException(501, $"Provider '{lb.Provider}' does not support a requested option: L7 policies on {listener.Protocol} listeners");
        }
        var ordered = new List<L7Policy>();
        foreach (var pb in policyBodies)
        {
            var policy = BuildPolicy(pb, lb, listener, pools, now);
            var position = pb.Int("position", 1, 2147483647) ?? int.MaxValue;
            ordered.Insert(Math.Min(position - 1, ordered.Count), policy);
        }
        for (var i = 0; i < ordered.Count; i++)
        {
            ordered[i].Position = i + 1;
        }
        listener.L7Policies.AddRange(ordered);
    }

    private static L7Policy BuildPolicy(Body b, LoadBalancer lb, Listener listener, IReadOnlyDictionary<string, Pool> pools, DateTime now)
    {
        var p = new L7Policy { ListenerId = listener.Id, Action = b.Enum("action", L7PolicyActions.All, required: true)! };
        Common.Stamp(p, lb.ProjectId!, now);
        Common.ApplyBase(p, b, create: true, d => p.Description = d);
        var url = b.Str("redirect_url");
        var prefix = b.Str("redirect_prefix");
        var poolBody = RedirectPoolBody(b);
        foreach (var (name, value) in new[] { ("redirect_url", url), ("redirect_prefix", prefix) })
        {
            if (value is not null && (!Uri.TryCreate(value, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https") || u.Host.Length == 0))
            {
                throw ApiException.InvalidInput(name, value, "Value should be an http or https URL.");
            }
        }
        var code = b.Int("redirect_http_code", 0, 999);
        if (code is not null && !s_codes.Contains(code.Value))
        {
            throw ApiException.InvalidInput("redirect_http_code", code, "Value should be one of: 301, 302, 303, 307, 308");
        }
        // Upstream's sanitize_l7policy_api_args: the action decides which redirect argument is kept.
        switch (p.Action)
        {
            case L7PolicyActions.Reject:
                poolBody = null;
                url = null;
                break;
            case L7PolicyActions.RedirectToUrl:
                if (url is null)
                {
                    throw ApiException.BadRequest("Invalid L7 Policy arguments: redirect_url must not be None");
                }
                poolBody = null;
                break;
            case L7PolicyActions.RedirectToPool:
                if (poolBody is null)
                {
                    throw ApiException.BadRequest("Invalid L7 Policy arguments: redirect_pool_id or redirect_pool must not be None");
                }
                url = null;
                break;
            case L7PolicyActions.RedirectPrefix:
                if (prefix is null)
                {
                    throw ApiException.BadRequest("Invalid L7 Policy arguments: redirect_prefix must not be None");
                }
                break;
        }
        if (poolBody is not null && (url is not null || prefix is not null))
        {
            throw ApiException.BadRequest("Invalid L7 Policy arguments: Cannot specify redirect_pool_id and redirect_url or redirect_prefix at the same time");
        }
        if (url is not null && prefix is not null)
        {
            throw ApiException.BadRequest("Invalid L7 Policy arguments: Cannot specify redirect_url and redirect_prefix at the same time");
        }
        if (poolBody is not null)
        {
            var name = poolBody.Str("name")!;
            var pool = pools.TryGetValue(name, out var found) ? found : throw ApiException.BadRequest($"Missing details for Pool object: {name}");
            Listeners.CheckProtocols(listener.Protocol, pool.Protocol);
            p.Action = L7PolicyActions.RedirectToPool;
            p.RedirectPoolId = pool.Id;
        }
        else if (url is not null)
        {
            p.Action = L7PolicyActions.RedirectToUrl;
            p.RedirectUrl = url;
            p.RedirectHttpCode = code ?? 302;
        }
        else if (prefix is not null)
        {
            p.Action = L7PolicyActions.RedirectPrefix;
            p.RedirectPrefix = prefix;
            p.RedirectHttpCode = code ?? 302;
        }
        var rules = b.Children("rules", "rule", L7RuleFields) ?? [];
        if (rules.Count > MaxRulesPerPolicy)
        {
            throw ApiException.Conflict($"Too many rules on L7 policy {p.Id}");
        }
        foreach (var rb in rules)
        {
            p.L7Rules.Add(BuildRule(rb, p, lb, now));
        }
        return p;
    }

    private static L7Rule BuildRule(Body b, L7Policy policy, LoadBalancer lb, DateTime now)
    {
        try
        {
            var rule = new L7Rule
            {
                L7PolicyId = policy.Id,
                Type = b.Enum("type", L7RuleTypes.All, required: true)!,
                CompareType = b.Enum("compare_type", L7RuleCompareTypes.All, required: true)!,
                Value = b.Str("value", required: true)!,
            };
            Common.Stamp(rule, lb.ProjectId!, now);
            L7Rules.Apply(b, rule, create: true);
            return rule;
        }
        catch (ApiException ex) when (ex.StatusCode == 400)
        {
            throw ApiException.BadRequest("Error parsing L7Rule: " + ex.Message);
        }
    }

    /// <summary>Every certificate reference of the graph's listeners and pools, through the cert manager.</summary>
    public static async Task CheckTlsReferencesAsync(ICertManager? manager, LoadBalancer lb, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(lb);
        foreach (var pool in lb.Pools)
        {
            await TlsReferences.CheckPoolAsync(manager, pool, bundleChanged: true, ct).ConfigureAwait(false);
        }
        foreach (var listener in lb.Listeners)
        {
            await TlsReferences.CheckListenerAsync(manager, listener, ct).ConfigureAwait(false);
        }
    }

    /// <summary>The graph-create response's listener: upstream's <c>ListenerFullResponse</c>, policies and rules in full.</summary>
    public static JsonObject FullListener(Listener listener, IReadOnlyList<L7Policy> policies)
    {
        ArgumentNullException.ThrowIfNull(listener);
        ArgumentNullException.ThrowIfNull(policies);
        var view = Views.Listener(listener);
        view["l7policies"] = new JsonArray(policies.OrderBy(p => p.Position).Select(p =>
        {
            var pv = Views.L7Policy(p);
            pv["rules"] = new JsonArray(p.L7Rules.Select(r => (JsonNode)Views.L7Rule(r)).ToArray());
            return (JsonNode)pv;
        }).ToArray());
        return view;
    }
}
