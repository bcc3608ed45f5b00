// 2-D convolution (cross-correlation, as in every framework), NCHW, zero padding, stride S.
//
// Shapes:  x (N, Ci, H, W)   w (Co, Ci, KH, KW)   b (Co)   y (N, Co, Ho, Wo)
//          Ho = (H + 2P − KH) / S + 1,  Wo = (W + 2P − KW) / S + 1
//
// Forward (optionally fused with ReLU, y = max(0, ·)):
//   y[n,co,oy,ox] = b[co] + Σ_{ci,ky,kx} w[co,ci,ky,kx] · x[n, ci, oy·S − P + ky, ox·S − P + kx]
//                   (x outside the image counts as 0)
// Backward, given g = dL/dy (for the fused op, g is first masked by y > 0: see Relu.cs):
//   dL/dx[n,ci,iy,ix] += Σ_{co,ky,kx} w[co,ci,ky,kx] · g[n,co,oy,ox]
//                        over oy = (iy + P − ky)/S, ox = (ix + P − kx)/S where exact and in range
//   dL/dw[co,ci,ky,kx] += Σ_{n,oy,ox} g[n,co,oy,ox] · x[n, ci, oy·S − P + ky, ox·S − P + kx]
//   dL/db[co]          += Σ_{n,oy,ox} g[n,co,oy,ox]
//
// As matrix products (implicit GEMM, see Gemm.cs), with k = (ci,ky,kx), p = (oy,ox), q = (iy,ix):
//   forward       Y[n](co, p)  = W(co, k) · X̂[n](k, p)             X̂ = im2col of x, never stored
//   input grad    dX[n](ci, q) += Wᵀ(ci, k') · Ĝ[n](k', q)          k' = (co,ky,kx), Ĝ = col2im view of g
//   weight grad   dW(co, k)   += Σ_n G[n](co, p) · X̂[n](k, p)ᵀ      reduction over r = (n, p)
//
// The Naive kernels compute one output element per thread, straight from the formulas above:
// the version to read first.
using ILGPU;
using ILGPU.Backends.EntryPoints;

namespace IlgpuStyle.Kernels;

/// <summary>Every size of one convolution.</summary>
public struct Conv2dGeometry
{
    public int N, InC, InH, InW, OutC, OutH, OutW, KH, KW, Stride, Pad;

    public Conv2dGeometry(int n, int inC, int inH, int inW, int outC, int kh, int kw, int stride, int pad)
    {
        N = n; InC = inC; InH = inH; InW = inW; OutC = outC; KH = kh; KW = kw; Stride = stride; Pad = pad;
        OutH = (inH + 2 * pad - kh) / stride + 1;
        OutW = (inW + 2 * pad - kw) / stride + 1;
    }

    /// <summary>Length of one filter: Ci·KH·KW.</summary>
    public readonly int FilterSize => InC * KH * KW;
    public readonly int OutPixels => OutH * OutW;
    public readonly int InPixels => InH * InW;
    public readonly long ForwardFlops => 2L * N * OutC * OutPixels * FilterSize;
}

/// <summary>What follows a convolution's sum in its epilogue. (A kernel argument: OpenCL allows no bool there, ILGPU passes an
/// enum as its int.)</summary>
public enum Activation { None = 0, Relu = 1 }

public static class Conv2d
{
    // ---------------------------------------------------------------- naive: one output per thread

    /// <summary>y[n,co,oy,ox] (+ bias, then the activation). One thread per output element.</summary>
    [KernelName("conv2d_fwd_naive")]
    public static void ForwardNaive(Index1D index, Conv2dGeometry g, ArrayView<float> x, ArrayView<float> w,
        ArrayView<float> bias, ArrayView<float> y, Activation activation)
    {
        int ox = index % g.OutW, oy = index / g.OutW % g.OutH;
        int co = index / g.OutPixels % g.OutC, n = index / (g.OutPixels * g.OutC);
        float s = bias[co];
        for (int ci = 0; ci < g.InC; ci++)
            for (int ky = 0; ky < g.KH; ky++)
            {
                int iy = oy * g.Stride - g.Pad + ky;
                if (iy < 0 || iy >= g.InH) continue;
                for (int kx = 0; kx < g.KW; kx++)
                {
                    int ix = ox * g.Stride - g.Pad + kx;
                    if (ix < 0 || ix >= g.InW) continue;
                    s += w[((co * g.InC + ci) * g.KH + ky) * g.KW + kx] * x[((n * g.InC + ci) * g.InH + iy) * g.InW + ix];
                }
            }
        y[index] = activation == Activation.Relu ? MathF.Max(s, 0f) : s;
    }

    /// <summary>dx[n,ci,iy,ix] += Σ w·g over the outputs this input touched. One thread per input element.</summary>
    [KernelName("conv2d_bwd_input_naive")]
    public static void BackwardInputNaive(Index1D index, Conv2dGeometry g, ArrayView<float> w,
        ArrayView<float> gradOut, ArrayView<float> gradIn)
    {
        int ix = index % g.InW, iy = index / g.InW % g.InH;
        int ci = index / g.InPixels % g.InC, n = index / (g.InPixels * g.InC);
        float s = 0f;
        for (int co = 0; co < g.OutC; co++)
            for (int ky = 0; ky < g.KH; ky++)
            {
                int ty = iy + g.Pad - ky;
                if (ty < 0 || ty % g.Stride != 0) continue;
                int oy = ty / g.Stride;
                if (oy >= g.OutH) continue;
                for (int kx = 0; kx < g.KW; kx++)
                {
                    int tx = ix + g.Pad - kx;
                    if (tx < 0 || tx % g.Stride != 0) continue;
                    int ox = tx / g.Stride;
                    if (ox >= g.OutW) continue;
                    s += w[((co * g.InC + ci) * g.KH + ky) * g.KW + kx] * gradOut[((n * g.OutC + co) * g.OutH + oy) * g.OutW + ox];
                }
            }
        gradIn[index] += s;
    }

    /// <summary>dw[co,ci,ky,kx] += Σ_{n,oy,ox} g·x. One thread per weight.</summary>
    [KernelName("conv2d_bwd_weights_naive")]
    public static void BackwardWeightsNaive(Index1D index, Conv2dGeometry g, ArrayView<float> x,
        ArrayView<float> gradOut, ArrayView<float> gradW)
    {
        int kx = index % g.KW, ky = index / g.KW % g.KH;
        int ci = index / (g.KW * g.KH) % g.InC, co = index / g.FilterSize;
        float s = 0f;
        for (int n = 0; n < g.N; n++)
            for (int oy = 0; oy < g.OutH; oy++)
            {
                int iy = oy * g.Stride - g.Pad + ky;
                if (iy < 0 || iy >= g.InH) continue;
                for (int ox = 0; ox < g.OutW; ox++)
                {
                    int ix = ox * g.Stride - g.Pad + kx;
                    if (ix < 0 || ix >= g.InW) continue;
                    s += gradOut[((n * g.OutC + co) * g.OutH + oy) * g.OutW + ox] * x[((n * g.InC + ci) * g.InH + iy) * g.InW + ix];
                }
            }
        gradW[index] += s;
    }

    /// <summary>db[co] += Σ_{n,oy,ox} g[n,co,oy,ox]. One thread per output channel.</summary>
    [KernelName("conv2d_bwd_bias")]
    public static void BackwardBias(Index1D co, Conv2dGeometry g, ArrayView<float> gradOut, ArrayView<float> gradBias)
    {
        float s = 0f;
        for (int n = 0; n < g.N; n++)
        {
            int start = (n * g.OutC + co) * g.OutPixels;
            for (int p = 0; p < g.OutPixels; p++)
                s += gradOut[start + p];
        }
        gradBias[co] += s;
    }
}

/// <summary>
/// A stride-S convolution run as the stride-1 one (whose fast kernels are tuned): its output is every S-th pixel of the
/// stride-1 output ("full", FullH × FullW per plane), and its input gradient is the stride-1 input gradient of the output
/// gradient spread onto that grid with zeros between. Planes = N·C of the strided output.
/// </summary>
public struct StridedGeometry
{
    public int Planes, OutH, OutW, FullH, FullW, S;
}

public static class Conv2dStrided
{
    /// <summary>y[plane, oy, ox] = full[plane, S·oy, S·ox]: the stride-S output from the stride-1 one (bias and ReLU already in it).</summary>
    [KernelName("conv2d_subsample")]
    public static void Subsample(Index1D t, int stride, StridedGeometry g, ArrayView<float> full, ArrayView<float> y)
    {
        for (long i = t; i < y.Length; i += stride)
        {
            long plane = i / ((long)g.OutH * g.OutW);
            int p = (int)(i - plane * g.OutH * g.OutW), oy = p / g.OutW, ox = p - oy * g.OutW;
            y[i] = full[(plane * g.FullH + g.S * oy) * g.FullW + g.S * ox];
        }
    }

    /// <summary>
    /// full[plane, i, j] = dy[plane, i/S, j/S] (times [y &gt; 0] of the ReLU output when mask ≠ 0) where S divides i and j and
    /// the quotient is an output pixel, else 0: the output gradient on the stride-1 grid. One thread per row of `full`.
    /// </summary>
    [KernelName("conv2d_dilate")]
    public static void Dilate(Index1D t, int stride, StridedGeometry g, ArrayView<float> gradOut, ArrayView<float> reluOutput, int mask,
        ArrayView<float> full)
    {
        long rows = (long)g.Planes * g.FullH;
        for (long row = t; row < rows; row += stride)
        {
            long plane = row / g.FullH;
            int fy = (int)(row - plane * g.FullH), oy = fy / g.S;
            long f = row * g.FullW;
            if (fy != oy * g.S || oy >= g.OutH)
            {
                for (int fx = 0; fx < g.FullW; fx++) full[f + fx] = 0f;
                continue;
            }
            long o = (plane * g.OutH + oy) * g.OutW;
            for (int fx = 0; fx < g.FullW; fx++)
            {
                int ox = fx / g.S;
                float v = 0f;
                if (fx == ox * g.S && ox < g.OutW) v = mask != 0 && !(reluOutput[o + ox] > 0f) ? 0f : gradOut[o + ox];
                full[f + fx] = v;
            }
        }
    }
}

/// <summary>
/// The input gradient of a strided convolution with few input channels (ResNet's 7×7 stride-2 stem reads the 3 colours),
/// gathered with only the taps that exist: an input row iy is read by the outputs oy = (iy + P − ky)/S for the ky with
/// ky ≡ (iy + P) mod S. Threads are laid out by phase (iy mod S, ix mod S), so that neighbouring threads run the same taps
/// and read neighbouring outputs: thread (n, py, px, a, b) computes every input channel of pixel (a·S + py, b·S + px).
/// </summary>
public static class Conv2dStridedInputGradient
{
    /// <summary>Input channels one thread keeps (the colours of an image).</summary>
    public const int MaxChannels = 4;

    [KernelName("conv2d_bwd_input_strided")]
    public static void Gather(Index1D t, int stride, Conv2dGeometry g, ArrayView<float> w, ArrayView<float> gradOut, ArrayView<float> gradIn)
    {
        int s = g.Stride, rowsPerPhase = (g.InH + s - 1) / s, colsPerPhase = (g.InW + s - 1) / s;
        long count = (long)g.N * s * s * rowsPerPhase * colsPerPhase;
        for (long i = t; i < count; i += stride)
        {
            int b = (int)(i % colsPerPhase), a = (int)(i / colsPerPhase % rowsPerPhase);
            int phase = (int)(i / ((long)colsPerPhase * rowsPerPhase) % (s * s)), n = (int)(i / ((long)colsPerPhase * rowsPerPhase * s * s));
            int iy = a * s + phase / s, ix = b * s + phase % s;
            if (iy >= g.InH || ix >= g.InW) continue;
            float d0 = 0f, d1 = 0f, d2 = 0f, d3 = 0f;
            int ky0 = (iy + g.Pad) % s, kx0 = (ix + g.Pad) % s;
            for (int co = 0; co < g.OutC; co++)
                for (int ky = ky0; ky < g.KH; ky += s)
                {
                    int oy = (iy + g.Pad - ky) / s;
                    if (oy < 0 || oy >= g.OutH) continue;
                    for (int kx = kx0; kx < g.KW; kx += s)
                    {
                        int ox = (ix + g.Pad - kx) / s;
                        if (ox < 0 || ox >= g.OutW) continue;
                        float dy = gradOut[((n * g.OutC + co) * g.OutH + oy) * g.OutW + ox];
                        int wi = ((co * g.InC) * g.KH + ky) * g.KW + kx, channel = g.KH * g.KW;
                        d0 += w[wi] * dy;
                        if (g.InC > 1) d1 += w[wi + channel] * dy;
                        if (g.InC > 2) d2 += w[wi + 2 * channel] * dy;
                        if (g.InC > 3) d3 += w[wi + 3 * channel] * dy;
                    }
                }
            int pixel = iy * g.InW + ix, plane = g.InH * g.InW, first = n * g.InC * plane + pixel;
            gradIn[first] += d0;
            if (g.InC > 1) gradIn[first + plane] += d1;
            if (g.InC > 2) gradIn[first + 2 * plane] += d2;
            if (g.InC > 3) gradIn[first + 3 * plane] += d3;
        }
    }
}

// ------------------------------------------------------------------ implicit-GEMM operands

/// <summary>A(co, k) = w[co, k]: the filters as a Co × (Ci·KH·KW) row-major matrix.</summary>
public struct ConvWeightsOperand : IGemmOperandA
{
    public ArrayView<float> W;
    public int FilterSize;
    public readonly float Load(int b, int co, int k) => W[co * FilterSize + k];
}

/// <summary>B(k, p) = x̂[n](k, p): the im2col matrix of image n, read from x on demand.</summary>
public struct Im2ColOperand : IGemmOperandB
{
    public ArrayView<float> X;
    public Conv2dGeometry G;
    public readonly float Load(int n, int k, int p)
    {
        int kx = k % G.KW, ky = k / G.KW % G.KH, ci = k / (G.KW * G.KH);
        int ox = p % G.OutW, oy = p / G.OutW;
        int iy = oy * G.Stride - G.Pad + ky, ix = ox * G.Stride - G.Pad + kx;
        if (iy < 0 || iy >= G.InH || ix < 0 || ix >= G.InW) return 0f;
        return X[((n * G.InC + ci) * G.InH + iy) * G.InW + ix];
    }
}

/// <summary>y[n, co, p] = bias[co] + value, then ReLU if asked: the fused conv epilogue.</summary>
public struct ConvForwardOutput : IGemmOutput
{
    public ArrayView<float> Y, Bias;
    public int OutC, OutPixels;
    public Activation Activation;
    public readonly void Store(int n, int co, int p, float value)
    {
        float v = value + Bias[co];
        Y[(n * OutC + co) * OutPixels + p] = Activation == Activation.Relu ? MathF.Max(v, 0f) : v;
    }
}

/// <summary>A(ci, k') = w[co, ci, ky, kx] with k' = (co, ky, kx): the transposed filters.</summary>
public struct ConvWeightsTransposedOperand : IGemmOperandA
{
    public ArrayView<float> W;
    public Conv2dGeometry G;
    public readonly float Load(int b, int ci, int k)
    {
        int kk = k % (G.KH * G.KW), co = k / (G.KH * G.KW);
        return W[(co * G.InC + ci) * G.KH * G.KW + kk];
    }
}

/// <summary>B(k', q) = g[n, co, oy, ox] for the output (oy, ox) that input q = (iy, ix) met through tap (ky, kx), else 0.</summary>
public struct OutputGradientColumnsOperand : IGemmOperandB
{
    public ArrayView<float> GradOut;
    public Conv2dGeometry G;
    public readonly float Load(int n, int k, int q)
    {
        int kx = k % G.KW, ky = k / G.KW % G.KH, co = k / (G.KW * G.KH);
        int ix = q % G.InW, iy = q / G.InW;
        int ty = iy + G.Pad - ky, tx = ix + G.Pad - kx;
        if (ty < 0 || tx < 0 || ty % G.Stride != 0 || tx % G.Stride != 0) return 0f;
        int oy = ty / G.Stride, ox = tx / G.Stride;
        if (oy >= G.OutH || ox >= G.OutW) return 0f;
        return GradOut[((n * G.OutC + co) * G.OutH + oy) * G.OutW + ox];
    }
}

/// <summary>A(co, r) = g[n, co, p] with r = n·(Ho·Wo) + p: the output gradient, batch folded into k.</summary>
public struct OutputGradientRowsOperand : IGemmOperandA
{
    public ArrayView<float> GradOut;
    public int OutC, OutPixels;
    public readonly float Load(int b, int co, int r)
    {
        int n = r / OutPixels, p = r - n * OutPixels;
        return GradOut[(n * OutC + co) * OutPixels + p];
    }
}

/// <summary>B(r, k) = x̂[n](k, p) with r = n·(Ho·Wo) + p: im2col transposed, batch folded into the reduction.</summary>
public struct Im2ColTransposedOperand : IGemmOperandB
{
    public Im2ColOperand Columns;
    public readonly float Load(int b, int r, int k)
    {
        int pixels = Columns.G.OutPixels;
        int n = r / pixels;
        return Columns.Load(n, k, r - n * pixels);
    }
}
