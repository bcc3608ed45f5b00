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

    /// <summary>K×K windows with stride and padding (ResNet's 3×3 / 2 / 1, and others): odd sizes, overlap, padding at every border.</summary>
    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void MaxWindowsThatOverlap(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        var r = new Rand();
        foreach (var (s, k, stride, pad) in new[] { (new Shape4(2, 3, 7, 5), 3, 2, 1), (new Shape4(1, 4, 9, 9), 3, 2, 1), (new Shape4(1, 2, 1, 1), 3, 2, 1),
                     (new Shape4(1, 3, 8, 6), 3, 1, 1), (new Shape4(2, 2, 11, 10), 5, 3, 2), (new Shape4(1, 5, 6, 7), 2, 2, 0) })
        {
            var g = new PoolWindowGeometry(s.N, s.C, s.H, s.W, k, stride, pad);
            var os = Op.PoolWindowOutputShape(s, k, stride, pad);
            Assert.Equal((g.OutH, g.OutW), (os.H, os.W));
            double[] x = r.Floats(s.Length), gy = r.Floats(os.Length), initial = r.Floats(s.Length);
            string where = $"{accelerator} {s} k{k} s{stride} p{pad} {r}";
            using var tx = d.Upload(s, x); using var tgy = d.Upload(os, gy);
            using (var ty = d.Poisoned(os))
            {
                Op.MaxPoolWindowForward(tx, ty, k, stride, pad);
                Compare.RelativeL2("MaxPoolWindowForward", Reference.MaxPoolWindowForward(g, x), ty.ToArray(), Tolerance.Kernel, where);
            }
            using (var tgx = d.Upload(s, initial))
            {
                Op.MaxPoolWindowBackward(tx, tgy, tgx, k, stride, pad);
                Compare.RelativeL2("MaxPoolWindowBackward", initial.Plus(Reference.MaxPoolWindowBackward(g, x, gy)), tgx.ToArray(), Tolerance.Kernel, where, scale: initial);
            }
        }
    }
}
