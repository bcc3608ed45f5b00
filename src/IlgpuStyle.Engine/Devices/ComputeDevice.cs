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
}

/// <summary>The device's scratch buffers, each reused by every launch of one kind.</summary>
public enum ScratchBuffer
{
    /// <summary>The zero-padded input of a Direct or Rows convolution (kernels/Conv2dDirect.cs).</summary>
    PaddedInput,
    /// <summary>Transposed filters of a convolution whose weights are not frozen (frozen ones are kept as derived layouts).</summary>
    TransposedWeights,
    /// <summary>The features transposed to (N, H·W, C) for the Rows Gram matrix (kernels/Gram.cs).</summary>
    TransposedFeatures,
    /// <summary>s·(dG + dGᵀ) for the Rows Gram backward.</summary>
    SymmetricGramGradient,
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
    MemoryBuffer1D<float, Stride1D.Dense>? reductionPartials;
    MemoryBuffer1D<float, Stride1D.Dense>? scalars;
    readonly MemoryBuffer1D<float, Stride1D.Dense>?[] scratch = new MemoryBuffer1D<float, Stride1D.Dense>?[Enum.GetValues<ScratchBuffer>().Length];

    public DeviceInfo Info { get; }
    public Accelerator Accelerator { get; }

    /// <summary>This device's tuning: variants, tiles, threads (one table, with its measurements: DevicePolicy.cs).</summary>
    public DevicePolicy Policy { get; }

    /// <summary>Default variant for convolution and Gram matrix on this device (the policy's, unless changed).</summary>
    public KernelVariant ConvVariant { get; set; }
    public KernelVariant GramVariant { get; set; }

    /// <summary>Input channels between barriers in the Direct convolution (the policy's, unless changed: a test sweeps it).</summary>
    public int? DirectChannelsPerBarrier { get; set; }

    public ILaunchObserver? Observer { get; set; }

    public long AllocatedBytes { get; private set; }
    public long PeakAllocatedBytes { get; private set; }
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
    }

    public string Name => Info.Name;
    public long MemoryBytes => Accelerator.MemorySize;

    /// <summary>The launcher of a kernel, compiled on first use.</summary>
    public TLauncher Kernel<TLauncher>(Delegate kernel, Func<Accelerator, TLauncher> load) where TLauncher : Delegate =>
        (TLauncher)kernels.GetOrAdd(kernel.Method, _ => load(Accelerator));

    /// <summary>
    /// Brackets a span of work (category "iteration", "pass", "layer", or "run" for the run's own work outside iterations) for the observer, so that a trace nests
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

    /// <summary>Scratch for pass 1 of reductions: one float per thread.</summary>
    internal ArrayView<float> ReductionPartials =>
        (reductionPartials ??= Accelerator.Allocate1D<float>(Policy.StrideThreads)).View;

    /// <summary>A few device-resident scalars (loss values) read back together.</summary>
    internal MemoryBuffer1D<float, Stride1D.Dense> Scalars => scalars ??= Accelerator.Allocate1D<float>(64);

    /// <summary>
    /// Reusable scratch memory, one buffer per use. Grows to the largest size asked for, once; later calls of the same or
    /// smaller size allocate nothing.
    /// </summary>
    internal ArrayView<float> Scratch(ScratchBuffer use, long length)
    {
        int slot = (int)use;
        var buffer = scratch[slot];
        if (buffer is null || buffer.Length < length)
        {
            if (buffer is not null) { Release(buffer.Length); buffer.Dispose(); }
            buffer = scratch[slot] = Allocate(length);
        }
        return buffer.View.SubView(0, length);
    }

    readonly Dictionary<(object Source, int Form), MemoryBuffer1D<float, Stride1D.Dense>> derived = new();

    /// <summary>A layout derived from a frozen tensor, computed by `fill` on first use and kept until the tensor is disposed.</summary>
    internal ArrayView<float> Derived(object source, int form, long length, Action<ArrayView<float>> fill)
    {
        if (!derived.TryGetValue((source, form), out var buffer))
        {
            buffer = Allocate(length);
            fill(buffer.View);
            derived[(source, form)] = buffer;
        }
        return buffer.View.SubView(0, length);
    }

    internal void ForgetDerived(object source)
    {
        foreach (var key in derived.Keys.Where(k => ReferenceEquals(k.Source, source)).ToList())
        {
            Release(derived[key].Length);
            derived[key].Dispose();
            derived.Remove(key);
        }
    }

    /// <summary>Kernels compute element offsets in 32-bit integers (kernels/*.cs): no buffer may hold more elements.</summary>
    public const long MaxBufferElements = int.MaxValue;

    internal MemoryBuffer1D<float, Stride1D.Dense> Allocate(long length)
    {
        // The transfer refuses such sizes earlier, before allocating anything (MemoryEstimate.Check).
        if (length > MaxBufferElements)
            throw new ArgumentException($"a buffer of {length:N0} floats is beyond the 2^31 - 1 elements the kernels can index");
        long bytes = length * sizeof(float);
        var buffer = Accelerator.Allocate1D<float>(Math.Max(1, length));
        AllocatedBytes += bytes;
        PeakAllocatedBytes = Math.Max(PeakAllocatedBytes, AllocatedBytes);
        return buffer;
    }

    internal void Release(long length) => AllocatedBytes -= length * sizeof(float);

    public void ResetPeak() => PeakAllocatedBytes = AllocatedBytes;

    public void Synchronize() => Accelerator.Synchronize();

    public override string ToString() => $"{Info.Id} {Info.Name}";

    public void Dispose()
    {
        reductionPartials?.Dispose();
        foreach (var b in scratch) b?.Dispose();
        foreach (var b in derived.Values) b.Dispose();
        scalars?.Dispose();
        Accelerator.Dispose();
    }
}
