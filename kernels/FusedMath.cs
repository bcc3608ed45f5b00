// Fused multiply-add for the kernels' inner loops: a·b + c with one rounding where the device has it.
//
// Why this exists: ILGPU 1.5.3 writes a·b + c for OpenCL as two C statements (t = a*b; s = s + t), which an
// OpenCL C compiler may not contract, so on a CPU OpenCL device (PoCL) every multiply-add became a vmulps and a
// dependent vaddps. `MathF.FusedMultiplyAdd` does not help: ILGPU 1.5.3 emits it as a call to a function named
// FusedMultiplyAdd that OpenCL C does not have. So MulAdd is an ILGPU intrinsic with one code generator per backend:
//   OpenCL:      fma(a, b, c)        (OpenCL C's built-in: one rounding; an FMA instruction where the device has one)
//   CUDA (PTX):  MulAddSeparate, a·b + c: ILGPU emits mul.f32 and add.f32 without rounding modifiers, which ptxas
//                contracts to fma.rn.f32 by default
//   CPU (.NET):  the C# body
// Every ILGPU context that compiles these kernels must call Register (the engine's DeviceCatalog does, and the PTX
// compile test): an intrinsic without an implementation for a backend is an internal compiler error there.
using System.Reflection;
using ILGPU;
using ILGPU.Backends.OpenCL;
using ILGPU.Backends.PTX;
using ILGPU.IR;
using ILGPU.IR.Intrinsics;

namespace IlgpuStyle.Kernels;

public static class FusedMath
{
    /// <summary>a·b + c (fused on OpenCL devices, see the file header).</summary>
    [IntrinsicImplementation]
    public static float MulAdd(float a, float b, float c) => a * b + c;

    /// <summary>What <see cref="MulAdd"/> is on CUDA: a·b + c, which ptxas contracts into one fma.rn.f32.</summary>
    public static float MulAddSeparate(float a, float b, float c) => a * b + c;

    /// <summary>
    /// Registers the OpenCL code generator and the CUDA implementation of <see cref="MulAdd"/> with a context being built. ILGPU 1.5.3 keeps the
    /// builder's intrinsic manager internal, so it is read by reflection; returns false (and MulAdd stays a·b + c on
    /// every backend) if this ILGPU version does not have it.
    /// </summary>
    public static bool Register(Context.Builder builder)
    {
        var property = typeof(Context.Builder).GetProperty("IntrinsicManager", BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public);
        if (property?.GetValue(builder) is not IntrinsicImplementationManager manager) return false;
        var method = typeof(FusedMath).GetMethod(nameof(MulAdd))!;
        manager.RegisterMethod(method, new CLIntrinsic(typeof(FusedMath), nameof(GenerateOpenCL), IntrinsicImplementationMode.GenerateCode));
        manager.RegisterMethod(method, new PTXIntrinsic(typeof(FusedMath), nameof(MulAddSeparate), IntrinsicImplementationMode.Redirect));
        return true;
    }

    /// <summary>target = fma(a, b, c): the OpenCL C text for one call of <see cref="MulAdd"/>.</summary>
    static void GenerateOpenCL(CLBackend backend, CLCodeGenerator codeGenerator, Value value)
    {
        var a = codeGenerator.Load(value[0]);
        var b = codeGenerator.Load(value[1]);
        var c = codeGenerator.Load(value[2]);
        var target = codeGenerator.Allocate(value);
        using var statement = codeGenerator.BeginStatement(target);
        statement.AppendCommand("fma");
        statement.BeginArguments();
        statement.AppendArgument(a);
        statement.AppendArgument(b);
        statement.AppendArgument(c);
        statement.EndArguments();
    }
}
