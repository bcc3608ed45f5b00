using IlgpuStyle.Devices;
using IlgpuStyle.Imaging;
using IlgpuStyle.Model;
using IlgpuStyle.Optimizers;
using IlgpuStyle.Transfer;

namespace IlgpuStyle.Tests.Transfer;

/// <summary>The controls of Gatys et al. 2017 (colour, spatial, scale), gradient normalization, auto layer weights and keep-best.</summary>
[Collection(DeviceTests.Collection)]
public class ControlTests(TransferFixture images) : IClassFixture<TransferFixture>
{
    string Mask(string name, Func<int, int, bool> inside, int w = 24, int h = 20)
    {
        string path = images.Output(name + ".png");
        if (File.Exists(path)) return path;
        var mask = new RgbImage(w, h);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++) mask[y, x, c] = inside(x, y) ? 255f : 0f;
        mask.Save(path);
        return path;
    }

    string Left => Mask("left", (x, _) => x < 12);
    string Right => Mask("right", (x, _) => x >= 12);

    StyleTransferOptions Options(string output, int iterations = 5) => new StyleTransferOptions
    {
        ContentPath = images.Content,
        StylePaths = new[] { images.Stripes },
        OutputPath = images.Output(output),
        ImageSize = 32,
        Iterations = iterations,
        Seed = 5,
        Init = InitKind.Random,
        WriteLossCurve = false,
    }.ToConv3();

    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void EachControlRunsAndLowersTheLoss(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        var modes = new (string Name, Func<StyleTransferOptions, StyleTransferOptions> Set)[]
        {
            ("luminance", o => o with { ColorControl = ColorControl.Luminance }),
            ("histogram-chol", o => o with { ColorControl = ColorControl.Histogram, HistogramMode = HistogramMode.Cholesky, StylePaths = new[] { images.Content } }),
            ("histogram-pca", o => o with { ColorControl = ColorControl.Histogram, HistogramMode = HistogramMode.Pca }),
            ("histogram-sym", o => o with { ColorControl = ColorControl.Histogram, HistogramMode = HistogramMode.Symmetric }),
            ("masks", o => o with { StylePaths = new[] { images.Stripes, images.Dots }, ContentMasks = new[] { Left, Right }, StyleMasks = new[] { Right, Left } }),
            ("scale", o => o with { StylePaths = Array.Empty<string>(), FineStylePath = images.Dots, CoarseStylePath = images.Stripes }),
            ("normalize-gradients", o => o with { NormalizeGradients = true }),
            ("auto-layer-weights", o => o with { AutoStyleLayerWeights = true }),
            ("keep-best", o => o with { KeepBest = true }),
        };
        foreach (var (name, set) in modes)
        {
            // Adam (one evaluation per iteration) at 24 px keeps nine runs short on ILGPU's CPU accelerator.
            var o = set(Options($"mode_{name}_{accelerator.Kind}.png", 4) with { ImageSize = 24, Optimizer = OptimizerKind.Adam });
            var log = new Recorder();
            var result = StyleTransfer.Run(o, d, log);
            Assert.True(log.Steps.Count >= 3, $"{name} {accelerator}: only {log.Steps.Count} iterations ran");
            double first = log.Steps[0].Total, last = log.Steps.Min(s => s.Total);
            Assert.True(last < 0.9 * first, $"{name} {accelerator}: loss went from {first:G5} to {last:G5}");
            Assert.True(File.Exists(result.OutputPath), name);
        }
    }

    static IlgpuStyle.Model.Network Network(ComputeDevice d, string deepest = "conv3_1") => new(d, NetworkWeights.Random(1), Pooling.Average, deepest);

    static Tensor Image(ComputeDevice d, RgbImage image, string name) => Preprocessing.Upload(d, image, name);

    static Guide Ones(int w, int h) => new(Enumerable.Repeat(1f, w * h).ToArray(), w, h, "ones");

    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void AllOnesMasksGiveTheUnguidedLossAndGradient(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        var o = Options("unused.png");
        var content = RgbImage.Load(images.Content).ResizeLongestSide(40);
        var style = RgbImage.Load(images.Stripes).ResizeLongestSide(36);
        using var vgg = Network(d);
        using var c = Image(d, content, "content");
        using var s = Image(d, style, "style");
        var r = new Rand();
        double[] start = r.Floats(c.Length, 40);
        using var x1 = d.Upload(c.Shape, start, "x1");
        using var x2 = d.Upload(c.Shape, start, "x2");
        using var plain = new StyleObjective(vgg, x1, c, new[] { new StyleSource(s, 1.0) }, new[] { new StyleRegion(null, 1.0) }, o);
        using var guided = new StyleObjective(vgg, x2, c, new[] { new StyleSource(s, 1.0, Ones(style.Width, style.Height)) },
            new[] { new StyleRegion(Ones(content.Width, content.Height), 1.0) }, o);
        plain.Evaluate();
        guided.Evaluate();
        string where = $"{accelerator} {r}";
        Compare.Scalar("style loss", plain.Last.Style, guided.Last.Style, Tolerance.LongSum, where);
        Compare.Scalar("total loss", plain.Last.Total, guided.Last.Total, Tolerance.LongSum, where);
        Compare.RelativeL2("image gradient", plain.Gradient.ToArray().ToDouble(), guided.Gradient.ToArray(), Tolerance.Network, where);
    }

    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void TwoMasksPullEachHalfTowardItsOwnStyle(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        var o = Options("unused.png") with { TvWeight = 0 };
        var content = RgbImage.Load(images.Content).ResizeLongestSide(40);
        int w = content.Width, h = content.Height;
        Guide Half(bool left) => new(Enumerable.Range(0, w * h).Select(p => (p % w < w / 2) == left ? 1f : 0f).ToArray(), w, h, left ? "left" : "right");
        using var vgg = Network(d);
        using var c = Image(d, content, "content");
        using var stripes = Image(d, RgbImage.Load(images.Stripes).ResizeLongestSide(40), "stripes");
        using var dots = Image(d, RgbImage.Load(images.Dots).ResizeLongestSide(40), "dots");
        using var x = new Tensor(d, c.Shape, "x");
        Op.Copy(x, c);
        using var objective = new StyleObjective(vgg, x, c,
            new[] { new StyleSource(stripes, 1.0, null, 0), new StyleSource(dots, 1.0, null, 1) },
            new[] { new StyleRegion(Half(true), 1.0), new StyleRegion(Half(false), 1.0) }, o);

        // Σ_l ‖G_l,r − A_l,q‖² / ‖A_l,q‖²: how far region r's Gram matrices are from region q's targets.
        double Distance(int r, int q)
        {
            var grams = objective.StyleGrams;
            double sum = 0;
            foreach (var layer in grams.Select(g => g.Layer).Distinct())
            {
                var g = grams.First(t => t.Layer == layer && t.Region == r).Gram.ToArray();
                var a = grams.First(t => t.Layer == layer && t.Region == q).Target.ToArray();
                sum += g.Select((v, i) => (double)(v - a[i]) * (v - a[i])).Sum() / a.Sum(v => (double)v * v);
            }
            return sum;
        }

        objective.Evaluate();
        var before = new[] { Distance(0, 0), Distance(1, 1) };
        using var lbfgs = new LbfgsOptimizer(objective, 10);
        for (int i = 0; i < 12; i++) if (lbfgs.Step() is null) break;
        objective.Evaluate();
        for (int r = 0; r < 2; r++)
        {
            double own = Distance(r, r), other = Distance(r, 1 - r);
            Assert.True(own < 0.5 * before[r], $"{accelerator} region {r}: distance to its own style went from {before[r]:G4} to {own:G4}");
            Assert.True(own < other, $"{accelerator} region {r}: closer to the other style ({other:G4}) than to its own ({own:G4})");
        }
    }

    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void ScaleControlTakesEachLayersTargetFromItsStyle(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        var o = Options("unused.png");
        var content = RgbImage.Load(images.Content).ResizeLongestSide(32);
        using var vgg = Network(d);
        using var c = Image(d, content, "content");
        using var stripes = Image(d, RgbImage.Load(images.Stripes).ResizeLongestSide(32), "stripes");
        using var dots = Image(d, RgbImage.Load(images.Dots).ResizeLongestSide(32), "dots");
        using var x = new Tensor(d, c.Shape, "x");
        Op.Copy(x, c);
        var whole = new[] { new StyleRegion(null, 1.0) };
        var fine = new HashSet<string> { "conv1_1", "conv2_1" };
        var coarse = new HashSet<string> { "conv3_1" };
        using var onlyStripes = new StyleObjective(vgg, x, c, new[] { new StyleSource(stripes, 1.0) }, whole, o);
        using var onlyDots = new StyleObjective(vgg, x, c, new[] { new StyleSource(dots, 1.0) }, whole, o);
        using var split = new StyleObjective(vgg, x, c,
            new[] { new StyleSource(stripes, 1.0, null, 0, fine), new StyleSource(dots, 1.0, null, 0, coarse) }, whole, o);
        foreach (var (layer, _, _, target) in split.StyleGrams)
        {
            var expected = (fine.Contains(layer) ? onlyStripes : onlyDots).StyleGrams.First(g => g.Layer == layer).Target.ToArray();
            Assert.Equal(expected, target.ToArray());
        }
    }

    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void FineAndCoarseStyleTheSameImageEqualsThatStyle(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        var plain = StyleTransfer.Run(Options($"plain_{accelerator.Kind}.png", 3), d);
        var scaled = StyleTransfer.Run(Options($"scaled_{accelerator.Kind}.png", 3) with
        {
            StylePaths = Array.Empty<string>(), FineStylePath = images.Stripes, CoarseStylePath = images.Stripes, StyleSplitLayer = "conv2_1",
        }, d);
        Assert.Equal(RgbImage.Load(plain.OutputPath).Data, RgbImage.Load(scaled.OutputPath).Data);
    }

    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void NormalizeGradientsGiveTheDeepestLayerTheL1NormOfItsWeight(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        // The default layers, to conv5_1: every normalize node (content and five style layers).
        var o = Options("unused.png") with { NormalizeGradients = true, StyleWeight = 50, ContentLayers = new[] { "conv4_2" },
            StyleLayers = new[] { "conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1" } };
        var content = RgbImage.Load(images.Content).ResizeLongestSide(32);
        using var vgg = Network(d, "conv5_1");
        using var c = Image(d, content, "content");
        using var s = Image(d, RgbImage.Load(images.Stripes).ResizeLongestSide(32), "style");
        var r = new Rand();
        using var x = d.Upload(c.Shape, r.Floats(c.Length, 40), "x");
        using var objective = new StyleObjective(vgg, x, c, new[] { (s, 1.0) }, o);
        objective.Evaluate();
        // conv5_1 is the deepest layer: its activation's gradient is only what the normalize node passed on,
        // s·dy/Σ|dy| with dy the style loss's gradient (which stays in the node's output gradient) and s = β·w_l.
        // Where conv5_1's ReLU is closed (y = 0) that gradient goes nowhere: the convolution's backward masks it as it
        // reads it (Direct) or zeroes it in place (other variants), so only the open positions are compared.
        var node = objective.Tape.Nodes.Single(n => n.Op == "normalize" && n.Label == "conv5_1");
        var dy = objective.Tape.Gradient(node.Output!).ToArray().ToDouble();
        var y = node.Inputs[0].ToArray();
        double l1 = dy.Sum(Math.Abs), scale = 50.0 / 5;
        var applied = dy.Select(v => scale * v / l1).ToArray();
        Compare.Scalar("L1 norm where applied", scale, applied.Sum(Math.Abs), 1e-9, $"{accelerator}");
        var open = Enumerable.Range(0, y.Length).Where(i => y[i] > 0).ToArray();
        Assert.NotEmpty(open);
        var got = objective.Tape.Gradient(node.Inputs[0]).ToArray();
        Compare.RelativeL2("dL/d(conv5_1) where its ReLU is open", open.Select(i => applied[i]).ToArray(),
            open.Select(i => got[i]).ToArray(), Tolerance.LongSum, $"{accelerator} {r}");
        Assert.Equal(6, objective.Tape.Nodes.Count(n => n.Op == "normalize"));   // conv4_2 (content) and the five style layers
    }

    [Fact]
    public void HistogramMatchingGivesTheContentsMeanAndCovariance()
    {
        var r = new Rand();
        RgbImage Correlated(double[] mix, double[] mean)
        {
            var image = new RgbImage(37, 29);
            var z = r.Doubles(3L * 37 * 29);
            for (int p = 0; p < image.Data.Length; p += 3)
                for (int c = 0; c < 3; c++)
                    image.Data[p + c] = (float)(mean[c] + 40 * (mix[3 * c] * z[p] + mix[3 * c + 1] * z[p + 1] + mix[3 * c + 2] * z[p + 2]));
            return image;
        }
        var content = Correlated(new[] { 1.0, 0.3, 0.1, 0.2, 0.9, 0.4, 0.1, 0.5, 0.7 }, new[] { 120.0, 90.0, 60.0 });
        var style = Correlated(new[] { 0.6, -0.2, 0.3, 0.1, 0.4, 0.2, -0.5, 0.1, 1.2 }, new[] { 40.0, 160.0, 200.0 });
        var (mc, cc) = ColorTransfer.Moments(content);
        foreach (var mode in Enum.GetValues<HistogramMode>())
        {
            var (mr, cr) = ColorTransfer.Moments(ColorTransfer.MatchHistogram(style, content, mode));
            double scale = Enumerable.Range(0, 9).Max(k => Math.Abs(cc[k / 3, k % 3]));
            for (int i = 0; i < 3; i++)
            {
                Assert.True(Math.Abs(mr[i] - mc[i]) < 1e-3, $"{mode} {r}: mean[{i}] {mr[i]} vs {mc[i]}");
                for (int j = 0; j < 3; j++)
                    Assert.True(Math.Abs(cr[i, j] - cc[i, j]) < 1e-3 * scale, $"{mode} {r}: covariance[{i},{j}] {cr[i, j]} vs {cc[i, j]}");
            }
        }
    }

    [Fact]
    public void MatchedLuminanceHasTheContentsMeanAndSpread()
    {
        var content = RgbImage.Load(images.Content);
        var matched = ColorTransfer.MatchedLuminance(RgbImage.Load(images.Dots), content);
        var (mc, sc) = ColorTransfer.LuminanceMoments(content);
        var (mm, sm) = ColorTransfer.LuminanceMoments(matched);
        Assert.True(Math.Abs(mm - mc) < 1e-3 && Math.Abs(sm - sc) < 1e-3, $"mean {mm} vs {mc}, spread {sm} vs {sc}");
        Assert.True(Enumerable.Range(0, matched.Data.Length / 3).All(p => matched.Data[3 * p] == matched.Data[3 * p + 1] && matched.Data[3 * p] == matched.Data[3 * p + 2]));
    }

    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void LuminanceModeLeavesTheContentsChroma(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        var result = StyleTransfer.Run(Options($"luminance_{accelerator.Kind}.png", 4) with { ColorControl = ColorControl.Luminance }, d);
        var output = RgbImage.Load(result.OutputPath);
        var (worst, _, inGamut) = Chroma.Difference(output, images.Content);
        Assert.True(inGamut > output.Data.Length / 6, $"only {inGamut} pixels in gamut");
        // The content's I and Q, up to the 8-bit rounding of the written PNG.
        Assert.True(worst < 1.0, $"{accelerator}: chroma moved by up to {worst:F3}");
    }

    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void KeepBestWritesTheImageOfTheLowestLoss(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        // Adam with a large step overshoots: the loss falls, then jumps about.
        var o = Options($"best_{accelerator.Kind}.png", 6) with { KeepBest = true, Optimizer = OptimizerKind.Adam, LearningRate = 100, SaveEvery = 1 };
        var log = new Recorder();
        var result = StyleTransfer.Run(o, d, log);
        double lowest = log.Steps.Min(s => s.Total);
        Assert.Equal(lowest, result.BestLoss);
        Assert.Equal(log.Steps.First(s => s.Total == lowest).Iteration, result.BestIteration);
        // Adam's loss at iteration i is that of the image after i − 1 steps: the snapshot written at iteration i − 1.
        // The run is made so that the best is not the first iteration (whose image, the random start, has no snapshot), and
        // not the last (where keep-best and the plain run would write the same image).
        int best = result.BestIteration!.Value;
        Assert.True(best >= 2 && best < log.Steps.Count, $"{accelerator}: the best loss is at iteration {best} of {log.Steps.Count}: " +
            "the image check needs a best in between; losses " + string.Join(", ", log.Steps.Select(s => s.Total.ToString("G4"))));
        var expected = RgbImage.Load(StyleTransfer.Sibling(o.OutputPath, $"_s1_i{best - 1:D4}"));
        Assert.Equal(expected.Data, RgbImage.Load(result.OutputPath).Data);
        // --save-every also writes the contact sheet: 5 snapshots and the result.
        string sheet = StyleTransfer.Sibling(o.OutputPath, "_sheet", ".png");
        Assert.Contains(sheet, result.WrittenFiles);
        Assert.Equal(6, log.Steps.Count);
        var image = RgbImage.Load(sheet);
        var output = RgbImage.Load(result.OutputPath);   // the cells take the result's shape, its longer side Cell pixels
        int cellW = output.Width >= output.Height ? ContactSheet.Cell : ContactSheet.Cell * output.Width / output.Height;
        int cellH = output.Width >= output.Height ? ContactSheet.Cell * output.Height / output.Width : ContactSheet.Cell;
        Assert.Equal((8 + ContactSheet.Columns * (cellW + 8), 2 * (cellH + 22 + 8) + 8), (image.Width, image.Height));
    }

    /// <summary>--save-every with --scales: each earlier scale's last iteration is kept (on disk and on the sheet) when
    /// the interval divides the iterations; the last scale's is the result.</summary>
    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void EachScalesLastIterationIsOnTheSheet(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        var o = Options($"scales_sheet_{accelerator.Kind}.png", 4) with { Scales = 2, SaveEvery = 2, Optimizer = OptimizerKind.Adam, LearningRate = 10 };
        var result = StyleTransfer.Run(o, d);
        var snapshots = result.WrittenFiles.Where(f => Path.GetFileName(f).Contains("_s")).Select(Path.GetFileNameWithoutExtension).ToList();
        Assert.Contains(snapshots, f => f!.EndsWith("_s1_i0002"));
        Assert.Contains(snapshots, f => f!.EndsWith("_s1_i0004"));   // the first scale's last iteration
        Assert.Contains(snapshots, f => f!.EndsWith("_s2_i0002"));
        Assert.DoesNotContain(snapshots, f => f!.EndsWith("_s2_i0004"));   // the result itself
    }

    [Fact]
    public void EveryControlRunsFromTheCli()
    {
        string common = $"--content {images.Content} --image-size 32 --iterations 2 --init random {ShortNetwork.Conv2Arguments}";
        var commands = new[]
        {
            $"--style {images.Stripes} --color-control luminance",
            $"--style {images.Stripes} --color-control histogram --histogram-mode chol",
            $"--style {images.Stripes} --style {images.Dots} --content-mask {Left} --content-mask {Right} --style-mask {Left} --style-mask {Right}",
            $"--fine-style {images.Dots} --coarse-style {images.Stripes} --style-split conv2_1",
            $"--style {images.Stripes} --normalize-gradients --style-layer-weights auto --keep-best",
        };
        // What each command line must have set: the option reaches the run, not only the parser's exit code.
        var expected = new Func<StyleTransferOptions, bool>[]
        {
            o => o.ColorControl == ColorControl.Luminance,
            o => o.ColorControl == ColorControl.Histogram && o.HistogramMode == HistogramMode.Cholesky,
            o => o.ContentMasks is { Count: 2 } && o.StyleMasks is { Count: 2 } && o.AllStylePaths.Count == 2,
            o => o.ScaleControl && o.StyleSplitLayer == "conv2_1",
            o => o.NormalizeGradients && o.AutoStyleLayerWeights && o.KeepBest,
        };
        for (int i = 0; i < commands.Length; i++)
        {
            string output = images.Output($"cli_control_{i}.png");
            var args = $"{common} {commands[i]} --output {output}".Split(' ', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(expected[i](IlgpuStyle.Cli.Cli.ParseTransfer(args).Options), $"`{commands[i]}` did not set its control");
            var (code, stdout, stderr) = CliRunner.Run(args);
            Assert.True(code == 0, $"`{commands[i]}` exited {code}\n{stderr}\n{stdout}");
            Assert.True(File.Exists(output), commands[i]);
        }
        // Luminance-only transfer keeps the content's colours: the result's chroma (YIQ's I and Q) is the content's at its size,
        // but for the few pixels the recombination pushed out of gamut (clamped); a run without it (scale control) does not.
        double Chroma(string path)
        {
            var result = RgbImage.Load(path);
            var content = RgbImage.Load(images.Content).Resize(result.Width, result.Height);
            double mean = 0;
            for (int p = 0; p < result.Width * result.Height; p++)
            {
                var a = ColorSpace.ToYiq(result.Data[3 * p], result.Data[3 * p + 1], result.Data[3 * p + 2]);
                var b = ColorSpace.ToYiq(content.Data[3 * p], content.Data[3 * p + 1], content.Data[3 * p + 2]);
                mean += Math.Max(Math.Abs(a.I - b.I), Math.Abs(a.Q - b.Q)) / (result.Width * result.Height);
            }
            return mean;
        }
        double kept = Chroma(images.Output("cli_control_0.png")), free = Chroma(images.Output("cli_control_3.png"));
        Assert.True(kept <= 1 && free > 4 * kept, $"--color-control luminance: chroma {kept:F2} levels from the content's on average (without it: {free:F2})");
    }
}
