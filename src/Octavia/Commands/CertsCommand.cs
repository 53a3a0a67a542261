// Licensed under the Apache License, Version 2.0.

using System.CommandLine;
using System.Security.Cryptography;
using Octavia.Core.Configuration;
using Octavia.Core.Drivers;
using Octavia.Drivers.Certificates;

namespace Octavia.Commands;

/// <summary>
/// <c>octavia certs init</c> (the controller's CAs and client certificate, as upstream's certificate guide) and
/// <c>octavia certs store</c> (a tenant TLS bundle or CA/CRL for the local cert manager; prints its ref).
/// </summary>
internal static class CertsCommand
{
    public static Command Create()
    {
        var command = new Command("certs", "Certificate tools: create the controller's CAs, store TLS bundles for listeners and pools.");
        command.Subcommands.Add(Init());
        command.Subcommands.Add(Store());
        return command;
    }

    private static Command Init()
    {
        var dir = new Option<string>("--dir") { Description = "Directory for the files (created with mode 0700).", Required = true };
        var force = new Option<bool>("--force") { Description = "Replace existing files." };
        var passphrase = new Option<string?>("--passphrase") { Description = "Passphrase for the CA keys (default: a new random one, printed)." };
        var bits = new Option<int>("--ca-key-bits") { Description = "RSA size of the CA keys.", DefaultValueFactory = _ => 4096 };
        var init = new Command("init", "Create server_ca.cert.pem, server_ca.key.pem, client_ca.cert.pem, client_ca.key.pem and client.cert-and-key.pem, and print the octavia.conf lines.")
        {
            dir, force, passphrase, bits,
        };
        init.SetAction(parse =>
        {
            try
            {
                var set = CertificateLayout.Initialize(parse.GetValue(dir)!, parse.GetValue(passphrase), parse.GetValue(bits),
                    parse.GetValue(force), TimeProvider.System);
                Console.Out.WriteLine($"# Certificates written to {set.Directory}. Add to octavia.conf:");
                Console.Out.Write(CertificateLayout.ConfigLines(set));
                return 0;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
            {
                Console.Error.WriteLine($"octavia: certs init: {ex.Message}");
                return 1;
            }
        });
        return init;
    }

    private static Command Store()
    {
        var configFile = CommonOptions.ConfigFile();
        var name = new Option<string?>("--name") { Description = "A name to remember the bundle by (stored beside it)." };
        var pkcs12 = new Option<FileInfo?>("--pkcs12") { Description = "A PKCS12 bundle (certificate, key, intermediates)." };
        var pkcs12Password = new Option<string?>("--pkcs12-password") { Description = "Password of the PKCS12 bundle, if any." };
        var cert = new Option<FileInfo?>("--cert") { Description = "PEM certificate (with --key)." };
        var key = new Option<FileInfo?>("--key") { Description = "PEM private key (with --cert)." };
        var keyPassphrase = new Option<string?>("--key-passphrase") { Description = "Passphrase of an encrypted --key." };
        var intermediates = new Option<FileInfo?>("--intermediates") { Description = "PEM intermediate certificates (with --cert)." };
        var secret = new Option<FileInfo?>("--secret") { Description = "A PEM CA certificate or CRL, for client_ca_tls_container_ref, ca_tls_container_ref or *_crl_container_ref." };
        var store = new Command("store", "Store a TLS bundle or CA/CRL in [certificates] storage_path and print the ref to pass as --default-tls-container-ref.")
        {
            configFile, name, pkcs12, pkcs12Password, cert, key, keyPassphrase, intermediates, secret,
        };
        store.Validators.Add(result =>
        {
            var kinds = (result.GetValue(pkcs12) is null ? 0 : 1) + (result.GetValue(cert) is null && result.GetValue(key) is null ? 0 : 1)
                + (result.GetValue(secret) is null ? 0 : 1);
            if (kinds != 1)
            {
                result.AddError("give exactly one of --pkcs12 FILE, --cert FILE --key FILE, or --secret FILE");
            }
            else if ((result.GetValue(cert) is null) != (result.GetValue(key) is null))
            {
                result.AddError("--cert and --key go together");
            }
        });
        store.SetAction(parse =>
        {
            var config = CommonOptions.LoadConfig(parse, configFile);
            if (config is null)
            {
                return 1;
            }
            try
            {
                var manager = new LocalCertManager(OptionBinder.Bind<CertificatesOptions>(config));
                string reference;
                if (parse.GetValue(pkcs12) is { } p12)
                {
                    reference = manager.StorePkcs12(File.ReadAllBytes(p12.FullName), parse.GetValue(pkcs12Password), parse.GetValue(name));
                }
                else if (parse.GetValue(secret) is { } s)
                {
                    reference = manager.StoreSecret(File.ReadAllText(s.FullName), parse.GetValue(name));
                }
                else
                {
                    var chain = parse.GetValue(intermediates) is { } i ? File.ReadAllText(i.FullName) : null;
                    reference = manager.Store(File.ReadAllText(parse.GetValue(cert)!.FullName), File.ReadAllText(parse.GetValue(key)!.FullName),
                        chain, parse.GetValue(keyPassphrase), parse.GetValue(name));
                }
                Console.Out.WriteLine(reference);
                return 0;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CertificateRetrievalException or CryptographicException or ConfigException)
            {
                Console.Error.WriteLine($"octavia: certs store: {ex.Message}");
                return 1;
            }
        });
        return store;
    }
}
