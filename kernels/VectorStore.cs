// Sixteen neighbouring floats stored as one vector: y[o … o + 15] = a0 … a15.
//
// Why this exists: the products (Winograd's batched product, the Gram forward) end with 16 sums of 16 neighbouring
// outputs in registers, one 512-bit register each on an AVX-512 CPU under PoCL. Written as 16 scalar stores, LLVM's SLP
// vectorizer starts from the stores and packs at most 8 of them (the "preferred" 256-bit width of AVX-512 CPUs), and
// that width then spreads up to the sums and their multiply-adds (half-width FMAs). Stored 16 apart by a stride the
// compiler cannot see, the sums stay 512-bit but every store is an extract of one float (≈ 1.5 instructions per float,
// a third of the product's time at 64 channels, measured). OpenCL C's vstore16 is one store of a float16 that the
// vectorizer does not start from, so the sums stay 512-bit and the store is one or two vector instructions.
// ILGPU 1.5.3 has no vector types, so Store16 is an intrinsic with one code generator per backend:
//   OpenCL:      vstore16((float16)(a0, …, a15), 0, &y[o])
//   CUDA (PTX):  a redirect to the 16 scalar stores (a GPU thread stores its floats one by one either way)
//   CPU (.NET):  the C# body
// Registered with FusedMath.Register, which every context that compiles these kernels calls.
using ILGPU;
using ILGPU.Backends.OpenCL;
using ILGPU.Backends.PTX;
using ILGPU.IR;
using ILGPU.IR.Intrinsics;
using ILGPU.IR.Values;

namespace IlgpuStyle.Kernels;

public static class VectorStore
{
    /// <summary>y[o + j] = a_j for j &lt; 16, one vector store on OpenCL devices (see the file header).</summary>
    [IntrinsicImplementation]
    public static void Store16(ArrayView<float> y, long o, float a0, float a1, float a2, float a3, float a4, float a5, float a6, float a7,
        float a8, float a9, float a10, float a11, float a12, float a13, float a14, float a15) =>
        Scalar16(y, o, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15);

    /// <summary>The same as 16 scalar stores: the CUDA implementation (a redirect) and the CPU accelerator's.</summary>
    public static void Scalar16(ArrayView<float> y, long o, float a0, float a1, float a2, float a3, float a4, float a5, float a6, float a7,
        float a8, float a9, float a10, float a11, float a12, float a13, float a14, float a15)
    {
        y[o] = a0; y[o + 1] = a1; y[o + 2] = a2; y[o + 3] = a3; y[o + 4] = a4; y[o + 5] = a5; y[o + 6] = a6; y[o + 7] = a7;
        y[o + 8] = a8; y[o + 9] = a9; y[o + 10] = a10; y[o + 11] = a11; y[o + 12] = a12; y[o + 13] = a13; y[o + 14] = a14; y[o + 15] = a15;
    }

    /// <summary>Registers the OpenCL code generator and the CUDA redirect of <see cref="Store16"/>.</summary>
    internal static void Register(IntrinsicImplementationManager manager)
    {
        var method = typeof(VectorStore).GetMethod(nameof(Store16))!;
        manager.RegisterMethod(method, new CLIntrinsic(typeof(VectorStore), nameof(GenerateOpenCL), IntrinsicImplementationMode.GenerateCode));
        manager.RegisterMethod(method, new PTXIntrinsic(typeof(VectorStore), nameof(Scalar16), IntrinsicImplementationMode.Redirect));
    }

    /// <summary>vstore16((float16)(a0, …, a15), 0, &amp;y.ptr[o]): the OpenCL C text for one call. A view is a structure of
    /// its pointer (field 0) and its length in ILGPU's OpenCL code.</summary>
    static void GenerateOpenCL(CLBackend backend, CLCodeGenerator codeGenerator, Value value)
    {
        var view = codeGenerator.Load(value[0]);
        var offset = codeGenerator.Load(value[1]);
        var values = new ILGPU.Backends.VariableAllocator.Variable[16];
        for (int j = 0; j < 16; j++) values[j] = codeGenerator.Load(value[2 + j]);
        using var statement = codeGenerator.BeginStatement("vstore16");
        statement.BeginArguments();
        statement.AppendCommand("(float16)(");
        foreach (var v in values) statement.AppendArgument(v);
        statement.CloseParen();
        statement.AppendArgument();
        statement.AppendCommand("0");
        statement.AppendArgument();
        statement.AppendCommand("&");
        statement.Append(view);
        statement.AppendField(new FieldAccess(0));
        statement.AppendIndexer(offset);
        statement.EndArguments();
    }
}
