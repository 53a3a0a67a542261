// Licensed under the Apache License, Version 2.0.

using System.CommandLine;
using Microsoft.EntityFrameworkCore;
using Octavia.Core.Configuration;
using Octavia.Data;

namespace Octavia.Commands;

/// <summary>
/// <c>octavia db-manage upgrade [head|REV] | current | history</c>, as upstream's <c>octavia-db-manage</c>.
/// <c>--config-file</c> may come before or after the action (<c>db-manage --config-file X upgrade head</c>).
/// </summary>
internal static class DbManageCommand
{
    public static Command Create()
    {
        var configFile = CommonOptions.ConfigFile();
        configFile.Recursive = true;
        var command = new Command("db-manage", "Manage the database schema (upgrade, current, history).") { configFile };

        var revision = new Argument<string>("revision")
        {
            Description = "Target revision: head (default), a migration id or its name.",
            DefaultValueFactory = _ => DatabaseSchema.Head,
        };
        var upgrade = new Command("upgrade", "Upgrade the schema to a revision (head by default).") { revision };
        upgrade.SetAction((parse, ct) => RunAsync(parse, configFile, async db =>
        {
            var target = parse.GetValue(revision) ?? DatabaseSchema.Head;
            var before = await DatabaseSchema.CurrentAsync(db, ct).ConfigureAwait(false);
            var applied = await DatabaseSchema.UpgradeAsync(db, target, ct).ConfigureAwait(false);
            var previous = before;
            foreach (var id in applied)
            {
                Console.Out.WriteLine($"Running upgrade {previous ?? ""} -> {id}");
                previous = id;
            }
            if (await EnsureFlowJobTableAsync(db.Url, ct).ConfigureAwait(false))
            {
                Console.Out.WriteLine("Created the worker's flow_job table");
            }
            var now = await DatabaseSchema.CurrentAsync(db, ct).ConfigureAwait(false);
            if (applied.Count == 0)
            {
                Console.Out.WriteLine($"Already at {now}; nothing to do.");
            }
            return 0;
        }));
        command.Subcommands.Add(upgrade);

        var current = new Command("current", "Print the schema revision the database is at.");
        current.SetAction((parse, ct) => RunAsync(parse, configFile, async db =>
        {
            var id = await DatabaseSchema.CurrentAsync(db, ct).ConfigureAwait(false);
            if (id is null)
            {
                Console.Error.WriteLine("octavia: the database has no schema yet; run 'octavia db-manage upgrade head'");
                return 0;
            }
            var history = await DatabaseSchema.HistoryAsync(db, ct).ConfigureAwait(false);
            var head = history.Count > 0 && history[^1].Id == id;
            Console.Out.WriteLine(head ? $"{id} (head)" : id);
            return 0;
        }));
        command.Subcommands.Add(current);

        var history = new Command("history", "List the schema revisions, newest first, marking the current one.");
        history.SetAction((parse, ct) => RunAsync(parse, configFile, async db =>
        {
            var revisions = await DatabaseSchema.HistoryAsync(db, ct).ConfigureAwait(false);
            var current = revisions.LastOrDefault(r => r.Applied)?.Id;
            for (var i = revisions.Count - 1; i >= 0; i--)
            {
                var r = revisions[i];
                var down = i == 0 ? "<base>" : revisions[i - 1].Id;
                var marks = (r.IsHead ? " (head)" : "") + (r.Id == current ? " (current)" : "");
                Console.Out.WriteLine($"{down} -> {r.Id}{marks}, {r.Name}{(r.Applied ? "" : " [pending]")}");
            }
            return 0;
        }));
        command.Subcommands.Add(history);
        return command;
    }

    /// <summary>
    /// The worker's <c>flow_job</c> table is not in the migrations yet (WorkerDbContext adds it to the
    /// model); without it no worker started against a db-manage'd database can run a flow. Creates it with
    /// the engine's own DDL for that model when it is missing.
    /// </summary>
    private static async Task<bool> EnsureFlowJobTableAsync(DatabaseUrl url, CancellationToken ct)
    {
        await using var context = WorkerDbContext.Factory(url)();
        try
        {
            _ = await context.FlowJobs.AnyAsync(ct).ConfigureAwait(false);
            return false;
        }
        catch (System.Data.Common.DbException)
        {
        }
        var script = context.Database.GenerateCreateScript();
        foreach (var statement in script.Split(";" + Environment.NewLine, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (statement.Contains("flow_job", StringComparison.Ordinal))
            {
                await context.Database.ExecuteSqlRawAsync(statement, ct).ConfigureAwait(false);
            }
        }
        return true;
    }

    private static async Task<int> RunAsync(ParseResult parse, Option<string[]> configFile, Func<OctaviaDatabase, Task<int>> action)
    {
        var config = CommonOptions.LoadConfig(parse, configFile);
        if (config is null)
        {
            return 1;
        }
        try
        {
            var options = OptionBinder.Bind<DatabaseOptions>(config);
            using var db = new OctaviaDatabase(DatabaseUrl.Parse(options.Connection));
            return await action(db).ConfigureAwait(false);
        }
        catch (ConfigException ex)
        {
            Console.Error.WriteLine($"octavia: {ex.Message}");
        }
        catch (DatabaseUnavailableException ex)
        {
            Console.Error.WriteLine($"octavia: {ex.Message}");
        }
        catch (SchemaException ex)
        {
            Console.Error.WriteLine($"octavia: {ex.Message}");
        }
        catch (System.Data.Common.DbException ex)
        {
            Console.Error.WriteLine($"octavia: database error: {ex.Message}");
        }
        return 1;
    }
}
