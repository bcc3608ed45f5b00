// Microbenchmarks of the device's limits, for the profiler's "% of peak" column.
//
//   FmaRate: every thread runs 8 independent chains of multiply-adds (a = a·b + c) for `iterations`
//            rounds and stores one value, so the work is 16·iterations FLOPs per thread and no
//            memory traffic: the measured GFLOP/s approaches the FMA throughput.
//   Copy bandwidth is measured with the ordinary copy kernel (Elementwise.cs).
using ILGPU;
using ILGPU.Backends.EntryPoints;

namespace IlgpuStyle.Kernels;

public static class Peak
{
    public const int Chains = 8;

    [KernelName("peak_fma")]
    public static void FmaRate(Index1D t, int iterations, float b, float c, ArrayView<float> sink)
    {
        float a0 = t, a1 = t + 1, a2 = t + 2, a3 = t + 3, a4 = t + 4, a5 = t + 5, a6 = t + 6, a7 = t + 7;
        for (int i = 0; i < iterations; i++)
        {
            a0 = a0 * b + c; a1 = a1 * b + c; a2 = a2 * b + c; a3 = a3 * b + c;
            a4 = a4 * b + c; a5 = a5 * b + c; a6 = a6 * b + c; a7 = a7 * b + c;
        }
        sink[t] = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
    }
}
