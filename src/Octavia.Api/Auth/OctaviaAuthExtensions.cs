// Licensed under the Apache License, Version 2.0.

using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Octavia.Core.Configuration;

namespace Octavia.Api.Auth;

/// <summary>
/// The two calls a host makes: <c>services.AddOctaviaAuth(config)</c> and, first in the pipeline,
/// <c>app.UseOctaviaAuth()</c>. Endpoints then read <see cref="RequestContext.Of"/> and ask
/// <see cref="IPolicyEnforcer"/>.
/// </summary>
public static class OctaviaAuthExtensions
{
    /// <summary>
    /// Registers the policy enforcer (upstream's defaults plus <c>[oslo_policy] policy_file</c>) and, for
    /// <c>auth_strategy = keystone</c>, the token validator and its HTTP client. Configuration errors throw here,
    /// at startup.
    /// </summary>
    /// <exception cref="ConfigException">Invalid auth, policy or keystone_authtoken configuration.</exception>
    public static IServiceCollection AddOctaviaAuth(this IServiceCollection services, OctaviaConfig config)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(config);
        var api = OptionBinder.Bind<ApiAuthOptions>(config);
        var prefix = api.PathPrefix?.Trim().TrimEnd('/');
        if (prefix is { Length: > 0 } && !prefix.StartsWith('/'))
        {
            throw new ConfigException($"[api_settings] path_prefix: '{api.PathPrefix}' must start with '/'");
        }
        var settings = new AuthSettings(api.AuthStrategy, api.NoauthDefaultProjectId, prefix is { Length: > 0 } ? prefix : null);
        var enforcer = PolicyFile.CreateEnforcer(config);

        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(settings);
        services.AddSingleton(enforcer);
        services.AddSingleton<IPolicyEnforcer>(enforcer);
        if (settings.Strategy == AuthStrategies.Keystone)
        {
            services.AddSingleton(KeystoneSettings.From(config));
            services.AddHttpClient(KeystoneTokenValidator.HttpClientName, c => c.Timeout = TimeSpan.FromSeconds(30));
            services.AddSingleton<KeystoneTokenValidator>();
        }
        return services;
    }

    /// <summary>
    /// Adds the auth middleware for the configured strategy. Call it before mapping endpoints and before any
    /// middleware that reads <see cref="RequestContext"/>. With <c>[api_settings] path_prefix</c> set it also
    /// strips that prefix (and therefore starts routing itself, after the prefix is gone).
    /// </summary>
    public static IApplicationBuilder UseOctaviaAuth(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var settings = app.ApplicationServices.GetRequiredService<AuthSettings>();
        if (settings.PathPrefix is { } prefix)
        {
            app.UsePathBase(prefix);
            app.UseRouting();
        }
        return settings.Strategy == AuthStrategies.Keystone
            ? app.UseMiddleware<KeystoneAuthMiddleware>()
            : app.UseMiddleware<HeaderAuthMiddleware>();
    }
}
