using IlgpuStyle.Diagnostics;
using IlgpuStyle.Kernels;

namespace IlgpuStyle.Tests.Tools;

[Collection(DeviceTests.Collection)]
public class GradCheckTests
{
    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void EveryBackwardKernelPasses(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        var failures = GradCheck.StandardCases(new Rand().Seed).Select(c => GradCheck.Check(d, c)).Where(r => !r.Passed)
            .Select(r => $"{r.Op} {r.Variant}: vs reference {r.ErrorVsReference:E2}, vs central differences {r.ErrorVsCentralDifferences:E2}").ToList();
        Assert.True(failures.Count == 0, $"{accelerator}: " + string.Join("; ", failures));
    }

    /// <summary>A test-only broken ReLU backward (it forgets the mask): gradcheck must catch it and the command must exit non-zero.</summary>
    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void BrokenBackwardKernelFails(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        var r = new Rand();
        var s = new Shape4(1, 2, 5, 3);
        double[] x = r.Floats(s.Length).Select(v => v + (v > 0 ? 0.1 : -0.1)).ToArray(), gy = r.Floats(s.Length);
        var broken = new GradCheckCase("relu (broken: no mask)", "-", x,
            xv => Reference.ReluForward(xv).Select((v, i) => v * gy[i]).Sum(),
            () => Reference.ReluBackward(Reference.ReluForward(x), gy),
            dev => GradCheck.WithTensors(dev, s, gy, s, null, t => Op.Axpy(t[1], 1f, t[0])));   // dx += dy everywhere
        Assert.False(GradCheck.Check(d, broken).Passed);
        var (code, _, stderr) = Transfer.CliRunner.Run(() => IlgpuStyle.Cli.Cli.RunGradCheck(d, new[] { broken }));
        Assert.Equal(1, code);
        Assert.Contains("1 backward kernel(s) failed", stderr);
    }
}
