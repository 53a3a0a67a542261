// Licensed under the Apache License, Version 2.0.

using Octavia.Core.Configuration;

namespace Octavia.Core.Tests.Configuration;

public sealed class OsloIniParserTests
{
    [Fact]
    public void Parse_ColonAndEquals_BothSeparateKeyFromValue()
    {
        var parsed = OsloIniParser.Parse("[api_settings]\nbind_host: 0.0.0.0\nbind_port = 9877\n", "t");
        parsed["api_settings"]["bind_host"].ShouldBe(["0.0.0.0"]);
        parsed["api_settings"]["bind_port"].ShouldBe(["9877"]);
    }

    [Fact]
    public void Parse_RepeatedKey_KeepsEveryValueInOrder()
    {
        var parsed = OsloIniParser.Parse("[x]\nk = a\nk = b\n", "t");
        parsed["x"]["k"].ShouldBe(["a", "b"]);
    }

    [Fact]
    public void Parse_QuotesAndComments_AreHandledAsOsloDoes()
    {
        var parsed = OsloIniParser.Parse("# c\n[x]\n; c2\na = 'single'\nb = \"double\"\nc = it's\n", "t");
        parsed["x"]["a"].ShouldBe(["single"]);
        parsed["x"]["b"].ShouldBe(["double"]);
        parsed["x"]["c"].ShouldBe(["it's"]);
    }

    [Fact]
    public void Parse_IndentedLine_ContinuesPreviousValue()
    {
        var parsed = OsloIniParser.Parse("[x]\nlist = a,\n  b\n", "t");
        parsed["x"]["list"].ShouldBe(["a,\nb"]);
        OptionValues.SplitList(parsed["x"]["list"][0].Replace('\n', ' ')).ShouldBe(["a", "b"]);
    }

    [Fact]
    public void Parse_OptionOutsideSection_NamesFileAndLine()
    {
        var ex = Should.Throw<ConfigException>(() => OsloIniParser.Parse("a = b\n", "octavia.conf"));
        ex.Message.ShouldStartWith("octavia.conf:1:");
    }
}
