using IlgpuStyle.Imaging;
using IlgpuStyle.Transfer;

namespace IlgpuStyle.Tests.Transfer;

[Collection(DeviceTests.Collection)]
public class StyleTransferTests(TransferFixture images, ITestOutputHelper output) : IClassFixture<TransferFixture>
{
    /// <summary>The full network: only <see cref="LossFallsWithLbfgsAndAdam"/> uses it; the other tests use <see cref="ShortNetwork"/>.</summary>
    StyleTransferOptions FullOptions(string output, int iterations = 8) => new()
    {
        ContentPath = images.Content,
        StylePaths = new[] { images.Stripes },
        OutputPath = images.Output(output),
        ImageSize = 32,
        Iterations = iterations,
        Seed = 3,
        Init = InitKind.Random,
        WriteLossCurve = false,
    };

    StyleTransferOptions Options(string output, int iterations = 8) => FullOptions(output, iterations).ToConv2();

    static (TransferResult Result, Recorder Log) Run(AcceleratorCase a, StyleTransferOptions o)
    {
        var d = Accelerators.Get(a);
        var log = new Recorder();
        return (StyleTransfer.Run(o, d, log), log);
    }

    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void LossFallsWithLbfgsAndAdam(AcceleratorCase accelerator)
    {
        foreach (var optimizer in new[] { OptimizerKind.Lbfgs, OptimizerKind.Adam })
        {
            var o = FullOptions($"fall_{optimizer}_{accelerator.Kind}.png", optimizer == OptimizerKind.Adam ? 10 : 6) with { Optimizer = optimizer };
            var (result, log) = Run(accelerator, o);
            Assert.True(log.Steps.Count >= 5, $"{optimizer} {accelerator}: only {log.Steps.Count} iterations ran");
            double first = log.Steps[0].Total, last = log.Steps[^1].Total;
            output.WriteLine($"{optimizer} {accelerator}: {string.Join(" ", log.Steps.Select(s => s.Total.ToString("G4")))}");
            Assert.True(last < 0.5 * first, $"{optimizer} {accelerator}: loss went from {first:G5} to {last:G5}, less than halved");
            Assert.True(File.Exists(result.OutputPath));
            Assert.True(result.RandomWeights);
            Assert.Contains(log.Warnings, w => w.Contains("random"));
        }
    }

    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void SameSeedSameImage(AcceleratorCase accelerator)
    {
        var a = Run(accelerator, Options($"seed_a_{accelerator.Kind}.png", 4)).Result;
        var b = Run(accelerator, Options($"seed_b_{accelerator.Kind}.png", 4)).Result;
        Assert.Equal(RgbImage.Load(a.OutputPath).Data, RgbImage.Load(b.OutputPath).Data);
        var c = Run(accelerator, Options($"seed_c_{accelerator.Kind}.png", 4) with { Seed = 4 }).Result;
        Assert.NotEqual(RgbImage.Load(a.OutputPath).Data, RgbImage.Load(c.OutputPath).Data);
    }

    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void BlendWeightsOneZeroEqualTheSingleStyle(AcceleratorCase accelerator)
    {
        var single = Run(accelerator, Options($"single_{accelerator.Kind}.png", 4)).Result;
        var blended = Run(accelerator, Options($"blend_{accelerator.Kind}.png", 4) with
        {
            StylePaths = new[] { images.Stripes, images.Dots }, StyleBlendWeights = new[] { 1.0, 0.0 },
        }).Result;
        Assert.Equal(RgbImage.Load(single.OutputPath).Data, RgbImage.Load(blended.OutputPath).Data);
    }

    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void OriginalColorsKeepTheContentsChroma(AcceleratorCase accelerator)
    {
        var result = Run(accelerator, Options($"colors_{accelerator.Kind}.png", 4) with { OriginalColors = true }).Result;
        var output = RgbImage.Load(result.OutputPath);
        var (worst, mean, inGamut) = Chroma.Difference(output, images.Content);
        int pixels = output.Data.Length / 3;
        Assert.True(inGamut > pixels / 2, $"only {inGamut} of {pixels} pixels in gamut");
        // In gamut, chroma is the content's up to rounding to 8 bits (a transfer without the option moves it by tens).
        Assert.True(worst < 2.0, $"chroma moved by up to {worst:F2} (mean {mean:F2}) over {inGamut} in-gamut pixels");
    }

    /// <summary>What Ctrl-C does: the run stops after the current iteration and still writes the image.</summary>
    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void CancellationStopsAndWritesTheCurrentImage(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        using var cancel = new CancellationTokenSource();
        var listener = new CancelAfter(2, cancel);
        var o = Options($"cancel_{accelerator.Kind}.png", 50);
        var result = StyleTransfer.Run(o, d, listener, cancel.Token);
        Assert.True(result.Cancelled);
        Assert.Equal(2, result.Iterations);
        Assert.True(File.Exists(o.OutputPath));
    }

    sealed class CancelAfter(int iterations, CancellationTokenSource cancel) : ITransferListener
    {
        public void Progress(TransferProgress p) { if (p.Iteration >= iterations) cancel.Cancel(); }
    }

    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void MultiScaleAndContentInitRun(AcceleratorCase accelerator)
    {
        var o = Options($"scales_{accelerator.Kind}.png", 3) with { ImageSize = 40, Scales = 2, Init = InitKind.Content, LogPath = images.Output($"scales_{accelerator.Kind}.csv"), WriteLossCurve = true };
        var (result, log) = Run(accelerator, o);
        Assert.Equal(2, log.Steps.Select(s => s.Scale).Distinct().Count());
        Assert.Equal(40, Math.Max(RgbImage.Load(result.OutputPath).Width, RgbImage.Load(result.OutputPath).Height));
        var csv = File.ReadAllLines(o.LogPath!);
        Assert.Equal("iteration,content,style,tv,total,ms", csv[0]);
        Assert.Equal(log.Steps.Count + 1, csv.Length);
        Assert.True(File.Exists(StyleTransfer.Sibling(o.OutputPath, "_loss", ".png")));
    }

    /// <summary>Every run prints the seed it used; -seed -1 (neural-style's random seed) draws one, and that seed given
    /// again makes the same image.</summary>
    [Fact]
    public void ARandomSeedIsDrawnPrintedAndRepeatable()
    {
        string Seed(string stdout) => System.Text.RegularExpressions.Regex.Match(stdout, @"seed: (\d+) ").Groups[1].Value;
        string a = images.Output("seed_a.png"), b = images.Output("seed_b.png");
        var common = $"--content {images.Content} --style {images.Stripes} --image-size 24 --iterations 2 --no-plot --device cpu {ShortNetwork.Conv2Arguments}";
        var (code, stdout, stderr) = CliRunner.Run($"{common} -seed -1 --output {a}".Split(' '));
        Assert.True(code == 0, stderr);
        string seed = Seed(stdout);
        Assert.True(int.TryParse(seed, out int drawn) && drawn >= 0, $"no seed printed:\n{stdout}");
        (code, stdout, stderr) = CliRunner.Run($"{common} --seed {drawn} --output {b}".Split(' '));
        Assert.True(code == 0, stderr);
        Assert.Equal(seed, Seed(stdout));
        Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));
        (code, stdout, _) = CliRunner.Run($"{common} --output {b}".Split(' '));
        Assert.Equal("0", Seed(stdout));   // the default
    }

    /// <summary>`transfer --format json`: stdout is one document a program reads (network, device, seed, size, counts,
    /// losses, times with the start-up split, files written); the progress went to stderr.</summary>
    [Fact]
    public void JsonSummaryIsTheOnlyThingOnStdout()
    {
        string path = images.Output("summary.png");
        var (code, stdout, stderr) = CliRunner.Run($"--content {images.Content} --style {images.Stripes} --image-size 24 --iterations 2 --seed 5 --device cpu {ShortNetwork.Conv2Arguments} --format json --output {path}".Split(' '));
        Assert.True(code == 0, stderr);
        using var json = System.Text.Json.JsonDocument.Parse(stdout);
        var root = json.RootElement;
        Assert.Equal("VGG19", root.GetProperty("network").GetString());
        Assert.Equal(5, root.GetProperty("seed").GetInt32());
        Assert.Equal(2, root.GetProperty("iterations").GetInt32());
        Assert.True(root.GetProperty("evaluations").GetInt32() >= 2);
        Assert.Equal(24, Math.Max(root.GetProperty("width").GetInt32(), root.GetProperty("height").GetInt32()));
        Assert.True(double.IsFinite(root.GetProperty("final_loss").GetDouble()));
        Assert.True(root.GetProperty("first_iteration_after_s").GetDouble() > 0);
        Assert.True(root.GetProperty("startup").TryGetProperty("network_s", out _), root.GetProperty("startup").ToString());
        Assert.Contains(path, root.GetProperty("files").EnumerateArray().Select(f => f.GetString()));
        Assert.StartsWith("cpu", root.GetProperty("device").GetString());
        Assert.Contains("seed: 5", stderr);   // what a person reads went to stderr
        var (csv, _, csvError) = CliRunner.Run($"--content {images.Content} --style {images.Stripes} --format csv".Split(' '));
        Assert.Equal(1, csv);
        Assert.Contains("text or json", csvError);
    }
}
