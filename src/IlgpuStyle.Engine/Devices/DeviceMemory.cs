namespace IlgpuStyle.Devices;

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
    /// <summary>The Winograd convolution's transformed filters U, where the weights are not frozen (kernels/Conv2dWinograd.cs).</summary>
    WinogradFilters,
    /// <summary>The Winograd convolution's transformed input tiles V.</summary>
    WinogradInput,
    /// <summary>The Winograd convolution's products M = U·V per position, before the output transform.</summary>
    WinogradProducts,
    /// <summary>The Rows Gram forward's partial blocks, one per slice of pixels (kernels/Gram.cs, ForwardBlocks).</summary>
    GramPartials,
    /// <summary>A strided convolution's stride-1 output, or its output gradient spread onto that grid (kernels/Conv2d.cs, Conv2dStrided).</summary>
    StridedFull,
    /// <summary>Each window's argmax of an overlapping max pooling, the first pass of its backward (kernels/Pool2d.cs).</summary>
    PoolArgmax,
}

/// <summary>
/// A device's memory, and what it costs: every allocation of the engine goes through <see cref="Allocate"/> and is
/// counted (the peak is what `bench` reports), and the buffers that outlive one op live here: scratch buffers by use,
/// layouts derived from frozen tensors (transposed weights), the partials of reductions and the loss scalars.
/// </summary>
public sealed class DeviceMemory(Accelerator accelerator, int reductionPartials) : IDisposable
{
    /// <summary>Device-resident scalars (loss values, a reduction's result) read back together.</summary>
    public const int ScalarSlots = 64;

    MemoryBuffer1D<float, Stride1D.Dense>? partials;
    MemoryBuffer1D<float, Stride1D.Dense>? scalars;
    readonly MemoryBuffer1D<float, Stride1D.Dense>?[] scratch = new MemoryBuffer1D<float, Stride1D.Dense>?[Enum.GetValues<ScratchBuffer>().Length];

    public long AllocatedBytes { get; private set; }
    public long PeakAllocatedBytes { get; private set; }

    /// <summary>Scratch for pass 1 of reductions: one float per thread.</summary>
    internal ArrayView<float> ReductionPartials =>
        (partials ??= accelerator.Allocate1D<float>(reductionPartials)).View;

    /// <summary>A few device-resident scalars (loss values) read back together.</summary>
    internal MemoryBuffer1D<float, Stride1D.Dense> Scalars => scalars ??= accelerator.Allocate1D<float>(ScalarSlots);

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

    /// <summary>Lets one derived layout of a tensor go (the tile tuner's candidates that were not chosen).</summary>
    internal void ForgetDerived(object source, int form)
    {
        if (!derived.Remove((source, form), out var buffer)) return;
        Release(buffer.Length);
        buffer.Dispose();
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
        var buffer = accelerator.Allocate1D<float>(Math.Max(1, length));
        AllocatedBytes += bytes;
        PeakAllocatedBytes = Math.Max(PeakAllocatedBytes, AllocatedBytes);
        return buffer;
    }

    internal void Release(long length) => AllocatedBytes -= length * sizeof(float);

    public void ResetPeak() => PeakAllocatedBytes = AllocatedBytes;

    public void Dispose()
    {
        partials?.Dispose();
        foreach (var b in scratch) b?.Dispose();
        foreach (var b in derived.Values) b.Dispose();
        scalars?.Dispose();
    }
}
