using IlgpuStyle.Autodiff;
using IlgpuStyle.Kernels;

namespace IlgpuStyle.Tests.Kernels;

/// <summary>kernels/Guidance.cs: the guidance mask and the gradient normalization, on every accelerator.</summary>
[Collection(DeviceTests.Collection)]
public class GuidanceTests
{
    static readonly Shape4[] Shapes = { new(1, 3, 7, 5), new(2, 17, 9, 6), new(1, 64, 16, 16), new(1, 1, 1, 1) };

    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void MaskForwardAndBackwardMatchTheReference(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        var r = new Rand();
        foreach (var s in Shapes)
        {
            int m = s.H * s.W;
            string where = $"{accelerator} {s} {r}";
            var maskShape = new Shape4(s.N, 1, s.H, s.W);
            double[] x = r.Floats(s.Length), t = r.Floats(s.N * m).Select(Math.Abs).ToArray(), dy = r.Floats(s.Length), start = r.Floats(s.Length);
            using var tx = d.Upload(s, x);
            using var tt = d.Upload(maskShape, t);
            using var ty = d.Poisoned(s);
            Op.MaskForward(tx, tt, ty);
            Compare.RelativeL2("MaskForward", Reference.MaskForward(s.N, s.C, m, x, t), ty.ToArray(), Tolerance.Kernel, where);

            using var tdy = d.Upload(s, dy);
            using var tdx = d.Upload(s, start);   // the backward accumulates: start from a random gradient
            Op.MaskBackward(tdy, tt, tdx);
            Compare.RelativeL2("MaskBackward", start.Plus(Reference.MaskBackward(s.N, s.C, m, dy, t)), tdx.ToArray(), Tolerance.Kernel, where);
        }
    }

    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void NormalizedGradientMatchesTheReference(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        var r = new Rand();
        foreach (var s in Shapes)
        {
            string where = $"{accelerator} {s} {r}";
            double[] dy = r.Floats(s.Length, 1000), start = r.Floats(s.Length, 1e-3);
            using var tdy = d.Upload(s, dy);
            using var tdx = d.Upload(s, start);
            Op.NormalizedGradientAccumulate(tdy, tdx, 2.5f);
            Compare.RelativeL2("NormalizedGradientAccumulate", start.Plus(Reference.NormalizeGradient(dy, 2.5, Op.NormalizationEpsilon)),
                tdx.ToArray(), Tolerance.LongSum, where);
        }
    }

    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void NormalizeNodesGiveEachLossUnitL1NormWhereApplied(AcceleratorCase accelerator)
    {
        // Two leaves, each behind its own normalize node, one feeding a content loss and one a Gram + style loss:
        // whatever the losses' sizes and weights, each leaf's gradient has L1 norm = the node's scale (1 here)
        // and the direction of the loss's own gradient.
        var d = Accelerators.Get(accelerator);
        var r = new Rand();
        var s = new Shape4(1, 8, 6, 5);
        int m = s.H * s.W;
        double[] a = r.Floats(s.Length, 3), b = r.Floats(s.Length, 3), p = r.Floats(s.Length, 3), target = r.Floats(s.C * s.C);
        using var ta = d.Upload(s, a, "a"); using var tb = d.Upload(s, b, "b");
        using var tp = d.Upload(s, p, "P"); using var tA = d.Upload(new Shape4(1, 1, s.C, s.C), target, "A");
        using var ya = new Tensor(d, s, "a_n"); using var yb = new Tensor(d, s, "b_n");
        using var gram = new Tensor(d, new Shape4(1, 1, s.C, s.C), "G");
        using var tape = new Tape();
        tape.RequireGradient(ta); tape.RequireGradient(tb);
        tape.NormalizeGradient("content", ta, ya, 1f);
        tape.ContentLoss("content", ya, tp, 750f, 0);
        tape.NormalizeGradient("style", tb, yb, 1f);
        float scale = 1f / (s.C * m);
        tape.Gram("style", yb, gram, scale);
        tape.StyleLoss("style", gram, tA, 3e4f, 0.25f, 1);
        tape.Backward();

        string where = $"{accelerator} {r}";
        Compare.Scalar("content L1 norm", 1.0, Op.NormL1(tape.Gradient(ta)), Tolerance.LongSum, where);
        Compare.Scalar("style L1 norm", 1.0, Op.NormL1(tape.Gradient(tb)), Tolerance.LongSum, where);
        var content = Reference.ContentLossBackward(a, p, 750);
        Compare.RelativeL2("content direction", Reference.NormalizeGradient(content, 1, 0), tape.Gradient(ta).ToArray(), Tolerance.LongSum, where);
        var g = Reference.GramForward(1, s.C, m, scale, b);
        var style = Reference.GramBackward(1, s.C, m, scale, b, Reference.StyleLossBackward(g, target, 3e4, 0.25));
        Compare.RelativeL2("style direction", Reference.NormalizeGradient(style, 1, 0), tape.Gradient(tb).ToArray(), Tolerance.LongSum, where);
    }
}
