namespace IlgpuStyle.Devices;

/// <summary>The three kinds of device the tuning below tells apart.</summary>
public enum DeviceClass
{
    /// <summary>A CUDA or OpenCL GPU.</summary>
    Gpu,
    /// <summary>An OpenCL CPU device (PoCL): work-items are cheap and a group's threads become SIMD lanes.</summary>
    OpenClCpu,
    /// <summary>ILGPU's CPU accelerator: each thread a .NET call (~1 µs), each group real threads meeting at barriers.</summary>
    IlgpuCpu,
}

/// <summary>The register tile of the 3×3 Direct convolution: output channels × neighbouring pixels of a row per thread.</summary>
public enum DirectTile
{
    /// <summary>16 channels × 4 pixels.</summary>
    Px4,
    /// <summary>16 channels × 8 pixels.</summary>
    Px8,
    /// <summary>32 channels × 8 pixels (16 vector registers of sums on a CPU).</summary>
    Wide32x8,
}

/// <summary>The Winograd convolution's tile: F(2×2, 3×3) or F(4×4, 3×3), and output channels per thread of its batched
/// product (4, 8 or 16, × 16 tiles). The products of one F sum in the same order (same bits); F(2) and F(4) differ in the
/// last bits (kernels/Conv2dWinograd.cs).</summary>
public enum WinogradTile
{
    /// <summary>F(2×2, 3×3), 8 channels × 16 tiles per thread.</summary>
    F2x2By8,
    /// <summary>F(2×2, 3×3), 16 channels × 16 tiles per thread.</summary>
    F2x2By16,
    /// <summary>F(4×4, 3×3), 8 channels × 16 tiles per thread.</summary>
    F4x4By8,
    /// <summary>F(4×4, 3×3), 16 channels × 16 tiles per thread.</summary>
    F4x4By16,
    /// <summary>F(2×2, 3×3), 4 channels × 16 tiles per thread (the block that fits 16 registers of 8 floats, AVX2's).</summary>
    F2x2By4,
    /// <summary>F(4×4, 3×3), 4 channels × 16 tiles per thread.</summary>
    F4x4By4,
}

public static class WinogradTiles
{
    /// <summary>The output tile side m.</summary>
    public static int OutputTile(this WinogradTile t) => t is WinogradTile.F2x2By4 or WinogradTile.F2x2By8 or WinogradTile.F2x2By16 ? 2 : 4;

    /// <summary>Output channels per thread of the batched product.</summary>
    public static int ChannelBlock(this WinogradTile t) => t switch
    {
        WinogradTile.F2x2By4 or WinogradTile.F4x4By4 => 4,
        WinogradTile.F2x2By8 or WinogradTile.F4x4By8 => 8,
        _ => 16,
    };

    /// <summary>The lab's name: "winograd 4x4 16x16" (output tile, then channels × tiles per thread of the product).</summary>
    public static string LabName(this WinogradTile t) => $"winograd {t.OutputTile()}x{t.OutputTile()} {t.ChannelBlock()}x16";
}

/// <summary>
/// Every device-specific tuning choice, in one table, each with the measurement it came from (docs/performance.md has the
/// runs). <see cref="ComputeDevice"/> takes its policy when it opens; an op reads the policy, never the device's kind.
/// </summary>
public sealed record DevicePolicy
{
    public required DeviceClass Class { get; init; }

    /// <summary>Default convolution variant, by measurement (docs/performance.md): Direct on PoCL, Tiled on GPUs, Blocked on
    /// ILGPU's CPU accelerator, whose groups are real threads meeting at every barrier and which runs the wide Direct kernels
    /// slowly too (`ilgpustyle bench --size 32 --device cpu`, ms per iteration: blocked 1865, naive 2814, direct 4793,
    /// tiled 45400). GPUs: not yet measured on one (the Tiled GEMM is the variant written for them).</summary>
    public required KernelVariant ConvVariant { get; init; }

    /// <summary>Default Gram variant: Tiled on GPUs, Rows on PoCL, Blocked on ILGPU's CPU accelerator (same runs).</summary>
    public required KernelVariant GramVariant { get; init; }

    /// <summary>Input channels between barriers in the Direct convolution on PoCL, which keeps a group's shared input rows
    /// in L1 (256², 16×4 kernel: 1524 ms without, 1120 with 32, 1142 with 16; the 32×8 kernel alike for 8 to 64); null:
    /// no chunks (ILGPU's CPU accelerator, whose threads meet at every barrier, and GPUs).</summary>
    public int? DirectChannelsPerBarrier { get; init; }

    /// <summary>Threads per group in Winograd's batched product, along the tile blocks (groups then share the filter block U
    /// they read; fewer where a chunk has fewer tile blocks). On PoCL one thread per group and no barrier: a group is a loop
    /// over its threads on one core, each barrier saving and reloading the 256 sums of every thread, and consecutive groups
    /// read the same U anyway (the grid runs along the tile blocks). Measured with the product alone (PoCL, F(4×4) 16×16,
    /// fastest of 15 launches, ms; 16 threads with a barrier every 32 channels / 16 without / 1): C=64 K=64 at 128²
    /// 8.2 / 7.2 / 5.6, C=128 K=256 at 64² 8.0 / 7.3 / 7.0, C=256 K=256 at 64² 15.7 / 15.8 / 13.9, C=256 K=128 at 128²
    /// 55.7 / 49.8 / 50.1 (docs/performance.md).</summary>
    public int WinogradProductGroup { get; init; } = 16;

    /// <summary>The Rows Gram kernels with a quarter of the sums per thread, 4 × 16 (forward) and 16 channels × 4 pixels
    /// (backward) rather than 16 × 16 and 32 × 8: where the device's vectors hold fewer than 16 floats (AVX2's 16 registers
    /// of 8: 256 sums are 32 registers, most of them spilled to the stack; 64 are 8). Derived from the vector width the
    /// device reports (`ilgpustyle devices`); the same bits either way.</summary>
    public bool NarrowSumBlocks { get; init; }

    /// <summary>The 32-channel × 8-pixel Direct kernel where a layer has 32 output channels or more: 16 vector registers of
    /// sums, which AVX-512's 32 registers hold (CPUs only; GPUs keep 16 channels, fewer registers per thread).</summary>
    public required bool WideDirect { get; init; }

    /// <summary>Time the 3×3 Direct tiles, and Winograd F(4×4) where the shape allows it, on the first run of each shape and
    /// keep the fastest (<see cref="TileTuner"/>):
    /// on PoCL, where the best tile differs between machines (`ilgpustyle kernels`, docs/performance.md); elsewhere the
    /// fixed choice of <see cref="TileFor"/>.</summary>
    public bool AutotuneDirectTiles { get; init; }

    /// <summary>The Winograd tile where the Winograd variant runs and nothing else chose one: F(4×4) with 16 channels × 16
    /// tiles per thread (`ilgpustyle kernels`: faster than 8 channels on PoCL; 256 sums per thread, as the direct kernels).</summary>
    public WinogradTile WinogradTile { get; init; } = WinogradTile.F4x4By16;

    /// <summary>Winograd F(4×4)'s input and output transforms in runs of tiles over a padded input (CPU OpenCL devices,
    /// whose compiler vectorizes a thread's loop) rather than one tile per thread (GPUs, ILGPU's CPU accelerator).</summary>
    public bool WinogradTransformRuns { get; init; }

    /// <summary>Bytes of transformed inputs and products (V and M) per chunk of tiles of a Winograd convolution: small enough
    /// that a chunk stays in the last-level cache from the kernel that writes it to the one that reads it, large enough that
    /// each launch has work for every core (`ilgpustyle kernels`, conv3_1 at 256² on a 2-core Xeon: 4 MiB 38.6 ms, 16 MiB
    /// 21.9 ms, 64 MiB 26.4 ms, one chunk 25.0 ms; noisy machine, docs/performance.md).</summary>
    public long WinogradChunkBytes { get; init; } = MaxWinogradChunkBytes;

    /// <summary>The largest chunk any policy takes (the memory estimate counts it).</summary>
    public const long MaxWinogradChunkBytes = 16L << 20;

    /// <summary>Elementwise fills and copies as contiguous chunks per thread (CPU devices vectorize a chunk) rather than
    /// grid-stride loops (GPUs coalesce those).</summary>
    public required bool ChunkedElementwise { get; init; }

    /// <summary>Threads of a grid-stride loop and of pass 1 of a reduction: a few per core on ILGPU's CPU accelerator (each
    /// thread ~1 µs), the resident threads of a GPU, 2^20 work-items on PoCL (short loops vectorize across them).</summary>
    public required int StrideThreads { get; init; }

    /// <summary>Partial sums of pass 1 of a reduction, which pass 2 adds in one thread: <see cref="StrideThreads"/> where
    /// none is given; 4096 on PoCL, where pass 2 over 2^20 partials took 3.7 ms (3 % of an iteration at 256²).</summary>
    public int? ReductionPartials { get; init; }

    /// <summary>Threads per group (x, y) and k-slice of the tiled GEMM: 16×16 where groups hold 256 threads, a k-slice of 16
    /// on ILGPU's CPU accelerator (fewer barriers), 8 elsewhere.</summary>
    public required (int X, int Y, int K) GemmTile { get; init; }

    /// <summary>The Direct tile for a 3×3 layer: 32×8 where there are 32 output channels or more and the policy allows it,
    /// else 16×8 where rows are at most 32 wide (measured faster there on PoCL), else 16×4.</summary>
    public DirectTile TileFor(int outChannels, int outWidth) =>
        WideDirect && outChannels >= 32 ? DirectTile.Wide32x8 : outWidth <= 32 ? DirectTile.Px8 : DirectTile.Px4;

    public static DevicePolicy For(DeviceInfo info, int maxThreadsPerGroup, int multiprocessors, int threadsPerMultiprocessor)
    {
        var kind = info.IsGpu ? DeviceClass.Gpu : info.Kind == DeviceKind.Cpu ? DeviceClass.IlgpuCpu : DeviceClass.OpenClCpu;
        int side = maxThreadsPerGroup >= 256 ? 16 : maxThreadsPerGroup >= 64 ? 8 : 4;
        return kind switch
        {
            DeviceClass.Gpu => new DevicePolicy
            {
                Class = kind, ConvVariant = KernelVariant.Tiled, GramVariant = KernelVariant.Tiled, WideDirect = false,
                ChunkedElementwise = false, StrideThreads = Math.Max(1024, multiprocessors * threadsPerMultiprocessor),
                GemmTile = (side, side, 8),
            },
            DeviceClass.OpenClCpu => new DevicePolicy
            {
                Class = kind, ConvVariant = KernelVariant.Direct, GramVariant = KernelVariant.Rows, DirectChannelsPerBarrier = 32,
                WideDirect = true, AutotuneDirectTiles = true, WinogradTransformRuns = true, WinogradProductGroup = 1, ChunkedElementwise = true, StrideThreads = 1 << 20, ReductionPartials = 1 << 12,
                NarrowSumBlocks = info.VectorWidthFloat is > 0 and < 16,
                GemmTile = (side, side, 8),
            },
            _ => new DevicePolicy
            {
                Class = kind, ConvVariant = KernelVariant.Blocked, GramVariant = KernelVariant.Blocked, WideDirect = true,
                ChunkedElementwise = true, StrideThreads = 64 * Environment.ProcessorCount, GemmTile = (side, side, 16),
            },
        };
    }
}
