// Licensed under the Apache License, Version 2.0.

using Octavia.Core.Configuration;
using Octavia.Tests.Shared;

namespace Octavia.Core.Tests.Configuration;

public sealed class ConfigReferenceTests
{
    [Fact]
    public void CommittedReference_MatchesTheOptionDefinitions()
    {
        var committed = File.ReadAllText(Path.Combine(TestEnvironment.RepoRoot, "docs", "configuration.md"));
        committed.ShouldBe(ConfigReference.Generate(), "docs/configuration.md is stale: run 'bin/octavia config reference > docs/configuration.md'");
    }

    [Fact]
    public void Reference_MarksOurOptions()
    {
        ConfigReference.Generate().ShouldContain("| `noauth_default_project_id` | string |  | **ours**");
    }
}
