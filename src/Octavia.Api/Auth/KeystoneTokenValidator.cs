// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Octavia.Core.Configuration;

namespace Octavia.Api.Auth;

/// <summary>What Keystone said about a token.</summary>
public enum TokenStatus
{
    Valid,

    /// <summary>Unknown, revoked or expired: the caller gets 401.</summary>
    Invalid,

    /// <summary>Keystone could not be asked (down, or the service credentials are refused): 503.</summary>
    Unavailable,
}

/// <summary>The parts of a validated Keystone v3 token that Octavia uses.</summary>
public sealed record TokenInfo(
    string? ProjectId,
    string? ProjectName,
    string? ProjectDomainId,
    string? UserId,
    string? UserName,
    string? UserDomainId,
    string? DomainId,
    IReadOnlyList<string> Roles,
    bool SystemScopeAll,
    DateTimeOffset ExpiresAt);

/// <summary>The outcome of a validation.</summary>
public sealed record TokenValidation(TokenStatus Status, TokenInfo? Token = null);

/// <summary>Where and as whom to validate tokens: <c>[keystone_authtoken]</c>, checked at startup.</summary>
public sealed record KeystoneSettings(
    Uri IdentityUri,
    string WwwAuthenticateUri,
    string Username,
    string Password,
    string ProjectName,
    string UserDomainName,
    string ProjectDomainName,
    TimeSpan CacheTime,
    int CacheSize)
{
    /// <summary>Reads and checks <c>[keystone_authtoken]</c>.</summary>
    /// <exception cref="ConfigException">A required option is missing or auth_url is not an http(s) URL.</exception>
    public static KeystoneSettings From(OctaviaConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var o = OptionBinder.Bind<KeystoneAuthtokenOptions>(config);
        static string Required(string? value, string name) => string.IsNullOrWhiteSpace(value)
            ? throw new ConfigException($"[keystone_authtoken] {name}: required when [api_settings] auth_strategy = keystone")
            : value;
        var authUrl = Required(o.AuthUrl, "auth_url");
        if (!Uri.TryCreate(authUrl, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
        {
            throw new ConfigException($"[keystone_authtoken] auth_url: '{authUrl}' is not an http(s) URL");
        }
        // auth_url may name the version ("http://keystone:5000/v3") or not; the API root is what we keep.
        var root = uri.AbsoluteUri.TrimEnd('/');
        if (root.EndsWith("/v3", StringComparison.OrdinalIgnoreCase))
        {
            root = root[..^3];
        }
        var cacheSize = config.Get("keystone_authtoken", "token_cache_size") is { } size
            ? int.Parse(size, CultureInfo.InvariantCulture)
            : int.Parse(OptionCatalog.Get("keystone_authtoken", "token_cache_size").Default!, CultureInfo.InvariantCulture);
        if (cacheSize < 1)
        {
            throw new ConfigException("[keystone_authtoken] token_cache_size: must be at least 1");
        }
        return new KeystoneSettings(
            new Uri(root + "/"),
            string.IsNullOrWhiteSpace(o.WwwAuthenticateUri) ? authUrl : o.WwwAuthenticateUri,
            Required(o.Username, "username"),
            Required(o.Password, "password"),
            Required(o.ProjectName, "project_name"),
            o.UserDomainName,
            o.ProjectDomainName,
            TimeSpan.FromSeconds(o.TokenCacheTime),
            cacheSize);
    }
}

/// <summary>
/// Validates user tokens with Keystone v3 as keystonemiddleware's auth_token does: with a service token of its
/// own (<c>GET /v3/auth/tokens</c> + <c>X-Subject-Token</c>), caching outcomes for <c>token_cache_time</c>
/// (never past the token's expiry) in a bounded cache, and asking Keystone once for concurrent requests
/// carrying the same new token.
/// </summary>
public sealed partial class KeystoneTokenValidator : IDisposable
{
    /// <summary>The <see cref="IHttpClientFactory"/> name of the client used to talk to Keystone.</summary>
    public const string HttpClientName = "octavia-keystone";

    // keystoneauth refreshes a token this long before it expires.
    private static readonly TimeSpan s_staleDuration = TimeSpan.FromSeconds(30);

    private readonly IHttpClientFactory _httpFactory;
    private readonly KeystoneSettings _settings;
    private readonly TimeProvider _time;
    private readonly ILogger<KeystoneTokenValidator> _logger;
    private readonly TokenCache<TokenValidation> _cache;
    private readonly ConcurrentDictionary<string, Lazy<Task<TokenValidation>>> _inFlight = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _serviceTokenLock = new(1, 1);
    private (string Token, DateTimeOffset ExpiresAt)? _serviceToken;

    public KeystoneTokenValidator(
        IHttpClientFactory httpFactory,
        KeystoneSettings settings,
        TimeProvider time,
        ILogger<KeystoneTokenValidator> logger)
    {
        ArgumentNullException.ThrowIfNull(httpFactory);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _httpFactory = httpFactory;
        _settings = settings;
        _time = time;
        _logger = logger;
        _cache = new TokenCache<TokenValidation>(settings.CacheSize, time);
    }

    public KeystoneSettings Settings => _settings;

    /// <inheritdoc />
    public void Dispose() => _serviceTokenLock.Dispose();

    /// <summary>Validates <paramref name="token"/>, from the cache when possible.</summary>
    public Task<TokenValidation> ValidateAsync(string token)
    {
        ArgumentException.ThrowIfNullOrEmpty(token);
        // Keys are hashes, as in keystonemiddleware: the cache never holds bearer tokens themselves.
        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
        if (_cache.TryGet(key, out var cached))
        {
            if (cached.Token is null || cached.Token.ExpiresAt > _time.GetUtcNow())
            {
                return Task.FromResult(cached);
            }
        }
        return _inFlight.GetOrAdd(key, k => new Lazy<Task<TokenValidation>>(() => FetchAndCacheAsync(k, token))).Value;
    }

    private async Task<TokenValidation> FetchAndCacheAsync(string key, string token)
    {
        try
        {
            // Off the caller's stack, so the entry is published before it can complete and remove itself.
            await Task.Yield();
            var result = await FetchAsync(token).ConfigureAwait(false);
            if (result.Status != TokenStatus.Unavailable)
            {
                var lifetime = _settings.CacheTime;
                if (result.Token is { } info && info.ExpiresAt - _time.GetUtcNow() < lifetime)
                {
                    lifetime = info.ExpiresAt - _time.GetUtcNow();
                }
                _cache.Set(key, result, lifetime);
            }
            return result;
        }
        finally
        {
            _inFlight.TryRemove(key, out _);
        }
    }

    private async Task<TokenValidation> FetchAsync(string token)
    {
        try
        {
            for (var attempt = 0; ; attempt++)
            {
                var serviceToken = await ServiceTokenAsync(forceRefresh: attempt > 0).ConfigureAwait(false);
                if (serviceToken is null)
                {
                    return new TokenValidation(TokenStatus.Unavailable);
                }
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_settings.IdentityUri, "v3/auth/tokens"));
                request.Headers.Add("X-Auth-Token", serviceToken);
                request.Headers.Add("X-Subject-Token", token);
                using var response = await Client().SendAsync(request).ConfigureAwait(false);
                switch (response.StatusCode)
                {
                    case HttpStatusCode.OK:
                        var body = await response.Content.ReadFromJsonAsync<JsonObject>().ConfigureAwait(false);
                        var info = Parse(body?["token"] as JsonObject);
                        if (info is null)
                        {
                            Log.MalformedTokenBody(_logger);
                            return new TokenValidation(TokenStatus.Unavailable);
                        }
                        if (info.ExpiresAt <= _time.GetUtcNow())
                        {
                            Log.TokenRejected(_logger, "expired");
                            return new TokenValidation(TokenStatus.Invalid);
                        }
                        return new TokenValidation(TokenStatus.Valid, info);
                    case HttpStatusCode.NotFound:
                        Log.TokenRejected(_logger, "not found");
                        return new TokenValidation(TokenStatus.Invalid);
                    case HttpStatusCode.Unauthorized when attempt == 0:
                        // Our own token was revoked or expired early: get a new one and ask again.
                        continue;
                    default:
                        Log.ValidationFailed(_logger, (int)response.StatusCode);
                        return new TokenValidation(TokenStatus.Unavailable);
                }
            }
        }
        // InvalidOperationException/FormatException: a body whose fields have unexpected JSON types.
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException
            or InvalidOperationException or FormatException)
        {
            Log.KeystoneUnreachable(_logger, _settings.IdentityUri, e);
            return new TokenValidation(TokenStatus.Unavailable);
        }
    }

    private HttpClient Client() => _httpFactory.CreateClient(HttpClientName);

    private async Task<string?> ServiceTokenAsync(bool forceRefresh)
    {
        await _serviceTokenLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!forceRefresh && _serviceToken is { } current && current.ExpiresAt - s_staleDuration > _time.GetUtcNow())
            {
                return current.Token;
            }
            var body = new JsonObject
            {
                ["auth"] = new JsonObject
                {
                    ["identity"] = new JsonObject
                    {
                        ["methods"] = new JsonArray("password"),
                        ["password"] = new JsonObject
                        {
                            ["user"] = new JsonObject
                            {
                                ["name"] = _settings.Username,
                                ["domain"] = new JsonObject { ["name"] = _settings.UserDomainName },
                                ["password"] = _settings.Password,
                            },
                        },
                    },
                    ["scope"] = new JsonObject
                    {
                        ["project"] = new JsonObject
                        {
                            ["name"] = _settings.ProjectName,
                            ["domain"] = new JsonObject { ["name"] = _settings.ProjectDomainName },
                        },
                    },
                },
            };
            // A sized body, not JsonContent's chunked stream: not every WSGI server in front of Keystone reads chunked requests.
            using var content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
            using var response = await Client().PostAsync(new Uri(_settings.IdentityUri, "v3/auth/tokens"), content).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.Created
                || !response.Headers.TryGetValues("X-Subject-Token", out var values)
                || values.FirstOrDefault() is not { Length: > 0 } token)
            {
                Log.ServiceAuthFailed(_logger, (int)response.StatusCode, _settings.Username);
                _serviceToken = null;
                return null;
            }
            var json = await response.Content.ReadFromJsonAsync<JsonObject>().ConfigureAwait(false);
            var expires = ParseTime(json?["token"]?["expires_at"]?.GetValue<string>()) ?? _time.GetUtcNow().AddMinutes(5);
            _serviceToken = (token, expires);
            return token;
        }
        finally
        {
            _serviceTokenLock.Release();
        }
    }

    /// <summary>Reads a Keystone v3 <c>token</c> object; null if it lacks what every token has.</summary>
    internal static TokenInfo? Parse(JsonObject? token)
    {
        if (token is null || ParseTime(token["expires_at"]?.GetValue<string>()) is not { } expires)
        {
            return null;
        }
        var roles = (token["roles"] as JsonArray ?? [])
            .Select(r => r?["name"]?.GetValue<string>())
            .OfType<string>()
            .ToList();
        return new TokenInfo(
            ProjectId: token["project"]?["id"]?.GetValue<string>(),
            ProjectName: token["project"]?["name"]?.GetValue<string>(),
            ProjectDomainId: token["project"]?["domain"]?["id"]?.GetValue<string>(),
            UserId: token["user"]?["id"]?.GetValue<string>(),
            UserName: token["user"]?["name"]?.GetValue<string>(),
            UserDomainId: token["user"]?["domain"]?["id"]?.GetValue<string>(),
            DomainId: token["domain"]?["id"]?.GetValue<string>(),
            Roles: roles,
            SystemScopeAll: token["system"]?["all"] is JsonValue all && all.TryGetValue<bool>(out var isAll) && isAll,
            ExpiresAt: expires);
    }

    private static DateTimeOffset? ParseTime(string? text) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t)
            ? t
            : null;

    private static partial class Log
    {
        [LoggerMessage(EventId = 5101, Level = LogLevel.Information, Message = "Keystone rejected a token: {Reason}")]
        public static partial void TokenRejected(ILogger logger, string reason);

        [LoggerMessage(EventId = 5102, Level = LogLevel.Error, Message = "Keystone answered {Status} to a token validation")]
        public static partial void ValidationFailed(ILogger logger, int status);

        [LoggerMessage(EventId = 5103, Level = LogLevel.Error, Message = "Unable to validate token with Keystone at {Uri}")]
        public static partial void KeystoneUnreachable(ILogger logger, Uri uri, Exception exception);

        [LoggerMessage(EventId = 5104, Level = LogLevel.Error, Message = "Keystone refused the service credentials ({Status}) of user {User}: check [keystone_authtoken]")]
        public static partial void ServiceAuthFailed(ILogger logger, int status, string user);

        [LoggerMessage(EventId = 5105, Level = LogLevel.Error, Message = "Keystone returned a token body without expires_at")]
        public static partial void MalformedTokenBody(ILogger logger);
    }
}
