// Gram matrix of a feature map, the statistic the style loss compares.
//
// F is image n's feature map seen as a C × M matrix (M = H·W), s a normalization
// (1 for Gatys et al.; 1/(C·M) keeps values of every layer alike):
//   forward   G[n,i,j]  = s · Σ_m F[n,i,m] · F[n,j,m]                         G = s·F·Fᵀ
//   backward  dL/dF[n,c,m] += s · Σ_j (dL/dG[n,c,j] + dL/dG[n,j,c]) · F[n,j,m]  = s·(dG + dGᵀ)·F
//
// Naive kernels: one element of G (or dF) per thread. The tiled version is Gemm.cs with the
// operands below. The Rows kernels are shaped for CPUs' OpenCL compilers:
//   forward:  Ft[n,m,c] = F[n,c,m] (channels padded to a multiple of 16 with zeros); thread (block pair ib ≤ jb, slice
//             of 512 pixels) sums a whole 16×16 block P = Σ_{m in slice} Ft[n,m,i0..]ᵀ·Ft[n,m,j0..] in registers (the form
//             of Winograd's product, 16 AVX-512 FMAs per pixel), a group's threads sharing the slice's rows; then
//             G[i0+t, j0+u] = s·Σ_slices P[t][u] and its mirror: only one triangle of blocks is computed. (It was 16 sums
//             per thread and 16 threads per block pair over all pixels: 26 GFLOP/s, 49 ms per iteration at 256²; now
//             79 GFLOP/s, 16 + 5 ms.)
//   backward: S[n,j,i] = s·(dG[n,i,j] + dG[n,j,i]) (i padded to a multiple of 32); thread (q, i0) computes
//             dF[n,i0+t,8q+u] += Σ_j S[n,j,i0+t]·F[n,j,8q+u] for 32 channels t and 8 pixels u (a 1×1 convolution).
//   Both hold 256 sums per thread: 16 AVX-512 registers, but 32 of AVX2's 16. Where vectors hold fewer than 16 floats
//   (DevicePolicy.NarrowSumBlocks) a thread takes a quarter: 4 rows × 16 of a block pair (forward), 16 channels × 4
//   pixels (backward); each sum the same multiply-adds in the same order, so the same bits. On a Zen 3, 2 cores, fastest
//   of 25 launches, ms, narrow / wide: forward C=64 256² 8.5 / 11.2, C=128 128² 5.0 / 12.2, C=512 32² 4.9 / 6.5;
//   backward 11.5 / 14.1, 8.3 / 11.7, 7.1 / 10.9.
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

    /// <summary>
    /// Ft[n,k,i] = F[n,i,k] for i &lt; c, 0 for c ≤ i &lt; cPad, in blocks of 16 k × 16 i (grid-stride over the N·⌈m/16⌉·cPad/16
    /// blocks): a block reads 16 rows of F, 16 neighbouring k each, and writes 16 rows of Ft, 16 neighbouring channels each, so
    /// that both touch whole cache lines (element by element, the reads went down a column of F: 5.8 ms for conv1_1 at 256²).
    /// </summary>
    [KernelName("gram_transpose_features")]
    public static void TransposeFeatures(Index1D t, int stride, int n, int c, int cPad, int m, ArrayView<float> f, ArrayView<float> ft)
    {
        int kBlocks = (m + Block - 1) / Block, iBlocks = cPad / Block;
        long blocks = (long)n * kBlocks * iBlocks;
        for (long b = t; b < blocks; b += stride)
        {
            int ib = (int)(b % iBlocks);
            long rest = b / iBlocks, image = rest / kBlocks;
            int k0 = (int)(rest - image * kBlocks) * Block, i0 = ib * Block, kn = Math.Min(Block, m - k0);
            long from = (image * c + i0) * m + k0, to = (image * m + k0) * cPad + i0;
            int live = Math.Min(Block, c - i0);
            for (int kk = 0; kk < kn; kk++)
                for (int ii = 0; ii < Block; ii++)
                    ft[to + (long)kk * cPad + ii] = ii < live ? f[from + (long)ii * m + kk] : 0f;
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

    /// <summary>Steps of the long sum (pixels) one thread of <see cref="ForwardBlocks"/> takes: a slice of Ft.</summary>
    public const int SliceSteps = 512;

    /// <summary>
    /// Partial Gram blocks, the sum split into slices of <see cref="SliceSteps"/> pixels: thread (p, q·N + n), p numbering the
    /// block pairs ib ≤ jb of cPad/16 blocks row by row, sums P[q,n,p][16·t + u] = Σ_{m in slice q} Ft[n,m,i0+t]·Ft[n,m,j0+u]
    /// for all 16 × 16 (t, u) in registers, 8 pixels per step: the form of Winograd's batched product
    /// (Accumulators.IProductAccumulator), whose sums PoCL keeps in 16 AVX-512 registers, the 16 values of i0.. broadcast.
    /// A group's threads are pairs of one slice: they share its rows of Ft, a barrier after every 64 pixels keeping them
    /// together on PoCL. Each row of 16 sums is stored as one vector (VectorStore.cs: 16 scalar stores would make the sums
    /// 256-bit on PoCL).
    /// </summary>
    [KernelName("gram_fwd_blocks")]
    public static void ForwardBlocks(int n, int cPad, int m, int pairs, ArrayView<float> ft, ArrayView<float> partials)
    {
        int p = Grid.IdxX * Group.DimX + Group.IdxX;
        var acc = new Accumulator32x8();
        long o = SumBlock(ref acc, n, cPad, m, pairs, p, 0, ft);
        if (p >= pairs) return;
        acc.Lo.StoreVectors(partials, o, Block);
        acc.Hi.StoreVectors(partials, o + 8 * Block, Block);
    }

    /// <summary>As <see cref="ForwardBlocks"/> with a quarter of a block pair per thread, rows 4r … 4r + 3 of its 16 × 16 sums
    /// (thread 4p + r): 8 registers of sums where vectors hold 8 floats (AVX2's 16 registers; the whole block's 256 sums are
    /// 32 such registers, most of them spilled). The same sums in the same order as <see cref="ForwardBlocks"/>: the same bits.</summary>
    [KernelName("gram_fwd_blocks_4x16")]
    public static void ForwardBlocks4x16(int n, int cPad, int m, int pairs, ArrayView<float> ft, ArrayView<float> partials)
    {
        int x = Grid.IdxX * Group.DimX + Group.IdxX, p = x / 4, r = x % 4;
        var acc = new Accumulator16x4();
        long o = SumBlock(ref acc, n, cPad, m, pairs, p, 4 * r, ft);
        if (p >= pairs) return;
        acc.StoreVectors(partials, o + 4 * r * Block, Block);
    }

    /// <summary>acc += Σ_{m in slice} Ft[n,m,i0 + rows..]ᵀ·Ft[n,m,j0..] for block pair p (the last again past the end) of the
    /// thread's slice, from row `first` of the block; a barrier after every 64 pixels. Returns where its block of partial
    /// sums begins.</summary>
    static long SumBlock<TAcc>(ref TAcc acc, int n, int cPad, int m, int pairs, int p, int first, ArrayView<float> ft)
        where TAcc : struct, IProductAccumulator
    {
        int blocks = cPad / Block;
        int image = Grid.IdxY % n, slice = Grid.IdxY / n;
        int ib = PairRow(Math.Min(p, pairs - 1), blocks, out int jb), i0 = ib * Block + first, j0 = jb * Block;
        int k0 = slice * SliceSteps, k1 = Math.Min(k0 + SliceSteps, m), row = (image * m + k0) * cPad;
        int k = k0;
        for (; k + 64 <= k1; k += 64)
        {
            for (int s = 0; s < 64; s += 8, row += 8 * cPad)
                ProductSteps.Eight(ref acc, ft, row + i0, cPad, ft, row + j0, cPad);
            Group.Barrier();
        }
        for (; k < k1; k++, row += cPad) acc.Product(ft, row + i0, ft, row + j0);
        Group.Barrier();
        return ((long)Grid.IdxY * pairs + p) * Block * Block;
    }

    /// <summary>Block pair `pair` of `blocks` blocks, numbered row by row over ib ≤ jb: its row ib, and jb.</summary>
    static int PairRow(int pair, int blocks, out int jb)
    {
        int ib = 0, rest = pair;
        while (rest >= blocks - ib) { rest -= blocks - ib; ib++; }
        jb = ib + rest;
        return ib;
    }

    /// <summary>G[n,i,j] = G[n,j,i] = scale · Σ_q P[q,n,p][16·t + u] for block pair p = (ib, jb), i = 16ib + t, j = 16jb + u:
    /// the slices of <see cref="ForwardBlocks"/> added in order. One thread per (n, p, t, u).</summary>
    [KernelName("gram_fwd_slices")]
    public static void SumSlices(Index1D index, int n, int c, int cPad, int pairs, int slices, float scale, ArrayView<float> partials, ArrayView<float> gram)
    {
        int e = index % (Block * Block), p = index / (Block * Block) % pairs, image = index / (Block * Block * pairs);
        int ib = PairRow(p, cPad / Block, out int jb), i = ib * Block + e / Block, j = jb * Block + e % Block;
        if (i >= c || j >= c) return;
        float sum = 0f;
        long stride = (long)n * pairs * Block * Block, at = ((long)image * pairs + p) * Block * Block + e;
        for (int q = 0; q < slices; q++) sum += partials[at + q * stride];
        long g0 = (long)image * c * c;
        gram[g0 + (long)i * c + j] = scale * sum;
        gram[g0 + (long)j * c + i] = scale * sum;
    }

    /// <summary>Output channels per thread of <see cref="BackwardRows"/>; S's rows are padded to a multiple of it.</summary>
    public const int BackwardBlock = 32;

    /// <summary>
    /// dF += S·F with S from <see cref="SymmetrizeGradient"/> (scale included, rows padded to a multiple of 32): a 1×1
    /// convolution of F with filters S. Thread (q, n·blocks + b) of groups of 16 sums dF[n, i0 + t, p0 + u] for 32
    /// channels t and 8 neighbouring pixels u (p0 = 8q), like Conv2dDirect.Forward32x8: each F value loaded feeds 32
    /// multiply-adds and each 16 values of S 8. A barrier after every 32 steps of j keeps a group's threads together
    /// on PoCL. Pixels past M are read clamped and not written.
    /// </summary>
    [KernelName("gram_bwd_rows")]
    public static void BackwardRows(int c, int cPad, int m, ArrayView<float> sym, ArrayView<float> f, ArrayView<float> gradF)
    {
        int quads = (m + 7) / 8;
        int q = Grid.IdxX * Group.DimX + Group.IdxX;
        int blocks = cPad / BackwardBlock;
        int n = Grid.IdxY / blocks, i0 = (Grid.IdxY - n * blocks) * BackwardBlock;
        int p0 = Math.Min(q, quads - 1) * 8;
        // Every thread of a group takes the same branch: the group's pixels all lie inside the row, or it is the row's last group.
        bool whole = (Grid.IdxX + 1) * Group.DimX * 8 <= m;
        var acc = whole ? SumColumns(c, cPad, m, n, i0, p0, 1, 2, 3, 4, 5, 6, 7, sym, f)
            : SumColumns(c, cPad, m, n, i0, p0, Math.Min(1, m - 1 - p0), Math.Min(2, m - 1 - p0), Math.Min(3, m - 1 - p0),
                Math.Min(4, m - 1 - p0), Math.Min(5, m - 1 - p0), Math.Min(6, m - 1 - p0), Math.Min(7, m - 1 - p0), sym, f);
        if (q >= quads) return;
        long f0 = (long)n * c * m;
        AddColumns(acc.Lo, c, m, f0, i0, p0, gradF);
        AddColumns(acc.Hi, c, m, f0, i0 + Block, p0, gradF);
    }

    /// <summary>As <see cref="BackwardRows"/> with 16 channels × 4 pixels per thread (p0 = 4q; thread (q, n·cPad/16 + b)):
    /// 8 registers of sums where vectors hold 8 floats (AVX2), against 32 for the 32 × 8 block. Each sum the same
    /// multiply-adds in the same order as in <see cref="BackwardRows"/>: the same bits.</summary>
    [KernelName("gram_bwd_rows_16x4")]
    public static void BackwardRows16x4(int c, int cPad, int m, ArrayView<float> sym, ArrayView<float> f, ArrayView<float> gradF)
    {
        int quads = (m + 3) / 4;
        int q = Grid.IdxX * Group.DimX + Group.IdxX;
        int blocks = cPad / Block;
        int n = Grid.IdxY / blocks, i0 = (Grid.IdxY - n * blocks) * Block;
        int p0 = Math.Min(q, quads - 1) * 4;
        bool whole = (Grid.IdxX + 1) * Group.DimX * 4 <= m;
        var acc = whole ? SumColumns4(c, cPad, m, n, i0, p0, 1, 2, 3, sym, f)
            : SumColumns4(c, cPad, m, n, i0, p0, Math.Min(1, m - 1 - p0), Math.Min(2, m - 1 - p0), Math.Min(3, m - 1 - p0), sym, f);
        if (q >= quads) return;
        long f0 = (long)n * c * m;
        for (int t = 0; t < Block; t++)
        {
            int i = i0 + t;
            if (i >= c) break;
            long r = f0 + (long)i * m + p0;
            gradF[r] += acc.P0.Get(t);
            if (p0 + 1 < m) gradF[r + 1] += acc.P1.Get(t);
            if (p0 + 2 < m) gradF[r + 2] += acc.P2.Get(t);
            if (p0 + 3 < m) gradF[r + 3] += acc.P3.Get(t);
        }
    }

    /// <summary>acc[t][u] = Σ_j S[n,j,i0+t]·F[n,j,p0+o_u] (o_0 = 0) for 16 channels and 4 pixels, with a barrier after every
    /// 32 values of j.</summary>
    static Accumulator16x4 SumColumns4(int c, int cPad, int m, int n, int i0, int p0, int o1, int o2, int o3,
        ArrayView<float> sym, ArrayView<float> f)
    {
        var acc = new Accumulator16x4();
        int fr = n * c * m + p0, sr = n * c * cPad + i0;
        for (int j0 = 0; j0 < c; j0 += 32)
        {
            int j1 = Math.Min(j0 + 32, c);
            for (int j = j0; j < j1; j++)
            {
                acc.Column(f[fr], f[fr + o1], f[fr + o2], f[fr + o3], sym, sr);
                fr += m; sr += cPad;
            }
            Group.Barrier();
        }
        return acc;
    }

    /// <summary>acc[t][u] = Σ_j S[n,j,i0+t]·F[n,j,p0+o_u] (o_0 = 0), with a barrier after every 32 values of j.</summary>
    static Accumulator32x8 SumColumns(int c, int cPad, int m, int n, int i0, int p0, int o1, int o2, int o3, int o4, int o5, int o6, int o7,
        ArrayView<float> sym, ArrayView<float> f)
    {
        var acc = new Accumulator32x8();
        int fr = n * c * m + p0, sr = n * c * cPad + i0;
        for (int j0 = 0; j0 < c; j0 += 32)
        {
            int j1 = Math.Min(j0 + 32, c);
            for (int j = j0; j < j1; j++)
            {
                acc.Column(f[fr], f[fr + o1], f[fr + o2], f[fr + o3], f[fr + o4], f[fr + o5], f[fr + o6], f[fr + o7], sym, sr);
                fr += m; sr += cPad;
            }
            Group.Barrier();
        }
        return acc;
    }

    /// <summary>gradF[f0 + (i0 + t)·m + p0 + u] += acc.P_u[t] for the channels and pixels that exist.</summary>
    static void AddColumns(in Accumulator16x8 acc, int c, int m, long f0, int i0, int p0, ArrayView<float> gradF)
    {
        for (int t = 0; t < Block; t++)
        {
            int i = i0 + t;
            if (i >= c) break;
            long r = f0 + (long)i * m + p0;
            gradF[r] += acc.P0.Get(t);
            if (p0 + 1 < m) gradF[r + 1] += acc.P1.Get(t);
            if (p0 + 2 < m) gradF[r + 2] += acc.P2.Get(t);
            if (p0 + 3 < m) gradF[r + 3] += acc.P3.Get(t);
            if (p0 + 4 < m) gradF[r + 4] += acc.P4.Get(t);
            if (p0 + 5 < m) gradF[r + 5] += acc.P5.Get(t);
            if (p0 + 6 < m) gradF[r + 6] += acc.P6.Get(t);
            if (p0 + 7 < m) gradF[r + 7] += acc.P7.Get(t);
        }
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
