// Licensed under the Apache License, Version 2.0.

namespace Octavia.Api.Errors;

/// <summary>
/// A request that fails with an upstream-shaped fault: the status code and the <c>faultstring</c>
/// python-octaviaclient shows to the user.
/// </summary>
public sealed class ApiException : Exception
{
    public ApiException(int statusCode, string message)
        : base(message)
    {
        StatusCode = statusCode;
    }

    public int StatusCode { get; }

    public static ApiException BadRequest(string message) => new(400, message);

    public static ApiException NotFound(string resource, string? id) => new(404, $"{resource} {id} not found.");

    public static ApiException Conflict(string message) => new(409, message);

    public static ApiException Forbidden() => new(403, "Policy does not allow this request to be performed.");

    public static ApiException Immutable(string resource, string id) =>
        new(409, $"{resource} {id} is immutable and cannot be updated.");

    public static ApiException InvalidInput(string field, object? value, string reason) =>
        new(400, $"Invalid input for field/attribute {field}. Value: '{value ?? "None"}'. {reason}");

    public ApiException()
        : this(500, "An unknown exception occurred.")
    {
    }

    public ApiException(string message)
        : this(500, message)
    {
    }

    public ApiException(string message, Exception innerException)
        : base(message, innerException)
    {
        StatusCode = 500;
    }
}
