// Licensed under the Apache License, Version 2.0.

using Octavia.Api.Errors;
using Octavia.Core.Configuration;

namespace Octavia.Api.Providers;

/// <summary>The enabled providers (<c>[api_settings] enabled_provider_drivers</c>); <c>octavia</c> is <c>amphora</c>.</summary>
public sealed class ProviderRegistry
{
    private readonly Dictionary<string, IProviderDriver> _drivers;

    public ProviderRegistry(IEnumerable<IProviderDriver> drivers, ApiSettingsOptions settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _drivers = drivers.ToDictionary(d => d.Name, StringComparer.Ordinal);
        Enabled = settings.EnabledProviderDrivers;
        Default = settings.DefaultProviderDriver;
    }

    /// <summary>Enabled names and descriptions, in configuration order.</summary>
    public IReadOnlyDictionary<string, string> Enabled { get; }

    public string Default { get; }

    /// <summary>The driver for a provider name; 400 if not enabled, 501 if enabled but not loadable.</summary>
    public IProviderDriver Get(string? name)
    {
        name ??= Default;
        if (!Enabled.ContainsKey(name))
        {
            throw ApiException.BadRequest($"Provider '{name}' is not enabled.");
        }
        var key = name is "octavia" or "amphorav2" ? "amphora" : name;
        return _drivers.TryGetValue(key, out var driver)
            ? driver
            : throw new ApiException(501, $"Provider '{name}' was not found.");
    }
}
