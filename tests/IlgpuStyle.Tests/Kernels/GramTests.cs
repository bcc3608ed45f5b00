using IlgpuStyle.Devices;
using IlgpuStyle.Kernels;

namespace IlgpuStyle.Tests.Kernels;

[Collection(DeviceTests.Collection)]
public class GramTests
{
    // Rows: 70 and 67 channels pad to the next multiple of 16 (forward) and 32 (backward); rows of pixels not a multiple of 8.
    static readonly Shape4[] Shapes = { new(2, 5, 7, 3), new(1, 70, 9, 11), new(1, 1, 1, 1), new(1, 3, 40, 40), new(1, 67, 5, 5), new(2, 9, 20, 30) };

    [Fact]
    public void DirectIsRefusedNotSubstituted()
    {
        var d = Accelerators.Get(new AcceleratorCase(IlgpuStyle.Devices.DeviceKind.Cpu));
        using var f = new Tensor(d, new Shape4(1, 2, 3, 3), "f"); using var g = new Tensor(d, Op.GramShape(f.Shape), "g");
        Assert.Contains("no Direct variant", Assert.Throws<ArgumentException>(() => Op.GramForward(f, g, 1f, KernelVariant.Direct)).Message);
        Assert.Contains("no Direct variant", Assert.Throws<ArgumentException>(() => Op.GramBackward(f, g, f, 1f, KernelVariant.Direct)).Message);
    }

    [Theory, MemberData(nameof(DeviceData.GramVariants), MemberType = typeof(DeviceData))]
    public void Forward(AcceleratorCase accelerator, KernelVariant variant)
    {
        var d = Accelerators.Get(accelerator);
        var r = new Rand();
        foreach (var s in Shapes)
        {
            int m = s.H * s.W;
            float scale = 1f / (s.C * m);
            double[] f = r.Floats(s.Length);
            using var tf = d.Upload(s, f); using var tg = d.Poisoned(Op.GramShape(s));
            Op.GramForward(tf, tg, scale, variant);
            Compare.RelativeL2("GramForward", Reference.GramForward(s.N, s.C, m, scale, f), tg.ToArray(),
                m > 100 ? Tolerance.LongSum : Tolerance.Kernel, $"{accelerator} {variant} {s} {r}");
        }
    }

    [Theory, MemberData(nameof(DeviceData.GramVariants), MemberType = typeof(DeviceData))]
    public void Backward(AcceleratorCase accelerator, KernelVariant variant)
    {
        var d = Accelerators.Get(accelerator);
        var r = new Rand();
        foreach (var s in Shapes)
        {
            int m = s.H * s.W;
            float scale = 1f / (s.C * m);
            double[] f = r.Floats(s.Length), gg = r.Floats(s.N * s.C * s.C), initial = r.Floats(s.Length);
            using var tf = d.Upload(s, f); using var tgg = d.Upload(Op.GramShape(s), gg); using var tgf = d.Upload(s, initial);
            Op.GramBackward(tf, tgg, tgf, scale, variant);
            Compare.RelativeL2("GramBackward", initial.Plus(Reference.GramBackward(s.N, s.C, m, scale, f, gg)), tgf.ToArray(),
                Tolerance.LongSum, $"{accelerator} {variant} {s} {r}", scale: initial);
        }
    }
}
