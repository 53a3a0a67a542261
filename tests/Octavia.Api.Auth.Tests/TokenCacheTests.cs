// Licensed under the Apache License, Version 2.0.

using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;

namespace Octavia.Api.Auth.Tests;

public sealed class TokenCacheTests
{
    [Fact]
    public void Set_BeyondCapacity_EvictsLeastRecentlyUsed()
    {
        var cache = new TokenCache<int>(3, new FakeTimeProvider());
        cache.Set("a", 1, TimeSpan.FromMinutes(1));
        cache.Set("b", 2, TimeSpan.FromMinutes(1));
        cache.Set("c", 3, TimeSpan.FromMinutes(1));
        cache.TryGet("a", out _).ShouldBeTrue();
        cache.Set("d", 4, TimeSpan.FromMinutes(1));
        cache.Count.ShouldBe(3);
        cache.TryGet("b", out _).ShouldBeFalse();
        cache.TryGet("a", out var a).ShouldBeTrue();
        a.ShouldBe(1);
    }

    [Fact]
    public void TryGet_AfterLifetime_Misses()
    {
        var time = new FakeTimeProvider();
        var cache = new TokenCache<int>(10, time);
        cache.Set("a", 1, TimeSpan.FromSeconds(10));
        time.Advance(TimeSpan.FromSeconds(9));
        cache.TryGet("a", out _).ShouldBeTrue();
        time.Advance(TimeSpan.FromSeconds(1));
        cache.TryGet("a", out _).ShouldBeFalse();
        cache.Count.ShouldBe(0);
    }

    [Fact]
    public void Set_ZeroLifetime_IsNotCached()
    {
        var cache = new TokenCache<int>(10, new FakeTimeProvider());
        cache.Set("a", 1, TimeSpan.Zero);
        cache.TryGet("a", out _).ShouldBeFalse();
    }

    [Fact]
    public void Parse_KeystoneTokenBody_ReadsScopeUserRoles()
    {
        var token = JsonNode.Parse("""
            {"methods":["password"],"user":{"domain":{"id":"default","name":"Default"},"id":"u1","name":"demo"},
             "audit_ids":["x"],"expires_at":"2026-11-25T19:00:00.000000Z","issued_at":"2026-11-25T18:00:00.000000Z",
             "project":{"domain":{"id":"default","name":"Default"},"id":"p1","name":"demo"},"is_domain":false,
             "roles":[{"id":"r1","name":"member"},{"id":"r2","name":"load-balancer_member"}]}
            """)!.AsObject();
        var info = KeystoneTokenValidator.Parse(token)!;
        info.ProjectId.ShouldBe("p1");
        info.ProjectDomainId.ShouldBe("default");
        info.UserId.ShouldBe("u1");
        info.Roles.ShouldBe(["member", "load-balancer_member"]);
        info.SystemScopeAll.ShouldBeFalse();
        info.ExpiresAt.ShouldBe(new DateTimeOffset(2026, 11, 25, 19, 0, 0, TimeSpan.Zero));
        KeystoneTokenValidator.Parse(JsonNode.Parse("""{"system":{"all":true},"roles":[],"expires_at":"2026-11-25T19:00:00Z"}""")!.AsObject())!
            .SystemScopeAll.ShouldBeTrue();
        KeystoneTokenValidator.Parse(JsonNode.Parse("""{"roles":[]}""")!.AsObject()).ShouldBeNull();
    }
}
