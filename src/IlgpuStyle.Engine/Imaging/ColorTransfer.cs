using MathNet.Numerics.LinearAlgebra;

namespace IlgpuStyle.Imaging;

/// <summary>Which linear map carries the style's colour covariance to the content's (all give A·Σs·Aᵀ = Σc).</summary>
public enum HistogramMode
{
    /// <summary>A = Lc·Ls⁻¹ with Cholesky factors Σ = L·Lᵀ.</summary>
    Cholesky,
    /// <summary>A = Σc^½·Σs^−½ with symmetric (eigen-decomposition) square roots.</summary>
    Pca,
    /// <summary>A = Σs^−½·(Σs^½·Σc·Σs^½)^½·Σs^−½, the symmetric map (Monge–Kantorovich): the smallest change of colours.</summary>
    Symmetric,
}

/// <summary>
/// Colour control of Gatys et al. 2017 ("Controlling Perceptual Factors in Neural Style Transfer",
/// section 5), applied to the images before the transfer. Pixels stay floats in RGB 0–255 units and
/// are not clipped, so the statistics below hold exactly (the network takes any float).
/// </summary>
public static class ColorTransfer
{
    /// <summary>Y = 0.299R + 0.587G + 0.114B in all three channels.</summary>
    public static RgbImage Luminance(RgbImage image)
    {
        var result = new RgbImage(image.Width, image.Height);
        for (int p = 0; p < image.Data.Length; p += 3)
        {
            float y = Y(image.Data, p);
            result.Data[p] = result.Data[p + 1] = result.Data[p + 2] = y;
        }
        return result;
    }

    /// <summary>The style's luminance, shifted and scaled to the content luminance's mean and standard deviation (three equal channels).</summary>
    public static RgbImage MatchedLuminance(RgbImage style, RgbImage content)
    {
        var (ms, ss) = LuminanceMoments(style);
        var (mc, sc) = LuminanceMoments(content);
        double gain = ss > 1e-6 ? sc / ss : 1.0;
        var result = new RgbImage(style.Width, style.Height);
        for (int p = 0; p < style.Data.Length; p += 3)
        {
            float y = (float)((Y(style.Data, p) - ms) * gain + mc);
            result.Data[p] = result.Data[p + 1] = result.Data[p + 2] = y;
        }
        return result;
    }

    public static (double Mean, double StdDev) LuminanceMoments(RgbImage image)
    {
        int n = image.Width * image.Height;
        double sum = 0, sq = 0;
        for (int p = 0; p < image.Data.Length; p += 3) { double y = Y(image.Data, p); sum += y; sq += y * y; }
        double mean = sum / n;
        return (mean, Math.Sqrt(Math.Max(0, sq / n - mean * mean)));
    }

    static float Y(float[] d, int p) => 0.299f * d[p] + 0.587f * d[p + 1] + 0.114f * d[p + 2];

    /// <summary>Per-channel mean (R, G, B) and the 3×3 covariance of an image's pixels.</summary>
    public static (double[] Mean, double[,] Covariance) Moments(RgbImage image)
    {
        int n = image.Width * image.Height;
        var mean = new double[3];
        for (int p = 0; p < image.Data.Length; p += 3)
            for (int c = 0; c < 3; c++) mean[c] += image.Data[p + c];
        for (int c = 0; c < 3; c++) mean[c] /= n;
        var cov = new double[3, 3];
        for (int p = 0; p < image.Data.Length; p += 3)
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++)
                    cov[i, j] += (image.Data[p + i] - mean[i]) * (image.Data[p + j] - mean[j]);
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++) cov[i, j] /= n;
        return (mean, cov);
    }

    /// <summary>
    /// x' = A·(x − μs) + μc for every style pixel x, with A·Σs·Aᵀ = Σc: the style image takes the
    /// content's colour mean and covariance, its structure unchanged. Σs gets 1e-3·I (pixel units²)
    /// so that a grey or flat style can be inverted.
    /// </summary>
    public static RgbImage MatchHistogram(RgbImage style, RgbImage content, HistogramMode mode)
    {
        var (ms, cs) = Moments(style);
        var (mc, cc) = Moments(content);
        var M = Matrix<double>.Build;
        var sigmaS = M.DenseOfArray(cs) + M.DenseIdentity(3) * 1e-3;
        var sigmaC = M.DenseOfArray(cc);
        var a = Transform(sigmaS, sigmaC, mode);
        var result = new RgbImage(style.Width, style.Height);
        for (int p = 0; p < style.Data.Length; p += 3)
        {
            double r = style.Data[p] - ms[0], g = style.Data[p + 1] - ms[1], b = style.Data[p + 2] - ms[2];
            for (int i = 0; i < 3; i++)
                result.Data[p + i] = (float)(a[i, 0] * r + a[i, 1] * g + a[i, 2] * b + mc[i]);
        }
        return result;
    }

    /// <summary>The 3×3 map A with A·Σs·Aᵀ = Σc.</summary>
    public static Matrix<double> Transform(Matrix<double> sigmaS, Matrix<double> sigmaC, HistogramMode mode)
    {
        switch (mode)
        {
            case HistogramMode.Cholesky:
                return CholeskyFactor(sigmaC) * CholeskyFactor(sigmaS).Inverse();
            case HistogramMode.Pca:
                return SymmetricPower(sigmaC, 0.5) * SymmetricPower(sigmaS, -0.5);
            default:
                var rootS = SymmetricPower(sigmaS, 0.5);
                var inverseRootS = SymmetricPower(sigmaS, -0.5);
                return inverseRootS * SymmetricPower(rootS * sigmaC * rootS, 0.5) * inverseRootS;
        }
    }

    /// <summary>Lower-triangular L with Σ = L·Lᵀ; a singular Σ (a flat content image) gets a tiny ridge first.</summary>
    static Matrix<double> CholeskyFactor(Matrix<double> sigma)
    {
        try { return sigma.Cholesky().Factor; }
        catch (ArgumentException) { return (sigma + Matrix<double>.Build.DenseIdentity(3) * 1e-6).Cholesky().Factor; }
    }

    /// <summary>Σ^p for a symmetric positive semi-definite Σ (eigenvalues below 0 are taken as 0; negative powers of 0 as 0).</summary>
    static Matrix<double> SymmetricPower(Matrix<double> sigma, double power)
    {
        var evd = ((sigma + sigma.Transpose()) * 0.5).Evd(Symmetricity.Symmetric);
        var d = Matrix<double>.Build.Dense(3, 3);
        for (int i = 0; i < 3; i++)
        {
            double lambda = Math.Max(evd.EigenValues[i].Real, 0);
            d[i, i] = lambda > 1e-12 ? Math.Pow(lambda, power) : 0;
        }
        return evd.EigenVectors * d * evd.EigenVectors.Transpose();
    }
}
