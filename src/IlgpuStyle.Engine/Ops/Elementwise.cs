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

    static long Chunks(long length) => (length + Chunk - 1) / Chunk;

    /// <summary>y[i] = value: grid-stride on GPUs, contiguous chunks per thread on CPU devices (which vectorize those).</summary>
    public static void Fill(Tensor y, float value)
    {
        var d = y.Device;
        if (d.Policy.ChunkedElementwise) d.Grid(K.FillChunks, Chunks(y.Length), 0, Bytes(y.Length, 1), Chunk, y.View, value);
        else d.Stride(K.Fill, y.Length, 0, Bytes(y.Length, 1), y.View, value);
    }

    /// <summary>y = x: grid-stride on GPUs, contiguous chunks per thread on CPU devices.</summary>
    public static void Copy(Tensor y, Tensor x)
    {
        Check.SameShape("Copy", y, x);
        var d = y.Device;
        if (d.Policy.ChunkedElementwise) d.Grid(K.CopyChunks, Chunks(y.Length), 0, Bytes(y.Length, 2), Chunk, y.View, x.View);
        else d.Stride(K.Copy, y.Length, 0, Bytes(y.Length, 2), y.View, x.View);
    }

    /// <summary>y ← a·y.</summary>
    public static void Scale(Tensor y, float a) => y.Device.Stride(K.Scale, y.Length, y.Length, Bytes(y.Length, 2), y.View, a);

    /// <summary>y ← y + a·x.</summary>
    public static void Axpy(Tensor y, float a, Tensor x)
    {
        Check.SameShape("Axpy", y, x);
        y.Device.Stride(K.Axpy, y.Length, 2 * y.Length, Bytes(y.Length, 3), y.View, a, x.View);
    }

    /// <summary>z ← a·x + b·y (z may be x or y).</summary>
    public static void Axpby(Tensor z, float a, Tensor x, float b, Tensor y)
    {
        Check.SameShape("Axpby", z, x);
        Check.SameShape("Axpby", z, y);
        z.Device.Stride(K.Axpby, z.Length, 3 * z.Length, Bytes(z.Length, 3), z.View, a, x.View, b, y.View);
    }

    /// <summary>One Adam step (kernels/Adam.cs) on x with gradient g and moments m, v; step counts from 1.</summary>
    public static void AdamStep(Tensor x, Tensor g, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps, int step)
    {
        Check.SameShape("AdamStep", x, g); Check.SameShape("AdamStep", x, m); Check.SameShape("AdamStep", x, v);
        float c1 = 1f - MathF.Pow(beta1, step), c2 = 1f - MathF.Pow(beta2, step);
        x.Device.Stride(IlgpuStyle.Kernels.Adam.Step, x.Length, 10 * x.Length, Bytes(x.Length, 7),
            x.View, g.View, m.View, v.View, lr, beta1, beta2, eps, c1, c2);
    }
}
