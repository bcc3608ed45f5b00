// 2×2 pooling with stride 2, max or average, NCHW. Odd sizes floor like the frameworks do:
// Ho = H / 2, Wo = W / 2, and the last row or column of an odd input belongs to no window.
//
//   max       y[n,c,oy,ox] = max_{dy,dx ∈ {0,1}} x[n,c,2oy+dy,2ox+dx]
//             dL/dx[n,c,iy,ix] += dL/dy[n,c,iy/2,ix/2] if (iy,ix) is the window's first maximum
//             (scan order dy, dx, as PyTorch and TensorFlow break ties), else 0
//   average   y[n,c,oy,ox] = ¼ Σ_{dy,dx} x[n,c,2oy+dy,2ox+dx]
//             dL/dx[n,c,iy,ix] += ¼ dL/dy[n,c,iy/2,ix/2]   (inside the floored region)
//
// Windows do not overlap, so each input element has at most one output: backward is a gather
// over input elements, no atomics.
//
// Windowed max pooling (ResNet's stem: K = 3, stride S = 2, padding P = 1), windows that overlap:
//   Ho = (H + 2P − K) / S + 1            (floor; padding counts as −∞, never the maximum)
//   y[n,c,oy,ox] = max_{ky,kx < K} x[n,c, oy·S − P + ky, ox·S − P + kx]
//   dL/dx[n,c,iy,ix] += Σ over every output (oy,ox) whose window holds (iy,ix) and whose first maximum
//                       (scan order ky, kx) it is, of dL/dy[n,c,oy,ox]
// An input can be the maximum of up to ⌈K/S⌉² windows, so its gradient is a sum: the backward still
// gathers per input element and accumulates, with no atomics: a first pass stores each window's argmax
// (its place ky·K + kx in the window), the second adds, per input, the gradients of the windows it wins. Every kernel is a grid-stride loop (thread t takes elements
// t, t + T, …): on ILGPU's CPU accelerator one thread per element costs a microsecond each.
using ILGPU;
using ILGPU.Backends.EntryPoints;

namespace IlgpuStyle.Kernels;

/// <summary>Sizes of one 2×2 / stride 2 pooling.</summary>
public struct Pool2dGeometry
{
    public int N, C, InH, InW, OutH, OutW;
    public Pool2dGeometry(int n, int c, int inH, int inW)
    {
        N = n; C = c; InH = inH; InW = inW; OutH = inH / 2; OutW = inW / 2;
    }
}

/// <summary>Sizes of one K×K pooling with stride S and padding P, windows that may overlap.</summary>
public struct PoolWindowGeometry
{
    public int N, C, InH, InW, OutH, OutW, K, S, P;
    public PoolWindowGeometry(int n, int c, int inH, int inW, int k, int s, int p)
    {
        N = n; C = c; InH = inH; InW = inW; K = k; S = s; P = p;
        OutH = (inH + 2 * p - k) / s + 1; OutW = (inW + 2 * p - k) / s + 1;
    }
}

public static class Pool2d
{
    [KernelName("maxpool2d_fwd")]
    public static void MaxForward(Index1D t, int stride, Pool2dGeometry g, ArrayView<float> x, ArrayView<float> y)
    {
        for (int index = t; index < y.Length; index += stride)
        {
        int ox = index % g.OutW, oy = index / g.OutW % g.OutH, plane = index / (g.OutW * g.OutH);
        int i = (plane * g.InH + 2 * oy) * g.InW + 2 * ox;
        y[index] = MathF.Max(MathF.Max(x[i], x[i + 1]), MathF.Max(x[i + g.InW], x[i + g.InW + 1]));
        }
    }

    [KernelName("maxpool2d_bwd")]
    public static void MaxBackward(Index1D t, int stride, Pool2dGeometry g, ArrayView<float> x, ArrayView<float> gradOut, ArrayView<float> gradIn)
    {
        for (int index = t; index < gradIn.Length; index += stride)
        {
        int ix = index % g.InW, iy = index / g.InW % g.InH, plane = index / (g.InW * g.InH);
        int ox = ix / 2, oy = iy / 2;
        if (ox >= g.OutW || oy >= g.OutH) continue;
        int w0 = (plane * g.InH + 2 * oy) * g.InW + 2 * ox;
        // Index of the first maximum in scan order (0,0), (0,1), (1,0), (1,1).
        int best = w0;
        float m = x[w0];
        if (x[w0 + 1] > m) { m = x[w0 + 1]; best = w0 + 1; }
        if (x[w0 + g.InW] > m) { m = x[w0 + g.InW]; best = w0 + g.InW; }
        if (x[w0 + g.InW + 1] > m) { best = w0 + g.InW + 1; }
        if (best == index)
            gradIn[index] += gradOut[(plane * g.OutH + oy) * g.OutW + ox];
        }
    }

    /// <summary>Grid-stride over output rows (plane·OutH + oy): each thread averages whole rows, a loop a CPU compiler vectorizes.</summary>
    [KernelName("avgpool2d_fwd")]
    public static void AverageForward(Index1D t, int stride, Pool2dGeometry g, ArrayView<float> x, ArrayView<float> y)
    {
        long rows = (long)g.N * g.C * g.OutH;
        for (long row = t; row < rows; row += stride)
        {
            long plane = row / g.OutH;
            int oy = (int)(row - plane * g.OutH);
            long top = (plane * g.InH + 2 * oy) * g.InW, bottom = top + g.InW, o = row * g.OutW;
            for (int ox = 0; ox < g.OutW; ox++)
                y[o + ox] = 0.25f * (x[top + 2 * ox] + x[top + 2 * ox + 1] + x[bottom + 2 * ox] + x[bottom + 2 * ox + 1]);
        }
    }

    /// <summary>Grid-stride over input rows (plane·InH + iy): each thread adds to a whole row.</summary>
    [KernelName("avgpool2d_bwd")]
    public static void AverageBackward(Index1D t, int stride, Pool2dGeometry g, ArrayView<float> gradOut, ArrayView<float> gradIn)
    {
        long rows = (long)g.N * g.C * g.InH;
        for (long row = t; row < rows; row += stride)
        {
            long plane = row / g.InH;
            int oy = (int)(row - plane * g.InH) / 2;
            if (oy >= g.OutH) continue;   // the last row of an odd input belongs to no window
            long i = row * g.InW, o = (plane * g.OutH + oy) * g.OutW;
            for (int ix = 0; ix < 2 * g.OutW; ix++)
                gradIn[i + ix] += 0.25f * gradOut[o + ix / 2];
        }
    }

    // ---------------------------------------------------------------- windowed max: K×K, stride S, padding P

    [KernelName("maxpool2d_window_fwd")]
    public static void MaxWindowForward(Index1D t, int stride, PoolWindowGeometry g, ArrayView<float> x, ArrayView<float> y)
    {
        for (int index = t; index < y.Length; index += stride)
        {
            int ox = index % g.OutW, oy = index / g.OutW % g.OutH, plane = index / (g.OutW * g.OutH);
            float m = float.NegativeInfinity;
            for (int ky = 0; ky < g.K; ky++)
            {
                int iy = oy * g.S - g.P + ky;
                if (iy < 0 || iy >= g.InH) continue;
                for (int kx = 0; kx < g.K; kx++)
                {
                    int ix = ox * g.S - g.P + kx;
                    if (ix >= 0 && ix < g.InW) m = MathF.Max(m, x[(plane * g.InH + iy) * g.InW + ix]);
                }
            }
            y[index] = m;
        }
    }

    /// <summary>Each output's window-local argmax ky·K + kx (first maximum in scan order), stored as a float: the backward's first pass.</summary>
    [KernelName("maxpool2d_window_argmax")]
    public static void MaxWindowArgmax(Index1D t, int stride, PoolWindowGeometry g, ArrayView<float> x, ArrayView<float> argmax)
    {
        for (int index = t; index < argmax.Length; index += stride)
        {
            int ox = index % g.OutW, oy = index / g.OutW % g.OutH, plane = index / (g.OutW * g.OutH);
            int best = -1;
            float m = 0f;
            for (int ky = 0; ky < g.K; ky++)
            {
                int iy = oy * g.S - g.P + ky;
                if (iy < 0 || iy >= g.InH) continue;
                for (int kx = 0; kx < g.K; kx++)
                {
                    int ix = ox * g.S - g.P + kx;
                    if (ix < 0 || ix >= g.InW) continue;
                    float v = x[(plane * g.InH + iy) * g.InW + ix];
                    if (best < 0 || v > m) { best = ky * g.K + kx; m = v; }
                }
            }
            argmax[index] = best;
        }
    }

    /// <summary>
    /// One thread per input element: the outputs whose windows hold it are oy ∈ [⌈(iy + P − K + 1)/S⌉, ⌊(iy + P)/S⌋] (and
    /// likewise ox); it adds the gradient of each whose argmax (from the first pass) is this element's place in its window.
    /// </summary>
    [KernelName("maxpool2d_window_bwd")]
    public static void MaxWindowBackward(Index1D t, int stride, PoolWindowGeometry g, ArrayView<float> argmax, ArrayView<float> gradOut, ArrayView<float> gradIn)
    {
        for (int index = t; index < gradIn.Length; index += stride)
        {
            int ix = index % g.InW, iy = index / g.InW % g.InH, plane = index / (g.InW * g.InH);
            int oy0 = Math.Max(0, (iy + g.P - g.K + g.S) / g.S), oy1 = Math.Min(g.OutH - 1, (iy + g.P) / g.S);
            int ox0 = Math.Max(0, (ix + g.P - g.K + g.S) / g.S), ox1 = Math.Min(g.OutW - 1, (ix + g.P) / g.S);
            float sum = 0f;
            for (int oy = oy0; oy <= oy1; oy++)
                for (int ox = ox0; ox <= ox1; ox++)
                {
                    int o = (plane * g.OutH + oy) * g.OutW + ox;
                    float local = (iy - (oy * g.S - g.P)) * g.K + (ix - (ox * g.S - g.P));
                    if (argmax[o] == local) sum += gradOut[o];
                }
            gradIn[index] += sum;
        }
    }
}
