// Licensed under the Apache License, Version 2.0.

namespace Octavia.Core.Model;

/// <summary>Identifier helpers: upstream ids are lower-case dashed UUID strings.</summary>
public static class Ids
{
    /// <summary>A new random id.</summary>
    public static string New() => Guid.NewGuid().ToString();

    /// <summary>True if <paramref name="value"/> is UUID-shaped (dashed or not), as upstream's UuidType accepts.</summary>
    public static bool IsUuid(string? value) => value is not null && Guid.TryParse(value, out _) && (value.Length == 36 || value.Length == 32);
}
