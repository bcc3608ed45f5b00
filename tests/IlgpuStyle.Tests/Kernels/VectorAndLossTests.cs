using IlgpuStyle.Kernels;
using IlgpuStyle.Ops;
using IlgpuStyle.Tensors;
using IlgpuStyle.Tests.Harness;
using Xunit;

namespace IlgpuStyle.Tests.Kernels;

[Collection(DeviceTests.Collection)]
public class ElementwiseTests
{
    static readonly int[] Lengths = { 1, 7, 1000, 100_003 };

    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void EveryOp(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        var r = new Rand();
        foreach (int n in Lengths)
        {
            var s = Shape4.Vector(n);
            double[] x = r.Floats(n), y = r.Floats(n);
            string where = $"{accelerator} n={n} {r}";
            using var tx = d.Upload(s, x); using var ty = d.Upload(s, y);

            void Check(string op, Func<double, double, double> f, Action<Tensor> run, bool startFromY = false)
            {
                using var z = startFromY ? d.Upload(s, y) : d.Poisoned(s);
                run(z);
                Compare.RelativeL2(op, x.Select((v, i) => f(v, y[i])).ToArray(), z.ToArray(), Tolerance.Kernel, where);
            }
            Check("Fill", (_, _) => 0.25, z => Op.Fill(z, 0.25f));
            Check("Copy", (a, _) => a, z => Op.Copy(z, tx));
            Check("Scale", (_, b) => (float)(b * 1.5f), z => Op.Scale(z, 1.5f), startFromY: true);
            Check("Axpy", (a, b) => b + 0.75 * a, z => Op.Axpy(z, 0.75f, tx), startFromY: true);
            Check("Axpby", (a, b) => 2 * a - 0.5 * b, z => Op.Axpby(z, 2f, tx, -0.5f, ty));
        }
    }

    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void Reductions(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        var r = new Rand();
        foreach (int n in Lengths)
        {
            double[] x = r.Floats(n), y = r.Floats(n);
            string where = $"{accelerator} n={n} {r}";
            using var tx = d.Upload(Shape4.Vector(n), x); using var ty = d.Upload(Shape4.Vector(n), y);
            // Sums of signed terms can cancel: compare against the sum of magnitudes.
            double dotScale = x.Select((v, i) => Math.Abs(v * y[i])).Sum() + 1e-30;
            Assert.True(Math.Abs(Op.Dot(tx, ty) - Reference.Dot(x, y)) / dotScale < Tolerance.LongSum, $"Dot {where}");
            Compare.Scalar("NormL1", Reference.NormL1(x), Op.NormL1(tx), Tolerance.LongSum, where);
            Compare.Scalar("NormInf", Reference.NormInf(x), Op.NormInf(tx), Tolerance.Kernel, where);
            Assert.Equal(0, Op.CountNonFinite(tx));
        }
        // A long sum of similar positive terms: no cancellation to hide behind, and every plain float32 addition rounds
        // the same way once the sum is large, so the error is the adder's own and grows with the count.
        var positive = r.Floats(300_007).Select(v => (double)(float)(0.1 + 0.001 * v)).ToArray();
        using var tpos = d.Upload(Shape4.Vector(positive.Length), positive);
        Compare.Scalar("NormL1 of 300,007 terms", Reference.NormL1(positive), Op.NormL1(tpos), Tolerance.CompensatedSum, $"{accelerator} {r}");
        var poisoned = r.Floats(1001).ToFloat();
        poisoned[3] = float.NaN; poisoned[500] = float.PositiveInfinity; poisoned[1000] = float.NegativeInfinity;
        using var tp = Tensor.FromArray(d, Shape4.Vector(poisoned.Length), poisoned);
        Assert.Equal(3, Op.CountNonFinite(tp));
    }
}

[Collection(DeviceTests.Collection)]
public class AdamTests
{
    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void StepMatchesReference(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        var r = new Rand();
        foreach (int n in new[] { 1, 5, 10_007 })
        {
            double[] x = r.Floats(n, 100), m = r.Floats(n, 0.1), v = r.Floats(n, 0.1).Select(Math.Abs).ToArray(), g = r.Floats(n);
            var s = Shape4.Vector(n);
            using var tx = d.Upload(s, x); using var tg = d.Upload(s, g); using var tm = d.Upload(s, m); using var tv = d.Upload(s, v);
            for (int step = 1; step <= 3; step++)
            {
                Op.AdamStep(tx, tg, tm, tv, 0.5f, 0.9f, 0.999f, 1e-8f, step);
                Reference.AdamStep(x, g, m, v, 0.5, 0.9, 0.999, 1e-8, step);
            }
            string where = $"{accelerator} n={n} {r}";
            Compare.RelativeL2("Adam x", x, tx.ToArray(), Tolerance.Kernel, where);
            Compare.RelativeL2("Adam m", m, tm.ToArray(), Tolerance.Kernel, where);
            Compare.RelativeL2("Adam v", v, tv.ToArray(), Tolerance.Kernel, where);
        }
    }
}

[Collection(DeviceTests.Collection)]
public class ReluTests
{
    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void ForwardBackwardMask(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        var r = new Rand();
        foreach (var s in new[] { new Shape4(2, 3, 7, 5), new Shape4(1, 1, 1, 1), new Shape4(1, 64, 17, 9) })
        {
            double[] x = r.Floats(s.Length), gy = r.Floats(s.Length), initial = r.Floats(s.Length);
            string where = $"{accelerator} {s} {r}";
            var y = Reference.ReluForward(x);
            using var tx = d.Upload(s, x); using var ty = d.Poisoned(s); using var tgy = d.Upload(s, gy);
            Op.ReluForward(tx, ty);
            Compare.RelativeL2("ReluForward", y, ty.ToArray(), Tolerance.Kernel, where);
            using (var tgx = d.Upload(s, initial))
            {
                Op.ReluBackward(ty, tgy, tgx);
                Compare.RelativeL2("ReluBackward", initial.Plus(Reference.ReluBackward(y, gy)), tgx.ToArray(), Tolerance.Kernel, where, scale: initial);
            }
            Op.ReluMask(ty, tgy);
            Compare.RelativeL2("ReluMask", Reference.ReluBackward(y, gy), tgy.ToArray(), Tolerance.Kernel, where);
        }
    }
}

[Collection(DeviceTests.Collection)]
public class LossTests
{
    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void ContentStyleAndTotalVariation(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        var r = new Rand();
        foreach (var s in new[] { new Shape4(1, 3, 7, 5), new Shape4(1, 1, 1, 1), new Shape4(2, 8, 16, 13) })
        {
            double[] x = r.Floats(s.Length), p = r.Floats(s.Length), initial = r.Floats(s.Length);
            string where = $"{accelerator} {s} {r}";
            using var tx = d.Upload(s, x); using var tp = d.Upload(s, p);
            const float w = 0.7f, denom = 0.01f;

            Op.SquaredDifferenceSumInto(tx, tp, 0, 0.5f * w);
            Op.SquaredDifferenceSumInto(tx, tp, 1, w * denom);
            Op.TotalVariationInto(tx, 2, w);
            var values = Op.ReadScalars(d, 3);
            Compare.Scalar("ContentLoss", Reference.ContentLoss(x, p, w), values[0], Tolerance.LongSum, where);
            Compare.Scalar("StyleLoss", Reference.StyleLoss(x, p, w, denom), values[1], Tolerance.LongSum, where);
            Compare.Scalar("TotalVariation", Reference.TotalVariation(x, s.H, s.W, w), values[2], Tolerance.LongSum, where);

            using (var g = d.Upload(s, initial))
            {
                Op.SquaredDifferenceBackward(tx, tp, w, g);
                Compare.RelativeL2("ContentLossBackward", initial.Plus(Reference.ContentLossBackward(x, p, w)), g.ToArray(), Tolerance.Kernel, where, scale: initial);
            }
            using (var g = d.Upload(s, initial))
            {
                Op.SquaredDifferenceBackward(tx, tp, 2 * w * denom, g);
                Compare.RelativeL2("StyleLossBackward", initial.Plus(Reference.StyleLossBackward(x, p, w, denom)), g.ToArray(), Tolerance.Kernel, where, scale: initial);
            }
            using (var g = d.Upload(s, initial))
            {
                Op.TotalVariationBackward(tx, w, g);
                Compare.RelativeL2("TotalVariationBackward", initial.Plus(Reference.TotalVariationBackward(x, s.H, s.W, w)), g.ToArray(), Tolerance.Kernel, where, scale: initial);
            }
        }
    }
}
