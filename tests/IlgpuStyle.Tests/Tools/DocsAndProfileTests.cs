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
        var commands = DocumentedCommands().Select(row => row.Data.Item2).ToList();
        foreach (var verb in new[] { "explain", "gradcheck", "profile" })
            Assert.Contains(commands, c => c.StartsWith("ilgpustyle " + verb));
    }

    /// <summary>
    /// The trace of one benchmark iteration against what VGG19 to conv5_1 must launch, counted from the network, not
    /// from the profiler: 13 convolutions forward and 13 input gradients (one per layer, each named by it), 5 Gram
    /// matrices and their backward passes, 4 poolings each way, one Adam step; and one stream, so no two slices overlap.
    /// </summary>
    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void TraceHoldsTheLaunchesOfOneIteration(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        var timings = IterationBenchmark.Run(d, 16, 1);
        string path = Path.Combine(Path.GetTempPath(), $"ilgpustyle-trace-{Guid.NewGuid():N}.json");
        timings.Profile.WriteTrace(path);
        using var json = JsonDocument.Parse(File.ReadAllText(path));
        File.Delete(path);
        var events = json.RootElement.GetProperty("traceEvents").EnumerateArray()
            .Select(e => (Name: e.GetProperty("name").GetString()!, Ph: e.GetProperty("ph").GetString(), Ts: e.GetProperty("ts").GetDouble(),
                Dur: e.GetProperty("dur").GetDouble(), Layer: e.GetProperty("args").GetProperty("layer").GetString()!)).ToList();

        var convolutions = IlgpuStyle.Model.Vgg19Layers.Order.TakeWhile(l => l != "conv5_2").Where(l => l.StartsWith("conv")).ToList();
        Assert.Equal(13, convolutions.Count);
        void Count(string prefix, int expected) =>
            Assert.True(events.Count(e => e.Name.StartsWith(prefix)) == expected,
                $"{accelerator}: {events.Count(e => e.Name.StartsWith(prefix))} launches of {prefix}*, expected {expected}; trace: {string.Join(", ", events.Select(e => e.Name).Distinct())}");
        Count("conv2d_fwd", convolutions.Count);
        Count("conv2d_bwd_input", convolutions.Count);
        Count("gram_fwd", 5);
        Count("gram_bwd", 5);
        Count("avgpool2d_fwd", 4);
        Count("avgpool2d_bwd", 4);
        Count("adam_step", 1);
        Assert.Equal(convolutions, events.Where(e => e.Name.StartsWith("conv2d_fwd")).Select(e => e.Layer).ToList());
        Assert.Equal(Enumerable.Reverse(convolutions).ToList(),
            events.Where(e => e.Name.StartsWith("conv2d_bwd_input")).Select(e => e.Layer.Replace(" backward", "")).ToList());
        for (int i = 0; i < events.Count; i++)
        {
            Assert.Equal("X", events[i].Ph);
            Assert.True(events[i].Dur >= 0, $"{events[i].Name}: negative duration");
            if (i > 0)
                Assert.True(events[i].Ts >= events[i - 1].Ts + events[i - 1].Dur - 0.2,
                    $"{accelerator}: {events[i].Name} starts at {events[i].Ts} µs, before {events[i - 1].Name} ends ({events[i - 1].Ts} + {events[i - 1].Dur})");
        }
    }
}
