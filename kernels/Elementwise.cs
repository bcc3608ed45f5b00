// Elementwise vector kernels: what an optimizer needs on the device.
//
// Every kernel is a grid-stride loop: thread t handles i = t, t + T, t + 2T, ... where T is the
// number of threads launched (passed as `stride`). On a GPU T is about the number of resident
// threads; on a CPU device a few threads per core, so each thread does real work (ILGPU's CPU
// accelerator spends about a microsecond per thread).
using ILGPU;
using ILGPU.Backends.EntryPoints;

namespace IlgpuStyle.Kernels;

public static class Elementwise
{
    /// <summary>y[i] = value.</summary>
    [KernelName("fill")]
    public static void Fill(Index1D t, int stride, ArrayView<float> y, float value)
    {
        for (int i = t; i < y.Length; i += stride)
            y[i] = value;
    }

    /// <summary>y[i] = value, thread t taking [t·chunk, (t+1)·chunk): contiguous runs, the form CPU devices vectorize.</summary>
    [KernelName("fill_chunks")]
    public static void FillChunks(Index1D t, int chunk, ArrayView<float> y, float value)
    {
        long start = (long)(int)t * chunk, end = Math.Min(start + chunk, y.Length);
        for (long i = start; i < end; i++) y[i] = value;
    }

    /// <summary>y[i] = x[i], thread t taking [t·chunk, (t+1)·chunk) (see <see cref="FillChunks"/>).</summary>
    [KernelName("copy_chunks")]
    public static void CopyChunks(Index1D t, int chunk, ArrayView<float> y, ArrayView<float> x)
    {
        long start = (long)(int)t * chunk, end = Math.Min(start + chunk, y.Length);
        for (long i = start; i < end; i++) y[i] = x[i];
    }

    /// <summary>y[i] = x[i].</summary>
    [KernelName("copy")]
    public static void Copy(Index1D t, int stride, ArrayView<float> y, ArrayView<float> x)
    {
        for (int i = t; i < y.Length; i += stride)
            y[i] = x[i];
    }

    /// <summary>y[i] = a · y[i].</summary>
    [KernelName("scale")]
    public static void Scale(Index1D t, int stride, ArrayView<float> y, float a)
    {
        for (int i = t; i < y.Length; i += stride)
            y[i] = a * y[i];
    }

    /// <summary>y[i] += a · x[i].</summary>
    [KernelName("axpy")]
    public static void Axpy(Index1D t, int stride, ArrayView<float> y, float a, ArrayView<float> x)
    {
        for (int i = t; i < y.Length; i += stride)
            y[i] += a * x[i];
    }

    /// <summary>z[i] = a · x[i] + b · y[i]  (z may alias x or y).</summary>
    [KernelName("axpby")]
    public static void Axpby(Index1D t, int stride, ArrayView<float> z, float a, ArrayView<float> x, float b, ArrayView<float> y)
    {
        for (int i = t; i < z.Length; i += stride)
            z[i] = a * x[i] + b * y[i];
    }
}
