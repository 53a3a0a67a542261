// Licensed under the Apache License, Version 2.0.

using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Octavia.Api.Errors;

/// <summary>Writes WSME's fault body for every error, whatever produced it.</summary>
internal static partial class Faults
{
    public static Task WriteAsync(HttpContext http, int status, string message)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        var body = new JsonObject
        {
            ["faultcode"] = status >= 500 ? "Server" : "Client",
            ["faultstring"] = message,
            ["debuginfo"] = null,
        };
        return http.Response.WriteAsync(body.ToJsonString());
    }

    /// <summary>Turns exceptions and empty 4xx/5xx responses (unknown route, wrong method) into faults.</summary>
    public static void UseFaults(this WebApplication app)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Octavia.Api.Errors");
        app.Use(async (http, next) =>
        {
            try
            {
                await next(http).ConfigureAwait(false);
            }
            catch (ApiException ex) when (!http.Response.HasStarted)
            {
                http.Response.Clear();
                await WriteAsync(http, ex.StatusCode, ex.Message).ConfigureAwait(false);
                return;
            }
            catch (BadHttpRequestException ex) when (!http.Response.HasStarted)
            {
                http.Response.Clear();
                await WriteAsync(http, ex.StatusCode, ex.Message).ConfigureAwait(false);
                return;
            }
            catch (JsonException ex) when (!http.Response.HasStarted)
            {
                http.Response.Clear();
                await WriteAsync(http, 400, "Malformed JSON request body: " + ex.Message).ConfigureAwait(false);
                return;
            }
            catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (!http.Response.HasStarted)
            {
                LogUnhandled(logger, http.Request.Method, http.Request.Path, ex);
                http.Response.Clear();
                await WriteAsync(http, 500, "An unknown exception occurred.").ConfigureAwait(false);
                return;
            }
            if (!http.Response.HasStarted && http.Response.StatusCode >= 400 && http.Response.ContentLength is null or 0
                && http.Response.ContentType is null)
            {
                var message = http.Response.StatusCode switch
                {
                    404 => "The resource could not be found.",
                    405 => "The method specified is not allowed for this resource.",
                    415 => "The request content type is not supported; send application/json.",
                    _ => "The request could not be processed.",
                };
                await WriteAsync(http, http.Response.StatusCode, message).ConfigureAwait(false);
            }
        });
    }

    [LoggerMessage(EventId = 1000, Level = LogLevel.Error, Message = "Unhandled error in {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, string method, string path, Exception ex);
}
