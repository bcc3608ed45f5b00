using IlgpuStyle.Devices;
using IlgpuStyle.Kernels;

namespace IlgpuStyle.Ops;

public static partial class Op
{
    /// <summary>Launches the blocked or tiled GEMM (kernels/Gemm.cs) with the given operands.</summary>
    internal static void LaunchGemm<TA, TB, TC>(ComputeDevice d, KernelVariant variant, string name, long bytes,
        GemmSize size, TA a, TB b, TC c)
        where TA : struct, IGemmOperandA
        where TB : struct, IGemmOperandB
        where TC : struct, IGemmOutput
    {
        if (size.M == 0 || size.N == 0 || size.Batch == 0) return;
        const int micro = Gemm.MicroTile;
        if (variant == KernelVariant.Blocked)
        {
            var k = d.Kernel(Gemm.Blocked<TA, TB, TC>,
                acc => acc.LoadAutoGroupedStreamKernel<Index3D, GemmSize, TA, TB, TC>(Gemm.Blocked<TA, TB, TC>));
            var extent = new Index3D((size.N + micro - 1) / micro, (size.M + micro - 1) / micro, size.Batch);
            using (d.Launch(name + "_blocked", size.Flops, bytes)) k(extent, size, a, b, c);
        }
        else
        {
            var k = d.Kernel(Gemm.Tiled<TA, TB, TC>,
                acc => acc.LoadStreamKernel<GemmSize, int, TA, TB, TC>(Gemm.Tiled<TA, TB, TC>));
            var (tx, ty, tk) = d.Policy.GemmTile;
            var grid = new Index3D((size.N + micro * tx - 1) / (micro * tx), (size.M + micro * ty - 1) / (micro * ty), size.Batch);
            if (tk * micro * (tx + ty) > Gemm.MaxSharedFloats)
                throw new InvalidOperationException($"GEMM tile {tx}×{ty}×{tk} needs more than {Gemm.MaxSharedFloats} shared floats");
            var config = new KernelConfig(grid, new Index3D(tx, ty, 1));
            using (d.Launch(name + "_tiled", size.Flops, bytes)) k(config, size, tk, a, b, c);
        }
    }
}
