// Licensed under the Apache License, Version 2.0.

namespace Octavia.Amphora.Agent;

/// <summary>File writes with upstream's modes (0600 for configs and keys).</summary>
internal static class AgentFiles
{
    public const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public static async Task WriteAsync(string path, byte[] content, UnixFileMode mode, CancellationToken ct)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = mode;
        }
        var stream = new FileStream(path, options);
        await using (stream.ConfigureAwait(false))
        {
            await stream.WriteAsync(content, ct).ConfigureAwait(false);
        }
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, mode);
        }
    }

    public static string Md5Hex(byte[] content) =>
#pragma warning disable CA5351 // upstream's ETag and md5sum are MD5; this is a checksum, not security.
        Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(content));
#pragma warning restore CA5351
}
