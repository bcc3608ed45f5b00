using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.OpenCL;
using ILGPU.Backends.PTX;
using ILGPU.Runtime.Cuda;
using IlgpuStyle.Devices;
using IlgpuStyle.Kernels;

namespace IlgpuStyle.Tests.Kernels;

/// <summary>FusedMath.MulAdd: registered with ILGPU, fma() in the OpenCL C and fma.rn.f32 in the PTX of the kernels that use it.</summary>
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

    /// <summary>
    /// conv2d_direct_8px has 16 channels × 8 pixels × 9 taps = 1,152 MulAdd calls in its loop body: each must be one
    /// fma.rn.f32 in the PTX (a redirect to a C# a·b + c would leave none, and takes ~20× longer to compile).
    /// </summary>
    [Fact]
    public void PtxHasOneFmaPerMultiplyAdd()
    {
        using var context = Context.Create(b => FusedMath.Register(b.EnableAlgorithms().Optimize(OptimizationLevel.O2)));
        var arch = CudaArchitecture.SM_70;
        using var backend = new PTXBackend(context, new CudaCapabilityContext(arch), arch, CudaInstructionSet.ISA_80, null);
        var method = typeof(Conv2dDirect).GetMethod(nameof(Conv2dDirect.Forward8Pixels))!;
        var ptx = ((PTXCompiledKernel)backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(method), default)).PTXAssembly;
        int count = System.Text.RegularExpressions.Regex.Matches(ptx, @"\bfma\.rn\.f32\b").Count;
        Assert.True(count == 16 * 8 * 9, $"conv2d_direct_8px: {count} fma.rn.f32 instructions in its PTX, expected {16 * 8 * 9}");
    }
}
