using IlgpuStyle.Kernels;

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
