// Register accumulators of the direct convolutions (Conv2dDirect.cs) and of the Gram matrix's backward (Gram.cs):
// structs of plain float fields, which ILGPU keeps in registers (an array would live in memory). Each holds the
// sums of one block of 16 output channels, for one pixel (Accumulator16) or for 4 or 8 neighbouring pixels of a
// row, or 32 channels × 8 pixels (two 16×8 blocks). Row(...) adds one filter row: for each pixel p and channel j,
// sum[p][j] += Σ_kx x[p + kx] · w[tap + kx·k + j], every multiply-add one FusedMath.MulAdd (one FMA instruction).
using ILGPU;

namespace IlgpuStyle.Kernels;

/// <summary>Sixteen accumulators (one per output channel of a block).</summary>
public struct Accumulator16
{
    public float A0, A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15;

    /// <summary>a_j += x · w[offset + j], j &lt; 16.</summary>
    public void Fma(float x, ArrayView<float> w, int offset)
    {
        A0 = FusedMath.MulAdd(x, w[offset], A0); A1 = FusedMath.MulAdd(x, w[offset + 1], A1);
        A2 = FusedMath.MulAdd(x, w[offset + 2], A2); A3 = FusedMath.MulAdd(x, w[offset + 3], A3);
        A4 = FusedMath.MulAdd(x, w[offset + 4], A4); A5 = FusedMath.MulAdd(x, w[offset + 5], A5);
        A6 = FusedMath.MulAdd(x, w[offset + 6], A6); A7 = FusedMath.MulAdd(x, w[offset + 7], A7);
        A8 = FusedMath.MulAdd(x, w[offset + 8], A8); A9 = FusedMath.MulAdd(x, w[offset + 9], A9);
        A10 = FusedMath.MulAdd(x, w[offset + 10], A10); A11 = FusedMath.MulAdd(x, w[offset + 11], A11);
        A12 = FusedMath.MulAdd(x, w[offset + 12], A12); A13 = FusedMath.MulAdd(x, w[offset + 13], A13);
        A14 = FusedMath.MulAdd(x, w[offset + 14], A14); A15 = FusedMath.MulAdd(x, w[offset + 15], A15);
    }

    /// <summary>a_j = a_j · b + c for every j (the FMA microbenchmark, kernels/Peak.cs).</summary>
    public void Scale(float b, float c)
    {
        A0 = FusedMath.MulAdd(A0, b, c); A1 = FusedMath.MulAdd(A1, b, c); A2 = FusedMath.MulAdd(A2, b, c); A3 = FusedMath.MulAdd(A3, b, c);
        A4 = FusedMath.MulAdd(A4, b, c); A5 = FusedMath.MulAdd(A5, b, c); A6 = FusedMath.MulAdd(A6, b, c); A7 = FusedMath.MulAdd(A7, b, c);
        A8 = FusedMath.MulAdd(A8, b, c); A9 = FusedMath.MulAdd(A9, b, c); A10 = FusedMath.MulAdd(A10, b, c); A11 = FusedMath.MulAdd(A11, b, c);
        A12 = FusedMath.MulAdd(A12, b, c); A13 = FusedMath.MulAdd(A13, b, c); A14 = FusedMath.MulAdd(A14, b, c); A15 = FusedMath.MulAdd(A15, b, c);
    }

    /// <summary>y[o + j] = a_j for every j.</summary>
    public readonly void Store(ArrayView<float> y, long o)
    {
        y[o] = A0; y[o + 1] = A1; y[o + 2] = A2; y[o + 3] = A3; y[o + 4] = A4; y[o + 5] = A5; y[o + 6] = A6; y[o + 7] = A7;
        y[o + 8] = A8; y[o + 9] = A9; y[o + 10] = A10; y[o + 11] = A11; y[o + 12] = A12; y[o + 13] = A13; y[o + 14] = A14; y[o + 15] = A15;
    }

    /// <summary>
    /// y[o + j·stride] = a_j for every j: sums that lie apart in memory (the FMA microbenchmark's, interleaved with other
    /// threads'). With the stride known only at run time a CPU compiler sees no adjacent stores, so it does not start its
    /// vectorization from them and they do not fix the vector width of the sums. Sums that lie side by side are stored with
    /// <see cref="StoreVector"/>, one vector store (kernels/Conv2dWinograd.cs, "the batched product").
    /// </summary>
    public readonly void StoreStrided(ArrayView<float> y, long o, long stride)
    {
        y[o] = A0; y[o + stride] = A1; y[o + 2 * stride] = A2; y[o + 3 * stride] = A3; y[o + 4 * stride] = A4; y[o + 5 * stride] = A5;
        y[o + 6 * stride] = A6; y[o + 7 * stride] = A7; y[o + 8 * stride] = A8; y[o + 9 * stride] = A9; y[o + 10 * stride] = A10;
        y[o + 11 * stride] = A11; y[o + 12 * stride] = A12; y[o + 13 * stride] = A13; y[o + 14 * stride] = A14; y[o + 15 * stride] = A15;
    }

    /// <summary>y[o + j] = a_j for every j as one vector store on OpenCL devices (<see cref="VectorStore.Store16"/>): the
    /// sums stay 512-bit on AVX-512 CPUs, where 16 adjacent scalar stores would make them 256-bit.</summary>
    public readonly void StoreVector(ArrayView<float> y, long o) =>
        VectorStore.Store16(y, o, A0, A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15);

    public readonly float Get(int j) => j switch
    {
        0 => A0, 1 => A1, 2 => A2, 3 => A3, 4 => A4, 5 => A5, 6 => A6, 7 => A7,
        8 => A8, 9 => A9, 10 => A10, 11 => A11, 12 => A12, 13 => A13, 14 => A14, _ => A15,
    };
}

/// <summary>16 channels × 4 neighbouring pixels of a row (or 4 rows × 16 columns of a product).</summary>
public struct Accumulator16x4 : IProductAccumulator
{
    public Accumulator16 P0, P1, P2, P3;

    public void Product(ArrayView<float> u, int f, ArrayView<float> v, int r)
    {
        P0.Fma(u[f], v, r); P1.Fma(u[f + 1], v, r); P2.Fma(u[f + 2], v, r); P3.Fma(u[f + 3], v, r);
    }

    /// <summary>Row i's 16 sums at y[o + i·rowStride + j·stride] (<see cref="Accumulator16.StoreStrided"/>).</summary>
    public readonly void StoreStrided(ArrayView<float> y, long o, long rowStride, long stride)
    {
        P0.StoreStrided(y, o, stride); P1.StoreStrided(y, o + rowStride, stride);
        P2.StoreStrided(y, o + 2 * rowStride, stride); P3.StoreStrided(y, o + 3 * rowStride, stride);
    }

    /// <summary>Row i's 16 sums at y[o + i·rowStride …], one vector store each (<see cref="Accumulator16.StoreVector"/>).</summary>
    public readonly void StoreVectors(ArrayView<float> y, long o, long rowStride)
    {
        P0.StoreVector(y, o); P1.StoreVector(y, o + rowStride); P2.StoreVector(y, o + 2 * rowStride); P3.StoreVector(y, o + 3 * rowStride);
    }

    /// <summary>One input channel over four pixels (a 1×1 filter): p_i += x_i · w[tap + j].</summary>
    public void Column(float x0, float x1, float x2, float x3, ArrayView<float> w, int tap)
    {
        P0.Fma(x0, w, tap); P1.Fma(x1, w, tap); P2.Fma(x2, w, tap); P3.Fma(x3, w, tap);
    }

    /// <summary>One filter row over four pixels: p_i += Σ_kx x[i + kx] · w[tap + kx·k + j].</summary>
    public void Row(float x0, float x1, float x2, float x3, float x4, float x5, ArrayView<float> w, int tap, int k)
    {
        P0.Fma(x0, w, tap); P1.Fma(x1, w, tap); P2.Fma(x2, w, tap); P3.Fma(x3, w, tap);
        P0.Fma(x1, w, tap + k); P1.Fma(x2, w, tap + k); P2.Fma(x3, w, tap + k); P3.Fma(x4, w, tap + k);
        P0.Fma(x2, w, tap + 2 * k); P1.Fma(x3, w, tap + 2 * k); P2.Fma(x4, w, tap + 2 * k); P3.Fma(x5, w, tap + 2 * k);
    }
}

/// <summary>
/// Blocks of a matrix product's sums, rows × 16 columns (Winograd's batched product, the FMA microbenchmark): one step adds
/// the outer product of a column of `rows` values u[f..] and a row of 16 values v[r..r+15], p_i[j] += u[f + i] · v[r + j].
/// On a CPU OpenCL compiler each p_i is one SIMD register and each step `rows` vector FMAs with u[f + i] broadcast.
/// </summary>
public interface IProductAccumulator
{
    void Product(ArrayView<float> u, int f, ArrayView<float> v, int r);
}

public static class ProductSteps
{
    /// <summary>Eight steps of a product, step s taking u[f + s·uStep..] and v[r + s·vStep..]: the loop body of the products'
    /// long sums (Winograd's channels, the Gram matrix's pixels, the FMA microbenchmark), eight steps per loop turn because
    /// with one PoCL's vectorizer found the block of sums not worth packing into registers (kernels/Conv2dWinograd.cs).</summary>
    public static void Eight<TAcc>(ref TAcc acc, ArrayView<float> u, int f, int uStep, ArrayView<float> v, int r, int vStep)
        where TAcc : struct, IProductAccumulator
    {
        acc.Product(u, f, v, r); acc.Product(u, f + uStep, v, r + vStep); acc.Product(u, f + 2 * uStep, v, r + 2 * vStep);
        acc.Product(u, f + 3 * uStep, v, r + 3 * vStep); acc.Product(u, f + 4 * uStep, v, r + 4 * vStep);
        acc.Product(u, f + 5 * uStep, v, r + 5 * vStep); acc.Product(u, f + 6 * uStep, v, r + 6 * vStep);
        acc.Product(u, f + 7 * uStep, v, r + 7 * vStep);
    }
}

/// <summary>Sums over 8 neighbouring pixels of a row that take one 3-tap filter row at a time.</summary>
public interface IRowAccumulator8
{
    /// <summary>p_i += Σ_kx x[i + kx] · w[tap + kx·k + j] for the accumulator's channels j.</summary>
    void Row(float x0, float x1, float x2, float x3, float x4, float x5, float x6, float x7, float x8, float x9, ArrayView<float> w, int tap, int k);
}

/// <summary>Sums of 8 pixels × 16 channels, or of 8 channels × 16 Winograd tiles, that take one input channel at a time: a
/// rank-1 update.</summary>
public interface IColumnAccumulator8
{
    /// <summary>p_i += x_i · w[tap + j] for the accumulator's channels j.</summary>
    void Column(float x0, float x1, float x2, float x3, float x4, float x5, float x6, float x7, ArrayView<float> w, int tap);
}

/// <summary>16 channels × 8 neighbouring pixels of a row.</summary>
public struct Accumulator16x8 : IRowAccumulator8, IColumnAccumulator8, IProductAccumulator
{
    public Accumulator16 P0, P1, P2, P3, P4, P5, P6, P7;

    public void Product(ArrayView<float> u, int f, ArrayView<float> v, int r) =>
        Column(u[f], u[f + 1], u[f + 2], u[f + 3], u[f + 4], u[f + 5], u[f + 6], u[f + 7], v, r);

    /// <summary>Row i's 16 sums at y[o + i·rowStride + j·stride] (<see cref="Accumulator16.StoreStrided"/>).</summary>
    public readonly void StoreStrided(ArrayView<float> y, long o, long rowStride, long stride)
    {
        P0.StoreStrided(y, o, stride); P1.StoreStrided(y, o + rowStride, stride); P2.StoreStrided(y, o + 2 * rowStride, stride);
        P3.StoreStrided(y, o + 3 * rowStride, stride); P4.StoreStrided(y, o + 4 * rowStride, stride);
        P5.StoreStrided(y, o + 5 * rowStride, stride); P6.StoreStrided(y, o + 6 * rowStride, stride);
        P7.StoreStrided(y, o + 7 * rowStride, stride);
    }

    /// <summary>Row i's 16 sums at y[o + i·rowStride …], one vector store each (<see cref="Accumulator16.StoreVector"/>).</summary>
    public readonly void StoreVectors(ArrayView<float> y, long o, long rowStride)
    {
        P0.StoreVector(y, o); P1.StoreVector(y, o + rowStride); P2.StoreVector(y, o + 2 * rowStride); P3.StoreVector(y, o + 3 * rowStride);
        P4.StoreVector(y, o + 4 * rowStride); P5.StoreVector(y, o + 5 * rowStride); P6.StoreVector(y, o + 6 * rowStride);
        P7.StoreVector(y, o + 7 * rowStride);
    }

    /// <summary>One filter row over eight pixels: p_i += Σ_kx x[i + kx] · w[tap + kx·k + j].</summary>
    public void Row(float x0, float x1, float x2, float x3, float x4, float x5, float x6, float x7, float x8, float x9, ArrayView<float> w, int tap, int k)
    {
        P0.Fma(x0, w, tap); P1.Fma(x1, w, tap); P2.Fma(x2, w, tap); P3.Fma(x3, w, tap); P4.Fma(x4, w, tap); P5.Fma(x5, w, tap); P6.Fma(x6, w, tap); P7.Fma(x7, w, tap);
        P0.Fma(x1, w, tap + k); P1.Fma(x2, w, tap + k); P2.Fma(x3, w, tap + k); P3.Fma(x4, w, tap + k); P4.Fma(x5, w, tap + k); P5.Fma(x6, w, tap + k); P6.Fma(x7, w, tap + k); P7.Fma(x8, w, tap + k);
        P0.Fma(x2, w, tap + 2 * k); P1.Fma(x3, w, tap + 2 * k); P2.Fma(x4, w, tap + 2 * k); P3.Fma(x5, w, tap + 2 * k); P4.Fma(x6, w, tap + 2 * k); P5.Fma(x7, w, tap + 2 * k); P6.Fma(x8, w, tap + 2 * k); P7.Fma(x9, w, tap + 2 * k);
    }

    /// <summary>One input channel over eight pixels (a 1×1 filter): p_i += x_i · w[tap + j].</summary>
    public void Column(float x0, float x1, float x2, float x3, float x4, float x5, float x6, float x7, ArrayView<float> w, int tap)
    {
        P0.Fma(x0, w, tap); P1.Fma(x1, w, tap); P2.Fma(x2, w, tap); P3.Fma(x3, w, tap);
        P4.Fma(x4, w, tap); P5.Fma(x5, w, tap); P6.Fma(x6, w, tap); P7.Fma(x7, w, tap);
    }
}

/// <summary>32 channels × 8 neighbouring pixels of a row: two 16-channel blocks that share every input value loaded.</summary>
public struct Accumulator32x8 : IRowAccumulator8, IColumnAccumulator8, IProductAccumulator
{
    public Accumulator16x8 Lo, Hi;

    /// <summary>16 rows × 16 columns of a product (Lo: rows f..f+7 of u, Hi: rows f+8..f+15).</summary>
    public void Product(ArrayView<float> u, int f, ArrayView<float> v, int r)
    {
        Lo.Product(u, f, v, r);
        Hi.Product(u, f + 8, v, r);
    }

    /// <summary>One input channel over eight pixels for channels k0..k0+31 (a 1×1 filter; Lo: weights at tap, Hi: at tap + 16).</summary>
    public void Column(float x0, float x1, float x2, float x3, float x4, float x5, float x6, float x7, ArrayView<float> w, int tap)
    {
        Lo.Column(x0, x1, x2, x3, x4, x5, x6, x7, w, tap);
        Hi.Column(x0, x1, x2, x3, x4, x5, x6, x7, w, tap + 16);
    }

    /// <summary>One filter row over eight pixels for channels k0..k0+31 (Lo: weights at tap, Hi: at tap + 16).</summary>
    public void Row(float x0, float x1, float x2, float x3, float x4, float x5, float x6, float x7, float x8, float x9, ArrayView<float> w, int tap, int k)
    {
        Lo.Row(x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, w, tap, k);
        Hi.Row(x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, w, tap + 16, k);
    }
}
