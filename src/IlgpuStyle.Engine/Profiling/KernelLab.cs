using System.Diagnostics;
using IlgpuStyle.Devices;
using IlgpuStyle.Kernels;
using IlgpuStyle.Model;
using IlgpuStyle.Ops;
using IlgpuStyle.Tensors;

namespace IlgpuStyle.Profiling;

/// <summary>The ops the lab measures: a 3×3 convolution's forward (bias and ReLU fused) and its input gradient.</summary>
public enum LabOp { Conv, ConvInput }

/// <summary>One variant as the lab found it: checked against float64 first, then timed (a failed one is not timed).</summary>
public sealed record LabRow(string Variant, bool Valid, double MaxAbsError, double RelativeError, int Checked, string? Failure)
{
    public double? MedianMs { get; init; }
    public double? MinMs { get; init; }
    /// <summary>Multiply-adds the kernel really executes ×2 (with its padding of channels and pixels) per second.</summary>
    public double? ExecutedGflops { get; init; }
    /// <summary>The convolution's own FLOPs (2·N·Co·Ho·Wo·Ci·9) per second: comparable across variants and libraries.</summary>
    public double? EffectiveGflops { get; init; }
    public double? FractionOfPeak { get; init; }
    /// <summary>The kernels one launch of the variant runs, with their ms (one profiled launch, each kernel synchronized):
    /// where a variant of several kernels (Winograd's transforms and product, Direct's pad) spends its time.</summary>
    public IReadOnlyList<(string Kernel, double Ms)>? Kernels { get; init; }
}

/// <summary>One shape of <see cref="KernelLab.CarryOver"/>: the fastest candidate timed at it, and the kernel the other sizes'
/// timings carry over (none where no shape is near enough; `From`: the nearest of them), with that kernel's time here and its
/// ratio to the fastest.</summary>
public sealed record CarryRow(string Size, string Layer, string Pass, string Key, string Fastest, double FastestMs,
    string? Carried, string? From, double? CarriedMs, double? Ratio)
{
    /// <summary>The convolutions of the network at this size that run this shape (VGG19's conv3_2 … conv3_4 share one).</summary>
    public int Uses { get; init; } = 1;

    /// <summary>Per size: the carried-over kernels' time over the fastest's, summed over the shapes that carry over, each
    /// counted as often as the network runs it: what carrying over costs one iteration's 3×3 convolutions.</summary>
    public static IReadOnlyList<(string Size, double Ratio)> Totals(IEnumerable<CarryRow> rows) => rows.Where(r => r.CarriedMs is not null)
        .GroupBy(r => r.Size).Select(g => (g.Key, g.Sum(r => r.Uses * r.CarriedMs!.Value) / g.Sum(r => r.Uses * r.FastestMs))).ToList();
}

/// <summary>
/// The kernel lab behind `ilgpustyle kernels`, in the manner of llm.c's dev/cuda: one op at one layer's shape, every
/// variant and sub-variant the engine has (naive, blocked, tiled, direct 4px / 8px / 32×8, rows) run on the same seeded
/// data, each checked against a float64 computation of sampled outputs, and only then timed (median of repeats, each
/// launch synchronized).
/// </summary>
public static class KernelLab
{
    /// <summary>A variant passes when the relative L2 error of the sampled outputs is at most this (float32 sums of up to
    /// 4,608 products stay near 1e-6; a wrong index is off by order 1).</summary>
    public const double Tolerance = 1e-4;

    /// <summary>Outputs compared with float64 per variant.</summary>
    public const int Samples = 4096;

    /// <summary>The geometry of a VGG19 layer at an image size (square image, batch 1).</summary>
    public static Conv2dGeometry LayerGeometry(string layer, int imageSize) => LayerGeometry(Vgg19Layers.Description, layer, imageSize);

    /// <summary>The geometry of a network's convolution at an image size (square image, batch 1): its kernel, stride and padding,
    /// and its input's size from the network's table.</summary>
    public static Conv2dGeometry LayerGeometry(NetworkDescription network, string layer, int imageSize) =>
        LayerGeometry(network, layer, imageSize, imageSize);

    /// <summary>The same for a width × height image.</summary>
    public static Conv2dGeometry LayerGeometry(NetworkDescription network, string layer, int width, int height)
    {
        var convolutions = network.Convolutions.ToList();
        string names = network == Vgg19Layers.Description ? "conv1_1 … conv5_4"
            : $"{convolutions[0].Name}, {convolutions[1].Name} … {convolutions[^1].Name}";
        var spec = network.Has(layer) ? network[layer] : null;
        if (spec is not { Op: LayerOp.Conv })
            throw new ArgumentException($"--layer must be a convolution of {network.Name} ({names}), got '{layer}'");
        var image = new Shape4(1, 3, height, width);
        var input = spec.Inputs[0] == NetworkDescription.Input ? image : network.Shapes(image, spec.Name)[spec.Inputs[0]];
        if (input.H < 1 || input.W < 1) throw new ArgumentException($"at {width}×{height}, {spec.Name} has no pixels left");
        return new Conv2dGeometry(1, spec.InChannels, input.H, input.W, spec.OutChannels, spec.Kernel, spec.Kernel, spec.Stride, spec.Pad);
    }

    /// <summary>Every variant with its name; the Direct ones once per tile.</summary>
    public static IReadOnlyList<ConvKernel> Variants() => ConvKernel.All;

    /// <summary>
    /// The variant the device runs for this shape, by the lab's names: on a device that autotunes its 3×3 kernels, the
    /// tuner's choice as a run would make it (<see cref="TunedKernel"/>), or where the tuner would time the shape first,
    /// the fastest of its candidates among the lab's `rows` (null without rows); else the policy's.
    /// </summary>
    public static string? DefaultFor(ComputeDevice d, Conv2dGeometry g, LabOp op = LabOp.Conv, IReadOnlyList<LabRow>? rows = null) => d.ConvVariant switch
    {
        KernelVariant.Winograd when Op.ConvSupports(KernelVariant.Winograd, g) => d.Policy.WinogradTile.LabName(),
        KernelVariant.Direct or KernelVariant.Winograd when g is { KH: 3, KW: 3 } && d.Policy.AutotuneDirectTiles && Op.ConvSupports(KernelVariant.Direct, g) =>
            TunedKernel(d, g, op)?.Name ?? FastestCandidate(d, g, rows),
        KernelVariant.Direct or KernelVariant.Winograd =>
            ConvKernel.Direct(d.Policy.TileFor(op == LabOp.Conv ? g.OutC : g.InC, op == LabOp.Conv ? g.OutW : g.InW)).Name,
        var v => v.ToString().ToLowerInvariant(),
    };

    /// <summary>What the tuner decides for this op and shape without timing (<see cref="TileTuner.Decided"/>: its cached
    /// choice, or the one its timed neighbours carry over); null where a run would time the candidates first.</summary>
    public static ConvKernel? TunedKernel(ComputeDevice d, Conv2dGeometry g, LabOp op)
    {
        if (!d.Policy.AutotuneDirectTiles) return null;
        bool winograd = Op.TunesWinograd(d, g);
        string key = Op.TunerKey(g, op == LabOp.ConvInput, winograd);
        return d.Tiles.Decided(key, Op.TunerCandidates(d, winograd));
    }

    /// <summary>The fastest valid row among the tuner's candidates: what its timing would most likely choose.</summary>
    static string? FastestCandidate(ComputeDevice d, Conv2dGeometry g, IReadOnlyList<LabRow>? rows)
    {
        var names = Op.TunerCandidates(d, Op.TunesWinograd(d, g)).Select(k => k.Name).ToHashSet();
        return rows?.Where(r => r.Valid && r.MinMs is not null && names.Contains(r.Variant)).MinBy(r => r.MinMs)?.Variant;
    }

    /// <param name="kernelTimes">Profile one more launch per variant for <see cref="LabRow.Kernels"/>.</param>
    public static IReadOnlyList<LabRow> Run(ComputeDevice d, LabOp op, Conv2dGeometry g, int repeats, double peakGflops, int seed = 1,
        IReadOnlyCollection<string>? only = null, bool kernelTimes = true, bool interleaved = false)
    {
        if (repeats < 1) throw new ArgumentException($"--repeats must be at least 1, got {repeats}");
        var random = new Random(seed);
        float[] Data(long n, double scale) { var a = new float[n]; for (long i = 0; i < n; i++) a[i] = (float)((random.NextDouble() * 2 - 1) * scale); return a; }
        var xShape = new Shape4(g.N, g.InC, g.InH, g.InW);
        var wShape = new Shape4(g.OutC, g.InC, g.KH, g.KW);
        var yShape = new Shape4(g.N, g.OutC, g.OutH, g.OutW);
        float[] x = Data(xShape.Length, 1), w = Data(wShape.Length, 1.0 / Math.Sqrt(g.FilterSize)), b = Data(g.OutC, 0.1), dy = Data(yShape.Length, 1);
        using var tx = Tensor.FromArray(d, xShape, x, "x");
        using var tw = Tensor.FromArray(d, wShape, w, "w");
        tw.Freeze();   // as VGG19's weights in a transfer: the Direct kernels' transposed filters are made once and kept
        using var tb = Tensor.FromArray(d, Shape4.Vector(g.OutC), b, "b");
        using var tdy = Tensor.FromArray(d, yShape, dy, "dy");
        using var output = new Tensor(d, op == LabOp.Conv ? yShape : xShape, "out");
        var sample = Enumerable.Range(0, Samples).Select(_ => random.NextInt64(output.Length)).Distinct().ToArray();
        double[] expected = sample.Select(i => op == LabOp.Conv ? ForwardAt(g, x, w, b, i) : InputGradientAt(g, w, dy, i)).ToArray();

        void Launch(KernelVariant v)
        {
            if (op == LabOp.Conv) Op.Conv2dForward(tx, tw, tb, output, g.Stride, g.Pad, relu: true, v);
            else
            {
                Op.Fill(output, 0f);   // the input gradient accumulates
                Op.Conv2dBackwardInput(tw, tdy, output, g.Stride, g.Pad, v);
            }
        }

        var rows = new List<LabRow>();
        var timed = new List<(int Row, Action Launch, long Flops)>();
        var (previous, previousWinograd) = (d.DirectTileOverride, d.WinogradTileOverride);
        try
        {
            foreach (var (name, variant, tile, winograd) in Variants().Where(v => only is null || only.Contains(v.Name)))
            {
                void LaunchIt()
                {
                    d.DirectTileOverride = tile;
                    d.WinogradTileOverride = winograd;
                    Launch(variant);
                }
                if (!Op.ConvSupports(variant, g)) { rows.Add(new LabRow(name, false, 0, 0, 0, "no kernel for this shape")); continue; }
                Op.Fill(output, float.NaN);   // poisoned: a kernel that skips outputs fails
                LabRow row;
                try
                {
                    LaunchIt();
                    d.Synchronize();
                    row = Check(name, expected, Gather(output, sample));
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException or ILGPU.Runtime.AcceleratorException)
                {
                    rows.Add(new LabRow(name, false, 0, 0, 0, e.Message.Split('\n')[0]));
                    continue;
                }
                rows.Add(row);
                if (row.Valid) timed.Add((rows.Count - 1, LaunchIt, ExecutedFlops(g, variant, tile, winograd, op)));
            }
            // Timed after every check: one variant after another, or in rounds over them all (a burst of load on a shared
            // machine then slows one launch of each, not every launch of one).
            var times = timed.Select(_ => new List<double>()).ToList();
            if (interleaved)
                for (int round = 0; round < repeats; round++)
                    for (int i = 0; i < timed.Count; i++)
                        times[i].Add(Timing.Repeat(d, 1, timed[i].Launch)[0]);
            else
                for (int i = 0; i < timed.Count; i++)
                    times[i].AddRange(Timing.Repeat(d, repeats, timed[i].Launch));
            for (int i = 0; i < timed.Count; i++)
                rows[timed[i].Row] = Time(rows[timed[i].Row], times[i], timed[i].Launch, d, g, peakGflops, timed[i].Flops, kernelTimes);
        }
        finally { (d.DirectTileOverride, d.WinogradTileOverride) = (previous, previousWinograd); }
        return rows;
    }

    /// <summary>
    /// The tuner's carry-over measured (`ilgpustyle kernels --carry-over`): at each image size, every 3×3 convolution the tuner
    /// decides (forward and input gradient; shapes met twice once) has all its candidates timed (checked, then the fastest
    /// launch of `repeats` rounds over them all, as the tuner counts); the fastest is the exhaustive choice. Then each shape is decided from the other sizes' timings alone
    /// (<see cref="TileTuner.Carry"/>, as a run would with only those timed), and the row says how much slower that kernel is
    /// at this shape than the fastest: 1.00 when the fastest carried over.
    /// </summary>
    public static IReadOnlyList<CarryRow> CarryOver(ComputeDevice d, NetworkDescription network, IReadOnlyList<(int Width, int Height)> sizes,
        int repeats, double peakGflops, Action<string>? progress = null)
    {
        if (!d.Policy.AutotuneDirectTiles)
            throw new ArgumentException($"{d} does not autotune its 3×3 kernels (its policy's tile is fixed): nothing carries over");
        var measured = new List<(string Size, string Layer, LabOp Op, string Key, Dictionary<string, double> Ms)>();
        var uses = new Dictionary<(string Size, string Key), int>();   // convolutions of a size that run the shape
        foreach (var (width, height) in sizes)
            foreach (var spec in network.Convolutions.Where(c => c is { Kernel: 3, Stride: 1, Pad: 1 }))
                foreach (var op in new[] { LabOp.Conv, LabOp.ConvInput })
                {
                    var g = LayerGeometry(network, spec.Name, width, height);
                    bool winograd = Op.TunesWinograd(d, g);
                    string key = Op.TunerKey(g, op == LabOp.ConvInput, winograd);
                    var use = ($"{width}×{height}", key);
                    uses[use] = uses.GetValueOrDefault(use) + 1;
                    if (measured.Any(m => m.Key == key)) continue;
                    var names = Op.TunerCandidates(d, winograd).Select(k => k.Name).ToList();
                    progress?.Invoke($"{width}×{height} {spec.Name} {(op == LabOp.Conv ? "forward" : "input gradient")}: {key}");
                    var rows = Run(d, op, g, repeats, peakGflops, only: names, kernelTimes: false, interleaved: true);
                    var failed = rows.FirstOrDefault(r => !r.Valid);
                    if (failed is not null) throw new InvalidOperationException($"{key}: {failed.Variant} failed its check: {failed.Failure}");
                    measured.Add(($"{width}×{height}", spec.Name, op, key, rows.ToDictionary(r => r.Variant, r => r.MinMs!.Value)));
                }
        var timed = measured.ToDictionary(m => m.Key, m => new TunedShape(m.Ms.MinBy(t => t.Value).Key, m.Ms));
        return measured.Select(m =>
        {
            var others = timed.Where(t => !measured.Any(o => o.Key == t.Key && o.Size == m.Size)).ToDictionary(t => t.Key, t => t.Value);
            var near = TileTuner.Carry(m.Key, others);
            string fastest = timed[m.Key].Kernel;
            double? ms = near is { } n ? m.Ms[n.Kernel.Name] : null;
            return new CarryRow(m.Size, m.Layer, m.Op == LabOp.Conv ? "forward" : "input", m.Key, fastest, m.Ms[fastest],
                near?.Kernel.Name, near?.From, ms, ms / m.Ms[fastest]) { Uses = uses[(m.Size, m.Key)] };
        }).ToList();
    }

    /// <summary>The float64 comparison of one variant's sampled outputs.</summary>
    public static LabRow Check(string name, IReadOnlyList<double> expected, IReadOnlyList<float> actual)
    {
        double maxAbs = 0, diff = 0, norm = 0;
        for (int i = 0; i < expected.Count; i++)
        {
            double e = actual[i] - expected[i];
            maxAbs = double.IsFinite(e) ? Math.Max(maxAbs, Math.Abs(e)) : double.PositiveInfinity;
            diff += e * e;
            norm += expected[i] * expected[i];
        }
        double rel = Math.Sqrt(diff / Math.Max(norm, 1e-300));
        bool valid = double.IsFinite(rel) && rel <= Tolerance;
        return new LabRow(name, valid, maxAbs, rel, expected.Count, valid ? null : $"relative error {rel:G3} above {Tolerance:G1}");
    }

    static LabRow Time(LabRow row, List<double> times, Action launch, ComputeDevice d, Conv2dGeometry g, double peakGflops, long executedFlops, bool kernelTimes)
    {
        times.Sort();
        double median = Timing.Median(times);
        List<(string, double)>? kernels = null;
        if (kernelTimes)
        {
            var observer = d.Observer;
            var profiler = KernelProfiler.Attach(d);
            try { launch(); }
            finally { d.Observer = observer; }
            kernels = profiler.Launches.GroupBy(l => l.Kernel).Select(k => (k.Key, k.Sum(l => l.DurationUs) / 1000)).ToList();
        }
        double effective = g.ForwardFlops / (median * 1e6), executed = executedFlops / (median * 1e6);
        return row with
        {
            MedianMs = median, MinMs = times[0], EffectiveGflops = effective, ExecutedGflops = executed, Kernels = kernels,
            FractionOfPeak = peakGflops > 0 ? executed / peakGflops : null,
        };
    }

    /// <summary>FLOPs the kernel executes: the Direct tiles compute whole blocks of channels and pixels (dropping the padding);
    /// Winograd its batched product's (the transforms' additions not counted); the others are counted as the convolution's own.</summary>
    public static long ExecutedFlops(Conv2dGeometry g, KernelVariant variant, DirectTile? tile, WinogradTile? winograd = null, LabOp op = LabOp.Conv)
    {
        if (variant == KernelVariant.Winograd && winograd is { } w)
            return (op == LabOp.Conv
                ? new WinogradGeometry(w.OutputTile(), g.N, g.InC, g.InH, g.InW, g.OutC, w.ChannelBlock())
                : new WinogradGeometry(w.OutputTile(), g.N, g.OutC, g.OutH, g.OutW, g.InC, w.ChannelBlock())).MultiplyFlops;
        if (variant != KernelVariant.Direct || tile is null) return g.ForwardFlops;
        int channels = tile == DirectTile.Wide32x8 ? Conv2dDirect.WideBlock : Conv2dDirect.ChannelBlock;
        int pixels = tile == DirectTile.Px4 ? 4 : 8;
        long outC = (g.OutC + channels - 1) / channels * channels, outW = (g.OutW + pixels - 1) / pixels * pixels;
        return 2L * g.N * outC * g.OutH * outW * g.FilterSize;
    }

    static float[] Gather(Tensor t, long[] indices)
    {
        var all = t.ToArray();
        return indices.Select(i => all[i]).ToArray();
    }

    /// <summary>relu(b[co] + Σ w·x) at one output element, in float64.</summary>
    static double ForwardAt(Conv2dGeometry g, float[] x, float[] w, float[] b, long index)
    {
        int ox = (int)(index % g.OutW), oy = (int)(index / g.OutW % g.OutH), co = (int)(index / g.OutPixels % g.OutC), n = (int)(index / ((long)g.OutPixels * g.OutC));
        double s = b[co];
        for (int ci = 0; ci < g.InC; ci++)
            for (int ky = 0; ky < g.KH; ky++)
                for (int kx = 0; kx < g.KW; kx++)
                {
                    int iy = oy * g.Stride - g.Pad + ky, ix = ox * g.Stride - g.Pad + kx;
                    if (iy < 0 || iy >= g.InH || ix < 0 || ix >= g.InW) continue;
                    s += (double)w[((co * g.InC + ci) * g.KH + ky) * g.KW + kx] * x[((n * g.InC + ci) * g.InH + iy) * g.InW + ix];
                }
        return Math.Max(s, 0);
    }

    /// <summary>Σ_{co,ky,kx} w·dy at one input element, in float64.</summary>
    static double InputGradientAt(Conv2dGeometry g, float[] w, float[] dy, long index)
    {
        int ix = (int)(index % g.InW), iy = (int)(index / g.InW % g.InH), ci = (int)(index / g.InPixels % g.InC), n = (int)(index / ((long)g.InPixels * g.InC));
        double s = 0;
        for (int co = 0; co < g.OutC; co++)
            for (int ky = 0; ky < g.KH; ky++)
                for (int kx = 0; kx < g.KW; kx++)
                {
                    int ty = iy + g.Pad - ky, tx = ix + g.Pad - kx;
                    if (ty < 0 || tx < 0 || ty % g.Stride != 0 || tx % g.Stride != 0) continue;
                    int oy = ty / g.Stride, ox = tx / g.Stride;
                    if (oy >= g.OutH || ox >= g.OutW) continue;
                    s += (double)w[((co * g.InC + ci) * g.KH + ky) * g.KW + kx] * dy[((n * g.OutC + co) * g.OutH + oy) * g.OutW + ox];
                }
        return s;
    }
}
