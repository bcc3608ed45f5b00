// The float64 CPU reference for every operation: plain loops over the formulas in each kernel
// file's header, with the same names. It is the oracle of every test and the text to read first.
// Backward functions return only this op's contribution; callers add it where gradients accumulate.
namespace IlgpuStyle.Kernels;

public static class Reference
{
    // ------------------------------------------------------------------ Conv2d (kernels/Conv2d.cs, Conv2dDirect.cs)

    /// <summary>
    /// Every (output element, filter tap, input element) triple of a convolution: for each output
    /// y[n,co,oy,ox] and tap w[co,ci,ky,kx] whose input x[n,ci,oy·S−P+ky, ox·S−P+kx] lies inside the
    /// image, calls visit(yIndex, wIndex, xIndex). Forward, input gradient and weight gradient walk
    /// the same triples and differ only in what they add up:
    ///   forward       y[yi]  += w[wi] · x[xi]
    ///   input grad    dx[xi] += w[wi] · dy[yi]
    ///   weight grad   dw[wi] += dy[yi] · x[xi]
    /// </summary>
    public static void ForEachTap(Conv2dGeometry g, Action<int, int, int> visit)
    {
        for (int n = 0; n < g.N; n++)
        for (int co = 0; co < g.OutC; co++)
        for (int oy = 0; oy < g.OutH; oy++)
        for (int ox = 0; ox < g.OutW; ox++)
        for (int ci = 0; ci < g.InC; ci++)
        for (int ky = 0; ky < g.KH; ky++)
        for (int kx = 0; kx < g.KW; kx++)
        {
            int iy = oy * g.Stride - g.Pad + ky, ix = ox * g.Stride - g.Pad + kx;
            if (iy < 0 || iy >= g.InH || ix < 0 || ix >= g.InW) continue;
            visit(((n * g.OutC + co) * g.OutH + oy) * g.OutW + ox,
                  ((co * g.InC + ci) * g.KH + ky) * g.KW + kx,
                  ((n * g.InC + ci) * g.InH + iy) * g.InW + ix);
        }
    }

    public static double[] Conv2dForward(Conv2dGeometry g, double[] x, double[] w, double[] bias, bool relu)
    {
        var y = new double[g.N * g.OutC * g.OutPixels];
        ForEachTap(g, (yi, wi, xi) => y[yi] += w[wi] * x[xi]);
        for (int i = 0; i < y.Length; i++)
        {
            double v = y[i] + bias[i / g.OutPixels % g.OutC];
            y[i] = relu ? Math.Max(v, 0) : v;
        }
        return y;
    }

    /// <summary>dL/dx from dL/dy (of the convolution before any ReLU): the forward's triples, scattered back.</summary>
    public static double[] Conv2dBackwardInput(Conv2dGeometry g, double[] w, double[] gradOut)
    {
        var gradIn = new double[g.N * g.InC * g.InPixels];
        ForEachTap(g, (yi, wi, xi) => gradIn[xi] += w[wi] * gradOut[yi]);
        return gradIn;
    }

    public static double[] Conv2dBackwardWeights(Conv2dGeometry g, double[] x, double[] gradOut)
    {
        var gradW = new double[g.OutC * g.FilterSize];
        ForEachTap(g, (yi, wi, xi) => gradW[wi] += gradOut[yi] * x[xi]);
        return gradW;
    }

    public static double[] Conv2dBackwardBias(Conv2dGeometry g, double[] gradOut)
    {
        var gradB = new double[g.OutC];
        for (int n = 0; n < g.N; n++)
        for (int co = 0; co < g.OutC; co++)
        for (int p = 0; p < g.OutPixels; p++)
            gradB[co] += gradOut[(n * g.OutC + co) * g.OutPixels + p];
        return gradB;
    }

    // ------------------------------------------------------------------ Relu (kernels/Relu.cs)

    public static double[] ReluForward(double[] x) => x.Select(v => Math.Max(v, 0)).ToArray();

    public static double[] ReluBackward(double[] y, double[] gradOut) =>
        y.Select((v, i) => v > 0 ? gradOut[i] : 0).ToArray();

    // ------------------------------------------------------------------ Pool2d (kernels/Pool2d.cs)

    public static double[] MaxPool2dForward(Pool2dGeometry g, double[] x) => Pool(g, x, max: true);
    public static double[] AvgPool2dForward(Pool2dGeometry g, double[] x) => Pool(g, x, max: false);

    static double[] Pool(Pool2dGeometry g, double[] x, bool max)
    {
        var y = new double[g.N * g.C * g.OutH * g.OutW];
        for (int plane = 0; plane < g.N * g.C; plane++)
        for (int oy = 0; oy < g.OutH; oy++)
        for (int ox = 0; ox < g.OutW; ox++)
        {
            int i = (plane * g.InH + 2 * oy) * g.InW + 2 * ox;
            double a = x[i], b = x[i + 1], c = x[i + g.InW], d = x[i + g.InW + 1];
            y[(plane * g.OutH + oy) * g.OutW + ox] = max ? Math.Max(Math.Max(a, b), Math.Max(c, d)) : (a + b + c + d) / 4;
        }
        return y;
    }

    public static double[] MaxPool2dBackward(Pool2dGeometry g, double[] x, double[] gradOut)
    {
        var gradIn = new double[x.Length];
        for (int plane = 0; plane < g.N * g.C; plane++)
        for (int oy = 0; oy < g.OutH; oy++)
        for (int ox = 0; ox < g.OutW; ox++)
        {
            int w0 = (plane * g.InH + 2 * oy) * g.InW + 2 * ox;
            int best = w0;
            foreach (int i in new[] { w0 + 1, w0 + g.InW, w0 + g.InW + 1 })
                if (x[i] > x[best]) best = i;
            gradIn[best] += gradOut[(plane * g.OutH + oy) * g.OutW + ox];
        }
        return gradIn;
    }

    public static double[] AvgPool2dBackward(Pool2dGeometry g, double[] gradOut)
    {
        var gradIn = new double[g.N * g.C * g.InH * g.InW];
        for (int plane = 0; plane < g.N * g.C; plane++)
        for (int oy = 0; oy < g.OutH; oy++)
        for (int ox = 0; ox < g.OutW; ox++)
        {
            double v = gradOut[(plane * g.OutH + oy) * g.OutW + ox] / 4;
            int w0 = (plane * g.InH + 2 * oy) * g.InW + 2 * ox;
            gradIn[w0] += v; gradIn[w0 + 1] += v; gradIn[w0 + g.InW] += v; gradIn[w0 + g.InW + 1] += v;
        }
        return gradIn;
    }

    /// <summary>Windowed max pooling: K×K windows with stride S and padding P (padding never the maximum); ties go to the first in scan order.</summary>
    public static double[] MaxPoolWindowForward(PoolWindowGeometry g, double[] x)
    {
        var y = new double[g.N * g.C * g.OutH * g.OutW];
        for (int plane = 0; plane < g.N * g.C; plane++)
        for (int oy = 0; oy < g.OutH; oy++)
        for (int ox = 0; ox < g.OutW; ox++)
            y[(plane * g.OutH + oy) * g.OutW + ox] = x[WindowArgmax(g, x, plane, oy, ox)];
        return y;
    }

    /// <summary>Each output's gradient goes to its window's first maximum; windows overlap, so an input can receive several.</summary>
    public static double[] MaxPoolWindowBackward(PoolWindowGeometry g, double[] x, double[] gradOut)
    {
        var gradIn = new double[x.Length];
        for (int plane = 0; plane < g.N * g.C; plane++)
        for (int oy = 0; oy < g.OutH; oy++)
        for (int ox = 0; ox < g.OutW; ox++)
            gradIn[WindowArgmax(g, x, plane, oy, ox)] += gradOut[(plane * g.OutH + oy) * g.OutW + ox];
        return gradIn;
    }

    static int WindowArgmax(PoolWindowGeometry g, double[] x, int plane, int oy, int ox)
    {
        int best = -1;
        for (int ky = 0; ky < g.K; ky++)
        for (int kx = 0; kx < g.K; kx++)
        {
            int iy = oy * g.S - g.P + ky, ix = ox * g.S - g.P + kx;
            if (iy < 0 || iy >= g.InH || ix < 0 || ix >= g.InW) continue;
            int i = (plane * g.InH + iy) * g.InW + ix;
            if (best < 0 || x[i] > x[best]) best = i;
        }
        return best;
    }

    // ------------------------------------------------------------------ Residual (kernels/Residual.cs)

    public static double[] AddReluForward(double[] a, double[] b) => a.Select((v, i) => Math.Max(0, v + b[i])).ToArray();

    /// <summary>The gradient both inputs receive: dy·[y &gt; 0] (the same array for a and b).</summary>
    public static double[] AddReluBackward(double[] y, double[] gradOut) => ReluBackward(y, gradOut);

    // ------------------------------------------------------------------ Guidance (kernels/Guidance.cs)

    /// <summary>y[n,c,p] = x[n,c,p] · t[n,p] (x: n·c·m values, t: n·m).</summary>
    public static double[] MaskForward(int n, int c, int m, double[] x, double[] t)
    {
        var y = new double[x.Length];
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
                for (int p = 0; p < m; p++)
                    y[(b * c + ch) * m + p] = x[(b * c + ch) * m + p] * t[b * m + p];
        return y;
    }

    /// <summary>dx = dy ⊙ t: the mask is linear in x, so its backward is the same product.</summary>
    public static double[] MaskBackward(int n, int c, int m, double[] gradOut, double[] t) => MaskForward(n, c, m, gradOut, t);

    /// <summary>dx = scale · dy / (Σ|dy| + ε).</summary>
    public static double[] NormalizeGradient(double[] gradOut, double scale, double epsilon)
    {
        double k = scale / (NormL1(gradOut) + epsilon);
        return gradOut.Select(v => k * v).ToArray();
    }

    // ------------------------------------------------------------------ Gram (kernels/Gram.cs)

    public static double[] GramForward(int n, int c, int m, double scale, double[] f)
    {
        var g = new double[n * c * c];
        for (int b = 0; b < n; b++)
        for (int i = 0; i < c; i++)
        for (int j = 0; j < c; j++)
        {
            double s = 0;
            for (int k = 0; k < m; k++)
                s += f[(b * c + i) * m + k] * f[(b * c + j) * m + k];
            g[(b * c + i) * c + j] = scale * s;
        }
        return g;
    }

    public static double[] GramBackward(int n, int c, int m, double scale, double[] f, double[] gradGram)
    {
        var gradF = new double[n * c * m];
        for (int b = 0; b < n; b++)
        for (int i = 0; i < c; i++)
        for (int j = 0; j < c; j++)
        {
            double gij = gradGram[(b * c + i) * c + j];
            // G_ij = s Σ_k F_ik F_jk  ⇒  ∂G_ij/∂F_ik = s F_jk and ∂G_ij/∂F_jk = s F_ik
            for (int k = 0; k < m; k++)
            {
                gradF[(b * c + i) * m + k] += scale * gij * f[(b * c + j) * m + k];
                gradF[(b * c + j) * m + k] += scale * gij * f[(b * c + i) * m + k];
            }
        }
        return gradF;
    }

    // ------------------------------------------------------------------ Losses (kernels/Losses.cs)

    /// <summary>w · ½ Σ (x − p)².</summary>
    public static double ContentLoss(double[] x, double[] p, double weight) =>
        weight * 0.5 * x.Select((v, i) => (v - p[i]) * (v - p[i])).Sum();

    public static double[] ContentLossBackward(double[] x, double[] p, double weight) =>
        x.Select((v, i) => weight * (v - p[i])).ToArray();

    /// <summary>w · d · Σ (G − A)².</summary>
    public static double StyleLoss(double[] gram, double[] target, double weight, double d) =>
        weight * d * gram.Select((v, i) => (v - target[i]) * (v - target[i])).Sum();

    public static double[] StyleLossBackward(double[] gram, double[] target, double weight, double d) =>
        gram.Select((v, i) => 2 * weight * d * (v - target[i])).ToArray();

    public static double TotalVariation(double[] x, int h, int w, double weight)
    {
        double s = 0;
        for (int i = 0; i < x.Length; i++)
        {
            int px = i % w, py = i / w % h;
            if (px + 1 < w) s += (x[i + 1] - x[i]) * (x[i + 1] - x[i]);
            if (py + 1 < h) s += (x[i + w] - x[i]) * (x[i + w] - x[i]);
        }
        return weight * s;
    }

    public static double[] TotalVariationBackward(double[] x, int h, int w, double weight)
    {
        var g = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            int px = i % w, py = i / w % h;
            if (px + 1 < w) { double d = x[i + 1] - x[i]; g[i + 1] += 2 * weight * d; g[i] -= 2 * weight * d; }
            if (py + 1 < h) { double d = x[i + w] - x[i]; g[i + w] += 2 * weight * d; g[i] -= 2 * weight * d; }
        }
        return g;
    }

    // ------------------------------------------------------------------ Reduce (kernels/Reduce.cs)

    public static double Dot(double[] x, double[] y) => x.Select((v, i) => v * y[i]).Sum();
    public static double NormL1(double[] x) => x.Sum(Math.Abs);
    public static double NormInf(double[] x) => x.Max(Math.Abs);

    // ------------------------------------------------------------------ Adam (kernels/Adam.cs)

    /// <summary>One Adam step in place on x, m, v (step counts from 1).</summary>
    public static void AdamStep(double[] x, double[] g, double[] m, double[] v, double lr, double beta1, double beta2, double eps, int step)
    {
        double c1 = 1 - Math.Pow(beta1, step), c2 = 1 - Math.Pow(beta2, step);
        for (int i = 0; i < x.Length; i++)
        {
            m[i] = beta1 * m[i] + (1 - beta1) * g[i];
            v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
            x[i] -= lr * (m[i] / c1) / (Math.Sqrt(v[i] / c2) + eps);
        }
    }

    // ------------------------------------------------------------------ gradient checking

    /// <summary>Central differences: dF/dx_i ≈ (F(x + h·e_i) − F(x − h·e_i)) / 2h, for the given indices.</summary>
    public static double[] NumericalGradient(Func<double[], double> f, double[] x, IReadOnlyList<int> indices, double h = 1e-5)
    {
        var grad = new double[indices.Count];
        var probe = (double[])x.Clone();
        for (int k = 0; k < indices.Count; k++)
        {
            int i = indices[k];
            probe[i] = x[i] + h; double plus = f(probe);
            probe[i] = x[i] - h; double minus = f(probe);
            probe[i] = x[i];
            grad[k] = (plus - minus) / (2 * h);
        }
        return grad;
    }
}
