// Licensed under the Apache License, Version 2.0.

using Octavia.Tests.Shared;

namespace Octavia.Drivers.Tests.Certificates;

/// <summary>A temp directory and the real openssl binary to make and check certificates with.</summary>
internal sealed class OpenSsl : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("odb-certs-");

    public string Dir => _dir.FullName;

    public string PathOf(string file) => Path.Combine(Dir, file);

    /// <summary>Runs openssl in <see cref="Dir"/>; fails the test when it fails.</summary>
    public string Run(params string[] args)
    {
        var (code, output) = TryRun(args);
        code.ShouldBe(0, $"openssl {string.Join(' ', args)}\n{output}");
        return output;
    }

    public (int ExitCode, string Output) TryRun(params string[] args)
    {
        if (!TestEnvironment.HasProgram("openssl"))
        {
            Assert.Skip("openssl is not installed");
        }
        var full = args.Select(a => a.StartsWith('@') ? PathOf(a[1..]) : a).ToArray();
        return TestEnvironment.Run("openssl", full);
    }

    /// <summary>A CA (key <c>ca.key</c> unencrypted, certificate <c>ca.pem</c>) made by openssl.</summary>
    public void MakeCa(string subject = "/CN=Test CA")
    {
        Run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "@ca.key", "-out", "@ca.pem",
            "-subj", subject, "-days", "2");
    }

    /// <summary>A leaf <c>{name}.pem</c> / <c>{name}.key</c> for <paramref name="cn"/>, signed by <c>ca.pem</c>.</summary>
    public void MakeLeaf(string name, string cn, string keyAlgorithm = "rsa:2048")
    {
        Run("req", "-new", "-newkey", keyAlgorithm, "-nodes", "-keyout", $"@{name}.key", "-out", $"@{name}.csr", "-subj", $"/CN={cn}");
        Run("x509", "-req", "-in", $"@{name}.csr", "-CA", "@ca.pem", "-CAkey", "@ca.key", "-CAcreateserial", "-out", $"@{name}.pem", "-days", "1");
    }

    public string Read(string file) => File.ReadAllText(PathOf(file));

    public void Write(string file, string content) => File.WriteAllText(PathOf(file), content);

    public void Dispose() => _dir.Delete(recursive: true);
}

/// <summary>A clock stopped at one instant.</summary>
internal sealed class FixedTime(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
