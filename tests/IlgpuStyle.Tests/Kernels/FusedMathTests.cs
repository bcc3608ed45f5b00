using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.OpenCL;
using IlgpuStyle.Devices;
using IlgpuStyle.Kernels;
using IlgpuStyle.Tests.Harness;
using Xunit;

namespace IlgpuStyle.Tests.Kernels;

/// <summary>FusedMath.MulAdd: registered with ILGPU, and fma() in the OpenCL C of the kernels that use it.</summary>
[Collection(DeviceTests.Collection)]
public class FusedMathTests
{
    [Fact]
    public void RegistersWithThisIlgpuVersion()
    {
        bool registered = false;
        using var context = Context.Create(b => registered = FusedMath.Register(b));
        Assert.True(registered, "ILGPU's intrinsic manager was not found: MulAdd would be a separate multiply and add on OpenCL");
    }

    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void OpenClSourceHasFma(AcceleratorCase accelerator)
    {
        Assert.SkipWhen(accelerator.Kind != DeviceKind.OpenCL, "OpenCL C source only");
        var d = Accelerators.Get(accelerator);
        var method = typeof(Conv2dDirect).GetMethod(nameof(Conv2dDirect.Forward32x8))!;
        var compiled = (CLCompiledKernel)((ILGPU.Runtime.OpenCL.CLAccelerator)d.Accelerator).Backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(method), default);
        Assert.Contains("fma (", compiled.Source);
    }
}
