// Licensed under the Apache License, Version 2.0.

using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using Octavia.Core.Model;
using Octavia.Data;

namespace Octavia.Controller.Tests.HealthManager;

/// <summary>
/// A fresh SQLite file database per test (file, not in-memory, so several connections and two health
/// managers can share it). The one place the schema is created.
/// </summary>
internal sealed class HealthTestDatabase : IAsyncDisposable
{
    private readonly string _directory;

    private HealthTestDatabase(string directory, OctaviaDatabase database)
    {
        _directory = directory;
        Database = database;
    }

    public OctaviaDatabase Database { get; }

    public static async Task<HealthTestDatabase> CreateAsync(string engine = "sqlite")
    {
        var name = "ohm_" + Guid.NewGuid().ToString("N")[..12];
        var directory = Path.Combine(Path.GetTempPath(), name);
        Directory.CreateDirectory(directory);
        var url = engine switch
        {
            "sqlite" => $"sqlite:///{directory}/octavia.db",
            "postgres" => ServerUrl("OCTAVIA_TEST_POSTGRES", name),
            "mysql" => ServerUrl("OCTAVIA_TEST_MYSQL", name),
            _ => throw new ArgumentOutOfRangeException(nameof(engine)),
        };
        var parsed = DatabaseUrl.Parse(url);
        var result = new HealthTestDatabase(directory, new OctaviaDatabase(parsed)) { _server = engine != "sqlite" };
        try
        {
            if (result._server)
            {
                // db-manage expects the database to exist, as upstream's does; make the empty one.
                await using var db = result.Database.CreateContext();
                await db.GetService<IRelationalDatabaseCreator>().CreateAsync(TestContext.Current.CancellationToken);
            }
            await DatabaseSchema.UpgradeAsync(result.Database, cancellationToken: TestContext.Current.CancellationToken);
        }
        catch
        {
            await result.DisposeAsync();
            throw;
        }
        return result;
    }

    /// <summary>The engines a database test runs on: SQLite always, the servers when CI started them.</summary>
    public static TheoryData<string> Engines() => new("sqlite", "postgres", "mysql");

    /// <summary>Skips the test when <paramref name="engine"/>'s server is not available here.</summary>
    public static void SkipUnlessAvailable(string engine)
    {
        var variable = engine switch { "postgres" => "OCTAVIA_TEST_POSTGRES", "mysql" => "OCTAVIA_TEST_MYSQL", _ => null };
        if (variable is not null && string.IsNullOrEmpty(Environment.GetEnvironmentVariable(variable)))
        {
            Assert.Skip($"{variable} is not set");
        }
    }

    // A database of our own on the shared server, so parallel tests never see each other's rows.
    private static string ServerUrl(string variable, string database)
    {
        var admin = Environment.GetEnvironmentVariable(variable) ?? throw new InvalidOperationException(variable + " is not set");
        var slash = admin.LastIndexOf('/');
        return admin[..(slash + 1)] + database;
    }

    private bool _server;

    public Octavia.Data.OctaviaDbContext Context() => Database.CreateContext();

    public async ValueTask DisposeAsync()
    {
        if (_server)
        {
            try
            {
                await using var db = Database.CreateContext();
                await db.Database.EnsureDeletedAsync();
            }
            catch (System.Data.Common.DbException)
            {
                // The server is gone; nothing of ours is left on it to clean up.
            }
        }
        SqliteConnection.ClearAllPools();
        await Task.Yield();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Builds the object graphs the health tests need.</summary>
internal static class Seed
{
    public static string NewId() => Guid.NewGuid().ToString();

    /// <summary>An ACTIVE, ONLINE load balancer with one amphora and the given listeners, pools and members.</summary>
    public static async Task<TestLb> LoadBalancerAsync(
        HealthTestDatabase database,
        int listeners = 1,
        int membersPerPool = 1,
        string provisioningStatus = ProvisioningStatus.Active,
        bool enabled = true,
        string operatingStatus = OperatingStatus.Online,
        string amphoraStatus = ProvisioningStatus.Allocated,
        DateTime? lastUpdate = null)
    {
        var lb = new LoadBalancer
        {
            Id = NewId(),
            ProjectId = "p",
            ProvisioningStatus = provisioningStatus,
            OperatingStatus = operatingStatus,
            Enabled = enabled,
            Topology = Topologies.Single,
            Provider = "amphora",
        };
        var result = new TestLb(lb.Id, NewId());
        for (var i = 0; i < listeners; i++)
        {
            var pool = new Pool
            {
                Id = NewId(),
                ProjectId = "p",
                LoadBalancerId = lb.Id,
                Protocol = Protocols.Http,
                LbAlgorithm = LbAlgorithms.RoundRobin,
                ProvisioningStatus = ProvisioningStatus.Active,
                OperatingStatus = OperatingStatus.Online,
            };
            for (var m = 0; m < membersPerPool; m++)
            {
                var member = new Member
                {
                    Id = NewId(),
                    ProjectId = "p",
                    PoolId = pool.Id,
                    IpAddress = $"198.18.40.{m + 10}",
                    ProtocolPort = 80,
                    ProvisioningStatus = ProvisioningStatus.Active,
                    OperatingStatus = OperatingStatus.Online,
                };
                pool.Members.Add(member);
                result.Members.Add(member.Id);
            }
            lb.Pools.Add(pool);
            result.Pools.Add(pool.Id);
            var listener = new Listener
            {
                Id = NewId(),
                ProjectId = "p",
                LoadBalancerId = lb.Id,
                Protocol = Protocols.Http,
                ProtocolPort = 80 + i,
                DefaultPoolId = pool.Id,
                ProvisioningStatus = ProvisioningStatus.Active,
                OperatingStatus = OperatingStatus.Online,
            };
            lb.Listeners.Add(listener);
            result.Listeners.Add(listener.Id);
        }
        await using var db = database.Context();
        db.LoadBalancers.Add(lb);
        db.Amphorae.Add(new Amphora
        {
            Id = result.AmphoraId,
            LoadBalancerId = lb.Id,
            ComputeId = NewId(),
            Status = amphoraStatus,
            Role = AmphoraRoles.Standalone,
        });
        if (lastUpdate is { } t)
        {
            db.AmphoraHealth.Add(new AmphoraHealth { AmphoraId = result.AmphoraId, LastUpdate = t, Busy = false });
        }
        await db.SaveChangesAsync(TestContext.Current.CancellationToken);
        return result;
    }
}

/// <summary>Ids of a seeded load balancer; pool i is listener i's default pool.</summary>
internal sealed record TestLb(string LoadBalancerId, string AmphoraId)
{
    public List<string> Listeners { get; } = [];
    public List<string> Pools { get; } = [];
    public List<string> Members { get; } = [];
}
