using System.Text.Json;
using System.Text.RegularExpressions;
using IlgpuStyle.Profiling;
using IlgpuStyle.Tests.Harness;
using IlgpuStyle.Tests.Transfer;
using Xunit;

namespace IlgpuStyle.Tests.Tools;

[Collection(DeviceTests.Collection)]
public class DocsAndProfileTests
{
    static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "IlgpuStyle.sln"))) return dir.FullName;
        throw new InvalidOperationException("repository root not found");
    }

    /// <summary>Every `ilgpustyle …` line inside a ```sh block of docs/*.md.</summary>
    public static TheoryData<string, string> DocumentedCommands()
    {
        var data = new TheoryData<string, string>();
        foreach (var file in Directory.GetFiles(Path.Combine(RepositoryRoot(), "docs"), "*.md").OrderBy(f => f))
        {
            bool inShell = false;
            foreach (var line in File.ReadLines(file))
            {
                if (line.StartsWith("```")) { inShell = line.Trim() == "```sh" && !inShell; continue; }
                if (inShell && line.StartsWith("ilgpustyle ")) data.Add(Path.GetFileName(file), line.Trim());
            }
        }
        return data;
    }

    [Theory, MemberData(nameof(DocumentedCommands))]
    public void DocsCommandsRun(string doc, string command)
    {
        var args = Regex.Replace(command, @"\s+#.*$", "").Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).ToArray();
        var (code, stdout, stderr) = CliRunner.Run(args);
        Assert.True(code == 0, $"{doc}: `{command}` exited {code}\n{stderr}\n{stdout}");
    }

    [Fact]
    public void DocsShowCommandsForExplainGradcheckAndProfile()
    {
        var commands = DocumentedCommands().Select(row => (string)row[1]).ToList();
        foreach (var verb in new[] { "explain", "gradcheck", "profile" })
            Assert.Contains(commands, c => c.StartsWith("ilgpustyle " + verb));
    }

    [SkippableTheory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void TraceParsesAndNamesEveryKernel(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        var timings = IterationBenchmark.Run(d, 32, 1);
        string path = Path.Combine(Path.GetTempPath(), $"ilgpustyle-trace-{Guid.NewGuid():N}.json");
        timings.Profile.WriteTrace(path);
        using var json = JsonDocument.Parse(File.ReadAllText(path));
        var events = json.RootElement.GetProperty("traceEvents").EnumerateArray().ToList();
        Assert.Equal(timings.Profile.Launches.Count, events.Count);
        var names = events.Select(e => e.GetProperty("name").GetString()!).ToHashSet();
        foreach (var kernel in timings.Profile.Summarize().Select(s => s.Kernel))
            Assert.Contains(kernel, names);
        Assert.All(events, e =>
        {
            Assert.Equal("X", e.GetProperty("ph").GetString());
            Assert.True(e.GetProperty("dur").GetDouble() >= 0);
        });
        Assert.Contains(names, n => n.StartsWith("conv2d_fwd"));
        Assert.Contains(names, n => n.StartsWith("conv2d_bwd_input"));
        Assert.Contains(names, n => n.StartsWith("gram_fwd"));
        File.Delete(path);
    }
}
