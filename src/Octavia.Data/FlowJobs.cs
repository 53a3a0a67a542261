// Licensed under the Apache License, Version 2.0.

using Microsoft.EntityFrameworkCore;

namespace Octavia.Data;

/// <summary>
/// One persisted run of a controller-worker flow (our table <c>flow_job</c>; upstream keeps this in
/// TaskFlow's jobboard). The worker that owns the lease drives it; when the lease expires another
/// worker resumes it (or finishes reverting it).
/// </summary>
public sealed class FlowJob
{
    public string Id { get; set; } = "";
    /// <summary>The flow (= upstream endpoint name, e.g. <c>create_load_balancer</c>).</summary>
    public string FlowName { get; set; } = "";
    /// <summary>The cast's arguments as received, JSON.</summary>
    public string Args { get; set; } = "{}";
    /// <summary>The flow store (arguments resolved at start plus every task's provided result), JSON.</summary>
    public string Store { get; set; } = "{}";
    /// <summary>Started, completed and reverted task indexes and task results, JSON.</summary>
    public string Progress { get; set; } = "{}";
    /// <summary>One of <see cref="FlowJobStates"/>.</summary>
    public string State { get; set; } = FlowJobStates.Pending;
    /// <summary>Index of the task last started (for operators; the progress column is authoritative).</summary>
    public int CurrentTaskIndex { get; set; } = -1;
    public string? CurrentTask { get; set; }
    public string? Owner { get; set; }
    public DateTime? LeaseExpiresAt { get; set; }
    public int Attempts { get; set; }
    public string? Error { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

/// <summary>States of a <see cref="FlowJob"/>.</summary>
public static class FlowJobStates
{
    /// <summary>
    /// A cast waiting in an in-process bus's memory (all-in-one): not yet prepared. Kept so that a process
    /// that dies with casts still queued leaves them to the next worker instead of losing them.
    /// </summary>
    public const string Queued = "QUEUED";
    /// <summary>Accepted, not yet started.</summary>
    public const string Pending = "PENDING";
    /// <summary>Executing tasks forward.</summary>
    public const string Running = "RUNNING";
    /// <summary>A task failed; completed tasks are being reverted.</summary>
    public const string Reverting = "REVERTING";
    /// <summary>Every task completed.</summary>
    public const string Success = "SUCCESS";
    /// <summary>The flow failed and was reverted.</summary>
    public const string Reverted = "REVERTED";

    public static bool IsTerminal(string state) => state is Success or Reverted;
}

/// <summary>EF mapping of the worker's tables; the lead wires <see cref="MapFlowJobs"/> into <see cref="OctaviaDbContext"/>.</summary>
public static class FlowJobModel
{
    /// <summary>Adds <c>flow_job</c> to the model.</summary>
    public static ModelBuilder MapFlowJobs(this ModelBuilder modelBuilder)
    {
        ArgumentNullException.ThrowIfNull(modelBuilder);
        modelBuilder.Entity<FlowJob>(e =>
        {
            e.ToTable("flow_job");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasColumnName("id").HasMaxLength(36);
            e.Property(x => x.FlowName).HasColumnName("flow_name").HasMaxLength(64);
            e.Property(x => x.Args).HasColumnName("args");
            e.Property(x => x.Store).HasColumnName("store");
            e.Property(x => x.Progress).HasColumnName("progress");
            e.Property(x => x.State).HasColumnName("state").HasMaxLength(16);
            e.Property(x => x.CurrentTaskIndex).HasColumnName("current_task_index");
            e.Property(x => x.CurrentTask).HasColumnName("current_task").HasMaxLength(128);
            e.Property(x => x.Owner).HasColumnName("owner").HasMaxLength(255);
            e.Property(x => x.LeaseExpiresAt).HasColumnName("lease_expires_at");
            e.Property(x => x.Attempts).HasColumnName("attempts");
            e.Property(x => x.Error).HasColumnName("error");
            e.Property(x => x.CreatedAt).HasColumnName("created_at");
            e.Property(x => x.UpdatedAt).HasColumnName("updated_at");
            e.HasIndex(x => new { x.State, x.LeaseExpiresAt }).HasDatabaseName("ix_flow_job_state_lease");
        });
        return modelBuilder;
    }
}

/// <summary>
/// <see cref="OctaviaDbContext"/> plus the worker's tables. Until <see cref="FlowJobModel.MapFlowJobs"/>
/// is wired into the base context this is the context the worker uses.
/// </summary>
public class WorkerDbContext(DbContextOptions options) : OctaviaDbContext(options)
{
    public DbSet<FlowJob> FlowJobs => Set<FlowJob>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        base.OnModelCreating(modelBuilder);
        modelBuilder.MapFlowJobs();
    }

    /// <summary>Creates a context factory for <paramref name="url"/>.</summary>
    public static Func<WorkerDbContext> Factory(DatabaseUrl url)
    {
        var builder = new DbContextOptionsBuilder<WorkerDbContext>();
        OctaviaDatabase.Configure(builder, url);
        var options = builder.Options;
        return () => new WorkerDbContext(options);
    }
}
