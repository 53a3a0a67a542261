// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using System.Text.RegularExpressions;

namespace Octavia.Api.Auth;

/// <summary>What a check sees: the caller's credentials, the target, and the rule set for <c>rule:</c> references.</summary>
internal sealed class PolicyEvaluation(
    IReadOnlyDictionary<string, object?> credentials,
    IReadOnlyDictionary<string, string?> target,
    IReadOnlyDictionary<string, PolicyCheck> rules)
{
    public IReadOnlyDictionary<string, object?> Credentials { get; } = credentials;
    public IReadOnlyDictionary<string, string?> Target { get; } = target;
    public IReadOnlyDictionary<string, PolicyCheck> Rules { get; } = rules;

    /// <summary>Guards against rule cycles in operator-supplied policy files.</summary>
    public int Depth { get; set; }
}

/// <summary>
/// One node of an oslo.policy check string ("role:admin and (project_id:%(project_id)s or @)"), with
/// oslo.policy's semantics.
/// </summary>
internal abstract partial class PolicyCheck
{
    public abstract bool Evaluate(PolicyEvaluation evaluation);

    public static readonly PolicyCheck True = new ConstantCheck(true, "@");
    public static readonly PolicyCheck False = new ConstantCheck(false, "!");

    /// <summary>Parses a check string; an empty string always passes, as in oslo.policy.</summary>
    /// <exception cref="FormatException">The string is not a valid check expression.</exception>
    public static PolicyCheck Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = Tokenize(text);
        if (tokens.Count == 0)
        {
            return True;
        }
        var pos = 0;
        var check = ParseOr(tokens, ref pos);
        if (pos != tokens.Count)
        {
            throw new FormatException($"unexpected '{tokens[pos]}' in policy check \"{text}\"");
        }
        return check;
    }

    public static PolicyCheck Or(PolicyCheck left, PolicyCheck right) => new OrCheck([left, right]);

    private static List<string> Tokenize(string text)
    {
        var tokens = new List<string>();
        foreach (var raw in text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            var word = raw;
            var leading = 0;
            while (word.StartsWith('('))
            {
                leading++;
                word = word[1..];
            }
            var trailing = 0;
            while (word.EndsWith(')'))
            {
                trailing++;
                word = word[..^1];
            }
            tokens.AddRange(Enumerable.Repeat("(", leading));
            if (word.Length > 0)
            {
                tokens.Add(word);
            }
            tokens.AddRange(Enumerable.Repeat(")", trailing));
        }
        return tokens;
    }

    private static bool IsKeyword(string token, string keyword) => token.Equals(keyword, StringComparison.OrdinalIgnoreCase);

    private static PolicyCheck ParseOr(List<string> tokens, ref int pos)
    {
        var parts = new List<PolicyCheck> { ParseAnd(tokens, ref pos) };
        while (pos < tokens.Count && IsKeyword(tokens[pos], "or"))
        {
            pos++;
            parts.Add(ParseAnd(tokens, ref pos));
        }
        return parts.Count == 1 ? parts[0] : new OrCheck(parts);
    }

    private static PolicyCheck ParseAnd(List<string> tokens, ref int pos)
    {
        var parts = new List<PolicyCheck> { ParseNot(tokens, ref pos) };
        while (pos < tokens.Count && IsKeyword(tokens[pos], "and"))
        {
            pos++;
            parts.Add(ParseNot(tokens, ref pos));
        }
        return parts.Count == 1 ? parts[0] : new AndCheck(parts);
    }

    private static PolicyCheck ParseNot(List<string> tokens, ref int pos)
    {
        if (pos < tokens.Count && IsKeyword(tokens[pos], "not"))
        {
            pos++;
            return new NotCheck(ParseNot(tokens, ref pos));
        }
        return ParsePrimary(tokens, ref pos);
    }

    private static PolicyCheck ParsePrimary(List<string> tokens, ref int pos)
    {
        if (pos >= tokens.Count)
        {
            throw new FormatException("policy check ends where a check was expected");
        }
        var token = tokens[pos++];
        if (token == "(")
        {
            var inner = ParseOr(tokens, ref pos);
            if (pos >= tokens.Count || tokens[pos] != ")")
            {
                throw new FormatException("unbalanced '(' in policy check");
            }
            pos++;
            return inner;
        }
        if (token == ")" || IsKeyword(token, "and") || IsKeyword(token, "or"))
        {
            throw new FormatException($"unexpected '{token}' in policy check");
        }
        return ParseAtom(token);
    }

    private static PolicyCheck ParseAtom(string token)
    {
        if (token == "@")
        {
            return True;
        }
        if (token == "!")
        {
            return False;
        }
        var colon = token.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            throw new FormatException($"'{token}' is not a policy check (expected kind:match, @ or !)");
        }
        var kind = token[..colon];
        var match = token[(colon + 1)..];
        return kind switch
        {
            "rule" => new RuleCheck(match),
            "role" => new RoleCheck(match),
            "is_admin" => new IsAdminCheck(match),
            // Remote HTTP checks would call out of the API on every request; they are not supported.
            "http" or "https" => throw new FormatException($"'{kind}:' checks are not supported"),
            _ => new GenericCheck(kind, match),
        };
    }

    /// <summary>oslo.policy's "%(key)s" substitution from the target; null when a key is missing (the check then fails).</summary>
    private static string? Substitute(string match, IReadOnlyDictionary<string, string?> target)
    {
        var missing = false;
        var result = SubstitutionPattern().Replace(match, m =>
        {
            if (target.TryGetValue(m.Groups[1].Value, out var value))
            {
                return value ?? "None";
            }
            missing = true;
            return "";
        });
        return missing ? null : result;
    }

    [GeneratedRegex(@"%\(([^)]+)\)s")]
    private static partial Regex SubstitutionPattern();

    /// <summary>Python's str() of a credential value, which is what oslo.policy compares against.</summary>
    private static string PythonString(object? value) => value switch
    {
        null => "None",
        bool b => b ? "True" : "False",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "None",
    };

    private sealed class ConstantCheck(bool value, string text) : PolicyCheck
    {
        public override bool Evaluate(PolicyEvaluation evaluation) => value;

        public override string ToString() => text;
    }

    private sealed class AndCheck(List<PolicyCheck> parts) : PolicyCheck
    {
        public override bool Evaluate(PolicyEvaluation evaluation) => parts.TrueForAll(p => p.Evaluate(evaluation));

        public override string ToString() => "(" + string.Join(" and ", parts) + ")";
    }

    private sealed class OrCheck(List<PolicyCheck> parts) : PolicyCheck
    {
        public override bool Evaluate(PolicyEvaluation evaluation) => parts.Exists(p => p.Evaluate(evaluation));

        public override string ToString() => "(" + string.Join(" or ", parts) + ")";
    }

    private sealed class NotCheck(PolicyCheck inner) : PolicyCheck
    {
        public override bool Evaluate(PolicyEvaluation evaluation) => !inner.Evaluate(evaluation);

        public override string ToString() => "not " + inner;
    }

    private sealed class RuleCheck(string name) : PolicyCheck
    {
        private const int MaxDepth = 32;

        public override bool Evaluate(PolicyEvaluation evaluation)
        {
            // oslo.policy: a reference to a rule that does not exist fails closed.
            if (!evaluation.Rules.TryGetValue(name, out var rule) || evaluation.Depth >= MaxDepth)
            {
                return false;
            }
            evaluation.Depth++;
            try
            {
                return rule.Evaluate(evaluation);
            }
            finally
            {
                evaluation.Depth--;
            }
        }

        public override string ToString() => "rule:" + name;
    }

    private sealed class RoleCheck(string match) : PolicyCheck
    {
        public override bool Evaluate(PolicyEvaluation evaluation)
        {
            var role = Substitute(match, evaluation.Target);
            return role is not null
                && evaluation.Credentials.TryGetValue("roles", out var roles)
                && roles is IEnumerable<string> names
                && names.Any(r => string.Equals(r, role, StringComparison.OrdinalIgnoreCase));
        }

        public override string ToString() => "role:" + match;
    }

    private sealed class IsAdminCheck(string match) : PolicyCheck
    {
        private readonly bool _expected = match.Equals("true", StringComparison.OrdinalIgnoreCase);

        public override bool Evaluate(PolicyEvaluation evaluation) =>
            evaluation.Credentials.TryGetValue("is_admin", out var value) && value is bool isAdmin && isAdmin == _expected;

        public override string ToString() => "is_admin:" + match;
    }

    private sealed class GenericCheck(string kind, string match) : PolicyCheck
    {
        public override bool Evaluate(PolicyEvaluation evaluation)
        {
            var expected = Substitute(match, evaluation.Target);
            if (expected is null)
            {
                return false;
            }
            if (Literal(kind) is { } literal)
            {
                return expected == literal;
            }
            object? value = evaluation.Credentials;
            foreach (var segment in kind.Split('.'))
            {
                if (value is IReadOnlyDictionary<string, object?> map && map.TryGetValue(segment, out var next))
                {
                    value = next;
                }
                else
                {
                    return false;
                }
            }
            return expected == PythonString(value);
        }

        // oslo.policy tries ast.literal_eval on the kind: 'quoted', True/False and numbers compare as constants.
        private static string? Literal(string text)
        {
            if (text.Length >= 2 && (text[0] == '\'' || text[0] == '"') && text[^1] == text[0])
            {
                return text[1..^1];
            }
            if (text is "True" or "False" or "None")
            {
                return text;
            }
            return long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)
                ? n.ToString(CultureInfo.InvariantCulture)
                : null;
        }

        public override string ToString() => kind + ":" + match;
    }
}
