// Licensed under the Apache License, Version 2.0.

using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Octavia.Api.Errors;
using Octavia.Api.Json;
using Octavia.Api.Paging;
using Octavia.Api.Policy;
using Octavia.Core.Model;

namespace Octavia.Api.Resources;

/// <summary><c>/v2/lbaas/l7policies/{l7policy_id}/rules</c> (root key <c>rule</c>).</summary>
internal static partial class L7Rules
{
    private static readonly string[] s_update = ["type", "compare_type", "key", "value", "invert", "admin_state_up", "tags"];
    private static readonly string[] s_create = [.. s_update, "project_id", "tenant_id"];
    private const int MaxRulesPerPolicy = 50;

    [GeneratedRegex("^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")]
    private static partial Regex Token();

    [GeneratedRegex("^([a-zA-Z][A-Za-z0-9-]*)$")]
    private static partial Regex DnField();

    public static void Map(RouteGroupBuilder g)
    {
        g.MapGet("/lbaas/l7policies/{policyId}/rules", async (HttpContext http, ApiServices api, string policyId) =>
        {
            var policy = await L7Policies.FindAsync(api, policyId, http.RequestAborted);
            Policies.Authorize(http, "l7rule", "get_all", policy.ProjectId);
            await using var db = api.Store.Read();
            var items = await db.L7Rules.Include(r => r.Tags).Where(r => r.L7PolicyId == policy.Id).ToListAsync(http.RequestAborted);
            return Common.Json(ListQuery.Respond(http, api.Settings, items.Select(Views.L7Rule), "rules", "rules_links", Views.L7RuleAttributes));
        });
        g.MapGet("/lbaas/l7policies/{policyId}/rules/{id}", async (HttpContext http, ApiServices api, string policyId, string id) =>
        {
            var r = await FindAsync(api, policyId, id, http.RequestAborted);
            Policies.Authorize(http, "l7rule", "get_one", r.ProjectId);
            return Common.One(http, api, "rule", Views.L7Rule(r));
        });
        g.MapPost("/lbaas/l7policies/{policyId}/rules", (HttpContext http, ApiServices api, string policyId) =>
            MutateAsync(http, api, policyId, null, "post"));
        g.MapPut("/lbaas/l7policies/{policyId}/rules/{id}", (HttpContext http, ApiServices api, string policyId, string id) =>
            MutateAsync(http, api, policyId, id, "put"));
        g.MapDelete("/lbaas/l7policies/{policyId}/rules/{id}", (HttpContext http, ApiServices api, string policyId, string id) =>
            MutateAsync(http, api, policyId, id, "delete"));
    }

    private static async Task<IResult> MutateAsync(HttpContext http, ApiServices api, string policyId, string? ruleId, string action)
    {
        var policy = await L7Policies.FindAsync(api, policyId, http.RequestAborted);
        var existing = ruleId is null ? null : await FindAsync(api, policyId, ruleId, http.RequestAborted);
        Body? b = null;
        if (action == "post")
        {
            b = new Body(await Body.ReadRootAsync(http, "rule"), "rule", s_create);
            Policies.Authorize(http, "l7rule", "post", Common.ProjectForCreate(http, b));
        }
        else if (action == "put")
        {
            b = new Body(await Body.ReadRootAsync(http, "rule"), "rule", s_update);
        }
        Policies.Authorize(http, "l7rule", action, policy.ProjectId);
        var listener = await Listeners.FindAsync(api, policy.ListenerId, http.RequestAborted);
        var id = await api.Store.WriteAsync(listener.LoadBalancerId, async db =>
        {
            var lb = await Common.MutableLoadBalancerAsync(db, listener.LoadBalancerId, http.RequestAborted);
            var l = await db.Listeners.FirstAsync(x => x.Id == listener.Id, http.RequestAborted);
            var p = await db.L7Policies.FirstAsync(x => x.Id == policy.Id, http.RequestAborted);
            Common.RequireActive(p, "L7 Policy");
            var now = api.Store.Now;
            L7Rule rule;
            string method;
            if (existing is null)
            {
                if (await db.L7Rules.CountAsync(r => r.L7PolicyId == p.Id, http.RequestAborted) >= MaxRulesPerPolicy)
                {
                    throw ApiException.Conflict($"Too many rules on L7 policy {p.Id}");
                }
                await Common.CheckQuotaAsync(db, api, lb.ProjectId!, "l7rule", 1, http.RequestAborted);
                rule = new L7Rule
                {
                    L7PolicyId = p.Id,
                    Type = b!.Enum("type", L7RuleTypes.All, required: true)!,
                    CompareType = b.Enum("compare_type", L7RuleCompareTypes.All, required: true)!,
                    Value = b.Str("value", required: true)!,
                };
                Common.Stamp(rule, lb.ProjectId!, now);
                Apply(b, rule, create: true);
                db.L7Rules.Add(rule);
                method = "create_l7rule";
            }
            else
            {
                rule = await db.L7Rules.Include(x => x.Tags).FirstAsync(x => x.Id == existing.Id, http.RequestAborted);
                Common.RequireActive(rule, "L7 Rule");
                if (b is null)
                {
                    rule.ProvisioningStatus = ProvisioningStatus.PendingDelete;
                    rule.UpdatedAt = now;
                    method = "delete_l7rule";
                }
                else
                {
                    Apply(b, rule, create: false);
                    Common.MarkUpdating(rule, now);
                    method = "update_l7rule";
                }
            }
            Common.MarkUpdating(p, now);
            Common.MarkUpdating(l, now);
            Common.MarkUpdating(lb, now);
            var args = new JsonObject { ["l7rule_id"] = rule.Id };
            if (method == "update_l7rule")
            {
                args["l7rule_updates"] = b!.Raw();
            }
            await Common.SubmitAsync(api, lb, method, args, http.RequestAborted);
            return rule.Id;
        }, http.RequestAborted);
        return action switch
        {
            "delete" => Common.NoContent(),
            "post" => Common.One(http, api, "rule", Views.L7Rule(await FindAsync(api, policy.Id, id, http.RequestAborted)), StatusCodes.Status201Created),
            _ => Common.One(http, api, "rule", Views.L7Rule(await FindAsync(api, policy.Id, id, http.RequestAborted))),
        };
    }

    private static async Task<L7Rule> FindAsync(ApiServices api, string policyId, string id, CancellationToken ct)
    {
        var policy = Common.PathId(policyId, "L7 Policy");
        var key = Common.PathId(id, "L7 Rule");
        await using var db = api.Store.Read();
        return await db.L7Rules.Include(r => r.Tags).FirstOrDefaultAsync(r => r.Id == key && r.L7PolicyId == policy, ct) ?? throw ApiException.NotFound("L7 Rule", id);
    }

    public static void Apply(Body b, L7Rule r, bool create)
    {
        Common.ApplyBase(r, b, create);
        if (!create)
        {
            r.Type = b.Has("type") ? b.Enum("type", L7RuleTypes.All) ?? r.Type : r.Type;
            r.CompareType = b.Has("compare_type") ? b.Enum("compare_type", L7RuleCompareTypes.All) ?? r.CompareType : r.CompareType;
            r.Value = b.Has("value") ? b.Str("value") ?? r.Value : r.Value;
        }
        if (b.Has("key"))
        {
            r.Key = b.Str("key");
        }
        if (b.Has("invert") || create)
        {
            r.Invert = b.Bool("invert") ?? false;
        }
        Validate(r);
    }

    private static void Validate(L7Rule r)
    {
        static ApiException Bad(string message) => ApiException.BadRequest("Validation failure: " + message);
        if (r.Value.Contains('\r', StringComparison.Ordinal) || r.Value.Contains('\n', StringComparison.Ordinal) || (r.Key?.IndexOfAny(['\r', '\n']) ?? -1) >= 0)
        {
            throw Bad("key and value must not contain line breaks.");
        }
        if (r.CompareType == L7RuleCompareTypes.Regex)
        {
            try
            {
                _ = new Regex(r.Value, RegexOptions.None, TimeSpan.FromMilliseconds(100));
            }
            catch (ArgumentException)
            {
                throw Bad($"Invalid regex: {r.Value}");
            }
        }
        switch (r.Type)
        {
            case L7RuleTypes.Header or L7RuleTypes.Cookie:
                if (r.Key is null || !Token().IsMatch(r.Key))
                {
                    throw Bad($"L7rule type {r.Type} needs a key that is a valid header or cookie name.");
                }
                break;
            case L7RuleTypes.FileType when r.CompareType is not (L7RuleCompareTypes.Regex or L7RuleCompareTypes.EqualTo):
                throw Bad("L7rule type FILE_TYPE only supports the REGEX and EQUAL_TO compare types.");
            case L7RuleTypes.SslConnHasCert:
                if (r.Key is not null || r.Value != "true" || r.CompareType != L7RuleCompareTypes.EqualTo)
                {
                    throw Bad("L7rule type SSL_CONN_HAS_CERT takes no key, the value \"true\" and compare type EQUAL_TO.");
                }
                break;
            case L7RuleTypes.SslVerifyResult:
                if (r.Key is not null || !int.TryParse(r.Value, out var n) || n < 0 || r.CompareType != L7RuleCompareTypes.EqualTo)
                {
                    throw Bad("L7rule type SSL_VERIFY_RESULT takes no key, a non-negative integer value and compare type EQUAL_TO.");
                }
                break;
            case L7RuleTypes.SslDnField:
                if (r.Key is null || !DnField().IsMatch(r.Key))
                {
                    throw Bad("L7rule type SSL_DN_FIELD needs a key that is a DN field name.");
                }
                break;
        }
    }
}
