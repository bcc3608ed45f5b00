using IlgpuStyle.Devices;

namespace IlgpuStyle.Tensors;

/// <summary>An NCHW shape. Weights use it as (Co, Ci, KH, KW), a bias as (1, C, 1, 1), Gram matrices as (N, 1, C, C).</summary>
public readonly record struct Shape4(int N, int C, int H, int W)
{
    public long Length => (long)N * C * H * W;
    public long Bytes => Length * sizeof(float);
    public override string ToString() => $"({N}, {C}, {H}, {W})";
    public static Shape4 Vector(int length) => new(1, length, 1, 1);
}

/// <summary>
/// A float32 tensor on one device. Owns its buffer; dispose it to give the memory back.
/// Host copies are explicit (<see cref="ToArray"/>, <see cref="CopyFrom(ReadOnlySpan{float})"/>).
/// </summary>
public sealed class Tensor : IDisposable
{
    readonly MemoryBuffer1D<float, Stride1D.Dense>? buffer;
    readonly ArrayView<float> borrowed;
    bool disposed;

    public ComputeDevice Device { get; }
    public Shape4 Shape { get; }
    public string Name { get; }

    public Tensor(ComputeDevice device, Shape4 shape, string name = "")
    {
        if (shape.N < 0 || shape.C < 0 || shape.H < 0 || shape.W < 0)
            throw new ArgumentException($"Tensor '{name}': negative dimension in shape {shape}");
        Device = device;
        Shape = shape;
        Name = name;
        buffer = device.Memory.Allocate(shape.Length);
    }

    Tensor(ComputeDevice device, Shape4 shape, ArrayView<float> view, string name)
    {
        Device = device;
        Shape = shape;
        Name = name;
        borrowed = view.SubView(0, shape.Length);
    }

    /// <summary>A tensor over memory it does not own (a scratch buffer of the device): disposing it frees nothing.</summary>
    internal static Tensor Over(ComputeDevice device, Shape4 shape, ArrayView<float> view, string name) => new(device, shape, view, name);

    public static Tensor FromArray(ComputeDevice device, Shape4 shape, ReadOnlySpan<float> data, string name = "")
    {
        var t = new Tensor(device, shape, name);
        t.CopyFrom(data);
        return t;
    }

    public long Length => Shape.Length;

    /// <summary>
    /// Promises that the contents no longer change (VGG19's weights during a transfer), so ops may
    /// cache layouts derived from it (the direct convolution's transposed filters). Writing to a
    /// frozen tensor through <see cref="CopyFrom(ReadOnlySpan{float})"/> throws.
    /// </summary>
    public bool Frozen { get; private set; }

    public void Freeze() => Frozen = true;

    /// <summary>The device memory, for kernels.</summary>
    public ArrayView<float> View => buffer is null ? borrowed : buffer.View.SubView(0, Shape.Length);

    public void CopyFrom(ReadOnlySpan<float> data)
    {
        if (Frozen) throw new InvalidOperationException($"Tensor '{Name}' is frozen");
        if (data.Length != Length)
            throw new ArgumentException($"Tensor '{Name}': {data.Length} values do not fill shape {Shape} ({Length} values)");
        if (Length > 0) View.CopyFromCPU(data);
    }

    public void CopyFrom(Tensor source)
    {
        if (source.Shape != Shape)
            throw new ArgumentException($"Tensor '{Name}': cannot copy from shape {source.Shape} into shape {Shape}");
        if (Length > 0) View.CopyFrom(source.View);
    }

    public float[] ToArray()
    {
        var data = new float[Length];
        if (Length > 0) View.CopyToCPU(data);
        return data;
    }

    public override string ToString() => $"{Name}{Shape}";

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        Device.Memory.ForgetDerived(this);
        if (buffer is null) return;   // borrowed memory: its owner frees it
        buffer.Dispose();
        Device.Memory.Release(Shape.Length);
    }
}
