// Fused multiply-add for the kernels' inner loops: a·b + c with one rounding where the device has it.
//
// Why this exists: ILGPU 1.5.3 writes a·b + c for OpenCL as two C statements (t = a*b; s = s + t), which an
// OpenCL C compiler may not contract, so on a CPU OpenCL device (PoCL) every multiply-add became a vmulps and a
// dependent vaddps. `MathF.FusedMultiplyAdd` does not help: ILGPU 1.5.3 emits it as a call to a function named
// FusedMultiplyAdd that OpenCL C does not have. So MulAdd is an ILGPU intrinsic with one code generator per backend:
//   OpenCL:      fma(a, b, c)        (OpenCL C's built-in: one rounding; an FMA instruction where the device has one)
//   CUDA (PTX):  fma.rn.f32 target, a, b, c (what ptxas makes of ILGPU's mul.f32 and add.f32 anyway, since it
//                contracts them by default). Written as code, not as a redirect to a C# method: a redirect is a call
//                that ILGPU inlines, and its inliner splits the block at every call, which made the PTX compile of the
//                unrolled direct kernels (2,304 multiply-adds in conv2d_direct_32x8) take minutes instead of seconds
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

    /// <summary>
    /// Registers the OpenCL code generator and the CUDA implementation of <see cref="MulAdd"/> (and the kernels' other
    /// intrinsic, <see cref="VectorStore.Store16"/>) with a context being built. ILGPU 1.5.3 keeps the
    /// builder's intrinsic manager internal, so it is read by reflection; returns false (and MulAdd stays a·b + c on
    /// every backend) if this ILGPU version does not have it.
    /// </summary>
    public static bool Register(Context.Builder builder)
    {
        var property = typeof(Context.Builder).GetProperty("IntrinsicManager", BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public);
        if (property?.GetValue(builder) is not IntrinsicImplementationManager manager) return false;
        var method = typeof(FusedMath).GetMethod(nameof(MulAdd))!;
        manager.RegisterMethod(method, new CLIntrinsic(typeof(FusedMath), nameof(GenerateOpenCL), IntrinsicImplementationMode.GenerateCode));
        manager.RegisterMethod(method, new PTXIntrinsic(typeof(FusedMath), nameof(GeneratePtx), IntrinsicImplementationMode.GenerateCode));
        VectorStore.Register(manager);
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

    /// <summary>fma.rn.f32 target, a, b, c: the PTX instruction for one call of <see cref="MulAdd"/>.</summary>
    static void GeneratePtx(PTXBackend backend, PTXCodeGenerator codeGenerator, Value value)
    {
        var a = codeGenerator.LoadPrimitive(value[0]);
        var b = codeGenerator.LoadPrimitive(value[1]);
        var c = codeGenerator.LoadPrimitive(value[2]);
        var target = codeGenerator.Allocate(value, a.Description);
        using var command = codeGenerator.BeginCommand("fma.rn.f32");
        command.AppendArgument(target);
        command.AppendArgument(a);
        command.AppendArgument(b);
        command.AppendArgument(c);
    }
}
