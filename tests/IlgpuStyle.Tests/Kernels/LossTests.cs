using IlgpuStyle.Kernels;

namespace IlgpuStyle.Tests.Kernels;

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
