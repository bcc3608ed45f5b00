using IlgpuStyle.Devices;
using IlgpuStyle.Kernels;
using IlgpuStyle.Tensors;

namespace IlgpuStyle.Ops;

/// <summary>
/// Reductions (kernels/Reduce.cs). The `...Into` forms leave the result in a device scalar slot
/// (no host synchronization); the plain forms return it (and synchronize).
/// </summary>
public static partial class Op
{
    /// <summary>Device-resident scalar slots: losses are written here and read back together.</summary>
    public const int ScalarSlots = DeviceMemory.ScalarSlots;

    public static float Dot(Tensor x, Tensor y)
    {
        Check.SameShape("Dot", x, y);
        return ReduceNow(x.Device, new DotTerm { X = x.View, Y = y.View });
    }
    public static float NormL1(Tensor x) => ReduceNow(x.Device, new AbsTerm { X = x.View });
    public static float NormInf(Tensor x)
    {
        if (x.Length == 0) return 0f;
        MaxInto(x.Device, new AbsTerm { X = x.View }, 0);
        return ReadScalars(x.Device, 1)[0];
    }
    /// <summary>How many elements are NaN or ±Inf.</summary>
    public static int CountNonFinite(Tensor x) => (int)ReduceNow(x.Device, new NonFiniteTerm { X = x.View });

    static float ReduceNow<TTerm>(ComputeDevice d, TTerm term) where TTerm : struct, IReductionTerm
    {
        SumInto(d, term, 0, 1f);
        return ReadScalars(d, 1)[0];
    }

    /// <summary>scalars[slot] = scale · Σ term(i), on the device.</summary>
    public static void SumInto<TTerm>(ComputeDevice d, TTerm term, int slot, float scale) where TTerm : struct, IReductionTerm
    {
        Check.That("Reduce", slot >= 0 && slot < ScalarSlots, $"scalar slot {slot} outside 0..{ScalarSlots - 1}");
        var partials = d.Memory.ReductionPartials;
        d.Grid(Reduce.SumPartials<TTerm>, partials.Length, term.Count, (long)term.Count * sizeof(float), partials, term);
        d.Grid(Reduce.SumFinal, 1, partials.Length, partials.Length * sizeof(float), partials, (ArrayView<float>)d.Memory.Scalars.View, slot, scale);
    }

    static void MaxInto<TTerm>(ComputeDevice d, TTerm term, int slot) where TTerm : struct, IReductionTerm
    {
        var partials = d.Memory.ReductionPartials;
        d.Grid(Reduce.MaxPartials<TTerm>, partials.Length, term.Count, (long)term.Count * sizeof(float), partials, term);
        d.Grid(Reduce.MaxFinal, 1, partials.Length, partials.Length * sizeof(float), partials, (ArrayView<float>)d.Memory.Scalars.View, slot);
    }

    /// <summary>Reads the first `count` scalar slots (synchronizes).</summary>
    public static float[] ReadScalars(ComputeDevice d, int count)
    {
        var values = new float[count];
        d.Memory.Scalars.View.SubView(0, count).CopyToCPU(values);
        return values;
    }
}
