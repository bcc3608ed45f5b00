using System.Text.Json;
using IlgpuStyle.Devices;
using IlgpuStyle.Kernels;
using IlgpuStyle.Profiling;
using IlgpuStyle.Tests.Transfer;

namespace IlgpuStyle.Tests.Tools;

/// <summary>
/// `ilgpustyle kernels`: every variant of a conv at a VGG19 layer's shape is checked against float64 before it is timed,
/// a wrong result is reported as failed and not timed, and the command writes the table as a document.
/// </summary>
[Collection(DeviceTests.Collection)]
public class KernelLabTests(ITestOutputHelper output)
{
    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void EveryVariantIsCheckedThenTimed(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        // conv1_2 at 32²: 64 → 64 channels, 32×32 (every tile applies); conv4_1 at 32²: 256 → 512, 4×4 (rows shorter than a tile).
        // The input gradient's every variant on OpenCL only: on the ILGPU CPU accelerator (each thread a .NET call) its 13
        // variants took a third of this test's 54 s, and Conv2dTests and Conv2dWinogradTests check them there against float64.
        var cases = new List<(string, LabOp)> { ("conv1_2", LabOp.Conv), ("conv4_1", LabOp.Conv) };
        if (accelerator.Kind != DeviceKind.Cpu) cases.Insert(1, ("conv1_2", LabOp.ConvInput));
        foreach (var (layer, op) in cases)
        {
            var g = KernelLab.LayerGeometry(layer, 32);
            // Each variant's kernels profiled on OpenCL (on the ILGPU CPU accelerator that third launch costs a quarter of the suite's time here).
            bool kernelTimes = accelerator.Kind != DeviceKind.Cpu;
            var rows = KernelLab.Run(d, op, g, repeats: 1, peakGflops: 100, seed: 7, kernelTimes: kernelTimes);
            foreach (var r in rows)
                output.WriteLine($"{accelerator} {layer} {op} {r.Variant}: valid {r.Valid}, rel {r.RelativeError:G3}, {r.MedianMs:F2} ms {r.Failure}");
            Assert.Equal(KernelLab.Variants().Select(v => v.Name), rows.Select(r => r.Variant));
            foreach (var r in rows)
            {
                Assert.True(r.Valid, $"{accelerator} {layer} {op} {r.Variant}: {r.Failure}");
                Assert.True(r.Checked > 3000, $"{r.Variant}: only {r.Checked} outputs checked");
                // Its GFLOP/s is the convolution's own count, 2·N·Cout·Hout·Wout·Cin·K², over its median time.
                double flops = 2.0 * g.N * g.OutC * g.OutH * g.OutW * g.InC * g.KH * g.KW;
                double ms = r.MedianMs ?? 0;
                Assert.True(ms > 0, $"{r.Variant}: not timed");
                Assert.True(Math.Abs(r.EffectiveGflops!.Value - flops / (ms * 1e6)) <= 1e-9 * r.EffectiveGflops.Value,
                    $"{r.Variant}: {r.EffectiveGflops} GFLOP/s reported, {flops / (ms * 1e6)} from {flops} FLOPs in {ms} ms");
                if (kernelTimes)
                    Assert.True(r.Kernels is { Count: > 0 } && r.Kernels.All(k => k.Ms > 0), $"{r.Variant}: no kernel times");
                if (kernelTimes && r.Variant.StartsWith("winograd"))
                    Assert.Contains(r.Kernels!, k => k.Kernel.Contains("_winograd_"));
                // Winograd executes fewer multiplications than the direct sum where there are many tiles, more on a 4×4 image
                // (one tile, padded to a block of 8); every other variant at least the convolution's own.
                if (!r.Variant.StartsWith("winograd"))
                    Assert.True(r.ExecutedGflops >= r.EffectiveGflops, $"{r.Variant}: executes fewer FLOPs than the convolution has");
                else if (layer == "conv1_2")
                    Assert.True(r.ExecutedGflops < r.EffectiveGflops, $"{r.Variant}: executes as many FLOPs as the direct sum");
            }
            Assert.Contains(KernelLab.DefaultFor(d, g, op, rows), rows.Select(r => r.Variant));
        }
        Assert.Null(d.DirectTileOverride);
        Assert.Null(d.WinogradTileOverride);
    }

    /// <summary>
    /// Each device's float vector width against an independent source: the CPU accelerator's is the host's widest
    /// accelerated vector as .NET's Vector&lt;float&gt; sees it (or 16 with AVX-512), an OpenCL device's what `clinfo` prints
    /// as its native float width, a CUDA device's its warp.
    /// </summary>
    [Fact]
    public void DevicesReportTheirFloatVectorWidth()
    {
        string? clinfo = Run("clinfo", "--raw");
        foreach (var d in IlgpuStyle.Devices.SharedDevices.Catalog.Devices)
        {
            output.WriteLine($"{d.Id} {d.Name}: {d.VectorWidthFloat} floats per vector");
            switch (d.Kind)
            {
                case DeviceKind.Cpu:
                    int host = System.Runtime.Intrinsics.X86.Avx512F.IsSupported ? 16 : System.Numerics.Vector<float>.Count;
                    Assert.Equal(host, d.VectorWidthFloat);
                    break;
                case DeviceKind.OpenCL when clinfo is not null:
                    var widths = clinfo.Split('\n').Where(l => l.Contains("CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT"))
                        .Select(l => int.Parse(l.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries)[^1])).ToList();
                    output.WriteLine($"clinfo: native float widths {string.Join(", ", widths)}");
                    Assert.Contains(d.VectorWidthFloat, widths);
                    break;
                case DeviceKind.Cuda:
                    Assert.Equal(d.WarpSize, d.VectorWidthFloat);
                    break;
            }
        }
    }

    /// <summary>A program's stdout, or null where it is not installed or fails.</summary>
    static string? Run(string program, params string[] args)
    {
        try
        {
            var start = new System.Diagnostics.ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in args) start.ArgumentList.Add(a);
            using var p = System.Diagnostics.Process.Start(start)!;
            string text = p.StandardOutput.ReadToEnd();
            return p.WaitForExit(30_000) && p.ExitCode == 0 ? text : null;
        }
        catch (System.ComponentModel.Win32Exception) { return null; }
    }

    [Fact]
    public void TheTunerKeepsTheFastestTileAndForgetsOnRequest()
    {
        var tuner = Accelerators.Get(new AcceleratorCase(DeviceKind.Cpu)).Tiles;
        string key = TileTuner.Key(false, 7, 9, 11, 13) + " (test)";
        tuner.Forget();   // the ILGPU CPU accelerator tunes nothing itself: only this test's choices are forgotten
        Assert.Null(tuner.Chosen(key));
        var direct = Enum.GetValues<DirectTile>().Select(ConvKernel.Direct).ToList();
        var px4 = ConvKernel.Direct(DirectTile.Px4);
        var px8 = ConvKernel.Direct(DirectTile.Px8);
        var winograd = ConvKernel.Of(WinogradTile.F4x4By16);
        Assert.Equal(px8, tuner.For(key, direct, t => t == px8 ? 1.0 : 2.0, out bool timed));
        Assert.True(timed);
        Assert.Equal(px8, tuner.For(key, direct, t => t == px4 ? 1.0 : 2.0, out timed));   // cached: not timed again
        Assert.False(timed);
        // A cached choice that is not among the candidates is timed again.
        Assert.Equal(winograd, tuner.For(key, new[] { px4, winograd }, t => t == winograd ? 1.0 : 2.0, out timed));
        Assert.True(timed);
        Assert.Equal(px4, tuner.For(key, direct, t => t == px4 ? 1.0 : 2.0, out timed));
        Assert.True(timed);
        tuner.Forget();
        Assert.Null(tuner.Chosen(key));
        Assert.Equal(px4, tuner.For(key, direct, t => t == px4 ? 1.0 : 2.0, out _));
        tuner.Forget();
        // Each candidate is timed in rounds and counted by its fastest launch: one slow launch of px8 (a burst of load)
        // does not lose it the shape, and every candidate is launched the same number of times.
        var launches = new Dictionary<ConvKernel, int>();
        Assert.Equal(px8, tuner.For(key, direct, t =>
        {
            int n = launches[t] = launches.GetValueOrDefault(t) + 1;
            return t == px8 ? (n == 1 ? 9.0 : 1.0) : 2.0;
        }, out _));
        Assert.All(direct, t => Assert.Equal(TileTuner.Rounds, launches[t]));
        tuner.Forget();
        // Launches of 25 ms or more: one round; one short candidate among them: all rounds.
        launches.Clear();
        Assert.Equal(px4, tuner.For(key, direct, t => { launches[t] = launches.GetValueOrDefault(t) + 1; return t == px4 ? 30.0 : 40.0; }, out _));
        Assert.All(direct, t => Assert.Equal(1, launches[t]));
        tuner.Forget();
        launches.Clear();
        Assert.Equal(px8, tuner.For(key, direct, t => { launches[t] = launches.GetValueOrDefault(t) + 1; return t == px8 ? 20.0 : 40.0; }, out _));
        Assert.All(direct, t => Assert.Equal(TileTuner.Rounds, launches[t]));
        tuner.Forget();
    }

    /// <summary>
    /// A shape not timed is decided from the timed shapes of the same pass, channels and candidates within 4× the pixels,
    /// without timing and without caching it; farther, other channels, the other pass or other candidates: timed. The
    /// times kept with each shape weigh the neighbours.
    /// </summary>
    [Fact]
    public void TheTunerCarriesTheNearestChoiceOver()
    {
        var tuner = Accelerators.Get(new AcceleratorCase(DeviceKind.Cpu)).Tiles;
        string Key(bool input, int inC, int outC, int h, int w, string suffix = "") => TileTuner.Key(input, inC, outC, h, w) + suffix + " (test)";
        var direct = Enum.GetValues<DirectTile>().Select(ConvKernel.Direct).ToList();
        var px4 = ConvKernel.Direct(DirectTile.Px4);
        var px8 = ConvKernel.Direct(DirectTile.Px8);
        double NotTimed(ConvKernel _) => throw new Xunit.Sdk.XunitException("timed a shape that should carry over");
        tuner.Forget();   // only this test's choices: the ILGPU CPU accelerator tunes nothing itself
        try
        {
            Assert.Equal(px8, tuner.For(Key(false, 7, 9, 66, 66), direct, t => t == px8 ? 1.0 : 2.0, out bool timed));
            Assert.True(timed);
            foreach (var (h, w) in new[] { (130, 130), (34, 34), (66, 200), (90, 60) })
            {
                string near = Key(false, 7, 9, h, w);
                Assert.Equal(px8, tuner.For(near, direct, NotTimed, out timed));
                Assert.False(timed);
                Assert.Equal(Key(false, 7, 9, 66, 66), tuner.Carried[near]);
                Assert.Null(tuner.Chosen(near));   // not cached: a timed choice is never hidden by a carried one
            }
            // Beyond 4× the pixels, other channels, the input gradient, a Direct-only key: timed.
            foreach (var far in new[] { Key(false, 7, 9, 200, 200), Key(false, 9, 7, 66, 66), Key(true, 7, 9, 66, 66), Key(false, 7, 9, 66, 66, " direct") })
            {
                Assert.Equal(px4, tuner.For(far, direct, t => t == px4 ? 1.0 : 2.0, out timed));
                Assert.True(timed, far);
            }
            // Between 66² (5.9× fewer pixels) and 200² (1.6× more): the nearer one, 200².
            Assert.Equal(px4, tuner.For(Key(false, 7, 9, 160, 160), direct, NotTimed, out _));
            // Names only (a version-3 cache), equally far in pixels (2× fewer and 2× more): the larger's choice.
            var names = new Dictionary<string, TunedShape> { [Key(false, 1, 2, 50, 50)] = new(px4.Name), [Key(false, 1, 2, 200, 50)] = new(px8.Name) };
            Assert.Equal(px8, TileTuner.Carry(Key(false, 1, 2, 100, 50), names)!.Value.Kernel);
            // The same pixels: the nearer aspect ratio.
            names[Key(false, 1, 2, 100, 25)] = new(ConvKernel.Direct(DirectTile.Wide32x8).Name);
            Assert.Equal(px4, TileTuner.Carry(Key(false, 1, 2, 48, 52), names)!.Value.Kernel);
            // With times: two neighbours that agree outvote the nearest one's close call; a clear lead at the nearest wins.
            Dictionary<string, double> Ms(double a, double b) => new() { [px4.Name] = a, [px8.Name] = b };
            var times = new Dictionary<string, TunedShape>
            {
                [Key(false, 1, 2, 100, 100)] = new(px4.Name, Ms(1.0, 1.05)),
                [Key(false, 1, 2, 70, 70)] = new(px8.Name, Ms(1.3, 1.0)),
                [Key(false, 1, 2, 140, 140)] = new(px8.Name, Ms(1.3, 1.0)),
            };
            var carriedOver = TileTuner.Carry(Key(false, 1, 2, 100, 101), times)!.Value;
            Assert.Equal((px8, Key(false, 1, 2, 100, 100)), (carriedOver.Kernel, carriedOver.From));
            times[Key(false, 1, 2, 100, 100)] = new(px4.Name, Ms(1.0, 2.0));
            Assert.Equal(px4, TileTuner.Carry(Key(false, 1, 2, 100, 101), times)!.Value.Kernel);
            // Only among the candidates.
            Assert.Equal(px8, TileTuner.Carry(Key(false, 1, 2, 100, 101), times, new[] { px8 })!.Value.Kernel);
            // A cached name that is no kernel, a key that is no shape: nothing carries.
            Assert.Null(TileTuner.Carry(Key(false, 3, 3, 10, 10), new Dictionary<string, TunedShape> { [Key(false, 3, 3, 10, 11)] = new("no such kernel") }));
            Assert.Null(TileTuner.Carry("forward 3->3 nonsense (test)", new Dictionary<string, TunedShape> { [Key(false, 3, 3, 10, 11)] = new(px4.Name) }));
        }
        finally { tuner.Forget(); }
    }

    /// <summary>Two tuners of one device (two runs at once) that time different shapes both keep theirs: each writes its
    /// shape into the cache as it is on disk, not its own copy of the whole entry.</summary>
    [Fact]
    public void TwoTunersOfOneDeviceKeepBothShapes()
    {
        var info = Accelerators.Get(new AcceleratorCase(DeviceKind.Cpu)).Info;
        string a = TileTuner.Key(false, 5, 6, 7, 8) + " (test two tuners)", b = TileTuner.Key(true, 6, 5, 9, 10) + " (test two tuners)";
        var direct = Enum.GetValues<DirectTile>().Select(ConvKernel.Direct).ToList();
        var px4 = ConvKernel.Direct(DirectTile.Px4);
        var px8 = ConvKernel.Direct(DirectTile.Px8);
        var first = new TileTuner(info);
        var second = new TileTuner(info);   // opened before the first saved: it has not seen `a`
        try
        {
            first.For(a, direct, t => t == px4 ? 1.0 : 2.0, out _);
            second.For(b, direct, t => t == px8 ? 1.0 : 2.0, out _);
            var later = new TileTuner(info);
            Assert.Equal(px4, later.Chosen(a));
            Assert.Equal(px8, later.Chosen(b));
            Assert.NotNull(later.Choices[a].Ms);   // with every candidate's time
            Assert.Equal(direct.Count, later.Choices[a].Ms!.Count);
            later.Forget(a);
            Assert.Null(new TileTuner(info).Chosen(a));
            Assert.Equal(px8, new TileTuner(info).Chosen(b));
        }
        finally { first.Forget(a); first.Forget(b); }
    }

    /// <summary>The lab's `*` is what the device runs: the tuner's cached choice for the shape, or the one it carries over
    /// from a timed shape near it; a shape it would time first: the fastest of its candidates in the lab's rows.</summary>
    [Fact]
    public void TheLabMarksWhatTheTunerRuns()
    {
        var info = Accelerators.Catalog.Devices.FirstOrDefault(x => x.Kind == DeviceKind.OpenCL && x.Usable);
        Assert.SkipWhen(info is null, "no usable OpenCL device (the ILGPU CPU accelerator autotunes nothing)");
        var d = IlgpuStyle.Devices.SharedDevices.Open(info!);
        // Channels no network has: shapes of this test's own.
        var timed = new IlgpuStyle.Kernels.Conv2dGeometry(1, 24, 37, 29, 40, 3, 3, 1, 1);
        var near = new IlgpuStyle.Kernels.Conv2dGeometry(1, 24, 41, 31, 40, 3, 3, 1, 1);
        string key = Op.TunerKey(timed, false, Op.TunesWinograd(d, timed));
        var candidates = Op.TunerCandidates(d, Op.TunesWinograd(d, timed));
        var px8 = ConvKernel.Direct(DirectTile.Px8);
        try
        {
            Assert.Null(KernelLab.DefaultFor(d, near));   // nothing timed: the tuner would time it, and no rows to say more
            var rows = new[] { new LabRow("direct 4px", true, 0, 0, 1, null) { MinMs = 2 }, new LabRow("direct 32x8", true, 0, 0, 1, null) { MinMs = 1 } };
            Assert.Equal("direct 32x8", KernelLab.DefaultFor(d, near, LabOp.Conv, rows));
            d.Tiles.For(key, candidates, k => k == px8 ? 1.0 : 2.0, out _);
            Assert.Equal(px8.Name, KernelLab.DefaultFor(d, timed, LabOp.Conv, rows));
            Assert.Equal(px8.Name, KernelLab.DefaultFor(d, near, LabOp.Conv, rows));   // carried over, not the rows' fastest
            var (code, stdout, stderr) = CliRunner.Run("kernels", "--shape", "24,41,31,40", "--repeats", "1", "--device", "opencl", "--format", "json");
            Assert.True(code == 0, stderr);
            using var json = JsonDocument.Parse(stdout);
            Assert.Equal(px8.Name, json.RootElement.GetProperty("default_variant").GetString());
            Assert.False(json.RootElement.GetProperty("default_untimed").GetBoolean());
        }
        finally { d.Tiles.Forget(key); }
    }

    /// <summary>The start-up clock counts a loader's time as compiling and the tuner's as tuning less the compiling inside
    /// it; a phase's time leaves both out, and the parts add up to the whole.</summary>
    [Fact]
    public void StartupSplitCountsCompilingAndTuningOnce()
    {
        var d = Accelerators.Get(new AcceleratorCase(DeviceKind.Cpu));
        var split = new StartupSplit(d);
        split.Phase("targets", () =>
        {
            Thread.Sleep(60);
            d.Startup.Tune(() => { Thread.Sleep(120); return d.Startup.Compile(() => { Thread.Sleep(200); return 0; }); });
        });
        split.Stop();
        d.Startup.Compile(() => { Thread.Sleep(100); return 0; });   // after Stop: not in the split
        output.WriteLine(split.ToString());
        Assert.InRange(split.Compiling.TotalMilliseconds, 195, 280);
        Assert.InRange(split.Tuning.TotalMilliseconds, 115, 190);
        Assert.InRange(split["targets"].TotalMilliseconds, 55, 130);
        Assert.InRange(split.Parts.Sum(p => p.Time.TotalMilliseconds), split.Total.TotalMilliseconds - 50, split.Total.TotalMilliseconds + 1);
        Assert.Contains("compiling kernels 0.2 s", split.ToString());
    }

    /// <summary>A run hears once, before the first timing, that the tuner is timing kernels; a cached shape says nothing.</summary>
    [Fact]
    public void TheTunersFirstTimingIsToldOnce()
    {
        var tuner = Accelerators.Get(new AcceleratorCase(DeviceKind.Cpu)).Tiles;
        string key = TileTuner.Key(true, 5, 3, 9, 7) + " (test)", other = TileTuner.Key(true, 3, 5, 9, 7) + " (test)";
        var direct = Enum.GetValues<DirectTile>().Select(ConvKernel.Direct).ToList();
        var told = new List<string>();
        tuner.Forget();   // only this test's choices: the ILGPU CPU accelerator tunes nothing itself
        try
        {
            tuner.For(key, direct, _ => 1.0, out _);   // nobody listening: nothing told, nothing kept for later
            tuner.FirstTiming = told.Add;
            tuner.For(key, direct, _ => 1.0, out bool timed);   // cached
            Assert.False(timed);
            Assert.Empty(told);
            tuner.For(other, direct, _ => 1.0, out timed);
            Assert.True(timed);
            tuner.Forget();
            tuner.For(key, direct, _ => 1.0, out _);
            tuner.For(other, direct, _ => 1.0, out _);
            Assert.Single(told);
            Assert.Contains("timing the 3×3 convolution kernels", told[0]);
            Assert.Contains(TileTuner.CachePath, told[0]);
            Assert.Null(tuner.FirstTiming);
        }
        finally { tuner.FirstTiming = null; tuner.Forget(); }
    }

    /// <summary>`kernels --carry-over` on OpenCL (whose policy autotunes): every tuned shape of the sizes, each with its fastest
    /// candidate and a ratio of at least 1 where a neighbour carries over; refused where nothing is tuned, and bad --sizes.</summary>
    [Fact]
    public void CarryOverCommandComparesWithTheFastest()
    {
        Assert.SkipUnless(IlgpuStyle.Devices.SharedDevices.Catalog.Devices.Any(x => x.Kind == DeviceKind.OpenCL && x.Usable),
            "no usable OpenCL device (the ILGPU CPU accelerator autotunes nothing)");
        var (code, stdout, stderr) = CliRunner.Run("kernels", "--carry-over", "--model", "resnet18", "--sizes", "32,48x40", "--repeats", "1",
            "--device", "opencl", "--format", "json");
        Assert.True(code == 0, $"exit {code}\n{stderr}\n{stdout}");
        using var json = JsonDocument.Parse(stdout);
        var rows = json.RootElement.GetProperty("shapes").EnumerateArray().ToList();
        // ResNet18's four stages at two sizes, forward and input gradient: 16 shapes.
        Assert.Equal(16, rows.Count);
        Assert.All(rows, r => Assert.True(r.GetProperty("fastest_ms").GetDouble() > 0));
        var carried = rows.Where(r => r.GetProperty("ratio").ValueKind == JsonValueKind.Number).ToList();
        Assert.NotEmpty(carried);
        Assert.All(carried, r => Assert.True(r.GetProperty("ratio").GetDouble() >= 1, r.ToString()));
        var sizes = json.RootElement.GetProperty("sizes").EnumerateArray().ToList();
        Assert.NotEmpty(sizes);
        Assert.All(sizes, r => Assert.True(r.GetProperty("ratio").GetDouble() >= 1, r.ToString()));
        var (csv, csvOut, csvError) = CliRunner.Run("kernels", "--carry-over", "--model", "resnet18", "--sizes", "32,48x40", "--repeats", "1",
            "--device", "opencl", "--format", "csv");
        Assert.True(csv == 0, csvError);
        Assert.StartsWith("size,layer,pass,key,uses,fastest", csvOut);
        var (bad, _, error) = CliRunner.Run("kernels", "--carry-over", "--sizes", "32,big");
        Assert.Equal(1, bad);
        Assert.Contains("--sizes takes", error);
        var (cpu, _, refused) = CliRunner.Run("kernels", "--carry-over", "--sizes", "32", "--device", "cpu");
        Assert.Equal(1, cpu);
        Assert.Contains("does not autotune", refused);
    }

    [Fact]
    public void AWrongOrMissingOutputFailsAndIsNotTimed()
    {
        var expected = new[] { 1.0, -2.0, 3.0, 0.5 };
        Assert.True(KernelLab.Check("same", expected, new[] { 1f, -2f, 3f, 0.5f }).Valid);
        var wrong = KernelLab.Check("wrong", expected, new[] { 1f, -2f, 3.01f, 0.5f });
        Assert.False(wrong.Valid);
        Assert.Contains("relative error", wrong.Failure);
        Assert.Null(wrong.MedianMs);
        Assert.False(KernelLab.Check("poisoned", expected, new[] { 1f, float.NaN, 3f, 0.5f }).Valid);
    }

    [Fact]
    public void CommandWritesTheTable()
    {
        var (code, stdout, stderr) = CliRunner.Run("kernels", "--layer", "conv2_1", "--image-size", "32", "--repeats", "1", "--format", "json");
        Assert.True(code == 0, $"exit {code}\n{stderr}\n{stdout}");
        using var json = JsonDocument.Parse(stdout);
        Assert.Contains("\"default_variant\"", stdout);
        Assert.Contains("\"direct 32x8\"", stdout);
        var (bad, _, error) = CliRunner.Run("kernels", "--layer", "pool1");
        Assert.Equal(1, bad);
        Assert.Contains("--layer must be a convolution", error);
    }
}

/// <summary>The Direct tiles sum each output in the same order: their results are the same bits, so which one runs (the
/// policy's, a forced one, an autotuned one) never changes an image.</summary>
[Collection(DeviceTests.Collection)]
public class DirectTileTests
{
    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void EveryTileMatchesTheReference(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        var r = new Rand();
        // Output channels a multiple of 32 and not (the 16- and 32-channel tiles pad the filters differently), with the
        // filters frozen (their layout kept per tile, as VGG19's in a transfer) and not.
        foreach (var g in new[] { new IlgpuStyle.Kernels.Conv2dGeometry(1, 40, 9, 37, 64, 3, 3, 1, 1), new IlgpuStyle.Kernels.Conv2dGeometry(1, 64, 6, 6, 33, 3, 3, 1, 1) })
        foreach (bool frozen in new[] { false, true })
        {
            using var x = d.Upload(new Shape4(g.N, g.InC, g.InH, g.InW), r.Floats(g.N * g.InC * g.InH * g.InW));
            using var w = d.Upload(new Shape4(g.OutC, g.InC, 3, 3), r.Floats(g.OutC * g.InC * 9));
            if (frozen) w.Freeze();
            using var b = d.Upload(Shape4.Vector(g.OutC), r.Floats(g.OutC));
            using var dy = d.Upload(new Shape4(g.N, g.OutC, g.OutH, g.OutW), r.Floats(g.N * g.OutC * g.OutH * g.OutW));
            using var relu = d.Upload(new Shape4(g.N, g.OutC, g.OutH, g.OutW), r.Floats(g.N * g.OutC * g.OutH * g.OutW));
            // Every tile against the float64 reference: conv + bias + ReLU, and dx = Wᵀ⊛(dy·[y>0]) with the mask of `relu`.
            double[] xs = x.ToArray().Select(v => (double)v).ToArray(), ws = w.ToArray().Select(v => (double)v).ToArray();
            double[] bs = b.ToArray().Select(v => (double)v).ToArray(), dys = dy.ToArray().Select(v => (double)v).ToArray();
            double[] masks = relu.ToArray().Select(v => (double)v).ToArray();
            var forward = Reference.Conv2dForward(g, xs, ws, bs, relu: true);
            var backward = Reference.Conv2dBackwardInput(g, ws, Reference.ReluBackward(masks, dys));
            foreach (var tile in Enum.GetValues<DirectTile>())
            {
                d.DirectTileOverride = tile;
                try
                {
                    using var y = d.Poisoned(new Shape4(g.N, g.OutC, g.OutH, g.OutW));
                    Op.Conv2dForward(x, w, b, y, 1, 1, true, KernelVariant.Direct);
                    using var dx = d.Upload(new Shape4(g.N, g.InC, g.InH, g.InW), new double[g.N * g.InC * g.InH * g.InW]);
                    Op.Conv2dBackwardInput(w, dy, dx, 1, 1, KernelVariant.Direct, reluOutput: relu);
                    string where = $"{accelerator} {tile} frozen={frozen} {g.OutC} channels {r}";
                    Compare.RelativeL2("direct forward", forward, y.ToArray(), Tolerance.LongSum, where);
                    Compare.RelativeL2("direct input gradient", backward, dx.ToArray(), Tolerance.LongSum, where);
                }
                finally { d.DirectTileOverride = null; }
            }
        }
    }
}
