using System.Text.Json;
using System.Text.RegularExpressions;
using IlgpuStyle.Profiling;
using IlgpuStyle.Tests.Transfer;

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
        // `--remeasure` measures the device's limits again and caches them, and the suite keeps the machine busy: the
        // figures that `profile` and `kernels` count "% of peak" against are put back as they were.
        bool remeasures = args.Contains("--remeasure");
        string? peaks = remeasures && File.Exists(DevicePeak.CachePath) ? File.ReadAllText(DevicePeak.CachePath) : null;
        try
        {
            var (code, stdout, stderr) = CliRunner.Run(args);
            Assert.True(code == 0, $"{doc}: `{command}` exited {code}\n{stderr}\n{stdout}");
            // And it did what the doc says it does (what goes through Console; Spectre's tables keep the console they first saw).
            string? Value(string option) => args.SkipWhile(a => a != option).Skip(1).FirstOrDefault();
            switch (args[0])
            {
                case "explain":
                    Assert.Contains("Forward (", stdout);
                    Assert.Contains("Backward (", stdout);
                    if (args.Contains("--values")) Assert.Matches(@"Loss of this evaluation: total [0-9.E+]+ = content", stdout);
                    break;
                case "profile":
                    if (Value("--trace") is { } trace)
                    {
                        using var json = JsonDocument.Parse(File.ReadAllText(trace));
                        Assert.Contains(json.RootElement.GetProperty("traceEvents").EnumerateArray(), e => e.GetProperty("ph").GetString() == "X"
                            && e.GetProperty("cat").GetString() == "kernel" && e.GetProperty("name").GetString()!.StartsWith("conv2d_"));
                    }
                    if (Value("--csv") is { } csv)
                    {
                        var lines = File.ReadAllLines(csv);
                        Assert.True(lines.Length > 5 && lines[0].Split(',')[0] == "kernel", $"{csv}: {string.Join(" | ", lines.Take(3))}");
                    }
                    if (Value("--format") == "csv") Assert.Contains("conv2d_", stdout);
                    break;
            }
        }
        finally
        {
            if (peaks is not null) IlgpuStyle.IO.AtomicFile.WriteAllText(DevicePeak.CachePath, peaks);
            else if (remeasures) File.Delete(DevicePeak.CachePath);
        }
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
        // The kernels' slices (the spans around them are checked by TraceNestsIterationPassLayerKernel).
        var events = json.RootElement.GetProperty("traceEvents").EnumerateArray()
            .Where(e => e.TryGetProperty("cat", out var cat) && cat.GetString() == "kernel")
            .Select(e => (Name: e.GetProperty("name").GetString()!, Ph: e.GetProperty("ph").GetString(), Ts: e.GetProperty("ts").GetDouble(),
                Dur: e.GetProperty("dur").GetDouble(), Layer: e.GetProperty("args").GetProperty("layer").GetString()!)).ToList();

        var convolutions = IlgpuStyle.Model.Vgg19Layers.Order.TakeWhile(l => l != "conv5_2").Where(l => l.StartsWith("conv")).ToList();
        Assert.Equal(13, convolutions.Count);
        void Count(string prefix, int expected) =>
            Assert.True(events.Count(e => e.Name.StartsWith(prefix)) == expected,
                $"{accelerator}: {events.Count(e => e.Name.StartsWith(prefix))} launches of {prefix}*, expected {expected}; trace: {string.Join(", ", events.Select(e => e.Name).Distinct())}");
        Count("conv2d_fwd", convolutions.Count);
        Count("conv2d_bwd_input", convolutions.Count);
        // The Rows Gram forward is two launches (the blocks, then the sum of their slices): one of each per style layer.
        int slices = events.Count(e => e.Name == "gram_fwd_slices");
        Assert.True(slices is 0 or 5, $"{accelerator}: {slices} launches of gram_fwd_slices, expected 0 or 5");
        Count("gram_fwd", 5 + slices);
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

    sealed record Slice(string Name, string Cat, double Ts, double Dur)
    {
        public double End => Ts + Dur;
        public Slice? Parent { get; set; }
    }

    /// <summary>
    /// Reads a Chrome trace as the viewers do: the named process and thread, then the complete events of one thread
    /// (1: the device stream; 2: the host) nested by time. Fails if two slices overlap without one holding the other.
    /// Returns the slices with their parents.
    /// </summary>
    static List<Slice> NestedSlices(string path, int thread = 1)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(path));
        var all = json.RootElement.GetProperty("traceEvents").EnumerateArray().ToList();
        string Meta(string name, int? tid = null) => all.Single(e => e.GetProperty("ph").GetString() == "M" && e.GetProperty("name").GetString() == name
                && (tid is null || e.GetProperty("tid").GetInt32() == tid)).GetProperty("args").GetProperty("name").GetString()!;
        Assert.StartsWith("ilgpustyle on ", Meta("process_name"));
        Assert.Contains("device stream", Meta("thread_name", 1));
        Assert.StartsWith("host: ", Meta("thread_name", 2));
        var slices = all.Where(e => e.GetProperty("ph").GetString() == "X" && e.GetProperty("tid").GetInt32() == thread)
            .Select(e => new Slice(e.GetProperty("name").GetString()!, e.GetProperty("cat").GetString()!, e.GetProperty("ts").GetDouble(), e.GetProperty("dur").GetDouble()))
            .OrderBy(e => e.Ts).ThenByDescending(e => e.Dur).ToList();
        const double eps = 0.01;   // µs: the file's rounding
        var open = new Stack<Slice>();
        foreach (var slice in slices)
        {
            while (open.Count > 0 && open.Peek().End <= slice.Ts + eps) open.Pop();
            if (open.Count > 0)
            {
                var parent = open.Peek();
                Assert.True(slice.End <= parent.End + eps,
                    $"{slice.Cat} '{slice.Name}' [{slice.Ts}, {slice.End}] overlaps {parent.Cat} '{parent.Name}' [{parent.Ts}, {parent.End}] without nesting in it");
                slice.Parent = parent;
            }
            open.Push(slice);
        }
        return slices;
    }

    /// <summary>Iterations hold forward and backward passes, passes hold layers, layers hold the convolution kernels.</summary>
    static void AssertNesting(List<Slice> slices, int iterations, bool run)
    {
        string Where(Slice s) => $"{s.Cat} '{s.Name}' in {(s.Parent is null ? "nothing" : $"{s.Parent.Cat} '{s.Parent.Name}'")}";
        var its = slices.Where(s => s.Cat == "iteration").ToList();
        Assert.Equal(iterations, its.Count);
        // Numbered as the run (or `profile`) counts them: 1 … n.
        Assert.Equal(Enumerable.Range(1, iterations).Select(i => $"iteration {i}"), its.OrderBy(i => i.Ts).Select(i => i.Name));
        Assert.All(its, it => Assert.True(it.Parent is null, Where(it)));
        foreach (var s in slices)
        {
            string[] parents = s.Cat switch
            {
                "pass" => new[] { "iteration" },
                "layer" => new[] { "pass", "run" },
                "kernel" => new[] { "layer", "pass", "iteration", "run" },
                "run" or "iteration" => new string[] { },
                var other => throw new Xunit.Sdk.XunitException($"unknown category '{other}'"),
            };
            if (s.Cat is "run" or "iteration") Assert.True(s.Parent is null, Where(s));
            else Assert.True(s.Parent is not null && parents.Contains(s.Parent.Cat), Where(s));
            if (s.Cat == "kernel" && s.Name.StartsWith("conv2d_")) Assert.True(s.Parent!.Cat == "layer", Where(s));
            if (s.Cat == "pass") Assert.True(s.Name is "forward" or "backward", Where(s));
        }
        foreach (var it in its)
        {
            var passes = slices.Where(s => s.Parent == it && s.Cat == "pass").ToList();
            Assert.Contains(passes, p => p.Name == "forward");
            Assert.Contains(passes, p => p.Name == "backward");
            foreach (var pass in passes) Assert.Contains(slices, s => s.Parent == pass && s.Cat == "layer");
        }
        Assert.Equal(run, slices.Any(s => s.Cat == "run"));
    }

    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void TraceNestsIterationPassLayerKernel(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        var timings = IterationBenchmark.Run(d, 16, 1, profiledIterations: 2);
        string path = Path.Combine(Path.GetTempPath(), $"ilgpustyle-trace-{Guid.NewGuid():N}.json");
        try
        {
            timings.Profile.WriteTrace(path);
            var slices = NestedSlices(path);
            AssertNesting(slices, 2, run: false);
            // The host's work on its own thread: the losses read back after each evaluation.
            var host = NestedSlices(path, thread: 2);
            Assert.True(host.Count(s => s.Name == "read losses") >= 2 && host.All(s => s.Cat == "host"), string.Join(", ", host.Select(s => s.Name)));
            // One forward pass of the benchmark: the 29 ops of VGG19 to conv5_1 with its losses, each a layer slice.
            var forward = slices.First(s => s.Cat == "pass" && s.Name == "forward");
            Assert.Equal(29, slices.Count(s => s.Parent == forward));
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void TransferProfileWritesANestedTraceOfTheRun()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"ilgpustyle-profile-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            string demo = Path.Combine(AppContext.BaseDirectory, "demo");
            string trace = Path.Combine(dir, "run.json");
            var (code, stdout, stderr) = CliRunner.Run("transfer", "-c", Path.Combine(demo, "chelsea.png"), "-s", Path.Combine(demo, "mosaic.png"),
                "--image-size", "32", "--iterations", "2", "--no-plot", "--profile", trace, "-o", Path.Combine(dir, "out.png"));
            Assert.True(code == 0, $"exit {code}\n{stderr}\n{stdout}");
            // (What the run prints goes through Spectre.Console, which keeps the console it first saw: not checked here.)
            Assert.True(File.Exists(trace), $"no trace at {trace}");
            var slices = NestedSlices(trace);
            AssertNesting(slices, 2, run: true);
            var host = NestedSlices(trace, thread: 2).Select(s => s.Name).ToList();
            foreach (var name in new[] { "read images", "read weights", "resize and upload images, scale 1", "read losses", "download image", "write outputs" })
                Assert.True(host.Contains(name), $"no host slice '{name}' in: {string.Join(", ", host.Distinct())}");

            // --profile is refused where it would overwrite an input.
            var refused = CliRunner.Run("transfer", "-c", Path.Combine(demo, "chelsea.png"), "-s", Path.Combine(demo, "mosaic.png"),
                "--image-size", "32", "--iterations", "1", "--profile", Path.Combine(demo, "mosaic.png"), "-o", Path.Combine(dir, "out2.png"));
            Assert.Equal(1, refused.Code);
            Assert.Contains("--profile", refused.Stderr);
        }
        finally { Directory.Delete(dir, true); }
    }
}
