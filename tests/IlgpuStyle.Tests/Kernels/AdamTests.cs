using IlgpuStyle.Kernels;

namespace IlgpuStyle.Tests.Kernels;

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
