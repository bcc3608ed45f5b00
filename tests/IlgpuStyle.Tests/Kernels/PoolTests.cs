using IlgpuStyle.Devices;
using IlgpuStyle.Kernels;

namespace IlgpuStyle.Tests.Kernels;

[Collection(DeviceTests.Collection)]
public class PoolTests
{
    static readonly Shape4[] Shapes = { new(2, 3, 7, 5), new(1, 1, 1, 1), new(1, 2, 2, 2), new(2, 3, 8, 6), new(1, 4, 9, 9), new(1, 1, 3, 1) };

    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void MaxAndAverage(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        var r = new Rand();
        foreach (var s in Shapes)
        {
            var g = new Pool2dGeometry(s.N, s.C, s.H, s.W);
            var os = Op.PoolOutputShape(s);
            double[] x = r.Floats(s.Length), gy = r.Floats(os.Length), initial = r.Floats(s.Length);
            string where = $"{accelerator} {s} {r}";
            using var tx = d.Upload(s, x); using var tgy = d.Upload(os, gy);

            using (var ty = d.Poisoned(os)) { Op.MaxPool2dForward(tx, ty); Compare.RelativeL2("MaxPool2dForward", Reference.MaxPool2dForward(g, x), ty.ToArray(), Tolerance.Kernel, where); }
            using (var ty = d.Poisoned(os)) { Op.AvgPool2dForward(tx, ty); Compare.RelativeL2("AvgPool2dForward", Reference.AvgPool2dForward(g, x), ty.ToArray(), Tolerance.Kernel, where); }
            using (var tgx = d.Upload(s, initial))
            {
                Op.MaxPool2dBackward(tx, tgy, tgx);
                Compare.RelativeL2("MaxPool2dBackward", initial.Plus(Reference.MaxPool2dBackward(g, x, gy)), tgx.ToArray(), Tolerance.Kernel, where, scale: initial);
            }
            using (var tgx = d.Upload(s, initial))
            {
                Op.AvgPool2dBackward(tgy, tgx);
                Compare.RelativeL2("AvgPool2dBackward", initial.Plus(Reference.AvgPool2dBackward(g, gy)), tgx.ToArray(), Tolerance.Kernel, where, scale: initial);
            }
        }
    }
}
