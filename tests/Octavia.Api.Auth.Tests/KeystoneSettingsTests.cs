// Licensed under the Apache License, Version 2.0.

using Octavia.Core.Configuration;
using Octavia.Tests.Shared;

namespace Octavia.Api.Auth.Tests;

/// <summary>Keystone configuration and outage handling that need no Keystone.</summary>
public sealed class KeystoneSettingsTests
{
    private const string Base = """
        [api_settings]
        auth_strategy = keystone
        [keystone_authtoken]
        username = octavia
        password = secret
        project_name = service
        """;

    [Theory]
    [InlineData("auth_url")]
    [InlineData("username")]
    [InlineData("password")]
    [InlineData("project_name")]
    public void From_MissingRequiredOption_NamesIt(string option)
    {
        var text = string.Join('\n', (Base + "\nauth_url = http://127.0.0.1:5000/v3").Split('\n')
            .Where(l => !l.StartsWith(option + " ", StringComparison.Ordinal)));
        var ex = Should.Throw<ConfigException>(() => KeystoneSettings.From(OctaviaConfig.FromText(text)));
        ex.Message.ShouldBe($"[keystone_authtoken] {option}: required when [api_settings] auth_strategy = keystone");
    }

    [Theory]
    [InlineData("http://127.0.0.1:5000/v3", "http://127.0.0.1:5000/")]
    [InlineData("http://127.0.0.1:5000/v3/", "http://127.0.0.1:5000/")]
    [InlineData("http://keystone.example/identity", "http://keystone.example/identity/")]
    [InlineData("https://k.example:443/identity/v3", "https://k.example/identity/")]
    public void From_AuthUrl_WithOrWithoutVersion(string authUrl, string root)
    {
        var settings = KeystoneSettings.From(OctaviaConfig.FromText(Base + $"\nauth_url = {authUrl}\n"));
        settings.IdentityUri.AbsoluteUri.ShouldBe(root);
        settings.WwwAuthenticateUri.ShouldBe(authUrl);
        settings.CacheTime.ShouldBe(TimeSpan.FromSeconds(300));
        settings.CacheSize.ShouldBe(10000);
    }

    [Fact]
    public void From_NotAnHttpUrl_IsAConfigError()
    {
        var ex = Should.Throw<ConfigException>(() => KeystoneSettings.From(OctaviaConfig.FromText(Base + "\nauth_url = keystone:5000\n")));
        ex.Message.ShouldContain("[keystone_authtoken] auth_url");
    }

    [Fact]
    public async Task KeystoneDown_503AndNothingCached()
    {
        var port = TestEnvironment.FreeTcpPort();
        await using var host = await AuthTestHost.StartAsync(Base + $"\nauth_url = http://127.0.0.1:{port}/v3\n");
        for (var i = 0; i < 2; i++)
        {
            var (status, body, _) = await host.GetAsync("/v2/lbaas/pools", ("X-Auth-Token", "t"));
            status.ShouldBe(503);
            body["faultstring"]!.GetValue<string>().ShouldBe("The Keystone service is temporarily unavailable.");
        }
        (await host.GetAsync("/")).Status.ShouldBe(200);
    }
}
