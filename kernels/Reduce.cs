// Reductions: dot, L1 norm, max |x|, the count of non-finite values, and the loss sums (kernels/Losses.cs) built on them.
//
// Two deterministic passes, no atomics (the same inputs always give the same bits, which is what
// makes "same seed, same image" hold):
//   pass 1  partials[t] = Σ_{i ≡ t mod T} term(i)        (T threads, grid-stride, coalesced)
//   pass 2  result[slot] = scale · Σ_t partials[t]        (one thread, in order)
// Both passes add with Kahan's compensation: c carries the low-order bits that each float32 addition
// drops, and is subtracted from the next term. Without it, pass 2 of a Gram-sized loss (512² terms,
// where a device with many threads leaves one term per partial) loses about 1e-4 of the sum's
// relative accuracy (PoCL, measured against libtorch in float64); with it, the error of a sum no longer
// grows with the number of terms, up to the final rounding (≈ 1e-7). The compensation has no
// multiplication, so no FMA contraction can change it; it only needs additions kept in order, as
// OpenCL C and PTX do without fast-math flags.
// The summand is a small struct (`IReductionTerm`): the same two kernels reduce x, x·y, x², |x|,
// or the losses' (x−p)² and total-variation differences (kernels/Losses.cs).
using ILGPU;
using ILGPU.Backends.EntryPoints;

namespace IlgpuStyle.Kernels;

/// <summary>The i-th summand of a reduction over `Count` elements.</summary>
public interface IReductionTerm
{
    int Count { get; }
    float Term(int i);
}

public struct DotTerm : IReductionTerm
{
    public ArrayView<float> X, Y;
    public readonly int Count => (int)X.Length;
    public readonly float Term(int i) => X[i] * Y[i];
}

public struct AbsTerm : IReductionTerm
{
    public ArrayView<float> X;
    public readonly int Count => (int)X.Length;
    public readonly float Term(int i) => MathF.Abs(X[i]);
}

/// <summary>Any non-finite element counts 1: the sum says how many NaN or ±Inf there are.</summary>
public struct NonFiniteTerm : IReductionTerm
{
    public ArrayView<float> X;
    public readonly int Count => (int)X.Length;
    public readonly float Term(int i)
    {
        float v = X[i];
        return (v - v) == 0f ? 0f : 1f;   // v − v is NaN exactly when v is NaN or ±Inf
    }
}

public static class Reduce
{
    /// <summary>Pass 1 of a sum: partials[t] = Σ_{i = t, t+T, ...} term(i), T = partials.Length.</summary>
    [KernelName("reduce_sum_partials")]
    public static void SumPartials<TTerm>(Index1D t, ArrayView<float> partials, TTerm term)
        where TTerm : struct, IReductionTerm
    {
        int stride = (int)partials.Length, n = term.Count;
        float s = 0f, c = 0f;
        for (int i = t; i < n; i += stride)
        {
            float y = term.Term(i) - c;   // Kahan: the term less what the last addition lost
            float u = s + y;
            c = (u - s) - y;              // what this addition lost
            s = u;
        }
        partials[t] = s;
    }

    /// <summary>Pass 1 of a maximum: partials[t] = max_{i = t, t+T, ...} term(i) (−∞ when empty).</summary>
    [KernelName("reduce_max_partials")]
    public static void MaxPartials<TTerm>(Index1D t, ArrayView<float> partials, TTerm term)
        where TTerm : struct, IReductionTerm
    {
        int stride = (int)partials.Length, n = term.Count;
        float m = float.NegativeInfinity;
        for (int i = t; i < n; i += stride)
            m = MathF.Max(m, term.Term(i));
        partials[t] = m;
    }

    /// <summary>Pass 2: result[slot] = scale · Σ_t partials[t], summed in order by one thread.</summary>
    [KernelName("reduce_sum_final")]
    public static void SumFinal(Index1D t, ArrayView<float> partials, ArrayView<float> result, int slot, float scale)
    {
        float s = 0f, c = 0f;
        for (int i = 0; i < partials.Length; i++)
        {
            float y = partials[i] - c;    // as in pass 1
            float u = s + y;
            c = (u - s) - y;
            s = u;
        }
        result[slot] = scale * s;
    }

    /// <summary>Pass 2: result[slot] = max_t partials[t].</summary>
    [KernelName("reduce_max_final")]
    public static void MaxFinal(Index1D t, ArrayView<float> partials, ArrayView<float> result, int slot)
    {
        float m = float.NegativeInfinity;
        for (int i = 0; i < partials.Length; i++)
            m = MathF.Max(m, partials[i]);
        result[slot] = m;
    }
}
