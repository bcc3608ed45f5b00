// Microbenchmarks of the device's limits, for the profiler's "% of peak" column.
//
//   FmaRate (GPUs, ILGPU's CPU accelerator): every thread runs 128 independent chains of fused multiply-adds
//            (a = a·b + c, FusedMath.MulAdd) for `iterations` rounds and stores the 128 results, so the work is
//            256·iterations FLOPs per thread and almost no memory traffic: the measured GFLOP/s approaches the FMA
//            throughput.
//   FmaRateProduct16x16 / 16x4 (CPU OpenCL devices, PoCL): the same rate measured in the shape a CPU compiler turns into
//            its widest FMAs, the shape of Winograd's batched product (kernels/Conv2dWinograd.cs): a block of sums
//            p_i[j] += u[i]·v[j] over a few hundred floats that stay in L1, u broadcast from memory, every p_i one SIMD
//            register. On PoCL FmaRate's chains become 256-bit FMAs on an AVX-512 CPU (LLVM's SLP vectorizer starts from
//            its adjacent stores and takes 8 floats at a time from them), which measured half of what the cores do; this
//            form compiles to 512-bit FMAs (16 accumulators, 16x16) and reached 80 % of cores × 2 FMA units × 16 lanes × 2
//            × clock. The block follows the vector width the device reports: 16 sums of 16 floats where it is 16 (32
//            vector registers), 4 sums of 16 floats where it is 8 (AVX2: 16 registers of 8 floats, 8 of them sums).
//   Copy bandwidth is measured with the ordinary copy (Op.Copy): grid-stride on GPUs, contiguous chunks per thread
//            on CPU devices (Elementwise.CopyChunks), which a CPU compiler turns into vector loads and stores.
using ILGPU;
using ILGPU.Backends.EntryPoints;

namespace IlgpuStyle.Kernels;

public static class Peak
{
    public const int Chains = 128;

    /// <summary>Floats of u and v the product forms read (1 KiB: always in L1).</summary>
    public const int ProductOperands = 256;
    /// <summary>Threads per group of the product forms (their barrier makes PoCL run a group's threads chunk by chunk).</summary>
    public const int GroupSize = 16;
    /// <summary>Steps of the product forms between barriers.</summary>
    public const int StepsPerBarrier = 512;

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

    /// <summary>16 rows × 16 columns of sums per thread, `steps` steps (a multiple of StepsPerBarrier): 512·steps FLOPs per thread.</summary>
    [KernelName("peak_fma_product_16x16")]
    public static void FmaRateProduct16x16(int steps, ArrayView<float> w, ArrayView<float> sink, int unit)
    {
        var acc = new Accumulator32x8();
        Steps(ref acc, steps, w);
        int t = Grid.GlobalIndex.X;
        long s = sink.Length / 256;
        acc.Lo.StoreStrided(sink, t, 16 * s, s * unit);
        acc.Hi.StoreStrided(sink, t + 128 * s, 16 * s, s * unit);
    }

    /// <summary>4 rows × 16 columns of sums per thread, `steps` steps (a multiple of StepsPerBarrier): 128·steps FLOPs per thread.</summary>
    [KernelName("peak_fma_product_16x4")]
    public static void FmaRateProduct16x4(int steps, ArrayView<float> w, ArrayView<float> sink, int unit)
    {
        var acc = new Accumulator16x4();
        Steps(ref acc, steps, w);
        int t = Grid.GlobalIndex.X;
        long s = sink.Length / 64;
        acc.StoreStrided(sink, t, 16 * s, s * unit);
    }

    /// <summary>u = w[0..127] (8 columns of 16), v = w[128..255] (8 rows of 16): 8 steps per loop turn as in the batched
    /// product, a barrier every <see cref="StepsPerBarrier"/> steps.</summary>
    static void Steps<TAcc>(ref TAcc acc, int steps, ArrayView<float> w) where TAcc : struct, IProductAccumulator
    {
        for (int s0 = 0; s0 < steps; s0 += StepsPerBarrier)
        {
            for (int s = 0; s < StepsPerBarrier; s += 8)
                ProductSteps.Eight(ref acc, w, 0, 16, w, 128, 16);
            Group.Barrier();
        }
    }
}
