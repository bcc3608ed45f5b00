// Gram matrix of a feature map, the statistic the style loss compares.
//
// F is image n's feature map seen as a C × M matrix (M = H·W), s a normalization
// (1 for Gatys et al.; 1/(C·M) keeps values of every layer alike):
//   forward   G[n,i,j]  = s · Σ_m F[n,i,m] · F[n,j,m]                         G = s·F·Fᵀ
//   backward  dL/dF[n,c,m] += s · Σ_j (dL/dG[n,c,j] + dL/dG[n,j,c]) · F[n,j,m]  = s·(dG + dGᵀ)·F
//
// Naive kernels: one element of G (or dF) per thread. The tiled version is Gemm.cs with the
// operands below. The Rows kernels are shaped like Conv2dDirect.ForwardRows, for CPUs' OpenCL compilers:
// 16 threads per group, 16 sums per thread, a barrier after every 8 steps of the long sum, and in each
// step one load that differs across the group and 16 weights common to it.
//   forward:  Ft[n,m,c] = F[n,c,m] (channels padded to a multiple of 16 with zeros); the group of block pair
//             (ib ≤ jb) computes G[i0+t, j0+lane] = s·Σ_m Ft[n,m,i0+t]·Ft[n,m,j0+lane], t < 16, and writes it and its
//             mirror: only one triangle of blocks is computed.
//   backward: S[n,j,i] = s·(dG[n,i,j] + dG[n,j,i]) (i padded to a multiple of 16); the group of 16 pixels m0..m0+15
//             and channel block i0 computes dF[n,i0+t,m0+lane] += Σ_j S[n,j,i0+t]·F[n,j,m0+lane].
using ILGPU;
using ILGPU.Backends.EntryPoints;

namespace IlgpuStyle.Kernels;

public static class Gram
{
    [KernelName("gram_fwd_naive")]
    public static void ForwardNaive(Index1D index, int c, int m, float scale, ArrayView<float> features, ArrayView<float> gram)
    {
        int j = index % c, i = index / c % c, n = index / (c * c);
        long fi = ((long)n * c + i) * m, fj = ((long)n * c + j) * m;
        float s = 0f;
        for (int k = 0; k < m; k++)
            s += features[fi + k] * features[fj + k];
        gram[index] = scale * s;
    }

    [KernelName("gram_bwd_naive")]
    public static void BackwardNaive(Index1D index, int c, int m, float scale, ArrayView<float> features,
        ArrayView<float> gradGram, ArrayView<float> gradFeatures)
    {
        int k = index % m, ch = index / m % c, n = index / (m * c);
        long g0 = (long)n * c * c, f0 = (long)n * c * m;
        float s = 0f;
        for (int j = 0; j < c; j++)
            s += (gradGram[g0 + ch * c + j] + gradGram[g0 + j * c + ch]) * features[f0 + j * m + k];
        gradFeatures[index] += scale * s;
    }

    public const int Block = 16;

    /// <summary>Ft[n,m,i] = F[n,i,m] for i &lt; c, 0 for c ≤ i &lt; cPad (grid-stride over Ft).</summary>
    [KernelName("gram_transpose_features")]
    public static void TransposeFeatures(Index1D t, int stride, int c, int cPad, int m, ArrayView<float> f, ArrayView<float> ft)
    {
        for (long e = t; e < ft.Length; e += stride)
        {
            int i = (int)(e % cPad);
            long nm = e / cPad, n = nm / m, k = nm - n * m;
            ft[e] = i < c ? f[(n * c + i) * m + k] : 0f;
        }
    }

    /// <summary>S[n,j,i] = scale·(dG[n,i,j] + dG[n,j,i]) for i &lt; c, 0 for c ≤ i &lt; cPad (grid-stride over S).</summary>
    [KernelName("gram_symmetrize_gradient")]
    public static void SymmetrizeGradient(Index1D t, int stride, int c, int cPad, float scale, ArrayView<float> gradGram, ArrayView<float> sym)
    {
        for (long e = t; e < sym.Length; e += stride)
        {
            int i = (int)(e % cPad);
            long nj = e / cPad, n = nj / c, j = nj - n * c, g0 = n * c * c;
            sym[e] = i < c ? scale * (gradGram[g0 + i * c + j] + gradGram[g0 + j * c + i]) : 0f;
        }
    }

    /// <summary>
    /// G = scale·F·Fᵀ from Ft (see <see cref="TransposeFeatures"/>). Group (pair, n) of 16 threads, pair numbering the
    /// block pairs ib ≤ jb of cPad/16 blocks row by row; thread `lane` sums G[i0+t, j0+lane] for t &lt; 16.
    /// </summary>
    [KernelName("gram_fwd_rows")]
    public static void ForwardRows(int c, int cPad, int m, float scale, ArrayView<float> ft, ArrayView<float> gram)
    {
        int lane = Group.IdxX, blocks = cPad / Block, n = Grid.IdxY;
        int ib = 0, rest = Grid.IdxX;
        while (rest >= blocks - ib) { rest -= blocks - ib; ib++; }
        int i0 = ib * Block, j = (ib + rest) * Block + lane;
        int row = n * m * cPad;
        var acc = new Accumulator16();
        int k = 0;
        for (; k + 8 <= m; k += 8)
        {
            int r = row + k * cPad;
            acc.Fma(ft[r + j], ft, r + i0); r += cPad; acc.Fma(ft[r + j], ft, r + i0); r += cPad;
            acc.Fma(ft[r + j], ft, r + i0); r += cPad; acc.Fma(ft[r + j], ft, r + i0); r += cPad;
            acc.Fma(ft[r + j], ft, r + i0); r += cPad; acc.Fma(ft[r + j], ft, r + i0); r += cPad;
            acc.Fma(ft[r + j], ft, r + i0); r += cPad; acc.Fma(ft[r + j], ft, r + i0);
            Group.Barrier();
        }
        for (; k < m; k++)
        {
            int r = row + k * cPad;
            acc.Fma(ft[r + j], ft, r + i0);
            Group.Barrier();
        }
        if (j >= c) return;
        long g0 = (long)n * c * c;
        for (int t = 0; t < Block; t++)
        {
            int i = i0 + t;
            if (i >= c) break;
            float v = scale * acc.Get(t);
            gram[g0 + (long)i * c + j] = v;
            gram[g0 + (long)j * c + i] = v;
        }
    }

    /// <summary>
    /// dF += S·F with S from <see cref="SymmetrizeGradient"/> (scale included). Group (tile, n·blocks + ib) of 16 threads,
    /// thread `lane` sums dF[n, i0+t, tile·16 + lane] for t &lt; 16.
    /// </summary>
    [KernelName("gram_bwd_rows")]
    public static void BackwardRows(int c, int cPad, int m, ArrayView<float> sym, ArrayView<float> f, ArrayView<float> gradF)
    {
        int lane = Group.IdxX, blocks = cPad / Block;
        int n = Grid.IdxY / blocks, i0 = (Grid.IdxY - n * blocks) * Block;
        int pixel = Grid.IdxX * Block + lane;
        // The last tile may stick out of the row: its threads past the end read the last pixel and drop their sums.
        // Every thread of a group takes the same branch.
        bool whole = Grid.IdxX * Block + Block <= m;
        var acc = whole ? SumRows(c, cPad, m, n, i0, pixel, sym, f) : SumRows(c, cPad, m, n, i0, Math.Min(pixel, m - 1), sym, f);
        if (pixel >= m) return;
        long f0 = (long)n * c * m;
        for (int t = 0; t < Block; t++)
        {
            int i = i0 + t;
            if (i >= c) break;
            gradF[f0 + (long)i * m + pixel] += acc.Get(t);
        }
    }

    /// <summary>acc_t = Σ_j S[n,j,i0+t]·F[n,j,pixel], with a barrier after every 8 values of j.</summary>
    static Accumulator16 SumRows(int c, int cPad, int m, int n, int i0, int pixel, ArrayView<float> sym, ArrayView<float> f)
    {
        var acc = new Accumulator16();
        int fr = n * c * m + pixel, sr = n * c * cPad + i0;
        int j = 0;
        for (; j + 8 <= c; j += 8)
        {
            acc.Fma(f[fr], sym, sr); fr += m; sr += cPad; acc.Fma(f[fr], sym, sr); fr += m; sr += cPad;
            acc.Fma(f[fr], sym, sr); fr += m; sr += cPad; acc.Fma(f[fr], sym, sr); fr += m; sr += cPad;
            acc.Fma(f[fr], sym, sr); fr += m; sr += cPad; acc.Fma(f[fr], sym, sr); fr += m; sr += cPad;
            acc.Fma(f[fr], sym, sr); fr += m; sr += cPad; acc.Fma(f[fr], sym, sr); fr += m; sr += cPad;
            Group.Barrier();
        }
        for (; j < c; j++)
        {
            acc.Fma(f[fr], sym, sr); fr += m; sr += cPad;
            Group.Barrier();
        }
        return acc;
    }
}

/// <summary>A(i, m) = F[n, i, m]: the feature map as stored.</summary>
public struct FeatureRowsOperand : IGemmOperandA
{
    public ArrayView<float> F;
    public int C, M;
    public readonly float Load(int n, int i, int m) => F[((long)n * C + i) * M + m];
}

/// <summary>B(m, j) = F[n, j, m]: the feature map transposed.</summary>
public struct FeatureColumnsOperand : IGemmOperandB
{
    public ArrayView<float> F;
    public int C, M;
    public readonly float Load(int n, int m, int j) => F[((long)n * C + j) * M + m];
}

/// <summary>B(j, m) = F[n, j, m]: the feature map as the right operand of (dG + dGᵀ)·F.</summary>
public struct FeatureOperand : IGemmOperandB
{
    public ArrayView<float> F;
    public int C, M;
    public readonly float Load(int n, int j, int m) => F[((long)n * C + j) * M + m];
}

/// <summary>A(c, j) = dG[n, c, j] + dG[n, j, c]: the symmetrized Gram gradient.</summary>
public struct SymmetricGramGradientOperand : IGemmOperandA
{
    public ArrayView<float> GradGram;
    public int C;
    public readonly float Load(int n, int i, int j)
    {
        long g0 = (long)n * C * C;
        return GradGram[g0 + i * C + j] + GradGram[g0 + j * C + i];
    }
}
