using System.Collections.Concurrent;

namespace IlgpuStyle.Devices;

/// <summary>Which implementation of convolution and Gram matrix to run.</summary>
public enum KernelVariant
{
    /// <summary>One output element per thread: the version to read.</summary>
    Naive,
    /// <summary>A 4×4 block of outputs per thread in registers (implicit GEMM), no shared memory.</summary>
    Blocked,
    /// <summary>Shared-memory tiles per group, 4×4 outputs per thread (implicit GEMM).</summary>
    Tiled,
    /// <summary>Convolution only: stride-1 direct convolution on a zero-padded input, 3×3 filters: 32 output channels × 8
    /// pixels of a row per thread on CPU devices where there are 32 channels or more, else 16 channels × 4 or 8 pixels (one
    /// pixel for other filter sizes); stride 1 only. The Gram matrix and the weight gradient have no Direct variant.</summary>
    Direct,
    /// <summary>Groups of 16 threads that do the same straight-line work between barriers, so that a CPU OpenCL compiler
    /// (PoCL) runs a group as SIMD lanes. Convolution: the sums of <see cref="Direct"/> (3×3, stride 1), one group per
    /// 16 pixels of a row, a barrier after each input channel; 3×3, stride 1 only (a device default of Rows runs Direct
    /// or Tiled for other filters). Gram matrix: 16×16 blocks of one triangle over the transposed features per group; its backward 32 channels ×
    /// 8 pixels per thread, as a 1×1 convolution (kernels/Gram.cs).</summary>
    Rows,
    /// <summary>Convolution only: Winograd's minimal filtering F(m×m, 3×3) (kernels/Conv2dWinograd.cs), 3×3 filters with
    /// stride 1 and padding 1 only: the input and output tiles transformed, a batched matrix product over the (m+2)²
    /// positions, 16 or 32 output channels × 8 tiles per thread. 2.25× (m = 2) or 4× (m = 4) fewer multiplications than
    /// Direct, at a numerical price (the tolerance table in the tests).</summary>
    Winograd,
}

/// <summary>Receives every kernel launch, and the spans of work around them; the profiler implements it.</summary>
public interface ILaunchObserver
{
    /// <summary>Called before a launch; the returned object is disposed right after it.</summary>
    IDisposable? OnLaunch(string kernel, long flops, long bytes);

    /// <summary>Called where a span of work starts (an iteration, a forward or backward pass, a layer); disposed where it ends.</summary>
    IDisposable? OnSpan(string name, string category) => null;
}

/// <summary>
/// An open accelerator, its compiled kernels and its memory accounting. Every kernel is compiled
/// once per device (on first use) and its launcher kept. Not thread-safe: one stream, one caller.
/// </summary>
public sealed class ComputeDevice : IDisposable
{
    readonly ConcurrentDictionary<System.Reflection.MethodInfo, Delegate> kernels = new();

    public DeviceInfo Info { get; }
    public Accelerator Accelerator { get; }

    /// <summary>This device's tuning: variants, tiles, threads (one table, with its measurements: DevicePolicy.cs).</summary>
    public DevicePolicy Policy { get; }

    /// <summary>Default variant for convolution and Gram matrix on this device (the policy's, unless changed).</summary>
    public KernelVariant ConvVariant { get; set; }
    public KernelVariant GramVariant { get; set; }

    /// <summary>Input channels between barriers in the Direct convolution (the policy's, unless changed: a test sweeps it).</summary>
    public int? DirectChannelsPerBarrier { get; set; }

    /// <summary>The 3×3 kernels timed and chosen on this device (where the policy autotunes them).</summary>
    public TileTuner Tiles => tiles ??= new TileTuner(Info);
    TileTuner? tiles;

    /// <summary>The 3×3 Direct tile to use instead of the policy's choice (`ilgpustyle kernels` times each); null: the policy's.</summary>
    public DirectTile? DirectTileOverride { get; set; }

    /// <summary>Winograd F(4×4)'s transforms in runs of tiles (the policy's, unless changed: the tests run both forms).</summary>
    public bool WinogradTransformRuns { get; set; }

    /// <summary>The Rows Gram kernels' narrow blocks (the policy's, unless changed: the tests run both forms).</summary>
    public bool NarrowSumBlocks { get; set; }

    /// <summary>The Winograd tile to use instead of the policy's choice; null: the policy's.</summary>
    public WinogradTile? WinogradTileOverride { get; set; }

    public ILaunchObserver? Observer { get; set; }

    /// <summary>This device's memory: allocations with their accounting, scratch buffers, derived layouts, loss scalars.</summary>
    public DeviceMemory Memory { get; }
    /// <summary>Every kernel loaded on this device so far (closed generic methods as launched).</summary>
    public IReadOnlyCollection<System.Reflection.MethodInfo> LoadedKernels => kernels.Keys.ToList();

    internal ComputeDevice(DeviceInfo info, Accelerator accelerator)
    {
        Info = info;
        Accelerator = accelerator;
        Policy = DevicePolicy.For(info, accelerator.MaxNumThreadsPerGroup, accelerator.NumMultiprocessors, accelerator.MaxNumThreadsPerMultiprocessor);
        ConvVariant = Policy.ConvVariant;
        GramVariant = Policy.GramVariant;
        DirectChannelsPerBarrier = Policy.DirectChannelsPerBarrier;
        WinogradTransformRuns = Policy.WinogradTransformRuns;
        NarrowSumBlocks = Policy.NarrowSumBlocks;
        Memory = new DeviceMemory(accelerator, Policy.ReductionPartials ?? Policy.StrideThreads);
    }

    public string Name => Info.Name;
    public long MemoryBytes => Accelerator.MemorySize;

    /// <summary>The launcher of a kernel, compiled on first use (OpenCL: from the code an earlier run generated, where
    /// <see cref="GeneratedCode"/> kept it). `plain`: false for a kernel loaded with a fixed group size.</summary>
    public TLauncher Kernel<TLauncher>(Delegate kernel, Func<Accelerator, TLauncher> load, bool plain = true) where TLauncher : Delegate =>
        (TLauncher)kernels.GetOrAdd(kernel.Method, _ => Startup.Compile(() => GeneratedCode.Load(Accelerator, kernel.Method, plain, () => load(Accelerator))));

    /// <summary>Time spent compiling kernels and timing the tuner's candidates since this device was opened.</summary>
    public StartupClock Startup { get; } = new();

    /// <summary>
    /// Brackets a span of work (category "iteration", "pass", "layer", or "run" for the run's own work outside iterations, "host" for the host's: files, copies between host and device) for the observer, so that a trace nests
    /// iteration → forward/backward → layer → kernel; free when there is none.
    /// </summary>
    public IDisposable? Span(string name, string category) => Observer?.OnSpan(name, category);

    /// <summary>When set, the name of every kernel launched is appended (`explain` names the kernels of each tape node).</summary>
    public List<string>? LaunchLog { get; set; }

    /// <summary>Brackets one launch for the observer (the profiler); free when there is none.</summary>
    public IDisposable? Launch(string kernel, long flops, long bytes)
    {
        LaunchLog?.Add(kernel);
        return Observer?.OnLaunch(kernel, flops, bytes);
    }

    public int StrideThreadsFor(long n) => (int)Math.Max(1, Math.Min(n, Policy.StrideThreads));

    public void Synchronize() => Accelerator.Synchronize();

    public override string ToString() => $"{Info.Id} {Info.Name}";

    public void Dispose()
    {
        Memory.Dispose();
        Accelerator.Dispose();
    }
}
