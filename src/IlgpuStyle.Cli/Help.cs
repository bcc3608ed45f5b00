using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.Runtime.CompilerServices;
using System.Text;

namespace IlgpuStyle.Cli;

/// <summary>
/// `--help` as a person reads it: the command's description, how to call it, its own options in named groups (long
/// form first, the other spellings beside it, the value it takes and its default), its subcommands, then examples.
/// Options and commands say where they belong with <see cref="In{T}"/> and <see cref="Examples"/>.
/// </summary>
static class Help
{
    static readonly ConditionalWeakTable<Option, string> groups = new();
    static readonly ConditionalWeakTable<Command, Tuple<string, string[]>> usage = new();

    /// <summary>The heading this option is listed under; options without one come last, under "Options".</summary>
    public static T In<T>(this T option, string group) where T : Option
    {
        groups.AddOrUpdate(option, group);
        return option;
    }

    /// <summary>The usage line(s) after "Usage:" and example command lines, each a command and what it does after "  # ".</summary>
    public static void Examples(Command command, string usageLines, params string[] examples) => usage.AddOrUpdate(command, Tuple.Create(usageLines, examples));

    /// <summary>Replaces System.CommandLine's help (one flat list) on the root and so on every subcommand.</summary>
    public static void Install(RootCommand root) => root.Options.OfType<HelpOption>().Single().Action = new Show();

    sealed class Show : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parse)
        {
            int width = Console.IsOutputRedirected ? 100 : Math.Clamp(Console.WindowWidth, 60, 140);
            Console.Out.Write(Text(parse.CommandResult.Command, width));
            return 0;
        }
    }

    const string Ungrouped = "Options";

    public static string Text(Command command, int width = 100)
    {
        var text = new StringBuilder();
        string path = string.Join(" ", Path(command));
        foreach (var line in Wrap(command.Description ?? "", width)) text.AppendLine(line);
        text.AppendLine();
        var (usageLines, examples) = usage.TryGetValue(command, out var u) ? (u.Item1, u.Item2)
            : ($"{path}{(command.Subcommands.Count > 0 ? " [command]" : "")}{(command.Options.Any(o => !o.Hidden) ? " [options]" : "")}", Array.Empty<string>());
        var usageRows = usageLines.Split('\n');
        text.AppendLine("Usage: " + usageRows[0]);
        foreach (var row in usageRows.Skip(1)) text.AppendLine("       " + row);

        var options = command.Options.Where(o => !o.Hidden).ToList();
        var headings = options.Select(GroupOf).Distinct().OrderBy(g => g == Ungrouped ? 1 : 0).ToList();
        foreach (var heading in headings)
        {
            text.AppendLine().AppendLine(heading + ":");
            foreach (var o in options.Where(o => GroupOf(o) == heading))
                Entry(text, Spellings(o), Describe(o), width);
        }
        var commands = command.Subcommands.Where(c => !c.Hidden).ToList();
        if (commands.Count > 0)
        {
            text.AppendLine().AppendLine("Commands:");
            foreach (var c in commands) Entry(text, c.Name, c.Description ?? "", width);
            text.AppendLine().AppendLine($"`{path} COMMAND --help` shows a command's own options.");
        }
        if (examples.Length > 0)
        {
            text.AppendLine().AppendLine("Examples:");
            foreach (var e in examples)
            {
                var parts = e.Split("  # ", 2);
                text.AppendLine("  " + parts[0]);
                if (parts.Length == 2)
                {
                    var lines = Wrap(parts[1], width - 8);
                    text.AppendLine("      # " + lines[0]);
                    foreach (var line in lines.Skip(1)) text.AppendLine("        " + line);
                }
            }
        }
        return text.ToString();
    }

    static string GroupOf(Option o) => groups.TryGetValue(o, out var g) ? g : Ungrouped;

    static IEnumerable<string> Path(Command command)
    {
        var names = new List<string>();
        for (Symbol? s = command; s is not null; s = s.Parents.FirstOrDefault())
            names.Add(s is RootCommand ? "ilgpustyle" : s.Name);
        names.Reverse();
        return names;
    }

    /// <summary>`--long, -short, -neural_style NAME`: the long form first, then every other spelling, shortest first.</summary>
    internal static string Spellings(Option o)
    {
        var names = o.Aliases.Append(o.Name).Distinct().OrderBy(n => n == o.Name ? 0 : n.StartsWith("--") ? 1 : 2).ThenBy(n => n.Length);
        string value = o.ValueType == typeof(bool) || o.Arity.MaximumNumberOfValues == 0 ? ""
            : " " + (o.HelpName ?? (Nullable.GetUnderlyingType(o.ValueType) ?? o.ValueType) switch
            {
                var t when t == typeof(int) || t == typeof(long) => "N",
                var t when t == typeof(double) || t == typeof(float) => "X",
                _ => "VALUE",
            });
        return string.Join(", ", names) + value;
    }

    static string Describe(Option o)
    {
        string description = o.Description ?? "";
        if (o.HasDefaultValue && o.ValueType != typeof(bool) && o.GetDefaultValue() is { } d && !(d is string s && s.Length == 0)
            && !(d is Array { Length: 0 }))
            description += $" [default: {d}]";
        return description;
    }

    /// <summary>Two columns: the names, then the description wrapped beside them (or on the next line when the names are long).</summary>
    static void Entry(StringBuilder text, string left, string description, int width)
    {
        const int column = 34;
        var lines = Wrap(description, width - column);
        if (left.Length + 4 > column)
        {
            text.AppendLine("  " + left);
            foreach (var line in lines) text.AppendLine(new string(' ', column) + line);
            return;
        }
        text.AppendLine(("  " + left).PadRight(column) + lines.FirstOrDefault());
        foreach (var line in lines.Skip(1)) text.AppendLine(new string(' ', column) + line);
    }

    static List<string> Wrap(string s, int width)
    {
        var lines = new List<string>();
        foreach (var paragraph in s.Split('\n'))
        {
            var line = new StringBuilder();
            foreach (var word in paragraph.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (line.Length > 0 && line.Length + 1 + word.Length > width) { lines.Add(line.ToString()); line.Clear(); }
                line.Append(line.Length > 0 ? " " : "").Append(word);
            }
            lines.Add(line.ToString());
        }
        return lines;
    }
}
