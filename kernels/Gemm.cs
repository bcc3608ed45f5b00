// Batched matrix product with pluggable operands: the engine room of convolution and the Gram matrix.
//
//   C[b, i, j] ← Σ_k A(b, i, k) · B(b, k, j)      i < M, j < N, k < K, b < Batch
//
// A and B are not stored matrices but small structs that *compute* an element on demand
// (`IGemmOperandA.Load`, `IGemmOperandB.Load`): for a convolution, B(k, p) is the im2col matrix
// read straight from the image (implicit GEMM, no copy); for the Gram backward, A(c, j) is
// dG[c, j] + dG[j, c]. The output struct decides what happens to each result: overwrite,
// accumulate (+=, for gradients), add a bias and apply ReLU. See Conv2d.cs and Gram.cs for the
// operands. Out-of-range rows, columns and k are never passed to Load or Store.
//
// Two variants:
//   Blocked  each thread computes a 4×4 block of C in registers reading A and B directly:
//            16 multiply-adds per 8 loads, no shared memory, no barriers. Good on CPUs.
//   Tiled    a group of TX×TY threads computes a (4·TY)×(4·TX) tile of C; for each slice of
//            TK values of k the group first copies A[tile rows, slice] and B[slice, tile cols]
//            into shared memory, then each thread does 16 multiply-adds per 8 shared loads.
//            Thread (tx, ty) owns rows ty + r·TY and columns tx + c·TX (r, c < 4), so
//            neighbouring threads touch neighbouring columns: coalesced stores and
//            conflict-free shared reads on a GPU. TX, TY and TK are launch parameters, so one
//            kernel serves devices with different group limits (a GPU takes 16×16, ILGPU's
//            CPU accelerator 4×4).
using ILGPU;
using ILGPU.Backends.EntryPoints;

namespace IlgpuStyle.Kernels;

/// <summary>Problem size of a batched GEMM.</summary>
public struct GemmSize
{
    public int M, N, K, Batch;
    public GemmSize(int m, int n, int k, int batch) { M = m; N = n; K = k; Batch = batch; }
    public readonly long Flops => 2L * M * N * K * Batch;
}

/// <summary>The left operand, element (i, k) of batch b.</summary>
public interface IGemmOperandA { float Load(int b, int i, int k); }

/// <summary>The right operand, element (k, j) of batch b.</summary>
public interface IGemmOperandB { float Load(int b, int k, int j); }

/// <summary>What becomes of C[b, i, j].</summary>
public interface IGemmOutput { void Store(int b, int i, int j, float value); }

/// <summary>C[b, i, j] = scale · value, stored row-major (b, i, j).</summary>
public struct OverwriteOutput : IGemmOutput
{
    public ArrayView<float> C;
    public int M, N;
    public float Scale;
    public readonly void Store(int b, int i, int j, float value) => C[((long)b * M + i) * N + j] = Scale * value;
}

/// <summary>C[b, i, j] += scale · value: the gradient convention (backward passes accumulate).</summary>
public struct AccumulateOutput : IGemmOutput
{
    public ArrayView<float> C;
    public int M, N;
    public float Scale;
    public readonly void Store(int b, int i, int j, float value) => C[((long)b * M + i) * N + j] += Scale * value;
}

/// <summary>Sixteen accumulators of a 4×4 block, kept in registers (no arrays inside kernels).</summary>
public struct Accumulator4x4
{
    public float C00, C01, C02, C03, C10, C11, C12, C13, C20, C21, C22, C23, C30, C31, C32, C33;

    public void Fma(float a0, float a1, float a2, float a3, float b0, float b1, float b2, float b3)
    {
        C00 += a0 * b0; C01 += a0 * b1; C02 += a0 * b2; C03 += a0 * b3;
        C10 += a1 * b0; C11 += a1 * b1; C12 += a1 * b2; C13 += a1 * b3;
        C20 += a2 * b0; C21 += a2 * b1; C22 += a2 * b2; C23 += a2 * b3;
        C30 += a3 * b0; C31 += a3 * b1; C32 += a3 * b2; C33 += a3 * b3;
    }

    public readonly float Get(int r, int c)
    {
        if (r == 0) return c == 0 ? C00 : c == 1 ? C01 : c == 2 ? C02 : C03;
        if (r == 1) return c == 0 ? C10 : c == 1 ? C11 : c == 2 ? C12 : C13;
        if (r == 2) return c == 0 ? C20 : c == 1 ? C21 : c == 2 ? C22 : C23;
        return c == 0 ? C30 : c == 1 ? C31 : c == 2 ? C32 : C33;
    }
}

public static class Gemm
{
    /// <summary>Rows and columns of C computed by one thread of either variant.</summary>
    public const int MicroTile = 4;

    /// <summary>
    /// Shared floats a tiled group may use: TK·4·(TX + TY) ≤ this (16·4·32 = 2048, 8 KiB). A static
    /// allocation: PoCL 6 gave wrong results with ILGPU's dynamic shared memory once several groups
    /// ran long k-loops at the same time.
    /// </summary>
    public const int MaxSharedFloats = 2048;

    /// <summary>
    /// Blocked: thread (x, y, b) computes C[b, 4y..4y+3, 4x..4x+3].
    /// Launch over Index3D(ceil(N/4), ceil(M/4), Batch).
    /// </summary>
    [KernelName("gemm_blocked")]
    public static void Blocked<TA, TB, TC>(Index3D index, GemmSize size, TA a, TB b, TC c)
        where TA : struct, IGemmOperandA
        where TB : struct, IGemmOperandB
        where TC : struct, IGemmOutput
    {
        int i0 = index.Y * MicroTile, j0 = index.X * MicroTile, batch = index.Z;
        bool r1 = i0 + 1 < size.M, r2 = i0 + 2 < size.M, r3 = i0 + 3 < size.M;
        bool c1 = j0 + 1 < size.N, c2 = j0 + 2 < size.N, c3 = j0 + 3 < size.N;
        var acc = new Accumulator4x4();
        for (int k = 0; k < size.K; k++)
        {
            float a0 = a.Load(batch, i0, k);
            float a1 = r1 ? a.Load(batch, i0 + 1, k) : 0f;
            float a2 = r2 ? a.Load(batch, i0 + 2, k) : 0f;
            float a3 = r3 ? a.Load(batch, i0 + 3, k) : 0f;
            float b0 = b.Load(batch, k, j0);
            float b1 = c1 ? b.Load(batch, k, j0 + 1) : 0f;
            float b2 = c2 ? b.Load(batch, k, j0 + 2) : 0f;
            float b3 = c3 ? b.Load(batch, k, j0 + 3) : 0f;
            acc.Fma(a0, a1, a2, a3, b0, b1, b2, b3);
        }
        for (int r = 0; r < MicroTile; r++)
            for (int col = 0; col < MicroTile; col++)
                if (i0 + r < size.M && j0 + col < size.N)
                    c.Store(batch, i0 + r, j0 + col, acc.Get(r, col));
    }

    /// <summary>
    /// Tiled: group (gx, gy, b) of TX×TY threads computes the (4·TY)×(4·TX) tile of C at rows
    /// 4·TY·gy, columns 4·TX·gx. Shared memory: TK·(4·TY + 4·TX) ≤ MaxSharedFloats floats (static).
    /// </summary>
    [KernelName("gemm_tiled")]
    public static void Tiled<TA, TB, TC>(GemmSize size, int tileK, TA a, TB b, TC c)
        where TA : struct, IGemmOperandA
        where TB : struct, IGemmOperandB
        where TC : struct, IGemmOutput
    {
        int tx = Group.IdxX, ty = Group.IdxY, threadsX = Group.DimX, threadsY = Group.DimY;
        int tileM = MicroTile * threadsY, tileN = MicroTile * threadsX;
        int rowBase = Grid.IdxY * tileM, colBase = Grid.IdxX * tileN, batch = Grid.IdxZ;
        int thread = ty * threadsX + tx, threads = threadsX * threadsY;

        // As[kk, i] at kk·tileM + i, then Bs[kk, j] at tileK·tileM + kk·tileN + j.
        var shared = SharedMemory.Allocate<float>(MaxSharedFloats);
        int bOffset = tileK * tileM;

        var acc = new Accumulator4x4();
        for (int k0 = 0; k0 < size.K; k0 += tileK)
        {
            // Consecutive threads take consecutive k of one row of A (A is usually row-major in k).
            for (int e = thread; e < tileK * tileM; e += threads)
            {
                int i = e / tileK, kk = e - i * tileK;
                int row = rowBase + i, k = k0 + kk;
                shared[kk * tileM + i] = row < size.M && k < size.K ? a.Load(batch, row, k) : 0f;
            }
            // ...and consecutive columns of one row of B (columns are pixels: contiguous).
            for (int e = thread; e < tileK * tileN; e += threads)
            {
                int kk = e / tileN, j = e - kk * tileN;
                int col = colBase + j, k = k0 + kk;
                shared[bOffset + e] = col < size.N && k < size.K ? b.Load(batch, k, col) : 0f;
            }
            Group.Barrier();

            for (int kk = 0; kk < tileK; kk++)
            {
                int ar = kk * tileM + ty, bc = bOffset + kk * tileN + tx;
                acc.Fma(shared[ar], shared[ar + threadsY], shared[ar + 2 * threadsY], shared[ar + 3 * threadsY],
                        shared[bc], shared[bc + threadsX], shared[bc + 2 * threadsX], shared[bc + 3 * threadsX]);
            }
            Group.Barrier();
        }

        for (int r = 0; r < MicroTile; r++)
            for (int col = 0; col < MicroTile; col++)
            {
                int i = rowBase + ty + r * threadsY, j = colBase + tx + col * threadsX;
                if (i < size.M && j < size.N)
                    c.Store(batch, i, j, acc.Get(r, col));
            }
    }
}
