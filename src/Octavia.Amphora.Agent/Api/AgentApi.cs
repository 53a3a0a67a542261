// Licensed under the Apache License, Version 2.0.

using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Octavia.Amphora.Agent.Haproxy;
using Octavia.Amphora.Agent.Keepalived;
using Octavia.Amphora.Agent.Logging;
using Octavia.Amphora.Agent.Network;
using Octavia.Amphora.Agent.Tls;
using Octavia.Core.Configuration;

namespace Octavia.Amphora.Agent.Api;

/// <summary>Upstream's agent routes (api_server/server.py) with their paths, codes and bodies.</summary>
internal static partial class AgentApi
{
    private static readonly string[] Actions = ["start", "stop", "reload"];

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/", () => Reply.Json(200, new JsonObject { ["api_version"] = AmphoraInfo.ApiVersion }));
        var v = app.MapGroup("/1.0");
        v.MapPut("/loadbalancer/{amphora_id}/{lb_id}/haproxy", UploadHaproxyConfig);
        v.MapGet("/loadbalancer/{lb_id}/haproxy", GetHaproxyConfig);
        v.MapPut("/listeners/{amphora_id}/{listener_id}/udp_listener", UploadLvsConfig);
        v.MapGet("/listeners/{listener_id}/udp_listener", GetLvsConfig);
        v.MapPut("/loadbalancer/{object_id}/{action}", StartStopLbObject);
        v.MapDelete("/listeners/{object_id}", DeleteLbObject);
        v.MapGet("/listeners", GetAllListeners);
        v.MapPut("/loadbalancer/{lb_id}/certificates/{filename}", UploadCertificate);
        v.MapGet("/loadbalancer/{lb_id}/certificates/{filename}", GetCertificateMd5);
        v.MapDelete("/loadbalancer/{lb_id}/certificates/{filename}", DeleteCertificate);
        v.MapPut("/certificate", UploadServerCertificate);
        v.MapPost("/plug/vip/{vip}", PlugVip);
        v.MapPost("/plug/network", PlugNetwork);
        v.MapPut("/vrrp/upload", UploadVrrpConfig);
        v.MapPut("/vrrp/{action}", ManageVrrp);
        v.MapGet("/interface/{ip_addr}", GetInterface);
        v.MapGet("/info", async (AmphoraInfo info, CancellationToken ct) => Reply.Json(200, await info.InfoAsync(ct)));
        v.MapGet("/details", async (AmphoraInfo info, CancellationToken ct) => Reply.Json(200, await info.DetailsAsync(ct)));
        v.MapPut("/config", UploadAgentConfig);
    }

    private static async Task<byte[]> ReadBodyAsync(HttpRequest request, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, ct);
        return buffer.ToArray();
    }

    private static Reply LbNotFound(string lbId) => Reply.Message(404, "Loadbalancer Not Found", $"No loadbalancer with UUID: {lbId}");

    private static async Task<Reply> UploadHaproxyConfig(string lb_id, HttpRequest request, HaproxyManager haproxy, AgentPaths paths, AmphoraLogReceiver logs, ILogger<HaproxyManager> logger, CancellationToken ct)
    {
        if (!AgentPaths.IsSafeId(lb_id))
        {
            return Reply.Message(400, "Invalid request", $"Invalid load balancer id: {lb_id}");
        }
        var raw = await ReadBodyAsync(request, ct);
        var etag = AgentFiles.Md5Hex(raw);
        string config;
        try
        {
            // Upstream strips the group; ours also fits the file to this amphora: its own paths, its log receiver,
            // and no user switch when the agent runs without root (loopback mode).
            config = HaproxyConfigFile.StripUserWhenUnprivileged(HaproxyConfigFile.StripGroup(new UTF8Encoding(false, true).GetString(raw)));
            config = logs.Route(HaproxyConfigFile.LocalizePaths(config, AgentPaths.HaproxySockConfigPath(lb_id), paths.StateFilePath(lb_id)));
        }
        catch (DecoderFallbackException)
        {
            return Reply.Message(400, "Invalid request", "The HAProxy configuration is not valid UTF-8");
        }
        if (haproxy.CheckDescriptorBudget(config) is { } budget)
        {
            return Reply.Message(400, "Invalid request", budget);
        }
        await haproxy.Lock.WaitAsync(ct);
        try
        {
            Directory.CreateDirectory(paths.HaproxyDir(lb_id));
            var pending = Path.Combine(paths.HaproxyDir(lb_id), "haproxy.cfg.new");
            await AgentFiles.WriteAsync(pending, Encoding.UTF8.GetBytes(config), AgentFiles.Private, ct);
            var check = await haproxy.ValidateAsync(pending, ct);
            if (!check.Ok)
            {
                Log.ConfigRejected(logger, lb_id, check.Output);
                File.Move(pending, pending + "-failed", overwrite: true);
                if (!File.Exists(paths.ConfigPath(lb_id)) && Directory.GetFileSystemEntries(paths.HaproxyDir(lb_id)).Length == 1)
                {
                    // A first upload that failed leaves nothing that looks like a load balancer behind.
                    Directory.Delete(paths.HaproxyDir(lb_id), recursive: true);
                }
                return Reply.Message(400, "Invalid request", check.Output);
            }
            File.Move(pending, paths.ConfigPath(lb_id), overwrite: true);
            haproxy.MarkValidated(lb_id, config);
        }
        finally
        {
            haproxy.Lock.Release();
        }
        return Reply.Message(202, "OK", etag: etag);
    }

    private static async Task<Reply> GetHaproxyConfig(string lb_id, AgentPaths paths, CancellationToken ct)
    {
        if (!AgentPaths.IsSafeId(lb_id) || !File.Exists(paths.ConfigPath(lb_id)))
        {
            return LbNotFound(lb_id);
        }
        var text = await File.ReadAllTextAsync(paths.ConfigPath(lb_id), ct);
        return Reply.Text(text, AgentFiles.Md5Hex(Encoding.UTF8.GetBytes(text)));
    }

    private static async Task<Reply> UploadLvsConfig(string listener_id, HttpRequest request, AgentPaths paths, CancellationToken ct)
    {
        if (!AgentPaths.IsSafeId(listener_id))
        {
            return Reply.Message(400, "Invalid request", $"Invalid listener id: {listener_id}");
        }
        var raw = await ReadBodyAsync(request, ct);
        if (KeepalivedManager.Refusal(Encoding.UTF8.GetString(raw)) is { } refusal)
        {
            return Reply.Message(400, "Invalid request", refusal);
        }
        Directory.CreateDirectory(paths.LvsDir);
        await AgentFiles.WriteAsync(paths.LvsConfigPath(listener_id), raw, AgentFiles.Private, ct);
        return Reply.Message(200, "OK", etag: AgentFiles.Md5Hex(raw));
    }

    private static async Task<Reply> GetLvsConfig(string listener_id, AgentPaths paths, CancellationToken ct)
    {
        if (!AgentPaths.IsSafeId(listener_id) || !File.Exists(paths.LvsConfigPath(listener_id)))
        {
            return Reply.Message(404, "UDP Listener Not Found", $"No UDP listener with UUID: {listener_id}");
        }
        var text = await File.ReadAllTextAsync(paths.LvsConfigPath(listener_id), ct);
        return Reply.Text(text, AgentFiles.Md5Hex(Encoding.UTF8.GetBytes(text)));
    }

    private static async Task<Reply> StartStopLbObject(string object_id, string action, HaproxyManager haproxy, KeepalivedManager keepalived, AgentPaths paths, AgentSettings settings, ILogger<HaproxyManager> logger, CancellationToken ct)
    {
        action = action.ToLowerInvariant();
        if (!Actions.Contains(action))
        {
            return Reply.Message(400, "Invalid Request", $"Unknown action: {action}");
        }
        if (!AgentPaths.IsSafeId(object_id))
        {
            return LbNotFound(object_id);
        }
        if (!File.Exists(paths.ConfigPath(object_id)) && File.Exists(paths.LvsConfigPath(object_id)))
        {
            // LVS listeners (UDP/SCTP) need IPVS, which this kernel does not have.
            return Reply.Message(500, $"Failed to {action} keepalivedlvs listener {object_id}",
                "UDP and SCTP listeners need IPVS (keepalived virtual_server), which is not available on this amphora");
        }
        if (!File.Exists(paths.ConfigPath(object_id)))
        {
            return LbNotFound(object_id);
        }
        await haproxy.Lock.WaitAsync(ct);
        ProcessOutcome outcome;
        var effective = action;
        try
        {
            if (action == "reload" && !haproxy.IsRunning(object_id))
            {
                effective = "start";
            }
            outcome = effective switch
            {
                "start" => await haproxy.StartAsync(object_id, ct),
                "stop" => await haproxy.StopAsync(object_id, ct),
                _ => await haproxy.ReloadAsync(object_id, ct),
            };
            if (settings.Mutable.Topology == "ACTIVE_STANDBY" || File.Exists(paths.KeepalivedCheckScriptPath))
            {
                keepalived.UpdateHaproxyCheckScript(paths.LoadBalancers().Where(haproxy.IsRunning));
            }
        }
        finally
        {
            haproxy.Lock.Release();
        }
        if (!outcome.Ok)
        {
            return Reply.Message(500, $"Error {effective}ing haproxy", outcome.Output);
        }
        if (effective != "stop" && settings.Mutable.Topology != "ACTIVE_STANDBY")
        {
            await AnnounceVipsAsync(object_id, paths, logger, ct);
        }
        return effective == "start"
            ? Reply.Message(202, "OK", $"Configuration file is valid\nhaproxy daemon for {object_id} started")
            : Reply.Message(202, "OK", $"Listener {object_id} {effective}ed");
    }

    /// <summary>GARP / NA for the listeners' addresses (keepalived announces them in ACTIVE_STANDBY); failures only log, as upstream.</summary>
    private static async Task AnnounceVipsAsync(string lbId, AgentPaths paths, ILogger logger, CancellationToken ct)
    {
        try
        {
            var addresses = HaproxyConfigFile.BindAddresses(await File.ReadAllTextAsync(paths.ConfigPath(lbId), ct));
            var sent = await IpAdvertisement.AnnounceAsync(addresses, ct);
            Log.VipsAnnounced(logger, lbId, sent);
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or UnauthorizedAccessException)
        {
            Log.VipAnnouncementFailed(logger, lbId, ex.Message);
        }
    }

    private static async Task<Reply> DeleteLbObject(string object_id, HaproxyManager haproxy, KeepalivedManager keepalived, AgentPaths paths, CancellationToken ct)
    {
        if (!AgentPaths.IsSafeId(object_id))
        {
            return Reply.Message(200, "OK");
        }
        if (!File.Exists(paths.ConfigPath(object_id)) && File.Exists(paths.LvsConfigPath(object_id)))
        {
            File.Delete(paths.LvsConfigPath(object_id));
            return Reply.Message(200, "OK");
        }
        if (!File.Exists(paths.ConfigPath(object_id)))
        {
            return Reply.Message(200, "OK");
        }
        await haproxy.Lock.WaitAsync(ct);
        try
        {
            string? statsSocket = null;
            try
            {
                statsSocket = HaproxyConfigFile.StatsSocket(await File.ReadAllTextAsync(paths.ConfigPath(object_id), ct)) is { } written
                    ? paths.FromHaproxyDir(object_id, written)
                    : null;
            }
            catch (IOException)
            {
                // The socket path is only needed to tidy up.
            }
            var stopped = await haproxy.StopAsync(object_id, ct);
            if (!stopped.Ok)
            {
                return Reply.Message(500, "Error stopping haproxy", stopped.Output);
            }
            if (statsSocket is not null)
            {
                File.Delete(statsSocket);
            }
            if (File.Exists(paths.KeepalivedCheckScriptPath))
            {
                keepalived.UpdateHaproxyCheckScript(paths.LoadBalancers().Where(lb => lb != object_id && haproxy.IsRunning(lb)));
            }
            if (Directory.Exists(paths.CertDir(object_id)))
            {
                Directory.Delete(paths.CertDir(object_id), recursive: true);
            }
            Directory.Delete(paths.HaproxyDir(object_id), recursive: true);
            haproxy.ForgetValidation(object_id);
        }
        finally
        {
            haproxy.Lock.Release();
        }
        return Reply.Message(200, "OK");
    }

    private static async Task<Reply> GetAllListeners(AgentPaths paths, CancellationToken ct)
    {
        var list = new JsonArray();
        foreach (var lb in paths.LoadBalancers())
        {
            string config;
            try
            {
                config = await File.ReadAllTextAsync(paths.ConfigPath(lb), ct);
            }
            catch (IOException)
            {
                continue;
            }
            foreach (var listener in HaproxyConfigFile.Listeners(config))
            {
                list.Add(new JsonObject { ["status"] = "ACTIVE", ["uuid"] = listener.Id, ["type"] = listener.Mode });
            }
        }
        foreach (var lvs in paths.LvsListeners())
        {
            list.Add(new JsonObject { ["status"] = "OFFLINE", ["uuid"] = lvs, ["type"] = "UDP" });
        }
        return Reply.Json(200, list);
    }

    private static Reply? CheckCertName(string lbId, string filename)
    {
        if (!CertFilename().IsMatch(filename) || filename.Contains('/', StringComparison.Ordinal) || filename.Contains('\\', StringComparison.Ordinal)
            || filename.StartsWith('.') || !AgentPaths.IsSafeId(lbId))
        {
            return Reply.Message(400, "Filename has wrong format");
        }
        return null;
    }

    private static async Task<Reply> UploadCertificate(string lb_id, string filename, HttpRequest request, AgentPaths paths, HaproxyManager haproxy, CancellationToken ct)
    {
        if (CheckCertName(lb_id, filename) is { } bad)
        {
            return bad;
        }
        var raw = await ReadBodyAsync(request, ct);
        Directory.CreateDirectory(paths.CertDir(lb_id));
        await AgentFiles.WriteAsync(Path.Combine(paths.CertDir(lb_id), filename), raw, AgentFiles.Private, ct);
        // The configuration refers to it: the next start or reload checks again.
        haproxy.ForgetValidation(lb_id);
        return Reply.Message(200, "OK", etag: AgentFiles.Md5Hex(raw));
    }

    private static async Task<Reply> GetCertificateMd5(string lb_id, string filename, AgentPaths paths, CancellationToken ct)
    {
        if (CheckCertName(lb_id, filename) is { } bad)
        {
            return bad;
        }
        var path = Path.Combine(paths.CertDir(lb_id), filename);
        if (!File.Exists(path))
        {
            return Reply.Message(404, "Certificate Not Found", $"No certificate with filename: {filename}");
        }
        var md5 = AgentFiles.Md5Hex(await File.ReadAllBytesAsync(path, ct));
        return Reply.Json(200, new JsonObject { ["md5sum"] = md5 }, md5);
    }

    private static Reply DeleteCertificate(string lb_id, string filename, AgentPaths paths, HaproxyManager haproxy)
    {
        if (CheckCertName(lb_id, filename) is { } bad)
        {
            return bad;
        }
        File.Delete(Path.Combine(paths.CertDir(lb_id), filename));
        haproxy.ForgetValidation(lb_id);
        return Reply.Message(200, "OK");
    }

    private static async Task<Reply> UploadServerCertificate(HttpRequest request, AgentSettings settings, AgentCertificates certificates, CancellationToken ct)
    {
        var raw = await ReadBodyAsync(request, ct);
        try
        {
            // Writing a PEM the agent cannot use would lock the controller out for good.
            var (leaf, _) = AgentCertificates.ParseServerPem(Encoding.UTF8.GetString(raw));
            leaf.Dispose();
        }
        catch (CryptographicException ex)
        {
            return Reply.Message(400, "Invalid certificate", ex.Message);
        }
        await AgentFiles.WriteAsync(settings.ServerCertPath, raw, AgentFiles.Private, ct);
        certificates.Current();
        return Reply.Message(202, "OK");
    }

    private static async Task<JsonObject?> ReadJsonObjectAsync(HttpRequest request, CancellationToken ct)
    {
        try
        {
            return JsonNode.Parse(await ReadBodyAsync(request, ct)) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static async Task<Reply> PlugVip(string vip, HttpRequest request, NetworkPlugger plugger, CancellationToken ct)
    {
        var body = await ReadJsonObjectAsync(request, ct);
        if (body is null || !body.ContainsKey("subnet_cidr") || !body.ContainsKey("gateway") || body["mac_address"] is not JsonValue)
        {
            return Reply.Error(400, "Invalid subnet information");
        }
        return await plugger.PlugVipAsync(vip, body, ct);
    }

    private static async Task<Reply> PlugNetwork(HttpRequest request, NetworkPlugger plugger, CancellationToken ct)
    {
        var body = await ReadJsonObjectAsync(request, ct);
        if (body is null || body["mac_address"] is not JsonValue)
        {
            return Reply.Error(400, "Invalid port information");
        }
        return await plugger.PlugNetworkAsync(body, ct);
    }

    private static async Task<Reply> UploadVrrpConfig(HttpRequest request, KeepalivedManager keepalived, HaproxyManager haproxy, AgentPaths paths, CancellationToken ct)
    {
        var raw = await ReadBodyAsync(request, ct);
        if (KeepalivedManager.Refusal(Encoding.UTF8.GetString(raw)) is { } refusal)
        {
            return Reply.Message(400, "Invalid request", refusal);
        }
        await keepalived.Lock.WaitAsync(ct);
        try
        {
            await keepalived.WriteConfigAsync(raw, paths.LoadBalancers().Where(haproxy.IsRunning).ToList(), ct);
        }
        finally
        {
            keepalived.Lock.Release();
        }
        return Reply.Message(200, "OK", etag: AgentFiles.Md5Hex(raw));
    }

    private static async Task<Reply> ManageVrrp(string action, KeepalivedManager keepalived, CancellationToken ct)
    {
        action = action.ToLowerInvariant();
        if (!Actions.Contains(action))
        {
            return Reply.Message(400, "Invalid Request", $"Unknown action: {action}");
        }
        await keepalived.Lock.WaitAsync(ct);
        try
        {
            var outcome = await keepalived.ApplyAsync(action, ct);
            var done = outcome.Ok ? outcome.Output : action;
            return outcome.Ok
                ? Reply.Message(202, "OK", $"keepalived {done}ed")
                : Reply.Message(500, $"Failed to {action} octavia-keepalived service", outcome.Output);
        }
        finally
        {
            keepalived.Lock.Release();
        }
    }

    private static async Task<Reply> GetInterface(string ip_addr, CancellationToken ct)
    {
        if (!IPAddress.TryParse(ip_addr, out var ip))
        {
            return Reply.Message(400, "Invalid IP address");
        }
        return await IpTool.InterfaceByAddressAsync(ip, ct) is { } name
            ? Reply.Json(200, new JsonObject { ["message"] = "OK", ["interface"] = name })
            : Reply.Message(404, "Error interface not found for IP address");
    }

    private static async Task<Reply> UploadAgentConfig(HttpRequest request, AgentSettings settings, ILogger<AgentSettings> logger, CancellationToken ct)
    {
        try
        {
            if (settings.ConfigFiles.Count == 0)
            {
                throw new InvalidOperationException("the agent was started without --config-file");
            }
            var raw = await ReadBodyAsync(request, ct);
            // Parse before writing: a broken file would stop the agent from starting again.
            OptionBinder.ValidateAll(OctaviaConfig.FromText(Encoding.UTF8.GetString(raw), "PUT /1.0/config"));
            await AgentFiles.WriteAsync(settings.ConfigFiles[0], raw, AgentFiles.Private, ct);
            settings.ReloadMutable();
            Log.ConfigUpdated(logger, settings.ConfigFiles[0]);
        }
        catch (Exception ex) when (ex is ConfigException or IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            Log.ConfigUpdateFailed(logger, ex.Message);
            return Reply.Message(500, "Unable to update amphora-agent configuration.", ex.Message);
        }
        return Reply.Message(202, "OK");
    }

    [GeneratedRegex(@"(\w.)+pem")]
    private static partial Regex CertFilename();
}
