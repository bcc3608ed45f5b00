using IlgpuStyle.Devices;
using IlgpuStyle.Kernels;

namespace IlgpuStyle.Tests.Kernels;

[Collection(DeviceTests.Collection)]
public class GramTests
{
    // Rows: 70 and 67 channels pad to the next multiple of 16 (forward) and 32 (backward); rows of pixels not a multiple of 8
    // (or of 4, the narrow backward's). The Rows variant runs in both its forms, wide blocks and narrow (DevicePolicy.NarrowSumBlocks).
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
        foreach (bool narrow in Forms(d, variant))
        foreach (var s in Shapes)
        {
            int m = s.H * s.W;
            float scale = 1f / (s.C * m);
            double[] f = r.Floats(s.Length);
            using var tf = d.Upload(s, f); using var tg = d.Poisoned(Op.GramShape(s));
            WithForm(d, narrow, () => Op.GramForward(tf, tg, scale, variant));
            Compare.RelativeL2("GramForward", Reference.GramForward(s.N, s.C, m, scale, f), tg.ToArray(),
                m > 100 ? Tolerance.LongSum : Tolerance.Kernel, $"{accelerator} {variant} narrow={narrow} {s} {r}");
        }
    }

    /// <summary>Rows in both its forms; another variant as it is.</summary>
    static bool[] Forms(ComputeDevice d, KernelVariant variant) => variant == KernelVariant.Rows ? new[] { false, true } : new[] { d.NarrowSumBlocks };

    static void WithForm(ComputeDevice d, bool narrow, Action run)
    {
        bool policy = d.NarrowSumBlocks;
        d.NarrowSumBlocks = narrow;
        try { run(); }
        finally { d.NarrowSumBlocks = policy; }
    }

    /// <summary>The Rows kernels' narrow blocks sum each element in the same order as the wide ones: the same bits.</summary>
    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void NarrowAndWideRowsGiveTheSameBits(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        var r = new Rand();
        var s = new Shape4(2, 70, 9, 11);
        using var f = d.Upload(s, r.Floats(s.Length)); using var gg = d.Upload(Op.GramShape(s), r.Floats(s.N * s.C * s.C));
        var initial = r.Floats(s.Length);
        var results = new List<(float[] Gram, float[] Gradient)>();
        foreach (bool narrow in new[] { false, true })
        {
            using var g = d.Poisoned(Op.GramShape(s)); using var df = d.Upload(s, initial);
            WithForm(d, narrow, () => { Op.GramForward(f, g, 0.5f, KernelVariant.Rows); Op.GramBackward(f, gg, df, 0.5f, KernelVariant.Rows); });
            results.Add((g.ToArray(), df.ToArray()));
        }
        Assert.True(results[0].Gram.SequenceEqual(results[1].Gram), $"{accelerator}: the narrow Gram forward differs from the wide one ({r})");
        Assert.True(results[0].Gradient.SequenceEqual(results[1].Gradient), $"{accelerator}: the narrow Gram backward differs from the wide one ({r})");
    }

    [Theory, MemberData(nameof(DeviceData.GramVariants), MemberType = typeof(DeviceData))]
    public void Backward(AcceleratorCase accelerator, KernelVariant variant)
    {
        var d = Accelerators.Get(accelerator);
        var r = new Rand();
        foreach (bool narrow in Forms(d, variant))
        foreach (var s in Shapes)
        {
            int m = s.H * s.W;
            float scale = 1f / (s.C * m);
            double[] f = r.Floats(s.Length), gg = r.Floats(s.N * s.C * s.C), initial = r.Floats(s.Length);
            using var tf = d.Upload(s, f); using var tgg = d.Upload(Op.GramShape(s), gg); using var tgf = d.Upload(s, initial);
            WithForm(d, narrow, () => Op.GramBackward(tf, tgg, tgf, scale, variant));
            Compare.RelativeL2("GramBackward", initial.Plus(Reference.GramBackward(s.N, s.C, m, scale, f, gg)), tgf.ToArray(),
                Tolerance.LongSum, $"{accelerator} {variant} narrow={narrow} {s} {r}", scale: initial);
        }
    }
}
