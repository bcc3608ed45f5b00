// Winograd convolution F(m×m, 3×3), stride 1, pad 1 (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks",
// 2016): VGG19's layers with fewer multiplications than the direct sum.
//
// The 1-D idea. Two outputs of a 3-tap filter g over four inputs d, y_i = Σ_k g_k d_{i+k}, need 6 multiplications done
// directly; Winograd's minimal filtering F(2, 3) needs 4: multiply the transformed input Bᵀd by the transformed filter Gg
// element-wise and transform back, y = Aᵀ[(Gg) ⊙ (Bᵀd)]. Nested in 2-D, an m×m output tile from an α×α input tile
// (α = m + 2) costs α² multiplications instead of 9m²:
//
//     Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A          g: 3×3 filter, d: α×α input patch, Y: m×m outputs
//
// F(2×2, 3×3), α = 4: 16 multiplications for 4 outputs (direct: 36, 2.25× more)
//     Bᵀ = | 1  0 −1  0 |     G = | 1    0    0  |     Aᵀ = | 1  1  1  0 |
//          | 0  1  1  0 |         | ½    ½    ½  |          | 0  1 −1 −1 |
//          | 0 −1  1  0 |         | ½   −½    ½  |
//          | 0  1  0 −1 |         | 0    0    1  |
//
// F(4×4, 3×3), α = 6: 36 multiplications for 16 outputs (direct: 144, 4× more)
//     Bᵀ = | 4  0 −5  0  1  0 |     G = |  ¼     0     0  |     Aᵀ = | 1  1  1  1  1  0 |
//          | 0 −4 −4  1  1  0 |         | −⅙    −⅙    −⅙  |          | 0  1 −1  2 −2  0 |
//          | 0  4 −4 −1  1  0 |         | −⅙     ⅙    −⅙  |          | 0  1  1  4  4  0 |
//          | 0 −2 −1  2  1  0 |         | 1/24  1/12   ⅙  |          | 0  1 −1  8 −8  1 |
//          | 0  2 −1 −2  1  0 |         | 1/24 −1/12   ⅙  |
//          | 0  4  0 −5  0  1 |         |  0     0     1  |
//
// Over channels. The sum over input channels c commutes with the transforms, so for every one of the α² positions
// (ξ, ν) of a tile the work is a matrix product over c, batched over the α² positions:
//     M[ξν][k][t] = Σ_c U[ξν][c][k] · V[ξν][c][t]      U = G g_{k,c} Gᵀ (per filter), V = Bᵀ d_{c,t} B (per input tile t)
//     y[k][tile t] = Aᵀ M[··][k][t] A (+ bias, ReLU)
// Four steps: TransformFilters (once per weight set: frozen weights keep U as the direct kernels keep their transposed
// filters), TransformInput, Multiply (the batched product: 16, 8 or 4 output channels × 16 tiles per thread in registers, the
// accumulators of the direct kernels, Accumulators.cs) and TransformOutput. The multiply holds all but a few percent of
// the work when there are many channels: α²·C·K·T multiply-adds, against 9·m²·C·K·T for the direct sum.
//
// The input gradient is the same algorithm. The input gradient of a stride-1, pad-1 3×3 convolution is the stride-1,
// pad-1 convolution of dy (masked by the ReLU, dy·[y > 0], which TransformInput applies as it reads) with the filters
// flipped in both taps and with in and out channels swapped (Conv2dDirect.cs derives it): only TransformFilters differs
// (WeightLayout.InputGradient), and TransformOutput accumulates into dx.
//
// The numerical price. The transforms are exact in real numbers but not in float32: the entries of Bᵀ, G and Aᵀ grow with
// m (F(2): 1 and ½; F(4): up to 5, ⅙ and 8; F(6): larger still, with fractions such as 1/90 and 1/180 in G), and each
// intermediate sum of the transforms is rounded, so the error relative to the output grows with m. Measured against
// float64 on every VGG19 layer shape (Conv2dWinogradTests prints each): F(2×2) 1.2e-7 … 7.9e-7, about the direct sum's;
// F(4×4) 6.9e-7 … 3.1e-6, a few times the direct sum's and growing with the depth of the layer. F(6×6) is not offered:
// it would need 1.8× fewer multiplications than F(4×4) at a larger error (not measured here), and on CPU devices
// F(4×4)'s transforms already cost about as much as its product.
//
// Two forms of the transforms: one tile per thread (GPUs, ILGPU's CPU accelerator), and for F(4×4) on CPU devices runs of
// tiles over an input padded once to whole tiles (PadToTiles, TransformInputRuns4x4, TransformOutputRuns4x4), whose loops
// a CPU compiler vectorizes. Both do the same arithmetic: the same bits.
//
// Layouts (T = tiles of a chunk, TP = T rounded up to a multiple of 16, KP = output channels rounded up to 4, 8 or 16):
//     U[ξν][c][k]            k contiguous: the 8 or 16 filter values a thread needs per c are neighbours; for the
//                            4-channel product U[ξν][k/4][c][k%4], a thread's filter values one run (Multiply4x16)
//     V[t/16][c/8][ξν][c%8][t%16]   16 tiles side by side: one vector load (AVX-512's 16 floats) per c in the product,
//                            8 channels after each other (the product reads a stream of 512 bytes, then jumps); the 36
//                            positions of a tile at a constant distance (8·16 floats), so that a transform's 36 stores are
//                            one stream to its compiler (with a distance known only at run time it could not vectorize:
//                            the stores might overlap)
//     M[k][t/16][ξν][t%16]   the same for the products: a thread of the product stores each channel's 16 tiles side by
//                            side (one vector store, so that the sums stay 512-bit on PoCL: "the batched product")
using ILGPU;
using ILGPU.Backends.EntryPoints;

namespace IlgpuStyle.Kernels;

/// <summary>
/// Sizes of one Winograd convolution F(m×m, 3×3), stride 1, pad 1 (output H×W = input H×W), and the chunk of tiles one
/// round of launches covers: tiles First … First + Count − 1 of all N·⌈H/m⌉·⌈W/m⌉ (V and M hold one chunk, small enough
/// to stay in the caches between the kernels that write and read them).
/// </summary>
public struct WinogradGeometry
{
    /// <summary>Output tile side m (2 or 4); the input tile is α = m + 2 wide.</summary>
    public int M;
    public int N, InC, H, W, OutC, OutCPadded, TilesY, TilesX;
    /// <summary>Output channels side by side in a row of U (<see cref="FilterOffset"/>): all of them (OutCPadded), or the 4 of
    /// the 4-channel product, whose thread then reads its U as one run.</summary>
    public int FilterBlock;
    /// <summary>The chunk: its first tile and its number of tiles.</summary>
    public int First, Count;

    public WinogradGeometry(int m, int n, int inC, int h, int w, int outC, int channelBlock)
    {
        M = m; N = n; InC = inC; H = h; W = w; OutC = outC;
        OutCPadded = (outC + channelBlock - 1) / channelBlock * channelBlock;
        FilterBlock = channelBlock == 4 ? 4 : OutCPadded;
        TilesY = (h + m - 1) / m; TilesX = (w + m - 1) / m;
        First = 0; Count = N * TilesY * TilesX;
    }

    public readonly int Alpha => M + 2;
    /// <summary>α²: the positions of a transformed tile, each one matrix product.</summary>
    public readonly int Positions => Alpha * Alpha;
    /// <summary>All tiles of the images.</summary>
    public readonly int Tiles => N * TilesY * TilesX;
    /// <summary>Tiles side by side in V and M: one vector of 16 floats, the unit a thread of the product takes.</summary>
    public const int TileBlock = 16;
    /// <summary>Blocks of 16 tiles of the chunk (one thread's in <see cref="Conv2dWinograd.Multiply16x16"/>).</summary>
    public readonly int TileBlocks => (Count + TileBlock - 1) / TileBlock;
    public readonly int TilesPadded => TileBlocks * TileBlock;
    public readonly long FilterLength => (long)Positions * InC * OutCPadded;
    /// <summary>Where input channel c, output channel k, position 0 lies in U: U[ξν][k/b][c][k%b] with b =
    /// <see cref="FilterBlock"/> (with b = OutCPadded, U[ξν][c][k]); position ξν is InC·OutCPadded further.</summary>
    public readonly long FilterOffset(int c, int k) => ((long)(k / FilterBlock) * InC + c) * FilterBlock + k % FilterBlock;
    /// <summary>Input channels side by side in V: a group of 8 channels' rows of 16 tiles for one position, then the next position.</summary>
    public const int ChannelGroup = 8;
    /// <summary>Input channels rounded up to whole groups of <see cref="ChannelGroup"/>.</summary>
    public readonly int InCPadded => (InC + ChannelGroup - 1) / ChannelGroup * ChannelGroup;
    /// <summary>Floats from one position of a tile to the next in V: a constant (8 channels × 16 tiles).</summary>
    public const int InputPositionStride = ChannelGroup * TileBlock;
    public readonly long InputLength => (long)Positions * InCPadded * TilesPadded;
    public readonly long ProductLength => (long)Positions * OutCPadded * TilesPadded;
    /// <summary>Where tile t (of the chunk), channel c, position 0 lies in V: V[t/16][c/8][ξν][c%8][t%16]; position ξν is
    /// ξν·<see cref="InputPositionStride"/> further.</summary>
    public readonly long InputOffset(int t, int c) =>
        ((((long)(t / TileBlock) * (InCPadded / ChannelGroup) + c / ChannelGroup) * Positions) * ChannelGroup + c % ChannelGroup) * TileBlock + t % TileBlock;
    /// <summary>Where channel k, tile t (of the chunk), position 0 lies in M; position ξν is ξν·TileBlock further.</summary>
    public readonly long ProductOffset(int k, int t) => (((long)k * TileBlocks + t / TileBlock) * Positions) * TileBlock + t % TileBlock;
    /// <summary>FLOPs of the chunk's batched product as executed (padded channels and tiles included).</summary>
    public readonly long MultiplyFlops => 2L * Positions * InC * OutCPadded * TilesPadded;

    /// <summary>The same convolution restricted to tiles first … first + count − 1.</summary>
    public readonly WinogradGeometry Chunk(int first, int count)
    {
        var c = this;
        c.First = first; c.Count = count;
        return c;
    }
}

public static class Conv2dWinograd
{
    /// <summary>Flags of <see cref="TransformOutput4x4"/> and <see cref="TransformOutput2x2"/> (as the direct kernels').</summary>
    public const int Relu = Conv2dDirect.Relu, Accumulate = Conv2dDirect.Accumulate, UseBias = Conv2dDirect.UseBias;

    // ---------------------------------------------------------------- the 1-D transforms, written out

    struct Vec4 { public float A0, A1, A2, A3; }
    struct Vec6 { public float A0, A1, A2, A3, A4, A5; }

    /// <summary>F(2,3)'s Bᵀ·d.</summary>
    static Vec4 InputTransform2(float d0, float d1, float d2, float d3) =>
        new() { A0 = d0 - d2, A1 = d1 + d2, A2 = d2 - d1, A3 = d1 - d3 };

    /// <summary>F(2,3)'s G·g.</summary>
    static Vec4 FilterTransform2(float g0, float g1, float g2) =>
        new() { A0 = g0, A1 = 0.5f * (g0 + g1 + g2), A2 = 0.5f * (g0 - g1 + g2), A3 = g2 };

    /// <summary>F(2,3)'s Aᵀ·m (two outputs in A0, A1).</summary>
    static Vec4 OutputTransform2(float m0, float m1, float m2, float m3) =>
        new() { A0 = m0 + m1 + m2, A1 = m1 - m2 - m3 };

    /// <summary>F(4,3)'s Bᵀ·d.</summary>
    static Vec6 InputTransform4(float d0, float d1, float d2, float d3, float d4, float d5) => new()
    {
        A0 = 4f * d0 - 5f * d2 + d4,
        A1 = -4f * (d1 + d2) + d3 + d4,
        A2 = 4f * (d1 - d2) - d3 + d4,
        A3 = 2f * (d3 - d1) - d2 + d4,
        A4 = 2f * (d1 - d3) - d2 + d4,
        A5 = 4f * d1 - 5f * d3 + d5,
    };

    /// <summary>F(4,3)'s G·g.</summary>
    static Vec6 FilterTransform4(float g0, float g1, float g2) => new()
    {
        A0 = 0.25f * g0,
        A1 = -(g0 + g1 + g2) / 6f,
        A2 = -(g0 - g1 + g2) / 6f,
        A3 = g0 / 24f + g1 / 12f + g2 / 6f,
        A4 = g0 / 24f - g1 / 12f + g2 / 6f,
        A5 = g2,
    };

    /// <summary>F(4,3)'s Aᵀ·m (four outputs).</summary>
    static Vec4 OutputTransform4(float m0, float m1, float m2, float m3, float m4, float m5) => new()
    {
        A0 = m0 + m1 + m2 + m3 + m4,
        A1 = m1 - m2 + 2f * (m3 - m4),
        A2 = m1 + m2 + 4f * (m3 + m4),
        A3 = m1 - m2 + 8f * (m3 - m4) + m5,
    };

    // ---------------------------------------------------------------- filters: U = G g Gᵀ

    /// <summary>g[k][c] as the layout says: the convolution's own w[k,c,ky,kx], or for its input gradient w[c,k,2−ky,2−kx]
    /// (w of the forward convolution, (K', C', 3, 3) with C' = this problem's k and K' its c).</summary>
    static float Tap(ArrayView<float> w, WeightLayout layout, int inC, int outC, int k, int c, int ky, int kx) =>
        layout == WeightLayout.Forward ? w[((k * inC + c) * 3 + ky) * 3 + kx] : w[((c * outC + k) * 3 + (2 - ky)) * 3 + (2 - kx)];

    /// <summary>U[ξν][c][k] = (G g_{k,c} Gᵀ)[ξ][ν] for F(2×2): one thread per (c, k), zero for k ≥ OutC.</summary>
    [KernelName("winograd_filters_2x2")]
    public static void TransformFilters2x2(Index1D i, WinogradGeometry g, WeightLayout layout, ArrayView<float> w, ArrayView<float> u)
    {
        int kp = g.OutCPadded, k = i % kp, c = i / kp;
        long plane = (long)g.InC * kp, o = g.FilterOffset(c, k);
        if (k >= g.OutC)
        {
            for (int p = 0; p < 16; p++) u[p * plane + o] = 0f;
            return;
        }
        // Rows of g Gᵀ (3 × 4), then G applied to each of its columns.
        var r0 = FilterTransform2(Tap(w, layout, g.InC, g.OutC, k, c, 0, 0), Tap(w, layout, g.InC, g.OutC, k, c, 0, 1), Tap(w, layout, g.InC, g.OutC, k, c, 0, 2));
        var r1 = FilterTransform2(Tap(w, layout, g.InC, g.OutC, k, c, 1, 0), Tap(w, layout, g.InC, g.OutC, k, c, 1, 1), Tap(w, layout, g.InC, g.OutC, k, c, 1, 2));
        var r2 = FilterTransform2(Tap(w, layout, g.InC, g.OutC, k, c, 2, 0), Tap(w, layout, g.InC, g.OutC, k, c, 2, 1), Tap(w, layout, g.InC, g.OutC, k, c, 2, 2));
        Store4Column(u, o, plane, 4, 0, FilterTransform2(r0.A0, r1.A0, r2.A0));
        Store4Column(u, o, plane, 4, 1, FilterTransform2(r0.A1, r1.A1, r2.A1));
        Store4Column(u, o, plane, 4, 2, FilterTransform2(r0.A2, r1.A2, r2.A2));
        Store4Column(u, o, plane, 4, 3, FilterTransform2(r0.A3, r1.A3, r2.A3));
    }

    /// <summary>U[ξν][c][k] = (G g_{k,c} Gᵀ)[ξ][ν] for F(4×4): one thread per (c, k), zero for k ≥ OutC.</summary>
    [KernelName("winograd_filters_4x4")]
    public static void TransformFilters4x4(Index1D i, WinogradGeometry g, WeightLayout layout, ArrayView<float> w, ArrayView<float> u)
    {
        int kp = g.OutCPadded, k = i % kp, c = i / kp;
        long plane = (long)g.InC * kp, o = g.FilterOffset(c, k);
        if (k >= g.OutC)
        {
            for (int p = 0; p < 36; p++) u[p * plane + o] = 0f;
            return;
        }
        var r0 = FilterTransform4(Tap(w, layout, g.InC, g.OutC, k, c, 0, 0), Tap(w, layout, g.InC, g.OutC, k, c, 0, 1), Tap(w, layout, g.InC, g.OutC, k, c, 0, 2));
        var r1 = FilterTransform4(Tap(w, layout, g.InC, g.OutC, k, c, 1, 0), Tap(w, layout, g.InC, g.OutC, k, c, 1, 1), Tap(w, layout, g.InC, g.OutC, k, c, 1, 2));
        var r2 = FilterTransform4(Tap(w, layout, g.InC, g.OutC, k, c, 2, 0), Tap(w, layout, g.InC, g.OutC, k, c, 2, 1), Tap(w, layout, g.InC, g.OutC, k, c, 2, 2));
        Store6Column(u, o, plane, 0, FilterTransform4(r0.A0, r1.A0, r2.A0));
        Store6Column(u, o, plane, 1, FilterTransform4(r0.A1, r1.A1, r2.A1));
        Store6Column(u, o, plane, 2, FilterTransform4(r0.A2, r1.A2, r2.A2));
        Store6Column(u, o, plane, 3, FilterTransform4(r0.A3, r1.A3, r2.A3));
        Store6Column(u, o, plane, 4, FilterTransform4(r0.A4, r1.A4, r2.A4));
        Store6Column(u, o, plane, 5, FilterTransform4(r0.A5, r1.A5, r2.A5));
    }

    /// <summary>a[(ξ·α + ν)·plane + o] = column[ξ] for column ν of an α = 4 tile.</summary>
    static void Store4Column(ArrayView<float> a, long o, long plane, int alpha, int nu, Vec4 column)
    {
        a[(0 * alpha + nu) * plane + o] = column.A0; a[(1 * alpha + nu) * plane + o] = column.A1;
        a[(2 * alpha + nu) * plane + o] = column.A2; a[(3 * alpha + nu) * plane + o] = column.A3;
    }

    /// <summary>a[(ξ·6 + ν)·plane + o] = column[ξ] for column ν of an α = 6 tile.</summary>
    static void Store6Column(ArrayView<float> a, long o, long plane, int nu, Vec6 column)
    {
        a[(0 * 6 + nu) * plane + o] = column.A0; a[(1 * 6 + nu) * plane + o] = column.A1; a[(2 * 6 + nu) * plane + o] = column.A2;
        a[(3 * 6 + nu) * plane + o] = column.A3; a[(4 * 6 + nu) * plane + o] = column.A4; a[(5 * 6 + nu) * plane + o] = column.A5;
    }

    // ---------------------------------------------------------------- inputs: V = Bᵀ d B

    /// <summary>x[n,c,iy,ix] as the tile reads it: 0 outside the image (the padding), and with PadMode.ReluMask
    /// x·[mask &gt; 0] (dy of a convolution followed by ReLU: mask is that layer's output). `inside`: the whole tile lies in
    /// the image, and the bounds need no check.</summary>
    static float Read(in WinogradGeometry g, ArrayView<float> x, ArrayView<float> mask, PadMode mode, long plane, int iy, int ix, bool inside)
    {
        if (!inside && (iy < 0 || iy >= g.H || ix < 0 || ix >= g.W)) return 0f;
        long at = plane + iy * g.W + ix;
        return mode == PadMode.Copy ? x[at] : mask[at] > 0f ? x[at] : 0f;
    }

    /// <summary>
    /// Thread i of an input transform takes tile t = 16·(i / (16·C)) + i % 16 of the chunk and channel c = i / 16 % C: the order
    /// of V's layout, so that neighbouring threads write neighbouring values. Returns the offset of (t, c) in V for position 0
    /// (position ξν adds ξν·plane), the input plane, the tile's input origin (one row and column above and left of its
    /// outputs: the padding) and whether its α×α patch lies inside the image. Tiles past the chunk's end (up to a multiple of
    /// 16) repeat its last tile: finite values, whose products the output transform drops.
    /// </summary>
    static long InputSlot(in WinogradGeometry g, int i, out long plane, out long image, out int y0, out int x0, out bool inside)
    {
        const int B = WinogradGeometry.TileBlock;
        int lane = i % B, c = i / B % g.InC, tb = i / (B * g.InC), t = tb * B + lane;
        plane = WinogradGeometry.InputPositionStride;
        int perImage = g.TilesY * g.TilesX, tn = g.First + Math.Min(t, g.Count - 1);
        int n = tn / perImage, ty = (tn - n * perImage) / g.TilesX, tx = tn - n * perImage - ty * g.TilesX;
        image = ((long)n * g.InC + c) * g.H * g.W;
        y0 = ty * g.M - 1; x0 = tx * g.M - 1;
        inside = y0 >= 0 && x0 >= 0 && y0 + g.Alpha <= g.H && x0 + g.Alpha <= g.W;
        return g.InputOffset(t, c);
    }

    /// <summary>V[t/16][c/8][ξν][c%8][t%16] = (Bᵀ d_{c,t} B)[ξ][ν] for F(2×2): one thread per (t, c) of the chunk (see InputSlot).</summary>
    [KernelName("winograd_input_2x2")]
    public static void TransformInput2x2(Index1D i, WinogradGeometry g, ArrayView<float> x, ArrayView<float> mask, PadMode mode, ArrayView<float> v)
    {
        long o = InputSlot(g, i, out long plane, out long image, out int y0, out int x0, out bool inside);
        // Rows of d B (Bᵀ applied to each row of d), then Bᵀ applied to each column of that.
        var r0 = InputRow2(g, x, mask, mode, image, y0, x0, inside);
        var r1 = InputRow2(g, x, mask, mode, image, y0 + 1, x0, inside);
        var r2 = InputRow2(g, x, mask, mode, image, y0 + 2, x0, inside);
        var r3 = InputRow2(g, x, mask, mode, image, y0 + 3, x0, inside);
        Store4Column(v, o, plane, 4, 0, InputTransform2(r0.A0, r1.A0, r2.A0, r3.A0));
        Store4Column(v, o, plane, 4, 1, InputTransform2(r0.A1, r1.A1, r2.A1, r3.A1));
        Store4Column(v, o, plane, 4, 2, InputTransform2(r0.A2, r1.A2, r2.A2, r3.A2));
        Store4Column(v, o, plane, 4, 3, InputTransform2(r0.A3, r1.A3, r2.A3, r3.A3));
    }

    static Vec4 InputRow2(in WinogradGeometry g, ArrayView<float> x, ArrayView<float> mask, PadMode mode, long image, int iy, int x0, bool inside) =>
        InputTransform2(Read(g, x, mask, mode, image, iy, x0, inside), Read(g, x, mask, mode, image, iy, x0 + 1, inside),
            Read(g, x, mask, mode, image, iy, x0 + 2, inside), Read(g, x, mask, mode, image, iy, x0 + 3, inside));

    /// <summary>V[t/16][c/8][ξν][c%8][t%16] = (Bᵀ d_{c,t} B)[ξ][ν] for F(4×4): one thread per (t, c) of the chunk (see InputSlot).</summary>
    [KernelName("winograd_input_4x4")]
    public static void TransformInput4x4(Index1D i, WinogradGeometry g, ArrayView<float> x, ArrayView<float> mask, PadMode mode, ArrayView<float> v)
    {
        long o = InputSlot(g, i, out long plane, out long image, out int y0, out int x0, out bool inside);
        var r0 = InputRow4(g, x, mask, mode, image, y0, x0, inside);
        var r1 = InputRow4(g, x, mask, mode, image, y0 + 1, x0, inside);
        var r2 = InputRow4(g, x, mask, mode, image, y0 + 2, x0, inside);
        var r3 = InputRow4(g, x, mask, mode, image, y0 + 3, x0, inside);
        var r4 = InputRow4(g, x, mask, mode, image, y0 + 4, x0, inside);
        var r5 = InputRow4(g, x, mask, mode, image, y0 + 5, x0, inside);
        Store6Column(v, o, plane, 0, InputTransform4(r0.A0, r1.A0, r2.A0, r3.A0, r4.A0, r5.A0));
        Store6Column(v, o, plane, 1, InputTransform4(r0.A1, r1.A1, r2.A1, r3.A1, r4.A1, r5.A1));
        Store6Column(v, o, plane, 2, InputTransform4(r0.A2, r1.A2, r2.A2, r3.A2, r4.A2, r5.A2));
        Store6Column(v, o, plane, 3, InputTransform4(r0.A3, r1.A3, r2.A3, r3.A3, r4.A3, r5.A3));
        Store6Column(v, o, plane, 4, InputTransform4(r0.A4, r1.A4, r2.A4, r3.A4, r4.A4, r5.A4));
        Store6Column(v, o, plane, 5, InputTransform4(r0.A5, r1.A5, r2.A5, r3.A5, r4.A5, r5.A5));
    }

    static Vec6 InputRow4(in WinogradGeometry g, ArrayView<float> x, ArrayView<float> mask, PadMode mode, long image, int iy, int x0, bool inside) =>
        inside ? InputRow4Inside(g, x, mask, mode, image + iy * g.W + x0) : InputTransform4(Read(g, x, mask, mode, image, iy, x0, inside), Read(g, x, mask, mode, image, iy, x0 + 1, inside),
            Read(g, x, mask, mode, image, iy, x0 + 2, inside), Read(g, x, mask, mode, image, iy, x0 + 3, inside),
            Read(g, x, mask, mode, image, iy, x0 + 4, inside), Read(g, x, mask, mode, image, iy, x0 + 5, inside));

    /// <summary>Bᵀ applied to six neighbouring values of a row inside the image, from `at`: no bounds checks.</summary>
    static Vec6 InputRow4Inside(in WinogradGeometry g, ArrayView<float> x, ArrayView<float> mask, PadMode mode, long at)
    {
        if (mode == PadMode.Copy) return InputRowAt(x, at);
        return InputTransform4(Masked(x, mask, at), Masked(x, mask, at + 1), Masked(x, mask, at + 2), Masked(x, mask, at + 3),
            Masked(x, mask, at + 4), Masked(x, mask, at + 5));
    }

    static float Masked(ArrayView<float> x, ArrayView<float> mask, long at) => mask[at] > 0f ? x[at] : 0f;

    // ---------------------------------------------------------------- F(4×4) transforms in runs of tiles (CPU devices)
    //
    // The same transforms, shaped for a CPU's OpenCL compiler: the input first padded to whole tiles (PadToTiles: zeros
    // around and past the last tile, and the ReLU mask applied), so that a tile reads its 6×6 patch with no check; then one
    // thread per 16 tiles of a block (and a channel), which loops over the tiles of each run that lies in one tile row.
    // In such a run the loads are affine in the tile (every 4th value of six rows) and the stores contiguous (16 tiles of
    // one position side by side in V; for the output, every 4th value of four rows of y), a loop the compiler vectorizes.

    /// <summary>Padded rows and columns of <see cref="PadToTiles"/>: whole tiles plus the two a tile reads past its outputs.</summary>
    public static int PaddedHeight(in WinogradGeometry g) => g.TilesY * g.M + 2;
    public static int PaddedWidth(in WinogradGeometry g) => g.TilesX * g.M + 2;

    /// <summary>
    /// xp[n,c,py,px] = x[n,c,py−1,px−1] inside the image (with PadMode.ReluMask x·[mask &gt; 0]), 0 elsewhere, over
    /// PaddedHeight × PaddedWidth planes. Grid-stride over the padded rows, each thread copying whole rows.
    /// </summary>
    [KernelName("winograd_pad")]
    public static void PadToTiles(Index1D t, int stride, WinogradGeometry g, ArrayView<float> x, ArrayView<float> mask, PadMode mode, ArrayView<float> xp)
    {
        int ph = PaddedHeight(g), pw = PaddedWidth(g);
        long rows = (long)g.N * g.InC * ph;
        for (long row = t; row < rows; row += stride)
        {
            long plane = row / ph;
            int sy = (int)(row - plane * ph) - 1;
            long d = row * pw;
            if (sy < 0 || sy >= g.H)
            {
                for (int px = 0; px < pw; px++) xp[d + px] = 0f;
                continue;
            }
            long src = (plane * g.H + sy) * g.W;
            xp[d] = 0f;
            if (mode == PadMode.ReluMask)
                for (int sx = 0; sx < g.W; sx++) xp[d + 1 + sx] = mask[src + sx] > 0f ? x[src + sx] : 0f;
            else
                for (int sx = 0; sx < g.W; sx++) xp[d + 1 + sx] = x[src + sx];
            for (int px = g.W + 1; px < pw; px++) xp[d + px] = 0f;
        }
    }

    /// <summary>Where tile `lane` of block tb lies: the chunk's tile (lanes past its end repeat its last), image, tile row and
    /// column, and how many tiles from this lane on lie in the same tile row of the same block.</summary>
    static int Run(in WinogradGeometry g, int tb, int lane, out int n, out int ty, out int tx)
    {
        const int B = WinogradGeometry.TileBlock;
        int local = tb * B + lane, t = g.First + Math.Min(local, g.Count - 1), perImage = g.TilesY * g.TilesX;
        n = t / perImage;
        ty = (t - n * perImage) / g.TilesX;
        tx = t - n * perImage - ty * g.TilesX;
        return local >= g.Count ? 1 : Math.Min(B - lane, Math.Min(g.TilesX - tx, g.Count - local));
    }

    /// <summary>V[ξν][tb][c][lane] = (Bᵀ d B)[ξ][ν] for the 16 tiles of block tb (= i / C) and channel c (= i % C), from the padded
    /// input xp (<see cref="PadToTiles"/>), in runs along tile rows.</summary>
    [KernelName("winograd_input_4x4_runs")]
    public static void TransformInputRuns4x4(Index1D i, WinogradGeometry g, ArrayView<float> xp, ArrayView<float> v)
    {
        const int B = WinogradGeometry.TileBlock;
        int c = i % g.InC, tb = i / g.InC, ph = PaddedHeight(g), pw = PaddedWidth(g);
        long plane = WinogradGeometry.InputPositionStride, o = g.InputOffset(tb * B, c);
        for (int lane = 0; lane < B;)
        {
            int run = Run(g, tb, lane, out int n, out int ty, out int tx);
            long src = ((long)(n * g.InC + c) * ph + ty * 4) * pw + tx * 4;
            for (int j = 0; j < run; j++)
            {
                long s = src + 4 * j;
                var r0 = InputRowAt(xp, s);
                var r1 = InputRowAt(xp, s + pw);
                var r2 = InputRowAt(xp, s + 2 * pw);
                var r3 = InputRowAt(xp, s + 3 * pw);
                var r4 = InputRowAt(xp, s + 4 * pw);
                var r5 = InputRowAt(xp, s + 5 * pw);
                long at = o + lane + j;
                Store6Column(v, at, plane, 0, InputTransform4(r0.A0, r1.A0, r2.A0, r3.A0, r4.A0, r5.A0));
                Store6Column(v, at, plane, 1, InputTransform4(r0.A1, r1.A1, r2.A1, r3.A1, r4.A1, r5.A1));
                Store6Column(v, at, plane, 2, InputTransform4(r0.A2, r1.A2, r2.A2, r3.A2, r4.A2, r5.A2));
                Store6Column(v, at, plane, 3, InputTransform4(r0.A3, r1.A3, r2.A3, r3.A3, r4.A3, r5.A3));
                Store6Column(v, at, plane, 4, InputTransform4(r0.A4, r1.A4, r2.A4, r3.A4, r4.A4, r5.A4));
                Store6Column(v, at, plane, 5, InputTransform4(r0.A5, r1.A5, r2.A5, r3.A5, r4.A5, r5.A5));
            }
            lane += run;
        }
    }

    static Vec6 InputRowAt(ArrayView<float> xp, long s) => InputTransform4(xp[s], xp[s + 1], xp[s + 2], xp[s + 3], xp[s + 4], xp[s + 5]);

    /// <summary>y[n,k, tiles of block tb] = Aᵀ M A (bias, ReLU, accumulate as flags say) for channel k = i / TileBlocks and block
    /// tb = i % TileBlocks, in runs along tile rows: tiles wholly inside the image without checks, the last of a row and the
    /// last row's with them.</summary>
    [KernelName("winograd_output_4x4_runs")]
    public static void TransformOutputRuns4x4(Index1D i, WinogradGeometry g, ArrayView<float> m, ArrayView<float> bias, ArrayView<float> y, int flags)
    {
        const int B = WinogradGeometry.TileBlock;
        int tb = i % g.TileBlocks, k = i / g.TileBlocks;
        long plane = B, first = g.ProductOffset(k, tb * B);
        bool useBias = (flags & UseBias) != 0, relu = (flags & Relu) != 0, accumulate = (flags & Accumulate) != 0;
        float b = useBias ? bias[k] : 0f;
        for (int lane = 0; lane < B;)
        {
            int run = Run(g, tb, lane, out int n, out int ty, out int tx);
            if (tb * B + lane >= g.Count) break;   // lanes past the chunk's end: nothing to store
            int oy = ty * 4, ox = tx * 4;
            // Tiles of the run whose 4×4 outputs all lie inside the image.
            int whole = oy + 4 <= g.H ? Math.Max(0, Math.Min(run, g.W / 4 - tx)) : 0;
            long o = ((long)n * g.OutC + k) * g.H * g.W + (long)oy * g.W + ox;
            // The flags' branches outside the loops, so that each loop is straight-line work its compiler can vectorize.
            if (accumulate && relu) OutputTilesInside(m, first + lane, plane, y, o, g.W, b, whole, true, true);
            else if (accumulate) OutputTilesInside(m, first + lane, plane, y, o, g.W, b, whole, false, true);
            else if (relu) OutputTilesInside(m, first + lane, plane, y, o, g.W, b, whole, true, false);
            else OutputTilesInside(m, first + lane, plane, y, o, g.W, b, whole, false, false);
            for (int j = whole; j < run; j++)
            {
                long at = first + lane + j;
                var r0 = OutputRow4(m, at, plane, 0);
                var r1 = OutputRow4(m, at, plane, 1);
                var r2 = OutputRow4(m, at, plane, 2);
                var r3 = OutputRow4(m, at, plane, 3);
                var r4 = OutputRow4(m, at, plane, 4);
                var r5 = OutputRow4(m, at, plane, 5);
                long image = ((long)n * g.OutC + k) * g.H * g.W;
                int x0 = ox + 4 * j;
                PutColumn4(g, bias, y, flags, image, k, oy, x0, OutputTransform4(r0.A0, r1.A0, r2.A0, r3.A0, r4.A0, r5.A0));
                PutColumn4(g, bias, y, flags, image, k, oy, x0 + 1, OutputTransform4(r0.A1, r1.A1, r2.A1, r3.A1, r4.A1, r5.A1));
                PutColumn4(g, bias, y, flags, image, k, oy, x0 + 2, OutputTransform4(r0.A2, r1.A2, r2.A2, r3.A2, r4.A2, r5.A2));
                PutColumn4(g, bias, y, flags, image, k, oy, x0 + 3, OutputTransform4(r0.A3, r1.A3, r2.A3, r3.A3, r4.A3, r5.A3));
            }
            lane += run;
        }
    }

    /// <summary>
    /// `count` neighbouring tiles of a row, wholly inside the image, one output row a of them per loop: each loop stores to
    /// one row of y only, at distances its compiler can see (the four rows of a tile are W apart, a distance only known
    /// at run time, which would keep it from vectorizing a loop that stores to all four). Called with constant flags: loops
    /// without branches. Each loop recomputes the tiles' M·A, a few loads from the cache.
    /// </summary>
    static void OutputTilesInside(ArrayView<float> m, long at, long plane, ArrayView<float> y, long q, int w, float b, int count, bool relu, bool accumulate)
    {
        for (int j = 0; j < count; j++) OutputRowInside(m, at + j, plane, y, q + 4 * j, b, relu, accumulate, 0);
        for (int j = 0; j < count; j++) OutputRowInside(m, at + j, plane, y, q + w + 4 * j, b, relu, accumulate, 1);
        for (int j = 0; j < count; j++) OutputRowInside(m, at + j, plane, y, q + 2 * w + 4 * j, b, relu, accumulate, 2);
        for (int j = 0; j < count; j++) OutputRowInside(m, at + j, plane, y, q + 3 * w + 4 * j, b, relu, accumulate, 3);
    }

    /// <summary>Row a of Aᵀ M A for one tile, at y[q … q + 3]: + b, ReLU as asked, stored or added.</summary>
    static void OutputRowInside(ArrayView<float> m, long at, long plane, ArrayView<float> y, long q, float b, bool relu, bool accumulate, int a)
    {
        var r0 = OutputRow4(m, at, plane, 0);
        var r1 = OutputRow4(m, at, plane, 1);
        var r2 = OutputRow4(m, at, plane, 2);
        var r3 = OutputRow4(m, at, plane, 3);
        var r4 = OutputRow4(m, at, plane, 4);
        var r5 = OutputRow4(m, at, plane, 5);
        float v0 = Row(OutputTransform4(r0.A0, r1.A0, r2.A0, r3.A0, r4.A0, r5.A0), a) + b;
        float v1 = Row(OutputTransform4(r0.A1, r1.A1, r2.A1, r3.A1, r4.A1, r5.A1), a) + b;
        float v2 = Row(OutputTransform4(r0.A2, r1.A2, r2.A2, r3.A2, r4.A2, r5.A2), a) + b;
        float v3 = Row(OutputTransform4(r0.A3, r1.A3, r2.A3, r3.A3, r4.A3, r5.A3), a) + b;
        if (relu) { v0 = MathF.Max(v0, 0f); v1 = MathF.Max(v1, 0f); v2 = MathF.Max(v2, 0f); v3 = MathF.Max(v3, 0f); }
        if (accumulate) { y[q] += v0; y[q + 1] += v1; y[q + 2] += v2; y[q + 3] += v3; }
        else { y[q] = v0; y[q + 1] = v1; y[q + 2] = v2; y[q + 3] = v3; }
    }

    static float Row(Vec4 column, int a) => a == 0 ? column.A0 : a == 1 ? column.A1 : a == 2 ? column.A2 : column.A3;

    // ---------------------------------------------------------------- the batched product: M = U · V per position
    //
    // On PoCL the width of the vectors the product runs on is decided by LLVM's SLP vectorizer, which starts from groups
    // of adjacent stores before it looks at the loop's sums, and takes at most 8 floats at a time from stores (the
    // "preferred" 256-bit width of AVX-512 CPUs). Sixteen adjacent stores of a thread's 16 tiles therefore made every sum
    // a pair of 256-bit registers and the multiply-adds half-width (measured: ymm FMAs only). Each channel's 16 tiles are
    // therefore stored as one vector (VectorStore.Store16, OpenCL C's vstore16), which the vectorizer does not start
    // from; it then starts from the loop's sums, all 256 of them at once, and the product runs on 512-bit registers, one
    // FMA per channel and 16 tiles, with the filter value broadcast from memory (`vfmadd231ps mem{1to16}`), and stores
    // each channel's sums with two 256-bit stores. (Before, a stride the compiler could not see kept the stores from being
    // adjacent: the sums were 512-bit too, but every store was an extract of one float, 11–16 % of the product's time.)
    // The channel loop takes V's groups of 8 channels (one 512-byte run) per step: with one channel per step the
    // vectorizer found the 256-wide form not worth it.

    /// <summary>
    /// M[ξν][k][t] = Σ_c U[ξν][c][k] · V[ξν][c][t] for 16 channels k0..k0+15 × 16 tiles per thread: for each c one vector of
    /// 16 tile values and 16 filter values feed 256 multiply-adds, 16 sums of 16 tiles (on PoCL 16 AVX-512 registers, each
    /// multiply-add of a channel one vector FMA with the filter value broadcast, as in the direct kernels).
    /// Grid (⌈TileBlocks / group⌉, α²·OutCPadded/16), groups along the tile blocks, which share U; a barrier after every
    /// `channelsPerBarrier` channels keeps a group's threads on the same chunk of U. On PoCL the group is one thread and
    /// `channelsPerBarrier` all channels, so no barrier runs (DevicePolicy.WinogradProductGroup: a barrier there saves and
    /// reloads every thread's sums). Threads past the last tile block compute the last again (their reads stay in bounds)
    /// and store nothing.
    /// </summary>
    [KernelName("winograd_multiply_16x16")]
    public static void Multiply16x16(WinogradGeometry g, ArrayView<float> u, ArrayView<float> v, ArrayView<float> m, int channelsPerBarrier)
    {
        var acc = new Accumulator32x8();
        var b = ProductBlock.Of(g, 16);
        SumChannels(ref acc, g, u, v, b.UBase, b.VBase, channelsPerBarrier);
        if (!b.Stores) return;
        StoreProducts(g, acc.Lo, m, b, 0);
        StoreProducts(g, acc.Hi, m, b, 8);
    }

    /// <summary>As <see cref="Multiply16x16"/> with 8 channels × 16 tiles per thread (OutCPadded a multiple of 8): half the
    /// registers (8 sums of 16 tiles; on AVX2, 16 registers of 8 floats), and less padding where there are few channels.</summary>
    [KernelName("winograd_multiply_8x16")]
    public static void Multiply8x16(WinogradGeometry g, ArrayView<float> u, ArrayView<float> v, ArrayView<float> m, int channelsPerBarrier)
    {
        var acc = new Accumulator16x8();
        var b = ProductBlock.Of(g, 8);
        SumChannels(ref acc, g, u, v, b.UBase, b.VBase, channelsPerBarrier);
        if (!b.Stores) return;
        StoreProducts(g, acc, m, b, 0);
    }

    /// <summary>As <see cref="Multiply16x16"/> with 4 channels × 16 tiles per thread (OutCPadded a multiple of 4): the block that
    /// fits AVX2's 16 registers of 8 floats, 8 of sums with 2 for V's 16 tiles and 1 for the broadcast filter value (the 8×16
    /// block's 16 registers of sums leave none for them, and 5 of its sums are spilled to the stack on AVX2). The shape of
    /// the FMA microbenchmark on such devices (kernels/Peak.cs, `peak_fma_product_16x4`). With so few channels per thread
    /// the order of the work decides its speed: the grid runs along the channel blocks (<see cref="ProductBlock.OfChannelsFirst"/>),
    /// so that consecutive threads take the same 16 tiles of V (C·16 floats, in L1 after the first), and U is laid out in
    /// blocks of 4 channels (<see cref="WinogradGeometry.FilterBlock"/>), so that a thread's U is one run of 4·C floats, every
    /// cache line it loads used whole. Along the tile blocks, with U[ξν][c][k], it ran no faster than the 8-channel block
    /// (each V read once per 4 channels, each U line a quarter used: conv3_1 at 256² 11.1 against 7.0 ms on a Zen 3).</summary>
    [KernelName("winograd_multiply_4x16")]
    public static void Multiply4x16(WinogradGeometry g, ArrayView<float> u, ArrayView<float> v, ArrayView<float> m, int channelsPerBarrier)
    {
        var acc = new Accumulator16x4();
        var b = ProductBlock.OfChannelsFirst(g, 4);
        SumChannels(ref acc, g, u, v, b.UBase, b.VBase, channelsPerBarrier);
        if (!b.Stores) return;
        acc.StoreVectors(m, ProductStart(g, b, 0), ProductChannelStride(g));
    }

    /// <summary>Which block of M thread (q, position·blocks + kb) computes: tile block Tb (the last again past the end, with
    /// Stores false), output channels K0.. of one position, and where its U and V begin.</summary>
    struct ProductBlock
    {
        public int Tb, Position, K0, UBase, VBase;
        public bool Stores;

        public static ProductBlock Of(in WinogradGeometry g, int channels)
        {
            int q = Grid.IdxX * Group.DimX + Group.IdxX;
            return At(g, channels, Math.Min(q, g.TileBlocks - 1), Grid.IdxY, q < g.TileBlocks);
        }

        /// <summary>As <see cref="Of"/> with the grid's axes the other way round: (⌈α²·OutCPadded/channels / group⌉, TileBlocks),
        /// groups along the channel blocks, which share V; threads past the last channel block compute the last again.</summary>
        public static ProductBlock OfChannelsFirst(in WinogradGeometry g, int channels)
        {
            int all = g.Positions * (g.OutCPadded / channels), x = Grid.IdxX * Group.DimX + Group.IdxX;
            return At(g, channels, Grid.IdxY, Math.Min(x, all - 1), x < all);
        }

        /// <summary>Tile block tb, and channel block `row` = position·blocks + kb.</summary>
        static ProductBlock At(in WinogradGeometry g, int channels, int tb, int row, bool stores)
        {
            int blocks = g.OutCPadded / channels;
            var b = new ProductBlock { Stores = stores, Tb = tb, Position = row / blocks };
            b.K0 = (row - b.Position * blocks) * channels;
            b.UBase = (int)(b.Position * (long)g.InC * g.OutCPadded + g.FilterOffset(0, b.K0));
            b.VBase = (int)g.InputOffset(b.Tb * WinogradGeometry.TileBlock, 0) + b.Position * WinogradGeometry.InputPositionStride;
            return b;
        }
    }

    /// <summary>acc += Σ_c U[c][k0..] ⊗ V[c][tiles of the block]: V's groups of 8 channels one step each, the channels past the
    /// last whole group one by one, a barrier after every `channelsPerBarrier` channels (rounded to whole groups). Generic
    /// over the block: ILGPU compiles one copy per struct type, every call inlined.</summary>
    static void SumChannels<TAcc>(ref TAcc acc, in WinogradGeometry g, ArrayView<float> u, ArrayView<float> v, int uBase, int vBase,
        int channelsPerBarrier) where TAcc : struct, IProductAccumulator
    {
        const int G = WinogradGeometry.ChannelGroup, B = WinogradGeometry.TileBlock;
        int kp = g.FilterBlock, step = Math.Max(G, channelsPerBarrier / G * G);
        for (int c0 = 0; c0 < g.InC; c0 += step)
        {
            int c1 = Math.Min(c0 + step, g.InC), c = c0;
            for (; c + G <= c1; c += G)
            {
                ProductSteps.Eight(ref acc, u, uBase + c * kp, kp, v, vBase + InputChannel(g, c), B);
            }
            for (; c < c1; c++) acc.Product(u, uBase + c * kp, v, vBase + InputChannel(g, c));
            Group.Barrier();
        }
    }

    /// <summary>From channel 0 to channel c of one tile block and position in V: 8 neighbouring channels 16 floats apart, then
    /// a jump over the block's other positions.</summary>
    static int InputChannel(in WinogradGeometry g, int c) =>
        (c / WinogradGeometry.ChannelGroup * g.Positions * WinogradGeometry.ChannelGroup + c % WinogradGeometry.ChannelGroup) * WinogradGeometry.TileBlock;

    /// <summary>M[k0 + i][tb][position][t] = acc.P_i[t] for the block's channels from K0 + k: channel i's 16 tiles, one vector
    /// store (VectorStore.cs).</summary>
    static void StoreProducts(in WinogradGeometry g, in Accumulator16x8 acc, ArrayView<float> m, in ProductBlock b, int k) =>
        acc.StoreVectors(m, ProductStart(g, b, k), ProductChannelStride(g));

    /// <summary>Where channel K0 + k of the block's 16 tiles begins in M.</summary>
    static long ProductStart(in WinogradGeometry g, in ProductBlock b, int k) =>
        g.ProductOffset(b.K0 + k, b.Tb * WinogradGeometry.TileBlock) + b.Position * WinogradGeometry.TileBlock;

    /// <summary>From one channel to the next in M.</summary>
    static long ProductChannelStride(in WinogradGeometry g) => (long)g.TileBlocks * g.Positions * WinogradGeometry.TileBlock;

    // ---------------------------------------------------------------- outputs: Y = Aᵀ M A (+ bias, ReLU)

    /// <summary>y[n,k,oy,ox] (+)= one output of the tile, with bias and ReLU as flags say, where it lies inside the image.</summary>
    static void Put(in WinogradGeometry g, ArrayView<float> bias, ArrayView<float> y, int flags, long plane, int k, int oy, int ox, float value)
    {
        if (oy >= g.H || ox >= g.W) return;
        value += (flags & UseBias) != 0 ? bias[k] : 0f;   // + 0 without a bias, as the runs of TransformOutputRuns4x4 add
        if ((flags & Relu) != 0) value = MathF.Max(value, 0f);
        long at = plane + oy * g.W + ox;
        if ((flags & Accumulate) != 0) y[at] += value;
        else y[at] = value;
    }

    /// <summary>The output plane of channel k for tile t of the chunk, and the tile's first output row and column.</summary>
    static long OutputPlane(in WinogradGeometry g, int t, int k, out int oy, out int ox)
    {
        t += g.First;
        int perImage = g.TilesY * g.TilesX, n = t / perImage, ty = (t - n * perImage) / g.TilesX, tx = t - n * perImage - ty * g.TilesX;
        oy = ty * g.M; ox = tx * g.M;
        return ((long)n * g.OutC + k) * g.H * g.W;
    }

    /// <summary>y[n,k, tile t] = Aᵀ M[··][k][t] A for F(2×2): one thread per (k, t) of the chunk, t fastest, k &lt; OutC.</summary>
    [KernelName("winograd_output_2x2")]
    public static void TransformOutput2x2(Index1D i, WinogradGeometry g, ArrayView<float> m, ArrayView<float> bias, ArrayView<float> y, int flags)
    {
        int t = i % g.Count, k = i / g.Count;
        long plane = WinogradGeometry.TileBlock, at = g.ProductOffset(k, t);
        // Rows of M A (Aᵀ applied to each row of M), then Aᵀ applied to each of its two columns.
        var r0 = OutputTransform2(m[at], m[at + plane], m[at + 2 * plane], m[at + 3 * plane]);
        var r1 = OutputTransform2(m[at + 4 * plane], m[at + 5 * plane], m[at + 6 * plane], m[at + 7 * plane]);
        var r2 = OutputTransform2(m[at + 8 * plane], m[at + 9 * plane], m[at + 10 * plane], m[at + 11 * plane]);
        var r3 = OutputTransform2(m[at + 12 * plane], m[at + 13 * plane], m[at + 14 * plane], m[at + 15 * plane]);
        var c0 = OutputTransform2(r0.A0, r1.A0, r2.A0, r3.A0);
        var c1 = OutputTransform2(r0.A1, r1.A1, r2.A1, r3.A1);
        long o = OutputPlane(g, t, k, out int oy, out int ox);
        Put(g, bias, y, flags, o, k, oy, ox, c0.A0); Put(g, bias, y, flags, o, k, oy, ox + 1, c1.A0);
        Put(g, bias, y, flags, o, k, oy + 1, ox, c0.A1); Put(g, bias, y, flags, o, k, oy + 1, ox + 1, c1.A1);
    }

    /// <summary>y[n,k, tile t] = Aᵀ M[··][k][t] A for F(4×4): one thread per (k, t) of the chunk, t fastest, k &lt; OutC.</summary>
    [KernelName("winograd_output_4x4")]
    public static void TransformOutput4x4(Index1D i, WinogradGeometry g, ArrayView<float> m, ArrayView<float> bias, ArrayView<float> y, int flags)
    {
        int t = i % g.Count, k = i / g.Count;
        long plane = WinogradGeometry.TileBlock, at = g.ProductOffset(k, t);
        var r0 = OutputRow4(m, at, plane, 0);
        var r1 = OutputRow4(m, at, plane, 1);
        var r2 = OutputRow4(m, at, plane, 2);
        var r3 = OutputRow4(m, at, plane, 3);
        var r4 = OutputRow4(m, at, plane, 4);
        var r5 = OutputRow4(m, at, plane, 5);
        long o = OutputPlane(g, t, k, out int oy, out int ox);
        PutColumn4(g, bias, y, flags, o, k, oy, ox, OutputTransform4(r0.A0, r1.A0, r2.A0, r3.A0, r4.A0, r5.A0));
        PutColumn4(g, bias, y, flags, o, k, oy, ox + 1, OutputTransform4(r0.A1, r1.A1, r2.A1, r3.A1, r4.A1, r5.A1));
        PutColumn4(g, bias, y, flags, o, k, oy, ox + 2, OutputTransform4(r0.A2, r1.A2, r2.A2, r3.A2, r4.A2, r5.A2));
        PutColumn4(g, bias, y, flags, o, k, oy, ox + 3, OutputTransform4(r0.A3, r1.A3, r2.A3, r3.A3, r4.A3, r5.A3));
    }

    /// <summary>Aᵀ applied to row ξ of M (positions ξ·6 … ξ·6 + 5).</summary>
    static Vec4 OutputRow4(ArrayView<float> m, long at, long plane, int xi)
    {
        long r = at + xi * 6 * plane;
        return OutputTransform4(m[r], m[r + plane], m[r + 2 * plane], m[r + 3 * plane], m[r + 4 * plane], m[r + 5 * plane]);
    }

    static void PutColumn4(in WinogradGeometry g, ArrayView<float> bias, ArrayView<float> y, int flags, long o, int k, int oy, int ox, Vec4 column)
    {
        Put(g, bias, y, flags, o, k, oy, ox, column.A0); Put(g, bias, y, flags, o, k, oy + 1, ox, column.A1);
        Put(g, bias, y, flags, o, k, oy + 2, ox, column.A2); Put(g, bias, y, flags, o, k, oy + 3, ox, column.A3);
    }
}
