using IlgpuStyle.Kernels;

namespace IlgpuStyle.Tests.Kernels;

/// <summary>
/// The float64 reference backward of every op against central differences. Each op's output is
/// contracted with a random R (L = Σ y ⊙ R), so dL/dy = R and the reference backward must give dL/dx.
/// </summary>
public class ReferenceGradientTests
{
    static void CheckGradient(string op, Func<double[], double> loss, double[] x, double[] analytic, Rand r, double h = 1e-5)
    {
        var indices = r.Indices(x.Length, Math.Min(x.Length, 40));
        var numeric = Reference.NumericalGradient(loss, x, indices, h);
        Compare.RelativeL2($"{op} central differences", numeric, indices.Select(i => analytic[i]).ToArray(), Tolerance.CentralDifference, r.ToString());
    }

    static double Contract(double[] y, double[] r) => y.Select((v, i) => v * r[i]).Sum();

    [Fact]
    public void Conv2d()
    {
        var r = new Rand();
        foreach (var g in Conv2dTests.Geometries.Take(6))
        {
            double[] x = r.Doubles(g.N * g.InC * g.InPixels), w = r.Doubles(g.OutC * g.FilterSize), b = r.Doubles(g.OutC);
            double[] R = r.Doubles(g.N * g.OutC * g.OutPixels);
            CheckGradient("Conv2d dx", v => Contract(Reference.Conv2dForward(g, v, w, b, false), R), x, Reference.Conv2dBackwardInput(g, w, R), r);
            CheckGradient("Conv2d dw", v => Contract(Reference.Conv2dForward(g, x, v, b, false), R), w, Reference.Conv2dBackwardWeights(g, x, R), r);
            CheckGradient("Conv2d db", v => Contract(Reference.Conv2dForward(g, x, w, v, false), R), b, Reference.Conv2dBackwardBias(g, R), r);
        }
    }

    [Fact]
    public void ReluAndPooling()
    {
        var r = new Rand();
        var g = new Pool2dGeometry(2, 3, 7, 5);
        int n = 2 * 3 * 7 * 5, on = 2 * 3 * 3 * 2;
        // Keep values away from 0 and from ties, where these functions have kinks.
        double[] x = r.Doubles(n).Select((v, i) => (v > 0 ? 0.1 : -0.1) + v + i * 1e-3).ToArray();
        double[] R = r.Doubles(n), Ro = r.Doubles(on);
        CheckGradient("Relu", v => Contract(Reference.ReluForward(v), R), x, Reference.ReluBackward(Reference.ReluForward(x), R), r);
        CheckGradient("MaxPool2d", v => Contract(Reference.MaxPool2dForward(g, v), Ro), x, Reference.MaxPool2dBackward(g, x, Ro), r);
        CheckGradient("AvgPool2d", v => Contract(Reference.AvgPool2dForward(g, v), Ro), x, Reference.AvgPool2dBackward(g, Ro), r);
        // ResNet's stem pool: 3×3 windows, stride 2, padding 1, so windows overlap and an input can be the maximum of several.
        var wg = new PoolWindowGeometry(2, 3, 7, 5, 3, 2, 1);
        double[] Rw = r.Doubles(2 * 3 * wg.OutH * wg.OutW);
        CheckGradient("MaxPoolWindow", v => Contract(Reference.MaxPoolWindowForward(wg, v), Rw), x, Reference.MaxPoolWindowBackward(wg, x, Rw), r);
    }

    [Fact]
    public void ResidualAddRelu()
    {
        var r = new Rand();
        int n = 2 * 3 * 7 * 5;
        // a + b kept away from 0, the ReLU's kink.
        double[] a = r.Doubles(n), b = r.Doubles(n).Select((v, i) => v + (a[i] + v > 0 ? 0.1 : -0.1)).ToArray(), R = r.Doubles(n);
        var y = Reference.AddReluForward(a, b);
        var g = Reference.AddReluBackward(y, R);
        CheckGradient("AddRelu da", v => Contract(Reference.AddReluForward(v, b), R), a, g, r);
        CheckGradient("AddRelu db", v => Contract(Reference.AddReluForward(a, v), R), b, g, r);
    }

    [Fact]
    public void GuidanceMask()
    {
        var r = new Rand();
        int n = 2, c = 3, m = 7 * 5;
        double[] x = r.Doubles(n * c * m), t = r.Doubles(n * m).Select(Math.Abs).ToArray(), R = r.Doubles(n * c * m);
        CheckGradient("Mask", v => Contract(Reference.MaskForward(n, c, m, v, t), R), x, Reference.MaskBackward(n, c, m, R, t), r);
        // A guided Gram matrix is Gram(x ⊙ t): its gradient goes through both backwards.
        double scale = 1.0 / (c * t.Take(m).Sum(v => v * v));
        double[] Rg = r.Doubles(n * c * c);
        CheckGradient("Guided Gram", v => Contract(Reference.GramForward(n, c, m, scale, Reference.MaskForward(n, c, m, v, t)), Rg), x,
            Reference.MaskBackward(n, c, m, Reference.GramBackward(n, c, m, scale, Reference.MaskForward(n, c, m, x, t), Rg), t), r);
    }

    [Fact]
    public void GramAndLosses()
    {
        var r = new Rand();
        int n = 2, c = 4, h = 5, w = 3, m = h * w;
        double[] f = r.Doubles(n * c * m), p = r.Doubles(n * c * m), R = r.Doubles(n * c * c), A = r.Doubles(n * c * c);
        double scale = 1.0 / (c * m);
        CheckGradient("Gram", v => Contract(Reference.GramForward(n, c, m, scale, v), R), f, Reference.GramBackward(n, c, m, scale, f, R), r);
        CheckGradient("ContentLoss", v => Reference.ContentLoss(v, p, 0.7), f, Reference.ContentLossBackward(f, p, 0.7), r);
        var gram = Reference.GramForward(n, c, m, scale, f);
        CheckGradient("StyleLoss", v => Reference.StyleLoss(v, A, 0.7, 0.01), gram, Reference.StyleLossBackward(gram, A, 0.7, 0.01), r);
        CheckGradient("TotalVariation", v => Reference.TotalVariation(v, h, w, 0.7), f, Reference.TotalVariationBackward(f, h, w, 0.7), r);
    }
}
