// Licensed under the Apache License, Version 2.0.

using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;

namespace Octavia.Drivers.Certificates;

/// <summary>
/// Reads PEM private keys in every form openssl writes: PKCS#8 (plain or encrypted), and the traditional
/// <c>RSA/EC PRIVATE KEY</c> blocks, including the legacy <c>Proc-Type: 4,ENCRYPTED</c> ones that .NET cannot read.
/// </summary>
public static partial class PemKeys
{
    /// <summary>The first private key in <paramref name="pem"/>.</summary>
    /// <exception cref="CryptographicException">No key, an unsupported format, or a missing or wrong passphrase.</exception>
    public static AsymmetricAlgorithm LoadPrivateKey(string pem, string? passphrase)
    {
        ArgumentNullException.ThrowIfNull(pem);
        var block = Blocks(pem).FirstOrDefault(b => b.Label.EndsWith("PRIVATE KEY", StringComparison.Ordinal))
            ?? throw new CryptographicException("no PEM private key found");
        var der = block.Der;
        if (block.Headers.TryGetValue("Proc-Type", out var procType) && procType.Contains("ENCRYPTED", StringComparison.Ordinal))
        {
            if (string.IsNullOrEmpty(passphrase))
            {
                throw new CryptographicException("the private key is encrypted and no passphrase was given");
            }
            der = DecryptLegacy(der, block.Headers.GetValueOrDefault("DEK-Info") ?? "", passphrase);
        }
        try
        {
            switch (block.Label)
            {
                case "RSA PRIVATE KEY":
                    {
                        var rsa = RSA.Create();
                        rsa.ImportRSAPrivateKey(der, out _);
                        return rsa;
                    }
                case "EC PRIVATE KEY":
                    {
                        var ec = ECDsa.Create();
                        ec.ImportECPrivateKey(der, out _);
                        return ec;
                    }
                case "ENCRYPTED PRIVATE KEY":
                    if (string.IsNullOrEmpty(passphrase))
                    {
                        throw new CryptographicException("the private key is encrypted and no passphrase was given");
                    }
                    return ImportPkcs8(alg => alg.ImportEncryptedPkcs8PrivateKey(passphrase, der, out _));
                case "PRIVATE KEY":
                    return ImportPkcs8(alg => alg.ImportPkcs8PrivateKey(der, out _));
                default:
                    throw new CryptographicException($"unsupported key type '{block.Label}'");
            }
        }
        catch (CryptographicException ex) when (block.Label == "ENCRYPTED PRIVATE KEY" || block.Headers.ContainsKey("Proc-Type"))
        {
            throw new CryptographicException("cannot decrypt the private key (wrong passphrase?)", ex);
        }
    }

    /// <summary>Every certificate in <paramref name="pem"/>, in order.</summary>
    public static IReadOnlyList<X509Certificate2> LoadCertificates(string pem)
    {
        ArgumentNullException.ThrowIfNull(pem);
        return [.. Blocks(pem).Where(b => b.Label is "CERTIFICATE" or "X509 CERTIFICATE" or "TRUSTED CERTIFICATE")
            .Select(b => X509CertificateLoader.LoadCertificate(b.Der))];
    }

    /// <summary>The PEM text of each certificate block in <paramref name="pem"/>, normalised.</summary>
    public static IReadOnlyList<string> CertificatePems(string pem) =>
        [.. LoadCertificates(pem).Select(c => c.ExportCertificatePem() + "\n")];

    /// <summary>Whether <paramref name="pem"/> holds a CRL block.</summary>
    public static bool HasCrl(string pem) => Blocks(pem).Any(b => b.Label == "X509 CRL");

    /// <summary>A key in PKCS#8 PEM, unencrypted (what HAProxy and the amphora agent read).</summary>
    public static string ExportPkcs8Pem(AsymmetricAlgorithm key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return key.ExportPkcs8PrivateKeyPem() + "\n";
    }

    /// <summary>Whether <paramref name="key"/> is the private half of <paramref name="certificate"/>'s public key.</summary>
    public static bool Matches(X509Certificate2 certificate, AsymmetricAlgorithm key)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(key);
        var certKey = certificate.PublicKey.ExportSubjectPublicKeyInfo();
        return key switch
        {
            RSA rsa => certKey.AsSpan().SequenceEqual(rsa.ExportSubjectPublicKeyInfo()),
            ECDsa ec => certKey.AsSpan().SequenceEqual(ec.ExportSubjectPublicKeyInfo()),
            _ => false,
        };
    }

    private static AsymmetricAlgorithm ImportPkcs8(Action<AsymmetricAlgorithm> import)
    {
        var rsa = RSA.Create();
        try
        {
            import(rsa);
            return rsa;
        }
        catch (CryptographicException)
        {
            rsa.Dispose();
        }
        var ec = ECDsa.Create();
        try
        {
            import(ec);
            return ec;
        }
        catch
        {
            ec.Dispose();
            throw;
        }
    }

    // openssl's legacy PEM encryption: key = EVP_BytesToKey(MD5, salt = first 8 bytes of the IV, 1 round).
    // MD5 and 3DES are what that format uses; we only read it.
#pragma warning disable CA5350, CA5351
    private static byte[] DecryptLegacy(byte[] data, string dekInfo, string passphrase)
    {
        var parts = dekInfo.Split(',', 2, StringSplitOptions.TrimEntries);
        if (parts.Length != 2)
        {
            throw new CryptographicException("encrypted PEM key without a DEK-Info header");
        }
        var iv = Convert.FromHexString(parts[1]);
        var cipher = parts[0].ToUpperInvariant();
        SymmetricAlgorithm algorithm;
        int keyLength;
        switch (cipher)
        {
            case "AES-128-CBC": algorithm = Aes.Create(); keyLength = 16; break;
            case "AES-192-CBC": algorithm = Aes.Create(); keyLength = 24; break;
            case "AES-256-CBC": algorithm = Aes.Create(); keyLength = 32; break;
            case "DES-EDE3-CBC": algorithm = TripleDES.Create(); keyLength = 24; break;
            default: throw new CryptographicException($"unsupported PEM encryption '{parts[0]}'");
        }
        using (algorithm)
        {
            var password = Encoding.UTF8.GetBytes(passphrase);
            var salt = iv.AsSpan(0, 8).ToArray();
            var key = new List<byte>();
            var previous = Array.Empty<byte>();
            while (key.Count < keyLength)
            {
                previous = MD5.HashData([.. previous, .. password, .. salt]);
                key.AddRange(previous);
            }
            algorithm.Key = [.. key.Take(keyLength)];
            try
            {
                return algorithm.DecryptCbc(data, iv, PaddingMode.PKCS7);
            }
            catch (CryptographicException ex)
            {
                throw new CryptographicException("cannot decrypt the private key (wrong passphrase?)", ex);
            }
        }
    }
#pragma warning restore CA5350, CA5351

    private sealed record PemBlock(string Label, Dictionary<string, string> Headers, byte[] Der);

    private static IEnumerable<PemBlock> Blocks(string pem)
    {
        foreach (Match m in BlockRegex().Matches(pem))
        {
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            var body = new StringBuilder();
            foreach (var raw in m.Groups["body"].Value.Split('\n'))
            {
                var line = raw.Trim();
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                if (colon > 0)
                {
                    headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
                }
                else
                {
                    body.Append(line);
                }
            }
            byte[] der;
            try
            {
                der = Convert.FromBase64String(body.ToString());
            }
            catch (FormatException ex)
            {
                throw new CryptographicException($"malformed PEM block '{m.Groups["label"].Value}'", ex);
            }
            yield return new PemBlock(m.Groups["label"].Value, headers, der);
        }
    }

    [GeneratedRegex(@"-----BEGIN (?<label>[A-Z0-9 ]+)-----(?<body>.*?)-----END \k<label>-----", RegexOptions.Singleline)]
    private static partial Regex BlockRegex();
}
