using IlgpuStyle.Devices;
using IlgpuStyle.Kernels;
using IlgpuStyle.Ops;
using IlgpuStyle.Tensors;

namespace IlgpuStyle.Diagnostics;

/// <summary>
/// One gradient check: an input x, a scalar function of it in float64 (the op's reference forward
/// contracted with a fixed random R, so dL/d(output) = R), the float64 reference backward, and the
/// device backward under test.
/// </summary>
public sealed record GradCheckCase(
    string Op, string Variant, double[] X,
    Func<double[], double> Loss, Func<double[]> ReferenceGradient, Func<ComputeDevice, float[]> DeviceGradient);

public sealed record GradCheckResult(string Op, string Variant, double ErrorVsReference, double ErrorVsCentralDifferences, bool Passed);

/// <summary>
/// `ilgpustyle gradcheck`: for each op, the device's backward kernel against the float64 reference
/// backward (relative L2 over every element) and against central differences of the float64 forward
/// (at up to 24 sampled elements).
/// </summary>
public static class GradCheck
{
    public const double Tolerance = 1e-4;

    public static GradCheckResult Check(ComputeDevice device, GradCheckCase c, int seed = 0)
    {
        var device32 = c.DeviceGradient(device);
        var reference = c.ReferenceGradient();
        var rng = new Random(seed);
        var indices = Enumerable.Range(0, Math.Min(24, c.X.Length)).Select(_ => rng.Next(c.X.Length)).Distinct().ToList();
        var numeric = Reference.NumericalGradient(c.Loss, c.X, indices, 1e-4);
        double vsReference = RelativeL2(reference, device32.Select(v => (double)v).ToArray());
        double vsNumeric = RelativeL2(numeric, indices.Select(i => (double)device32[i]).ToArray());
        bool finite = device32.All(float.IsFinite);
        return new GradCheckResult(c.Op, c.Variant, vsReference, vsNumeric, finite && vsReference <= Tolerance && vsNumeric <= Tolerance);
    }

    static double RelativeL2(IReadOnlyList<double> expected, IReadOnlyList<double> got)
    {
        double num = 0, den = 0;
        for (int i = 0; i < expected.Count; i++) { double d = got[i] - expected[i]; num += d * d; den += expected[i] * expected[i]; }
        return den == 0 ? Math.Sqrt(num) : Math.Sqrt(num / den);
    }

    /// <summary>Every op's backward, every variant, on small odd shapes with seeded random data.</summary>
    public static List<GradCheckCase> StandardCases(int seed = 0)
    {
        var rng = new Random(seed);
        double[] Random(long n) => Enumerable.Range(0, (int)n).Select(_ => (double)(float)(rng.NextDouble() * 2 - 1)).ToArray();
        double Contract(double[] y, double[] r) => y.Select((v, i) => v * r[i]).Sum();
        var cases = new List<GradCheckCase>();

        // Convolution: x (2, 3, 7, 5), w (4, 3, 3, 3), stride 1, pad 1; and a stride-2 one.
        foreach (var (g, tag) in new[] { (new Conv2dGeometry(2, 3, 7, 5, 4, 3, 3, 1, 1), "s1"), (new Conv2dGeometry(1, 3, 9, 6, 5, 3, 3, 2, 1), "s2") })
        {
            var xs = new Shape4(g.N, g.InC, g.InH, g.InW); var ws = new Shape4(g.OutC, g.InC, g.KH, g.KW); var ys = new Shape4(g.N, g.OutC, g.OutH, g.OutW);
            double[] x = Random(xs.Length), w = Random(ws.Length), b = Random(g.OutC), r = Random(ys.Length);
            foreach (var v in Enum.GetValues<KernelVariant>())
            {
                if (!Op.ConvSupports(v, g)) continue;   // Direct and Rows need stride 1, Winograd also 3×3 with padding 1
                cases.Add(new($"conv2d dx ({tag})", v.ToString(), x, xv => Contract(Reference.Conv2dForward(g, xv, w, b, false), r),
                    () => Reference.Conv2dBackwardInput(g, w, r),
                    d => WithTensors(d, ws, w, ys, r, xs, null, t => Op.Conv2dBackwardInput(t[0], t[1], t[2], g.Stride, g.Pad, v))));
                if (Op.ConvWeightsGradientVariants.Contains(v))
                    cases.Add(new($"conv2d dw ({tag})", v.ToString(), w, wv => Contract(Reference.Conv2dForward(g, x, wv, b, false), r),
                        () => Reference.Conv2dBackwardWeights(g, x, r),
                        d => WithTensors(d, xs, x, ys, r, ws, null, t => Op.Conv2dBackwardWeights(t[0], t[1], t[2], g.Stride, g.Pad, v))));
            }
            cases.Add(new($"conv2d db ({tag})", "-", b, bv => Contract(Reference.Conv2dForward(g, x, w, bv, false), r),
                () => Reference.Conv2dBackwardBias(g, r),
                d => WithTensors(d, ys, r, Shape4.Vector(g.OutC), null, t => Op.Conv2dBackwardBias(t[0], t[1]))));
        }

        // Stride-2 convolutions as ResNet18 has them, on the device's default path (PoCL: the stride-1 kernels with the
        // output gradient spread onto their grid, and for the 3-channel stem the gather by phase; elsewhere its GEMM).
        foreach (var (g, tag) in new[] { (new Conv2dGeometry(1, 3, 11, 9, 8, 7, 7, 2, 3), "7×7 s2, 3 channels"), (new Conv2dGeometry(1, 6, 9, 7, 5, 3, 3, 2, 1), "3×3 s2"),
                     (new Conv2dGeometry(1, 6, 9, 7, 5, 1, 1, 2, 0), "1×1 s2") })
        {
            var xs = new Shape4(g.N, g.InC, g.InH, g.InW); var ws = new Shape4(g.OutC, g.InC, g.KH, g.KW); var ys = new Shape4(g.N, g.OutC, g.OutH, g.OutW);
            double[] x = Random(xs.Length), w = Random(ws.Length), b = Random(g.OutC), r = Random(ys.Length);
            cases.Add(new($"conv2d dx ({tag})", "default", x, xv => Contract(Reference.Conv2dForward(g, xv, w, b, false), r),
                () => Reference.Conv2dBackwardInput(g, w, r),
                d => WithTensors(d, ws, w, ys, r, xs, null, t => Op.Conv2dBackwardInput(t[0], t[1], t[2], g.Stride, g.Pad))));
        }

        // ReLU and pooling on (2, 3, 7, 5), values kept away from the kinks (0, ties).
        {
            var s = new Shape4(2, 3, 7, 5); var os = Op.PoolOutputShape(s);
            var pg = new Pool2dGeometry(s.N, s.C, s.H, s.W);
            double[] x = Random(s.Length).Select((v, i) => (v > 0 ? 0.1 : -0.1) + v + i * 1e-3).ToArray();
            double[] r = Random(s.Length), ro = Random(os.Length);
            var y = Reference.ReluForward(x);
            cases.Add(new("relu", "-", x, xv => Contract(Reference.ReluForward(xv), r), () => Reference.ReluBackward(y, r),
                d => WithTensors(d, s, y, s, r, s, null, t => Op.ReluBackward(t[0], t[1], t[2]))));
            cases.Add(new("maxpool2d", "-", x, xv => Contract(Reference.MaxPool2dForward(pg, xv), ro), () => Reference.MaxPool2dBackward(pg, x, ro),
                d => WithTensors(d, s, x, os, ro, s, null, t => Op.MaxPool2dBackward(t[0], t[1], t[2]))));
            cases.Add(new("avgpool2d", "-", x, xv => Contract(Reference.AvgPool2dForward(pg, xv), ro), () => Reference.AvgPool2dBackward(pg, ro),
                d => WithTensors(d, os, ro, s, null, t => Op.AvgPool2dBackward(t[0], t[1]))));
            // ResNet18's stem pool: 3×3 windows, stride 2, padding 1; they overlap, so an input can collect several outputs' gradients.
            var wg = Op.PoolWindow(s, 3, 2, 1);
            var ws = Op.PoolWindowOutputShape(s, 3, 2, 1);
            double[] rw = Random(ws.Length);
            cases.Add(new("maxpool2d 3×3/2", "-", x, xv => Contract(Reference.MaxPoolWindowForward(wg, xv), rw), () => Reference.MaxPoolWindowBackward(wg, x, rw),
                d => WithTensors(d, s, x, ws, rw, s, null, t => Op.MaxPoolWindowBackward(t[0], t[1], t[2], 3, 2, 1))));
            // The residual add with its ReLU: y = max(0, a + b); both inputs receive dy·[y > 0] (the kernel writes both in
            // one pass; the case reads b's buffer, which must equal dL/da).
            double[] b = Random(s.Length).Select((v, i) => v + (x[i] + v > 0 ? 0.1 : -0.1)).ToArray();
            var sum = Reference.AddReluForward(x, b);
            cases.Add(new("add+relu", "-", x, xv => Contract(Reference.AddReluForward(xv, b), r), () => Reference.AddReluBackward(sum, r),
                d => WithTensors(d, new[] { (s, (double[]?)sum), (s, r), (s, null), (s, null) }, t => Op.AddReluBackward(t[0], t[1], t[2], t[3]))));
        }

        // Gram matrix and the losses on features (1, 6, 5, 3).
        {
            var s = new Shape4(1, 6, 5, 3); int c = s.C, m = s.H * s.W; double scale = 1.0 / (c * m);
            var gs = Op.GramShape(s);
            double[] f = Random(s.Length), p = Random(s.Length), rg = Random(gs.Length), a = Random(gs.Length);
            foreach (var v in new[] { KernelVariant.Naive, KernelVariant.Blocked, KernelVariant.Tiled, KernelVariant.Rows })
                cases.Add(new("gram", v.ToString(), f, fv => Contract(Reference.GramForward(1, c, m, scale, fv), rg),
                    () => Reference.GramBackward(1, c, m, scale, f, rg),
                    d => WithTensors(d, s, f, gs, rg, s, null, t => Op.GramBackward(t[0], t[1], t[2], (float)scale, v))));
            cases.Add(new("content_loss", "-", f, fv => Reference.ContentLoss(fv, p, 0.7), () => Reference.ContentLossBackward(f, p, 0.7),
                d => WithTensors(d, s, f, s, p, s, null, t => Op.SquaredDifferenceBackward(t[0], t[1], 0.7f, t[2]))));
            var gram = Reference.GramForward(1, c, m, scale, f);
            cases.Add(new("style_loss", "-", gram, gv => Reference.StyleLoss(gv, a, 0.7, 0.25), () => Reference.StyleLossBackward(gram, a, 0.7, 0.25),
                d => WithTensors(d, gs, gram, gs, a, gs, null, t => Op.SquaredDifferenceBackward(t[0], t[1], 2 * 0.7f * 0.25f, t[2]))));
            cases.Add(new("tv_loss", "-", f, fv => Reference.TotalVariation(fv, s.H, s.W, 0.7), () => Reference.TotalVariationBackward(f, s.H, s.W, 0.7),
                d => WithTensors(d, s, f, s, null, t => Op.TotalVariationBackward(t[0], 0.7f, t[1]))));
        }

        // The guidance mask of spatial control on (2, 3, 7, 5), the mask one value per pixel.
        {
            var s = new Shape4(2, 3, 7, 5); var ms = new Shape4(2, 1, 7, 5); int m = s.H * s.W;
            double[] x = Random(s.Length), mask = Random(ms.Length).Select(Math.Abs).ToArray(), r = Random(s.Length);
            cases.Add(new("mask", "-", x, xv => Contract(Reference.MaskForward(s.N, s.C, m, xv, mask), r), () => Reference.MaskBackward(s.N, s.C, m, r, mask),
                d => WithTensors(d, s, r, ms, mask, s, null, t => Op.MaskBackward(t[0], t[1], t[2]))));
        }
        // Normalized gradients (neural-style's -normalize_gradients): given dL/dy = R, the node adds w·R/(Σ|R| + ε) to dx,
        // which is the gradient of x ↦ w·⟨x, R⟩/(Σ|R| + ε).
        {
            var s = new Shape4(2, 3, 7, 5);
            double[] x = Random(s.Length), r = Random(s.Length);
            const double w = 0.7;
            double k = w / (r.Sum(Math.Abs) + Op.NormalizationEpsilon);
            cases.Add(new("normalize_gradient", "-", x, xv => k * Contract(xv, r), () => Reference.NormalizeGradient(r, w, Op.NormalizationEpsilon),
                d => WithTensors(d, s, r, s, null, t => Op.NormalizedGradientAccumulate(t[0], t[1], (float)w))));
        }
        return cases;
    }

    /// <summary>Uploads the inputs (null data: a zeroed gradient buffer), runs `run`, returns the last tensor's contents.</summary>
    public static float[] WithTensors(ComputeDevice d, Shape4 s1, double[]? d1, Shape4 s2, double[]? d2, Action<Tensor[]> run) =>
        WithTensors(d, new[] { (s1, d1), (s2, d2) }, run);

    public static float[] WithTensors(ComputeDevice d, Shape4 s1, double[]? d1, Shape4 s2, double[]? d2, Shape4 s3, double[]? d3, Action<Tensor[]> run) =>
        WithTensors(d, new[] { (s1, d1), (s2, d2), (s3, d3) }, run);

    static float[] WithTensors(ComputeDevice d, (Shape4 Shape, double[]? Data)[] specs, Action<Tensor[]> run)
    {
        var tensors = new List<Tensor>();
        try
        {
            foreach (var (shape, data) in specs)
            {
                var t = new Tensor(d, shape, $"t{tensors.Count}");
                if (data is null) Op.Fill(t, 0f); else t.CopyFrom(data.Select(v => (float)v).ToArray());
                tensors.Add(t);
            }
            run(tensors.ToArray());
            return tensors[^1].ToArray();
        }
        finally { foreach (var t in tensors) t.Dispose(); }
    }
}
