using System.CommandLine;
using System.Text.RegularExpressions;

namespace IlgpuStyle.Cli;

/// <summary>System.CommandLine's parse errors said as one line a person can act on.</summary>
static partial class CommandLineErrors
{
    [GeneratedRegex(@"^Unrecognized command or argument '(?<token>.*)'\.?$")]
    private static partial Regex Unrecognized();

    [GeneratedRegex(@"^Cannot parse argument '(?<value>.*)' for option '(?<option>.*)' as expected type '(?<type>.*)'\.?$")]
    private static partial Regex CannotParse();

    [GeneratedRegex(@"^Required argument missing for option: '(?<option>.*)'\.?$")]
    private static partial Regex MissingValue();

    public static string Describe(string message, Command command)
    {
        if (Unrecognized().Match(message) is { Success: true } u)
        {
            string token = u.Groups["token"].Value;
            if (token.StartsWith('-'))
            {
                string? option = Closest(token.Split('=')[0], command.Options.SelectMany(o => o.Aliases.Append(o.Name)).Where(n => n.Length > 2));
                return $"unknown option '{token}'" + (option is null ? "" : $" (did you mean {option}?)");
            }
            string? sub = Closest(token, command.Subcommands.Select(c => c.Name));
            return sub is not null ? $"unknown command '{token}' (did you mean {sub}?)"
                : $"unexpected value '{token}' (a value follows its option, e.g. --iterations 100)";
        }
        if (CannotParse().Match(message) is { Success: true } c)
            return $"{c.Groups["option"].Value} takes {Expected(c.Groups["type"].Value)}, got '{c.Groups["value"].Value}'";
        if (MissingValue().Match(message) is { Success: true } m)
            return $"{m.Groups["option"].Value} needs a value";
        return message.TrimEnd('.');
    }

    static string Expected(string type) => type.Replace("System.Nullable`1[", "").TrimEnd(']') switch
    {
        "System.Int32" or "System.Int64" => "a whole number",
        "System.Double" or "System.Single" => "a number",
        "System.Boolean" => "no value (a switch), or true/false",
        var other => "a value of type " + other,
    };

    /// <summary>The name nearest to what was typed (edit distance at most a third of its length, and at most 4).</summary>
    internal static string? Closest(string typed, IEnumerable<string> names)
    {
        string best = ""; int bestDistance = int.MaxValue;
        foreach (var n in names.Distinct())
        {
            int d = Distance(typed.ToLowerInvariant(), n.ToLowerInvariant());
            if (d < bestDistance) (best, bestDistance) = (n, d);
        }
        return bestDistance <= Math.Min(4, Math.Max(1, typed.Length / 3)) ? best : null;
    }

    static int Distance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (int i = 1; i <= a.Length; i++)
        {
            int diagonal = row[0];
            row[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int next = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = row[j];
                row[j] = next;
            }
        }
        return row[b.Length];
    }
}
