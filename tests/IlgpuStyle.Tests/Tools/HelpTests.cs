using System.Text.RegularExpressions;

namespace IlgpuStyle.Tests.Tools;

/// <summary>`--help` teaches: grouped options, long forms with their aliases, nothing falsely required, examples that parse.</summary>
public class HelpTests
{
    static readonly string[] TransferGroups =
        { "Inputs and output:", "Loss: the network and its terms:", "Optimizer:", "Controls: colour, regions, scales of style:", "Device and speed:", "Diagnostics:" };

    /// <summary>The option lines of a help text: each names its spellings first (two spaces, then a dash).</summary>
    static List<string> OptionLines(string help) => help.Split('\n').Where(l => Regex.IsMatch(l, @"^  -")).ToList();

    [Theory]
    [InlineData("--help")]
    [InlineData("transfer --help")]
    public void TransferHelpGroupsEveryOptionOnce(string arguments)
    {
        var (code, help, stderr) = Transfer.CliRunner.Run(arguments.Split(' '));
        Assert.True(code == 0, stderr);
        int last = -1;
        foreach (var group in TransferGroups)
        {
            int at = help.IndexOf("\n" + group + "\n", StringComparison.Ordinal);
            Assert.True(at > last, $"group '{group}' missing or out of order in:\n{help}");
            last = at;
        }
        // Every option is listed once, under a group, by its long form with the other spellings beside it.
        var lines = OptionLines(help);
        foreach (var spelled in new[] { "--content, -c, -content_image", "--pooling, -pooling", "--optimizer, -optimizer", "--init, -init ",
                                        "--seed, -seed", "--iterations, -n, -num_iterations", "--print-every, -print_iter", "--format" })
            Assert.True(lines.Count(l => l.TrimStart().StartsWith(spelled, StringComparison.Ordinal)) == 1, $"'{spelled}' not listed once:\n{help}");
        var longNames = lines.Select(l => l.Trim().Split(' ', ',')[0]).ToList();
        Assert.Equal(longNames.Count, longNames.Distinct().Count());
        Assert.True(longNames.Count >= 45, $"only {longNames.Count} options listed");
        Assert.DoesNotContain("REQUIRED", help);
        Assert.Contains("\nExamples:\n", help);
        Assert.Equal(arguments == "--help", help.Contains("\nCommands:\n"));
    }

    [Fact]
    public void ExplainListsOnlyItsOwnOptions()
    {
        var (code, help, _) = Transfer.CliRunner.Run("explain", "--help");
        Assert.Equal(0, code);
        var names = OptionLines(help).Select(l => l.Trim().Split(' ', ',')[0]).ToHashSet();
        foreach (var transferOnly in new[] { "--output", "--save-every", "--checkpoint-every", "--profile", "--no-plot", "--iterations", "--optimizer", "--log", "--resume", "--keep-best" })
        {
            Assert.DoesNotContain(transferOnly, names);
            Assert.Contains($"unknown option '{transferOnly}'", IlgpuStyle.Cli.Cli.ParseError("explain", transferOnly, "1"));
        }
        foreach (var own in new[] { "--values", "--dot", "--content", "--style", "--style-layers", "--content-mask", "--device", "--seed" })
            Assert.Contains(own, names);
        Assert.Null(IlgpuStyle.Cli.Cli.ParseError("explain", "--values", "--image-size", "32"));
    }

    /// <summary>Every example of every command's help parses as written (the files it names need not exist to parse).</summary>
    [Theory]
    [InlineData("--help")]
    [InlineData("explain --help")]
    [InlineData("bench --help")]
    [InlineData("profile --help")]
    [InlineData("kernels --help")]
    [InlineData("gradcheck --help")]
    public void EveryExampleParses(string arguments)
    {
        var (_, help, _) = Transfer.CliRunner.Run(arguments.Split(' '));
        var examples = help[help.IndexOf("\nExamples:\n", StringComparison.Ordinal)..].Split('\n')
            .Where(l => l.StartsWith("  ilgpustyle", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(examples);
        foreach (var example in examples)
        {
            var words = example.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).TakeWhile(w => w != ">").ToArray();
            if (words.Length == 0) continue;
            Assert.True(IlgpuStyle.Cli.Cli.ParseError(words) is null, $"'{example.Trim()}': {IlgpuStyle.Cli.Cli.ParseError(words)}");
        }
    }
}
