using IlgpuStyle.Devices;
using IlgpuStyle.Kernels;
using IlgpuStyle.Profiling;

namespace IlgpuStyle.Tests.Kernels;

/// <summary>
/// Winograd F(2×2) and F(4×4) (kernels/Conv2dWinograd.cs), every tile and product block: forward (bias, ReLU) and input
/// gradient (through the ReLU mask) against the float64 reference on odd shapes, outputs poisoned, every accelerator; the
/// error on every VGG19 layer shape at 256² and at 37×23, printed per layer and bounded by Tolerance.WinogradF2x2 and WinogradF4x4.
/// (Its input gradient is also checked against central differences by gradcheck, GradCheckTests.)
/// </summary>
[Collection(DeviceTests.Collection)]
public class Conv2dWinogradTests(ITestOutputHelper output)
{
    // Odd and non-square; fewer tiles than one block of 8 and more; rows not a multiple of 2 or 4; channels off 16 and 32;
    // a batch of 2 (tiles of two images in one block); a 1×1 image.
    static readonly Conv2dGeometry[] Geometries =
    {
        new(2, 3, 7, 5, 5, 3, 3, 1, 1),
        new(1, 1, 1, 1, 3, 3, 3, 1, 1),
        new(1, 20, 13, 11, 70, 3, 3, 1, 1),
        new(2, 6, 3, 37, 19, 3, 3, 1, 1),
        new(1, 40, 9, 19, 33, 3, 3, 1, 1),
    };

    static Shape4 In(Conv2dGeometry g) => new(g.N, g.InC, g.InH, g.InW);
    static Shape4 Weights(Conv2dGeometry g) => new(g.OutC, g.InC, 3, 3);
    static Shape4 Out(Conv2dGeometry g) => new(g.N, g.OutC, g.OutH, g.OutW);

    public static TheoryData<AcceleratorCase, WinogradTile> Tiles()
    {
        var data = new TheoryData<AcceleratorCase, WinogradTile>();
        foreach (var a in Accelerators.Kinds)
            foreach (var t in Enum.GetValues<WinogradTile>())
                data.Add(a, t);
        return data;
    }

    [Theory, MemberData(nameof(Tiles))]
    public void MatchesTheReference(AcceleratorCase accelerator, WinogradTile tile)
    {
        var d = Accelerators.Get(accelerator);
        var r = new Rand();
        d.WinogradTileOverride = tile;
        bool policy = d.WinogradTransformRuns;
        try
        {
            foreach (var g in Geometries)
            foreach (bool frozen in new[] { false, true })
            foreach (bool runs in tile.OutputTile() == 4 ? new[] { false, true } : new[] { false })   // F(4×4)'s two forms of transform
            {
                d.WinogradTransformRuns = runs;
                string where = $"{accelerator} {tile.LabName()} x({g.N},{g.InC},{g.InH},{g.InW}) w({g.OutC},{g.InC},3,3) frozen={frozen} runs={runs} {r}";
                double[] x = r.Floats(In(g).Length), w = r.Floats(Weights(g).Length), b = r.Floats(g.OutC);
                using var tx = d.Upload(In(g), x); using var tw = d.Upload(Weights(g), w); using var tb = d.Upload(Shape4.Vector(g.OutC), b);
                if (frozen) tw.Freeze();   // the transformed filters are then kept, per pass and tile
                using var ty = d.Poisoned(Out(g));
                Op.Conv2dForward(tx, tw, tb, ty, 1, 1, true, KernelVariant.Winograd);
                Compare.RelativeL2("Winograd forward", Reference.Conv2dForward(g, x, w, b, true), ty.ToArray(), Tolerance.Winograd(tile), where);

                double[] gy = r.Floats(Out(g).Length), y = r.Floats(Out(g).Length), initial = r.Floats(In(g).Length);
                for (int i = 0; i < y.Length; i += 7) y[i] = 0;   // a ReLU output of exactly 0 passes no gradient
                double[] masked = gy.Select((v, i) => y[i] > 0 ? v : 0).ToArray();
                using var tgy = d.Upload(Out(g), gy); using var trelu = d.Upload(Out(g), y);
                using var tgx = d.Upload(In(g), initial);   // the input gradient accumulates
                Op.Conv2dBackwardInput(tw, tgy, tgx, 1, 1, KernelVariant.Winograd, reluOutput: trelu);
                Compare.RelativeL2("Winograd input gradient through ReLU", initial.Plus(Reference.Conv2dBackwardInput(g, w, masked)), tgx.ToArray(),
                    Tolerance.Winograd(tile), where, scale: initial);
            }
        }
        finally { d.WinogradTileOverride = null; d.WinogradTransformRuns = policy; }
    }

    /// <summary>The two product blocks of one F sum each output in the same order, and F(4×4)'s transforms do the same
    /// arithmetic one tile per thread or in runs: the same bits.</summary>
    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void ProductBlocksAndTransformFormsGiveTheSameBits(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        var r = new Rand();
        var g = new Conv2dGeometry(2, 40, 9, 19, 70, 3, 3, 1, 1);
        using var x = d.Upload(In(g), r.Floats(In(g).Length)); using var w = d.Upload(Weights(g), r.Floats(Weights(g).Length));
        using var b = d.Upload(Shape4.Vector(g.OutC), r.Floats(g.OutC));
        using var dy = d.Upload(Out(g), r.Floats(Out(g).Length)); using var relu = d.Upload(Out(g), r.Floats(Out(g).Length));
        bool policy = d.WinogradTransformRuns;
        foreach (var group in Enum.GetValues<WinogradTile>().GroupBy(t => t.OutputTile()))
        {
            float[]? first = null, firstDx = null;
            foreach (var tile in group)
            foreach (bool runs in new[] { false, true })
            {
                d.WinogradTileOverride = tile;
                d.WinogradTransformRuns = runs;
                try
                {
                    using var y = d.Poisoned(Out(g));
                    Op.Conv2dForward(x, w, b, y, 1, 1, true, KernelVariant.Winograd);
                    using var dx = d.Upload(In(g), new double[In(g).Length]);
                    Op.Conv2dBackwardInput(w, dy, dx, 1, 1, KernelVariant.Winograd, reluOutput: relu);
                    float[] got = y.ToArray(), gotDx = dx.ToArray();
                    first ??= got; firstDx ??= gotDx;
                    Assert.True(first.SequenceEqual(got), $"{accelerator} {tile.LabName()} runs={runs}: forward differs from {group.First().LabName()} ({r})");
                    Assert.True(firstDx.SequenceEqual(gotDx), $"{accelerator} {tile.LabName()} runs={runs}: input gradient differs ({r})");
                }
                finally { d.WinogradTileOverride = null; d.WinogradTransformRuns = policy; }
            }
        }
    }

    [Fact]
    public void OtherShapesAreRefused()
    {
        var d = Accelerators.Get(new AcceleratorCase(DeviceKind.Cpu));
        foreach (var g in new[] { new Conv2dGeometry(1, 2, 6, 6, 3, 3, 3, 2, 1), new Conv2dGeometry(1, 2, 6, 6, 3, 3, 3, 1, 0), new Conv2dGeometry(1, 2, 6, 6, 3, 5, 5, 1, 1) })
        {
            using var x = new Tensor(d, In(g), "x"); using var w = new Tensor(d, new Shape4(g.OutC, g.InC, g.KH, g.KW), "w");
            using var b = new Tensor(d, Shape4.Vector(g.OutC), "b"); using var y = new Tensor(d, Out(g), "y");
            var e = Assert.Throws<ArgumentException>(() => Op.Conv2dForward(x, w, b, y, g.Stride, g.Pad, true, KernelVariant.Winograd));
            Assert.Contains("the Winograd variant has no kernel", e.Message);
            Assert.Contains("3×3, stride 1, padding 1", e.Message);
        }
    }

    /// <summary>
    /// Every VGG19 layer shape (conv1_1 … conv5_1, the first convolution of each block and conv1_2, at 256² and at 37×23):
    /// relative L2 error of sampled outputs against float64, forward and input gradient, printed per layer, within the
    /// tolerance table. At 256² on OpenCL devices only (the ILGPU CPU accelerator would take minutes); 37×23 everywhere.
    /// </summary>
    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void EveryVgg19LayerIsWithinTheTolerance(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        var sizes = new List<(int H, int W)> { (37, 23) };
        if (accelerator.Kind != DeviceKind.Cpu) sizes.Add((256, 256));
        // Both F on OpenCL; F(4×4), the one the tuner runs, on the ILGPU CPU accelerator (F(2×2) doubles its time there).
        var only = Enum.GetValues<WinogradTile>().Where(t => t.ChannelBlock() == 16 && (accelerator.Kind != DeviceKind.Cpu || t.OutputTile() == 4))
            .Select(t => t.LabName()).ToList();
        output.WriteLine($"{accelerator}: relative L2 error against float64 ({KernelLab.Samples} sampled outputs), bound: F(2×2) {Tolerance.WinogradF2x2:G1}, F(4×4) {Tolerance.WinogradF4x4:G1}");
        foreach (var (h, w) in sizes)
        foreach (var layer in new[] { "conv1_1", "conv1_2", "conv2_1", "conv3_1", "conv4_1", "conv5_1" })
        foreach (var op in new[] { LabOp.Conv, LabOp.ConvInput })
        {
            var square = KernelLab.LayerGeometry(layer, 256);
            int shift = IlgpuStyle.Model.Vgg19Layers.PoolingsThrough(IlgpuStyle.Model.Vgg19Layers.Canonical(layer));
            var g = new Conv2dGeometry(1, square.InC, Math.Max(1, h >> shift), Math.Max(1, w >> shift), square.OutC, 3, 3, 1, 1);
            var rows = KernelLab.Run(d, op, g, repeats: 1, peakGflops: 0, seed: new Rand().Seed, only: only, kernelTimes: false);
            foreach (var row in rows)
            {
                var tile = Enum.GetValues<WinogradTile>().First(t => t.LabName() == row.Variant);
                output.WriteLine($"  {layer} {g.InH}x{g.InW} {op,-9} {row.Variant}: {row.RelativeError:E2} (max |err| {row.MaxAbsError:E2})");
                Assert.True(row.Checked > 0 && row.RelativeError <= Tolerance.Winograd(tile),
                    $"{accelerator} {layer} {g.InH}x{g.InW} {op} {row.Variant}: relative error {row.RelativeError:E2} above {Tolerance.Winograd(tile):E1} ({row.Failure})");
            }
        }
    }

    /// <summary>
    /// A whole iteration (VGG19 to conv5_1, content and style losses, backward to the image) with every convolution Winograd
    /// F(4×4) against the same with every convolution Direct, same image and weights: content and style losses within
    /// <see cref="Tolerance.WinogradIterationLoss"/>, the image gradient within <see cref="Tolerance.WinogradIterationGradient"/>.
    /// </summary>
    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void WholeIterationMatchesTheDirectKernels(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        var r = new Rand();
        var (h, w) = accelerator.Kind == DeviceKind.Cpu ? (16, 16) : (37, 29);
        var o = new IlgpuStyle.Transfer.StyleTransferOptions { ContentPath = "", StylePaths = Array.Empty<string>(), TvWeight = 0 };
        double[] image = r.Floats(3 * h * w, 100), content = r.Floats(3 * h * w, 100), style = r.Floats(3 * 32 * 32, 100);
        var results = new List<(double Content, double Style, float[] Gradient)>();
        using var vgg = new IlgpuStyle.Model.Network(d, IlgpuStyle.Model.NetworkWeights.Random(r.Seed), IlgpuStyle.Model.Pooling.Average, "conv5_1");
        using var x = d.Upload(new Shape4(1, 3, h, w), image, "x");
        using var c = d.Upload(new Shape4(1, 3, h, w), content, "content");
        using var s = d.Upload(new Shape4(1, 3, 32, 32), style, "style");
        foreach (var variant in new[] { KernelVariant.Direct, KernelVariant.Winograd })
        {
            vgg.ConvVariant = variant;
            using var objective = new IlgpuStyle.Transfer.StyleObjective(vgg, x, c, new[] { (s, 1.0) }, o);
            objective.Evaluate();
            results.Add((objective.Last.Content, objective.Last.Style, objective.Gradient.ToArray()));
        }
        string where = $"{accelerator} {h}x{w} Winograd F(4x4) vs Direct {r}";
        output.WriteLine($"{where}: content {results[0].Content:G9} / {results[1].Content:G9}, style {results[0].Style:G9} / {results[1].Style:G9}");
        Compare.Scalar("content loss", results[0].Content, results[1].Content, Tolerance.WinogradIterationLoss, where);
        Compare.Scalar("style loss", results[0].Style, results[1].Style, Tolerance.WinogradIterationLoss, where);
        Compare.RelativeL2("image gradient", results[0].Gradient.Select(v => (double)v).ToArray(), results[1].Gradient,
            Tolerance.WinogradIterationGradient, where);
    }
}
