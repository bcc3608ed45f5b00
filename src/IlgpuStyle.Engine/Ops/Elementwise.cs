using ILGPU;
using ILGPU.Runtime;
using IlgpuStyle.Devices;
using IlgpuStyle.Tensors;
using K = IlgpuStyle.Kernels.Elementwise;

namespace IlgpuStyle.Ops;

/// <summary>Elementwise vector ops (kernels/Elementwise.cs), with shape checks.</summary>
public static partial class Op
{
    static long Bytes(long elements, int arrays) => elements * sizeof(float) * arrays;

    /// <summary>Elements per thread of the chunked elementwise kernels CPU devices run.</summary>
    const int Chunk = 4096;

    /// <summary>y[i] = value: grid-stride on GPUs, contiguous chunks per thread on CPU devices (which vectorize those).</summary>
    public static void Fill(Tensor y, float value)
    {
        var d = y.Device;
        if (!d.Info.IsGpu)
        {
            var chunked = d.Kernel(K.FillChunks, a => a.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, float>(K.FillChunks));
            if (y.Length > 0)
                using (d.Launch("fill", 0, Bytes(y.Length, 1))) chunked((int)((y.Length + Chunk - 1) / Chunk), Chunk, y.View, value);
            return;
        }
        var k = d.Kernel(K.Fill, a => a.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, float>(K.Fill));
        int threads = d.StrideThreadsFor(y.Length);
        using (d.Launch("fill", 0, Bytes(y.Length, 1))) k(threads, threads, y.View, value);
    }

    /// <summary>y = x: grid-stride on GPUs, contiguous chunks per thread on CPU devices.</summary>
    public static void Copy(Tensor y, Tensor x)
    {
        Check.SameShape("Copy", y, x);
        var d = y.Device;
        if (!d.Info.IsGpu)
        {
            var chunked = d.Kernel(K.CopyChunks, a => a.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, ArrayView<float>>(K.CopyChunks));
            if (y.Length > 0)
                using (d.Launch("copy", 0, Bytes(y.Length, 2))) chunked((int)((y.Length + Chunk - 1) / Chunk), Chunk, y.View, x.View);
            return;
        }
        var k = d.Kernel(K.Copy, a => a.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, ArrayView<float>>(K.Copy));
        int threads = d.StrideThreadsFor(y.Length);
        using (d.Launch("copy", 0, Bytes(y.Length, 2))) k(threads, threads, y.View, x.View);
    }

    /// <summary>y ← a·y.</summary>
    public static void Scale(Tensor y, float a)
    {
        var d = y.Device;
        var k = d.Kernel(K.Scale, acc => acc.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, float>(K.Scale));
        int threads = d.StrideThreadsFor(y.Length);
        using (d.Launch("scale", y.Length, Bytes(y.Length, 2))) k(threads, threads, y.View, a);
    }

    /// <summary>y ← y + a·x.</summary>
    public static void Axpy(Tensor y, float a, Tensor x)
    {
        Check.SameShape("Axpy", y, x);
        var d = y.Device;
        var k = d.Kernel(K.Axpy, acc => acc.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, float, ArrayView<float>>(K.Axpy));
        int threads = d.StrideThreadsFor(y.Length);
        using (d.Launch("axpy", 2 * y.Length, Bytes(y.Length, 3))) k(threads, threads, y.View, a, x.View);
    }

    /// <summary>z ← a·x + b·y (z may be x or y).</summary>
    public static void Axpby(Tensor z, float a, Tensor x, float b, Tensor y)
    {
        Check.SameShape("Axpby", z, x);
        Check.SameShape("Axpby", z, y);
        var d = z.Device;
        var k = d.Kernel(K.Axpby, acc => acc.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, float, ArrayView<float>, float, ArrayView<float>>(K.Axpby));
        int threads = d.StrideThreadsFor(z.Length);
        using (d.Launch("axpby", 3 * z.Length, Bytes(z.Length, 3))) k(threads, threads, z.View, a, x.View, b, y.View);
    }

    public static void Add(Tensor z, Tensor x, Tensor y) => Binary("Add", "add", K.Add, z, x, y);
    public static void Multiply(Tensor z, Tensor x, Tensor y) => Binary("Multiply", "multiply", K.Multiply, z, x, y);
    public static void Minimum(Tensor z, Tensor x, Tensor y) => Binary("Minimum", "minimum", K.Minimum, z, x, y);
    public static void Maximum(Tensor z, Tensor x, Tensor y) => Binary("Maximum", "maximum", K.Maximum, z, x, y);

    static void Binary(string op, string kernelName, Action<Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>> kernel,
        Tensor z, Tensor x, Tensor y)
    {
        Check.SameShape(op, z, x);
        Check.SameShape(op, z, y);
        var d = z.Device;
        var k = d.Kernel(kernel, acc => acc.LoadAutoGroupedStreamKernel(kernel));
        int threads = d.StrideThreadsFor(z.Length);
        using (d.Launch(kernelName, z.Length, Bytes(z.Length, 3))) k(threads, threads, z.View, x.View, y.View);
    }

    /// <summary>y ← min(max(y, lo), hi).</summary>
    public static void Clamp(Tensor y, float lo, float hi)
    {
        Check.That("Clamp", lo <= hi, $"lower bound {lo} is above upper bound {hi}");
        var d = y.Device;
        var k = d.Kernel(K.Clamp, acc => acc.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, float, float>(K.Clamp));
        int threads = d.StrideThreadsFor(y.Length);
        using (d.Launch("clamp", 2 * y.Length, Bytes(y.Length, 2))) k(threads, threads, y.View, lo, hi);
    }

    /// <summary>One Adam step (kernels/Adam.cs) on x with gradient g and moments m, v; step counts from 1.</summary>
    public static void AdamStep(Tensor x, Tensor g, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps, int step)
    {
        Check.SameShape("AdamStep", x, g); Check.SameShape("AdamStep", x, m); Check.SameShape("AdamStep", x, v);
        var d = x.Device;
        var k = d.Kernel(IlgpuStyle.Kernels.Adam.Step, acc => acc.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, ArrayView<float>,
            ArrayView<float>, ArrayView<float>, float, float, float, float, float, float>(IlgpuStyle.Kernels.Adam.Step));
        int threads = d.StrideThreadsFor(x.Length);
        float c1 = 1f - MathF.Pow(beta1, step), c2 = 1f - MathF.Pow(beta2, step);
        using (d.Launch("adam_step", 10 * x.Length, Bytes(x.Length, 7))) k(threads, threads, x.View, g.View, m.View, v.View, lr, beta1, beta2, eps, c1, c2);
    }
}
