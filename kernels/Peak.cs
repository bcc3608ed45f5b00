// Microbenchmarks of the device's limits, for the profiler's "% of peak" column.
//
//   FmaRate: every thread runs 128 independent chains of fused multiply-adds (a = a·b + c, FusedMath.MulAdd) for
//            `iterations` rounds and stores the 128 results, so the work is 256·iterations FLOPs per thread and
//            almost no memory traffic: the measured GFLOP/s approaches the FMA throughput. A CPU OpenCL compiler
//            (PoCL) packs each 16 chains into one SIMD register, as it does with the convolutions' 16-channel sums;
//            8 such registers are enough independent work to hide the FMA latency on two FMA ports.
//   Copy bandwidth is measured with the ordinary copy (Op.Copy): grid-stride on GPUs, contiguous chunks per thread
//            on CPU devices (Elementwise.CopyChunks), which a CPU compiler turns into vector loads and stores.
using ILGPU;
using ILGPU.Backends.EntryPoints;

namespace IlgpuStyle.Kernels;

public static class Peak
{
    public const int Chains = 128;

    [KernelName("peak_fma")]
    public static void FmaRate(Index1D t, int iterations, float b, float c, ArrayView<float> sink)
    {
        var lo = new Accumulator16 { A0 = t, A1 = t + 1, A2 = t + 2, A3 = t + 3, A4 = t + 4, A5 = t + 5, A6 = t + 6, A7 = t + 7,
            A8 = t + 8, A9 = t + 9, A10 = t + 10, A11 = t + 11, A12 = t + 12, A13 = t + 13, A14 = t + 14, A15 = t + 15 };
        Accumulator16 a1 = lo, a2 = lo, a3 = lo, a4 = lo, a5 = lo, a6 = lo, a7 = lo;
        for (int i = 0; i < iterations; i++)
        {
            lo.Scale(b, c); a1.Scale(b, c); a2.Scale(b, c); a3.Scale(b, c);
            a4.Scale(b, c); a5.Scale(b, c); a6.Scale(b, c); a7.Scale(b, c);
        }
        // Every chain stored side by side: 16 neighbouring stores are what lets a CPU compiler pack 16 chains into a vector.
        long o = (long)(int)t * Chains;
        lo.Store(sink, o); a1.Store(sink, o + 16); a2.Store(sink, o + 32); a3.Store(sink, o + 48);
        a4.Store(sink, o + 64); a5.Store(sink, o + 80); a6.Store(sink, o + 96); a7.Store(sink, o + 112);
    }
}
