using IlgpuStyle.Kernels;

namespace IlgpuStyle.Tests.Kernels;

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
