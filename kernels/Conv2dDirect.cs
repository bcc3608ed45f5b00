// Direct convolution, stride 1, register-blocked over output channels: the fast path for VGG19's
// 3×3 / stride 1 / pad 1 layers on CPUs (PoCL) and GPUs alike.
//
// Three steps per call (see the engine's Op.Conv2dForward / Op.Conv2dBackwardInput):
//   1. Pad:        xp[n,c,py,px] = x[n,c,py−P,px−P] inside, 0 on a border P wide. No bounds checks later.
//                  For the input gradient of a convolution followed by ReLU, the pad also applies the ReLU's
//                  mask (dy·[y > 0]), so that no separate pass over dy is needed.
//   2. Transpose:  wt[ci,ky,kx,k] = w[k,ci,ky,kx], with k padded with zeros to a multiple of 16, so
//                  the 16 weights a thread needs per tap are contiguous (and uniform across threads).
//   3. Direct:     thread (p, n, k0) computes y[n, k0..k0+15, oy, ox] (p = oy·Wo + ox) as
//                  y[n,k,oy,ox] = b[k] + Σ_{ci,ky,kx} wt[ci,ky,kx,k] · xp[n, ci, oy+ky, ox+kx]
//                  16 accumulators in registers: one input load feeds 16 multiply-adds.
//                  For 3×3 filters a thread takes 4 or 8 neighbouring pixels of a row instead of one
//                  (Forward4Pixels, Forward8Pixels): each 16 weights loaded feed 4 or 8 pixels, and a CPU
//                  overlaps the independent sums; PoCL makes each 16-channel sum one AVX-512 register.
//                  Forward32x8 takes 32 channels × 8 pixels (16 such sums): each input value loaded feeds 32
//                  multiply-adds. Every multiply-add is FusedMath.MulAdd: one FMA instruction on OpenCL.
//                  ForwardRows is the same sum with one pixel per thread and a barrier per input channel
//                  (the Rows variant, kept to compare: PoCL vectorizes it less well).
//
// The input gradient of a stride-1 convolution is itself a stride-1 convolution: with P' = K−1−P,
//   dx[n,ci,iy,ix] = Σ_{co,ky,kx} w[co,ci,K−1−ky,K−1−kx] · dyp[n, co, iy+ky, ix+kx]
// so step 2 has a second form (flip the taps, swap in and out) and step 3 is reused as is,
// accumulating into dx.
using ILGPU;
using ILGPU.Backends.EntryPoints;

namespace IlgpuStyle.Kernels;

/// <summary>Sizes of one direct convolution over an already padded input.</summary>
public struct DirectConvGeometry
{
    public int N, InC, PaddedH, PaddedW, OutC, OutCPadded, OutH, OutW, KH, KW;
    public readonly int OutPixels => OutH * OutW;
}

/// <summary>What the pad copies inside the border: the input, or the input masked by a ReLU's output (dy·[y &gt; 0]).</summary>
public enum PadMode { Copy = 0, ReluMask = 1 }

/// <summary>Which filters the transpose lays out: the convolution's own, or flipped with in and out swapped (its input gradient).</summary>
public enum WeightLayout { Forward = 0, InputGradient = 1 }

public static class Conv2dDirect
{
    public const int ChannelBlock = 16;

    /// <summary>Output channels per thread of the wide kernel <see cref="Forward32x8"/>.</summary>
    public const int WideBlock = 32;

    /// <summary>Flags of <see cref="Forward"/>.</summary>
    public const int Relu = 1, Accumulate = 2, UseBias = 4;

    /// <summary>
    /// xp = x with a zero border, padH rows above and below, padW columns left and right; with PadMode.ReluMask also
    /// x[i] · [mask[i] &gt; 0] inside (the ReLU of the layer whose output gradient x is: mask is that layer's output).
    /// Grid-stride over the padded rows (plane·PaddedH + py): each thread copies whole rows, a contiguous loop a CPU
    /// compiler vectorizes.
    /// </summary>
    [KernelName("conv2d_pad")]
    public static void Pad(Index1D t, int stride, int h, int w, int padH, int padW, ArrayView<float> x, ArrayView<float> mask, PadMode mode,
        ArrayView<float> xp)
    {
        int ph = h + 2 * padH, pw = w + 2 * padW;
        long rows = xp.Length / pw;
        for (long row = t; row < rows; row += stride)
        {
            long plane = row / ph;
            int sy = (int)(row - plane * ph) - padH;
            long d = row * pw;
            if (sy < 0 || sy >= h)
            {
                for (int px = 0; px < pw; px++) xp[d + px] = 0f;
                continue;
            }
            long src = (plane * h + sy) * w;
            for (int px = 0; px < padW; px++) xp[d + px] = 0f;
            if (mode == PadMode.ReluMask)
                for (int sx = 0; sx < w; sx++) xp[d + padW + sx] = mask[src + sx] > 0f ? x[src + sx] : 0f;
            else
                for (int sx = 0; sx < w; sx++) xp[d + padW + sx] = x[src + sx];
            for (int px = padW + w; px < pw; px++) xp[d + px] = 0f;
        }
    }

    /// <summary>
    /// wt[ci,ky,kx,k] for a convolution from `inC` to `outC` channels (k &lt; outCPadded, zero past outC).
    /// WeightLayout.Forward:       wt[ci,ky,kx,k] = w[k,ci,ky,kx]            (w is (outC, inC, KH, KW))
    /// WeightLayout.InputGradient: wt[co,ky,kx,ci] = w[co,ci,KH−1−ky,KW−1−kx] (w is (inC, outC, KH, KW) of the forward conv)
    /// </summary>
    [KernelName("conv2d_transpose_weights")]
    public static void TransposeWeights(Index1D t, int stride, int inC, int outC, int outCPadded, int kh, int kw,
        WeightLayout layout, ArrayView<float> w, ArrayView<float> wt)
    {
        for (int i = t; i < wt.Length; i += stride)
        {
            int k = i % outCPadded, tap = i / outCPadded;
            int kx = tap % kw, ky = tap / kw % kh, ci = tap / (kw * kh);
            float v = 0f;
            if (k < outC)
                v = layout == WeightLayout.Forward
                    ? w[((k * inC + ci) * kh + ky) * kw + kx]
                    : w[((ci * outC + k) * kh + (kh - 1 - ky)) * kw + (kw - 1 - kx)];
            wt[i] = v;
        }
    }

    /// <summary>
    /// The same sums as <see cref="Forward"/> (3×3 filters only), shaped for CPUs' OpenCL compilers: group (tile, n·blocks + b)
    /// of Group.DimX threads covers Group.DimX neighbouring pixels of one output row, thread i the pixel tile·DimX + i.
    /// The barrier at the end of each input channel ends a region in which all threads of the group do the same
    /// straight-line work (9 input loads, 144 multiply-adds with weights common to the group), which a compiler that runs a
    /// group as a loop over its threads (PoCL) turns into SIMD across the threads. Pixels past OutW are computed and dropped:
    /// xp needs Group.DimX + 2 readable floats past its end.
    /// </summary>
    [KernelName("conv2d_direct_rows")]
    public static void ForwardRows(DirectConvGeometry g, ArrayView<float> xp, ArrayView<float> wt,
        ArrayView<float> bias, ArrayView<float> y, int flags)
    {
        int lid = Group.IdxX, width = Group.DimX;
        int tilesX = (g.OutW + width - 1) / width;
        int oy = Grid.IdxX / tilesX, ox = (Grid.IdxX - oy * tilesX) * width + lid;
        int blocks = g.OutCPadded / ChannelBlock;
        int n = Grid.IdxY / blocks, k0 = (Grid.IdxY - n * blocks) * ChannelBlock;
        var acc = new Accumulator16();
        int planeSize = g.PaddedH * g.PaddedW, k = g.OutCPadded;
        for (int ci = 0; ci < g.InC; ci++)
        {
            Taps3x3(ref acc, xp, wt, (n * g.InC + ci) * planeSize + oy * g.PaddedW + ox, g.PaddedW, ci * 9 * k + k0, k);
            Group.Barrier();
        }
        if (ox < g.OutW) Store(g, acc, n, k0, oy, ox, bias, y, flags);
    }

    /// <summary>
    /// Thread (q, n·blocks + b) computes 16 output channels × 4 neighbouring pixels of a row (3×3 filters only): each
    /// 16 weights loaded feed 4 pixels, and the 4 sums are independent chains a CPU can overlap; a CPU OpenCL compiler
    /// (PoCL) turns each 16-channel sum into one SIMD register. Grid (⌈⌈OutW/4⌉·OutH / group⌉, N·OutCPadded/16). A barrier
    /// after every `channelsPerBarrier` input channels makes PoCL run the group's threads chunk by chunk, so the input
    /// rows they share stay in the L1 cache (deep layers: 256 input channels × 3 rows overflow it otherwise).
    /// Pixels past OutW are computed and dropped: xp needs 4 + 2 readable floats past its end (8 + 2 for 8 pixels).
    /// </summary>
    [KernelName("conv2d_direct_4px")]
    public static void Forward4Pixels(DirectConvGeometry g, ArrayView<float> xp, ArrayView<float> wt,
        ArrayView<float> bias, ArrayView<float> y, int flags, int channelsPerBarrier)
    {
        var b = RowBlock.Of(g, 4, ChannelBlock);
        int n = b.N, k0 = b.K0, oy = b.Oy, ox = b.Ox;
        var acc = new Accumulator16x4();
        int planeSize = g.PaddedH * g.PaddedW, k = g.OutCPadded, pw = g.PaddedW;
        for (int c0 = 0; c0 < g.InC; c0 += channelsPerBarrier)
        {
            int c1 = Math.Min(c0 + channelsPerBarrier, g.InC);
            for (int ci = c0; ci < c1; ci++)
            {
                int r = (n * g.InC + ci) * planeSize + oy * pw + ox;
                int tap = ci * 9 * k + k0;
                acc.Row(xp[r], xp[r + 1], xp[r + 2], xp[r + 3], xp[r + 4], xp[r + 5], wt, tap, k);
                r += pw;
                acc.Row(xp[r], xp[r + 1], xp[r + 2], xp[r + 3], xp[r + 4], xp[r + 5], wt, tap + 3 * k, k);
                r += pw;
                acc.Row(xp[r], xp[r + 1], xp[r + 2], xp[r + 3], xp[r + 4], xp[r + 5], wt, tap + 6 * k, k);
            }
            Group.Barrier();
        }
        if (!b.Stores) return;
        Store4(g, acc, n, k0, oy, ox, bias, y, flags);
    }

    /// <summary>As <see cref="Forward4Pixels"/> with 8 pixels per thread: better where rows are short and channels many.</summary>
    [KernelName("conv2d_direct_8px")]
    public static void Forward8Pixels(DirectConvGeometry g, ArrayView<float> xp, ArrayView<float> wt,
        ArrayView<float> bias, ArrayView<float> y, int flags, int channelsPerBarrier)
    {
        var b = RowBlock.Of(g, 8, ChannelBlock);
        var acc = new Accumulator16x8();
        SumRows8(ref acc, g, xp, wt, b.N, b.K0, b.Oy, b.Ox, channelsPerBarrier);
        if (!b.Stores) return;
        Store8(g, acc, b.N, b.K0, b.Oy, b.Ox, bias, y, flags);
    }

    /// <summary>
    /// As <see cref="Forward8Pixels"/> with 32 output channels per thread (OutCPadded a multiple of 32): 16 sums of 16
    /// channels, each input value loaded feeding 32 multiply-adds and each 16 weights 8. On PoCL the 16 sums are 16 of
    /// AVX-512's 32 vector registers. Used wherever there are at least 32 output channels.
    /// </summary>
    [KernelName("conv2d_direct_32x8")]
    public static void Forward32x8(DirectConvGeometry g, ArrayView<float> xp, ArrayView<float> wt,
        ArrayView<float> bias, ArrayView<float> y, int flags, int channelsPerBarrier)
    {
        var b = RowBlock.Of(g, 8, WideBlock);
        var acc = new Accumulator32x8();
        SumRows8(ref acc, g, xp, wt, b.N, b.K0, b.Oy, b.Ox, channelsPerBarrier);
        if (!b.Stores) return;
        Store8(g, acc.Lo, b.N, b.K0, b.Oy, b.Ox, bias, y, flags);
        Store8(g, acc.Hi, b.N, b.K0 + ChannelBlock, b.Oy, b.Ox, bias, y, flags);
    }

    /// <summary>
    /// Which pixels and channels thread (q, n·blocks + b) of a row-block kernel computes: `perThread` neighbouring pixels of
    /// an output row from (Oy, Ox), `block` output channels from K0, of image N. Threads past the last block (Q ≥ Count)
    /// compute the last block again, so that their reads stay in bounds, and store nothing.
    /// </summary>
    struct RowBlock
    {
        public int Q, Count, N, K0, Oy, Ox;
        public readonly bool Stores => Q < Count;

        public static RowBlock Of(in DirectConvGeometry g, int perThread, int block)
        {
            int perRow = (g.OutW + perThread - 1) / perThread, blocks = g.OutCPadded / block;
            var b = new RowBlock { Count = perRow * g.OutH, Q = Grid.IdxX * Group.DimX + Group.IdxX };
            int qr = Math.Min(b.Q, b.Count - 1);
            b.Oy = qr / perRow;
            b.Ox = (qr - b.Oy * perRow) * perThread;
            b.N = Grid.IdxY / blocks;
            b.K0 = (Grid.IdxY - b.N * blocks) * block;
            return b;
        }
    }

    /// <summary>
    /// The sums of <see cref="Forward8Pixels"/> and <see cref="Forward32x8"/>: for each input channel the three filter rows over
    /// the 10 input values the 8 pixels need, with a barrier after every `channelsPerBarrier` channels. Generic over the
    /// accumulator: ILGPU compiles one copy per struct type, with every call inlined.
    /// </summary>
    static void SumRows8<TAcc>(ref TAcc acc, in DirectConvGeometry g, ArrayView<float> xp, ArrayView<float> wt, int n, int k0, int oy, int ox,
        int channelsPerBarrier) where TAcc : struct, IRowAccumulator8
    {
        int planeSize = g.PaddedH * g.PaddedW, k = g.OutCPadded, pw = g.PaddedW;
        for (int c0 = 0; c0 < g.InC; c0 += channelsPerBarrier)
        {
            int c1 = Math.Min(c0 + channelsPerBarrier, g.InC);
            for (int ci = c0; ci < c1; ci++)
            {
                int r = (n * g.InC + ci) * planeSize + oy * pw + ox;
                int tap = ci * 9 * k + k0;
                acc.Row(xp[r], xp[r + 1], xp[r + 2], xp[r + 3], xp[r + 4], xp[r + 5], xp[r + 6], xp[r + 7], xp[r + 8], xp[r + 9], wt, tap, k);
                r += pw;
                acc.Row(xp[r], xp[r + 1], xp[r + 2], xp[r + 3], xp[r + 4], xp[r + 5], xp[r + 6], xp[r + 7], xp[r + 8], xp[r + 9], wt, tap + 3 * k, k);
                r += pw;
                acc.Row(xp[r], xp[r + 1], xp[r + 2], xp[r + 3], xp[r + 4], xp[r + 5], xp[r + 6], xp[r + 7], xp[r + 8], xp[r + 9], wt, tap + 6 * k, k);
            }
            Group.Barrier();
        }
    }

    static void Store4(in DirectConvGeometry g, in Accumulator16x4 acc, int n, int k0, int oy, int ox, ArrayView<float> bias, ArrayView<float> y, int flags)
    {
        Store(g, acc.P0, n, k0, oy, ox, bias, y, flags);
        if (ox + 1 < g.OutW) Store(g, acc.P1, n, k0, oy, ox + 1, bias, y, flags);
        if (ox + 2 < g.OutW) Store(g, acc.P2, n, k0, oy, ox + 2, bias, y, flags);
        if (ox + 3 < g.OutW) Store(g, acc.P3, n, k0, oy, ox + 3, bias, y, flags);
    }

    static void Store8(in DirectConvGeometry g, in Accumulator16x8 acc, int n, int k0, int oy, int ox, ArrayView<float> bias, ArrayView<float> y, int flags)
    {
        Store(g, acc.P0, n, k0, oy, ox, bias, y, flags);
        if (ox + 1 < g.OutW) Store(g, acc.P1, n, k0, oy, ox + 1, bias, y, flags);
        if (ox + 2 < g.OutW) Store(g, acc.P2, n, k0, oy, ox + 2, bias, y, flags);
        if (ox + 3 < g.OutW) Store(g, acc.P3, n, k0, oy, ox + 3, bias, y, flags);
        if (ox + 4 < g.OutW) Store(g, acc.P4, n, k0, oy, ox + 4, bias, y, flags);
        if (ox + 5 < g.OutW) Store(g, acc.P5, n, k0, oy, ox + 5, bias, y, flags);
        if (ox + 6 < g.OutW) Store(g, acc.P6, n, k0, oy, ox + 6, bias, y, flags);
        if (ox + 7 < g.OutW) Store(g, acc.P7, n, k0, oy, ox + 7, bias, y, flags);
    }

    /// <summary>y[n, k0 + j, oy, ox] (+)= acc_j (+ bias, ReLU as flags say) for the channels that exist.</summary>
    static void Store(in DirectConvGeometry g, in Accumulator16 acc, int n, int k0, int oy, int ox, ArrayView<float> bias, ArrayView<float> y, int flags)
    {
        int p = oy * g.OutW + ox;
        for (int j = 0; j < ChannelBlock; j++)
        {
            int kk = k0 + j;
            if (kk >= g.OutC) break;
            float v = acc.Get(j);
            if ((flags & UseBias) != 0) v += bias[kk];
            if ((flags & Relu) != 0) v = MathF.Max(v, 0f);
            int o = (n * g.OutC + kk) * g.OutPixels + p;
            if ((flags & Accumulate) != 0) y[o] += v;
            else y[o] = v;
        }
    }

    /// <summary>acc_j += Σ_{ky,kx} xp[r0 + ky·rowStride + kx] · wt[tap + (3ky + kx)·k + j]: one input channel's nine taps.</summary>
    static void Taps3x3(ref Accumulator16 acc, ArrayView<float> xp, ArrayView<float> wt, int r0, int rowStride, int tap, int k)
    {
        int r1 = r0 + rowStride, r2 = r1 + rowStride;
        acc.Fma(xp[r0], wt, tap); acc.Fma(xp[r0 + 1], wt, tap + k); acc.Fma(xp[r0 + 2], wt, tap + 2 * k);
        acc.Fma(xp[r1], wt, tap + 3 * k); acc.Fma(xp[r1 + 1], wt, tap + 4 * k); acc.Fma(xp[r1 + 2], wt, tap + 5 * k);
        acc.Fma(xp[r2], wt, tap + 6 * k); acc.Fma(xp[r2 + 1], wt, tap + 7 * k); acc.Fma(xp[r2 + 2], wt, tap + 8 * k);
    }

    /// <summary>Thread (p, n·blocks + b) computes 16 output channels of pixel p. Launch Index2D(OutH·OutW, N·OutCPadded/16).</summary>
    [KernelName("conv2d_direct")]
    public static void Forward(Index2D index, DirectConvGeometry g, ArrayView<float> xp, ArrayView<float> wt,
        ArrayView<float> bias, ArrayView<float> y, int flags)
    {
        int p = index.X, blocks = g.OutCPadded / ChannelBlock;
        int n = index.Y / blocks, k0 = (index.Y - n * blocks) * ChannelBlock;
        int ox = p % g.OutW, oy = p / g.OutW;
        var acc = new Accumulator16();
        int planeSize = g.PaddedH * g.PaddedW;
        if (g.KH == 3 && g.KW == 3)
        {
            // VGG19's case, unrolled: constant trip counts let the compiler keep the nine taps in registers.
            int k = g.OutCPadded;
            for (int ci = 0; ci < g.InC; ci++)
                Taps3x3(ref acc, xp, wt, (n * g.InC + ci) * planeSize + oy * g.PaddedW + ox, g.PaddedW, ci * 9 * k + k0, k);
        }
        else
        {
            for (int ci = 0; ci < g.InC; ci++)
            {
                int plane = (n * g.InC + ci) * planeSize;
                for (int ky = 0; ky < g.KH; ky++)
                {
                    int row = plane + (oy + ky) * g.PaddedW + ox;
                    int tap = ((ci * g.KH + ky) * g.KW) * g.OutCPadded + k0;
                    for (int kx = 0; kx < g.KW; kx++)
                        acc.Fma(xp[row + kx], wt, tap + kx * g.OutCPadded);
                }
            }
        }
        Store(g, acc, n, k0, oy, ox, bias, y, flags);
    }
}
