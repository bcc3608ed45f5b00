using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace IlgpuStyle.Cli;

/// <summary>How `devices`, `gradcheck`, `bench` and `profile` print: for people (text) or for programs (csv, json).</summary>
enum OutputFormat { Text, Csv, Json }

/// <summary>One table of a report: named columns, rows of raw values (numbers stay numbers in csv and json).</summary>
sealed class ReportTable(string name, params string[] columns)
{
    public string Name { get; } = name;
    public string[] Columns { get; } = columns;
    public List<object?[]> Rows { get; } = new();

    public void Add(params object?[] row)
    {
        if (row.Length != Columns.Length) throw new InvalidOperationException($"{Name}: {row.Length} values for {Columns.Length} columns");
        Rows.Add(row);
    }
}

/// <summary>
/// What a tool command found, as a summary (name → value) and tables. Text is the command's own rendering; csv is
/// one table (the summary as one row when there is no table; with several tables a first column names each row's
/// table); json is one object with the summary's fields and each table as an array of objects.
/// </summary>
static class Report
{
    public static Option<string> FormatOption() => new("--format") { Description = "text|csv|json: for people, or for programs", DefaultValueFactory = _ => "text" };

    public static OutputFormat Format(ParseResult p, Option<string> option) => p.GetValue(option)!.ToLowerInvariant() switch
    {
        "text" => OutputFormat.Text,
        "csv" => OutputFormat.Csv,
        "json" => OutputFormat.Json,
        var other => throw new ArgumentException($"--format must be text, csv or json, got '{other}'"),
    };

    /// <summary>Prints the report in csv or json on stdout; for text, runs <paramref name="text"/>.</summary>
    public static void Write(OutputFormat format, IReadOnlyList<(string Name, object? Value)> summary, IReadOnlyList<ReportTable> tables, Action text)
    {
        switch (format)
        {
            case OutputFormat.Text: text(); break;
            case OutputFormat.Json: Console.WriteLine(Json(summary, tables)); break;
            case OutputFormat.Csv: Console.Write(Csv(summary, tables)); break;
        }
    }

    static string Json(IReadOnlyList<(string Name, object? Value)> summary, IReadOnlyList<ReportTable> tables)
    {
        var root = new Dictionary<string, object?>();
        foreach (var (name, value) in summary) root[name] = value;
        foreach (var t in tables)
            root[t.Name] = t.Rows.Select(r => t.Columns.Zip(r).ToDictionary(p => p.First, p => p.Second)).ToList();
        return JsonSerializer.Serialize(root, new JsonSerializerOptions { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals });
    }

    static string Csv(IReadOnlyList<(string Name, object? Value)> summary, IReadOnlyList<ReportTable> tables)
    {
        var text = new StringBuilder();
        void Line(IEnumerable<object?> fields) => text.Append(string.Join(",", fields.Select(Field))).Append('\n');
        if (tables.Count == 0)
        {
            Line(summary.Select(s => (object?)s.Name));
            Line(summary.Select(s => s.Value));
        }
        else if (tables.Count == 1)
        {
            Line(tables[0].Columns);
            foreach (var r in tables[0].Rows) Line(r);
        }
        else
        {
            if (tables.Any(t => !t.Columns.Skip(1).SequenceEqual(tables[0].Columns.Skip(1))))
                throw new InvalidOperationException("csv: the tables of one report must share their columns after the first");
            Line(new object?[] { "table" }.Concat(tables[0].Columns));
            foreach (var t in tables)
                foreach (var r in t.Rows) Line(new object?[] { t.Name }.Concat(r));
        }
        return text.ToString();
    }

    static string Field(object? value)
    {
        string s = value switch
        {
            null => "",
            bool b => b ? "true" : "false",
            double d => d.ToString("R", CultureInfo.InvariantCulture),
            float f => f.ToString("R", CultureInfo.InvariantCulture),
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? "",
        };
        return s.IndexOfAny(new[] { ',', '"', '\n', '\r' }) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
    }
}
