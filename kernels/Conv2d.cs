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
/// ky ≡ (iy + P) mod S, and likewise for columns. A thread takes four pixels of one row and one column phase,
/// ix = (4q + j)·S + px for j &lt; 4, which read four neighbouring outputs with the same taps: each filter value it loads
/// serves four pixels (12 sums in registers: 4 pixels × up to 4 channels).
/// </summary>
public static class Conv2dStridedInputGradient
{
    /// <summary>Input channels one thread keeps (the colours of an image).</summary>
    public const int MaxChannels = 4;

    /// <summary>Pixels of one row and phase per thread.</summary>
    public const int Pixels = 4;

    /// <summary>Threads of one input row and column phase: ⌈⌈(W − px)/S⌉ / 4⌉ (the largest, px = 0).</summary>
    public static int Blocks(Conv2dGeometry g) => ((g.InW + g.Stride - 1) / g.Stride + Pixels - 1) / Pixels;

    [KernelName("conv2d_bwd_input_strided")]
    public static void Gather(Index1D t, int stride, Conv2dGeometry g, ArrayView<float> w, ArrayView<float> gradOut, ArrayView<float> gradIn)
    {
        int s = g.Stride, blocks = Blocks(g), taps = g.KH * g.KW, count = g.N * g.InH * s * blocks;
        for (int i = t; i < count; i += stride)
        {
            int q = i % blocks, px = i / blocks % s, iy = i / (blocks * s) % g.InH, n = i / (blocks * s * g.InH);
            int ky0 = (iy + g.Pad) % s, kx0 = (px + g.Pad) % s;
            var a0 = new Accumulator4(); var a1 = new Accumulator4(); var a2 = new Accumulator4(); var a3 = new Accumulator4();
            for (int co = 0; co < g.OutC; co++)
            {
                int filter = co * g.InC * taps;
                for (int ky = ky0; ky < g.KH; ky += s)
                {
                    int oy = (iy + g.Pad - ky) / s;
                    if (oy < 0 || oy >= g.OutH) continue;
                    int row = ((n * g.OutC + co) * g.OutH + oy) * g.OutW;
                    for (int kx = kx0; kx < g.KW; kx += s)
                    {
                        // Pixel j of the block reads output ox0 + j.
                        int ox0 = 4 * q + (px + g.Pad - kx) / s;
                        float y0 = Read(gradOut, row, ox0, g.OutW), y1 = Read(gradOut, row, ox0 + 1, g.OutW);
                        float y2 = Read(gradOut, row, ox0 + 2, g.OutW), y3 = Read(gradOut, row, ox0 + 3, g.OutW);
                        int wi = filter + ky * g.KW + kx;
                        a0.Add(w[wi], y0, y1, y2, y3);
                        if (g.InC > 1) a1.Add(w[wi + taps], y0, y1, y2, y3);
                        if (g.InC > 2) a2.Add(w[wi + 2 * taps], y0, y1, y2, y3);
                        if (g.InC > 3) a3.Add(w[wi + 3 * taps], y0, y1, y2, y3);
                    }
                }
            }
            int plane = g.InH * g.InW;
            for (int j = 0; j < Pixels; j++)
            {
                int ix = (Pixels * q + j) * s + px;
                if (ix >= g.InW) break;
                int first = n * g.InC * plane + iy * g.InW + ix;
                gradIn[first] += a0.Get(j);
                if (g.InC > 1) gradIn[first + plane] += a1.Get(j);
                if (g.InC > 2) gradIn[first + 2 * plane] += a2.Get(j);
                if (g.InC > 3) gradIn[first + 3 * plane] += a3.Get(j);
            }
        }
    }

    /// <summary>gradOut[row + ox], or 0 outside the output (a tap past the image's border).</summary>
    static float Read(ArrayView<float> gradOut, int row, int ox, int width) => ox >= 0 && ox < width ? gradOut[row + ox] : 0f;

    /// <summary>Four sums, one per pixel of a block.</summary>
    struct Accumulator4
    {
        float s0, s1, s2, s3;
        public void Add(float w, float y0, float y1, float y2, float y3) { s0 += w * y0; s1 += w * y1; s2 += w * y2; s3 += w * y3; }
        public readonly float Get(int j) => j == 0 ? s0 : j == 1 ? s1 : j == 2 ? s2 : s3;
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
