// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Octavia.Api.Errors;
using Octavia.Core.Model;

namespace Octavia.Api.Json;

/// <summary>
/// Typed, validating reads of one request object (WSME's job upstream). Every problem becomes a 400
/// naming the attribute; <see cref="Has"/> tells "absent" from "null" so PUT can reset to defaults.
/// </summary>
internal sealed class Body
{
    private static readonly JsonDocumentOptions s_docOptions = new() { MaxDepth = 32 };
    private readonly JsonObject _obj;

    public Body(JsonObject obj, string argument, IReadOnlyCollection<string> allowed)
    {
        _obj = obj;
        Argument = argument;
        var unknown = obj.Select(p => p.Key).Where(k => !allowed.Contains(k)).ToList();
        if (unknown.Count > 0)
        {
            throw ApiException.BadRequest($"Unknown attribute for argument {argument}: {string.Join(", ", unknown)}");
        }
    }

    public string Argument { get; }

    /// <summary>Reads the request body and returns the object under <paramref name="rootKey"/>.</summary>
    public static async Task<JsonObject> ReadRootAsync(HttpContext http, string rootKey, params string[] otherRootKeys)
    {
        var root = await ReadJsonAsync(http).ConfigureAwait(false);
        if (root is not JsonObject obj)
        {
            throw ApiException.BadRequest("Invalid request body: a JSON object is required.");
        }
        var extra = obj.Select(p => p.Key).Where(k => k != rootKey && !otherRootKeys.Contains(k)).ToList();
        if (extra.Count > 0)
        {
            throw ApiException.BadRequest($"Unknown argument: \"{string.Join(", ", extra)}\"");
        }
        string? found = obj.ContainsKey(rootKey) ? rootKey : otherRootKeys.FirstOrDefault(obj.ContainsKey);
        if (found is null)
        {
            throw ApiException.BadRequest($"Missing argument: \"{rootKey}\"");
        }
        if (obj[found] is not JsonObject inner)
        {
            throw ApiException.BadRequest($"Invalid input for field/attribute {rootKey}. Value: '{obj[found]?.ToJsonString() ?? "None"}'. A JSON object is required.");
        }
        return inner;
    }

    /// <summary>Reads any JSON body (400 on malformed JSON or a body that is not JSON at all).</summary>
    public static async Task<JsonNode?> ReadJsonAsync(HttpContext http)
    {
        using var reader = new StreamReader(http.Request.Body);
        var text = await reader.ReadToEndAsync(http.RequestAborted).ConfigureAwait(false);
        if (string.IsNullOrWhiteSpace(text))
        {
            throw ApiException.BadRequest("Invalid request body: the body is empty; a JSON object is required.");
        }
        try
        {
            return JsonNode.Parse(text, documentOptions: s_docOptions);
        }
        catch (JsonException ex)
        {
            throw ApiException.BadRequest("Malformed JSON request body: " + ex.Message);
        }
    }

    /// <summary>A copy of the request object (passed to the worker as the update set).</summary>
    public JsonObject Raw() => (JsonObject)_obj.DeepClone();

    public bool Has(string key) => _obj.ContainsKey(key);

    public bool IsNull(string key) => _obj.TryGetPropertyValue(key, out var v) && v is null;

    private JsonNode? Value(string key, bool required)
    {
        if (!_obj.TryGetPropertyValue(key, out var node) || node is null)
        {
            if (required)
            {
                throw ApiException.InvalidInput(key, "Unset", "Mandatory field missing.");
            }
            return null;
        }
        return node;
    }

    public string? Str(string key, int maxLength = 255, bool required = false, int minLength = 0)
    {
        var node = Value(key, required);
        if (node is null)
        {
            return null;
        }
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.String)
        {
            throw ApiException.InvalidInput(key, node.ToJsonString(), "Wrong type. Expected 'str'.");
        }
        var s = v.GetValue<string>();
        if (s.Length > maxLength)
        {
            throw ApiException.InvalidInput(key, s, $"Value should have a maximum character requirement of {maxLength}");
        }
        if (s.Length < minLength)
        {
            throw ApiException.InvalidInput(key, s, $"Value should have a minimum character requirement of {minLength}");
        }
        return s;
    }

    public long? Long(string key, long min, long max, bool required = false)
    {
        var node = Value(key, required);
        if (node is null)
        {
            return null;
        }
        long value;
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<long>(out var l))
        {
            value = l;
        }
        else if (node is JsonValue s && s.GetValueKind() == JsonValueKind.String
            && long.TryParse(s.GetValue<string>(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed))
        {
            value = parsed;
        }
        else
        {
            throw ApiException.InvalidInput(key, Display(node), "Wrong type. Expected an integer.");
        }
        if (value < min)
        {
            throw ApiException.InvalidInput(key, value, $"Value should be greater or equal to {min}");
        }
        if (value > max)
        {
            throw ApiException.InvalidInput(key, value, $"Value should be lower or equal to {max}");
        }
        return value;
    }

    public int? Int(string key, int min, int max, bool required = false) => (int?)Long(key, min, max, required);

    public bool? Bool(string key)
    {
        var node = Value(key, false);
        if (node is null)
        {
            return null;
        }
        if (node is JsonValue v)
        {
            switch (v.GetValueKind())
            {
                case JsonValueKind.True:
                    return true;
                case JsonValueKind.False:
                    return false;
                case JsonValueKind.String when bool.TryParse(v.GetValue<string>(), out var b):
                    return b;
            }
        }
        throw ApiException.InvalidInput(key, Display(node), "Wrong type. Expected a boolean.");
    }

    public string? Enum(string key, IReadOnlyCollection<string> values, bool required = false)
    {
        var s = Str(key, 255, required);
        if (s is not null && !values.Contains(s))
        {
            throw ApiException.InvalidInput(key, s, $"Value should be one of: {string.Join(", ", values)}");
        }
        return s;
    }

    public string? Uuid(string key, bool required = false)
    {
        var s = Str(key, 36, required);
        if (s is not null && !Ids.IsUuid(s))
        {
            throw ApiException.InvalidInput(key, s, "Value should be UUID format");
        }
        return s is null ? null : Guid.Parse(s).ToString();
    }

    public string? Ip(string key, bool required = false)
    {
        var s = Str(key, 64, required);
        if (s is null)
        {
            return null;
        }
        if (!IPAddress.TryParse(s, out var ip) || s.Contains('%', StringComparison.Ordinal) || (ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && s.Count(c => c == '.') != 3))
        {
            throw ApiException.InvalidInput(key, s, "Value should be IPv4 or IPv6 format");
        }
        return ip.ToString();
    }

    public List<string>? StrList(string key, int maxItemLength = 255, IReadOnlyCollection<string>? allowedValues = null)
    {
        var node = Value(key, false);
        if (node is null)
        {
            return null;
        }
        if (node is not JsonArray arr)
        {
            throw ApiException.InvalidInput(key, Display(node), "Wrong type. Expected a list.");
        }
        var list = new List<string>(arr.Count);
        foreach (var item in arr)
        {
            if (item is not JsonValue v || v.GetValueKind() != JsonValueKind.String)
            {
                throw ApiException.InvalidInput(key, node.ToJsonString(), "Wrong type. Expected a list of strings.");
            }
            var s = v.GetValue<string>();
            if (s.Length > maxItemLength)
            {
                throw ApiException.InvalidInput(key, s, $"Value should have a maximum character requirement of {maxItemLength}");
            }
            if (allowedValues is not null && !allowedValues.Contains(s))
            {
                throw ApiException.InvalidInput(key, s, $"Value should be one of: {string.Join(", ", allowedValues)}");
            }
            list.Add(s);
        }
        return list;
    }

    public List<string>? UuidList(string key)
    {
        var list = StrList(key, 36);
        if (list?.FirstOrDefault(s => !Ids.IsUuid(s)) is { } bad)
        {
            throw ApiException.InvalidInput(key, bad, "Value should be UUID format");
        }
        return list?.Select(s => Guid.Parse(s).ToString()).ToList();
    }

    public Dictionary<string, string>? StrDict(string key)
    {
        var node = Value(key, false);
        if (node is null)
        {
            return null;
        }
        if (node is not JsonObject obj)
        {
            throw ApiException.InvalidInput(key, Display(node), "Wrong type. Expected a dictionary.");
        }
        var dict = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in obj)
        {
            if (v is not JsonValue jv || jv.GetValueKind() != JsonValueKind.String || jv.GetValue<string>().Length > 255)
            {
                throw ApiException.InvalidInput(key, node.ToJsonString(), "Values should be strings of at most 255 characters.");
            }
            dict[k] = jv.GetValue<string>();
        }
        return dict;
    }

    public Body? Child(string key, string argument, IReadOnlyCollection<string> allowed)
    {
        var node = Value(key, false);
        if (node is null)
        {
            return null;
        }
        if (node is not JsonObject obj)
        {
            throw ApiException.InvalidInput(key, Display(node), "Wrong type. Expected an object.");
        }
        return new Body(obj, argument, allowed);
    }

    public List<Body>? Children(string key, string argument, IReadOnlyCollection<string> allowed)
    {
        var node = Value(key, false);
        if (node is null)
        {
            return null;
        }
        if (node is not JsonArray arr || arr.Any(i => i is not JsonObject))
        {
            throw ApiException.InvalidInput(key, Display(node), "Wrong type. Expected a list of objects.");
        }
        return arr.Select(i => new Body((JsonObject)i!, argument, allowed)).ToList();
    }

    private static string Display(JsonNode node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : node.ToJsonString();
}
