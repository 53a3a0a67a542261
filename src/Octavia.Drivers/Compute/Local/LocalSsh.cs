// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Globalization;
using Octavia.Drivers.Network.Local;

namespace Octavia.Drivers.Compute.Local;

/// <summary>
/// An amphora's sshd (upstream: Nova injects the <c>amp_ssh_key_name</c> keypair into the image's root
/// account). Ours reads <c>&lt;ssh_key_dir&gt;/&lt;name&gt;.pub</c> and runs OpenSSH's sshd on the management
/// address, inside the amphora's namespace when it has one, with a host key and config in its run directory.
/// </summary>
internal static class LocalSsh
{
    /// <summary>The public key file for <paramref name="keyName"/>; throws a clear error when it is missing.</summary>
    public static string PublicKeyFile(LocalDriverContext context, string keyName)
    {
        if (keyName.Contains('/', StringComparison.Ordinal) || keyName.StartsWith('.'))
        {
            throw new InvalidOperationException($"amp_ssh_key_name '{keyName}' is not a plain key name");
        }
        var dir = context.Options.SshKeyDir is { Length: > 0 } configured ? configured : Path.Combine(context.StateDir, "keys");
        var file = Path.Combine(dir, keyName + ".pub");
        if (!File.Exists(file))
        {
            throw new InvalidOperationException(
                $"SSH key '{keyName}' ([controller_worker] amp_ssh_key_name) not found: expected {file} ([local_compute] ssh_key_dir)");
        }
        if (!File.Exists(context.Options.SshdExecutable))
        {
            throw new InvalidOperationException(
                $"amp_ssh_key_name is set but sshd '{context.Options.SshdExecutable}' does not exist (install openssh-server or set [local_compute] sshd_executable)");
        }
        return file;
    }

    public static int Port(LocalDriverContext context) =>
        context.Options.SshPort > 0 ? context.Options.SshPort : context.Mode == LocalMode.Namespace ? 22 : 2222;

    /// <summary>Writes host key, authorized_keys and sshd_config under <c>dir/ssh</c>; starts sshd detached and returns it.</summary>
    public static async Task<ProcessIdentity> StartAsync(LocalDriverContext context, string dir, string? ns, string address, string publicKeyFile, CancellationToken cancellationToken)
    {
        var sshDir = Path.Combine(dir, "ssh");
        Directory.CreateDirectory(sshDir);
        var hostKey = Path.Combine(sshDir, "ssh_host_ed25519_key");
        if (!File.Exists(hostKey))
        {
            await RunAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "amphora", "-f", hostKey], cancellationToken).ConfigureAwait(false);
        }
        var authorized = Path.Combine(sshDir, "authorized_keys");
        await File.WriteAllTextAsync(authorized, await File.ReadAllTextAsync(publicKeyFile, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        var config = Path.Combine(sshDir, "sshd_config");
        var port = Port(context);
        // StrictModes would refuse authorized_keys below a world-writable directory such as /tmp, where
        // test deployments keep their state; the run directory itself is private to octavia.
        var lines = new[]
        {
            $"ListenAddress {address}:{port.ToString(CultureInfo.InvariantCulture)}",
            $"HostKey {hostKey}",
            $"AuthorizedKeysFile {authorized}",
            $"PidFile {Path.Combine(sshDir, "sshd.pid")}",
            "PermitRootLogin prohibit-password",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "StrictModes no",
            "PrintMotd no",
            "Subsystem sftp internal-sftp",
        };
        await File.WriteAllLinesAsync(config, lines, cancellationToken).ConfigureAwait(false);
        if (Environment.IsPrivilegedProcess)
        {
            // sshd running as root refuses to start without its privilege separation directory.
            Directory.CreateDirectory("/run/sshd");
        }
        var command = new List<string>();
        if (ns is not null)
        {
            command.AddRange(["ip", "netns", "exec", ns]);
        }
        command.AddRange([context.Options.SshdExecutable, "-D", "-e", "-f", config]);
        return await HostProcesses.StartDetachedAsync(command, dir, Path.Combine(sshDir, "sshd.log"), null, cancellationToken).ConfigureAwait(false);
    }

    private static async Task RunAsync(string program, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in arguments)
        {
            psi.ArgumentList.Add(a);
        }
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {program}");
        var error = await process.StandardError.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        await process.StandardOutput.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} failed: {error.Trim()}");
        }
    }
}
