// Licensed under the Apache License, Version 2.0.

using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace Octavia.Amphora.Agent.Api;

/// <summary>A response as upstream's agent writes it: JSON (or plain text for configs), a status and an optional ETag.</summary>
internal sealed class Reply : IResult
{
    private readonly byte[] _body;
    private readonly string _contentType;
    private readonly string? _etag;

    private Reply(int status, byte[] body, string contentType, string? etag)
    {
        Status = status;
        _body = body;
        _contentType = contentType;
        _etag = etag;
    }

    public int Status { get; }

    public static Reply Json(int status, JsonNode body, string? etag = null) =>
        new(status, Encoding.UTF8.GetBytes(body.ToJsonString()), "application/json", etag);

    /// <summary><c>{"message": ..., "details": ...}</c>, upstream's usual body.</summary>
    public static Reply Message(int status, string message, string? details = null, string? etag = null)
    {
        var body = new JsonObject { ["message"] = message };
        if (details is not null)
        {
            body["details"] = details;
        }
        return Json(status, body, etag);
    }

    /// <summary>werkzeug's JSON error page as upstream's <c>make_json_error</c> renders it.</summary>
    public static Reply Error(int status, string description) =>
        Json(status, new JsonObject { ["error"] = $"{status} {ReasonPhrases.GetReasonPhrase(status)}: {description}", ["http_code"] = status });

    public static Reply Text(string text, string etag) => new(200, Encoding.UTF8.GetBytes(text), "text/plain; charset=UTF-8", etag);

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.StatusCode = Status;
        httpContext.Response.ContentType = _contentType;
        if (_etag is not null)
        {
            httpContext.Response.Headers.ETag = _etag;
        }
        httpContext.Response.ContentLength = _body.Length;
        await httpContext.Response.Body.WriteAsync(_body, httpContext.RequestAborted).ConfigureAwait(false);
    }
}
