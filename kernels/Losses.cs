// The three losses of style transfer: the summands of their values (reduced by Reduce.cs's two passes) and their gradients.
//
//   content   L = w · ½ Σ_i (F_i − P_i)²                    dL/dF_i += w · (F_i − P_i)
//   style     L = w · d · Σ_{ij} (G_ij − A_ij)²             dL/dG_ij += 2 w d · (G_ij − A_ij)
//             (d = 1/(4N²M²) in Gatys et al.; the Gram backward then carries dL/dG to F)
//   TV        L = w · Σ_{n,c,y,x} (x[y,x+1] − x[y,x])² + (x[y+1,x] − x[y,x])²
//             dL/dx[y,x] += 2w · ( [x>0](v − x[y,x−1]) − [x<W−1](x[y,x+1] − v)
//                                + [y>0](v − x[y−1,x]) − [y<H−1](x[y+1,x] − v) ),  v = x[y,x]
using ILGPU;
using ILGPU.Backends.EntryPoints;

namespace IlgpuStyle.Kernels;

/// <summary>(x − y)², the summand of the content and style losses.</summary>
public struct SquaredDifferenceTerm : IReductionTerm
{
    public ArrayView<float> X, Y;
    public readonly int Count => (int)X.Length;
    public readonly float Term(int i)
    {
        float d = X[i] - Y[i];
        return d * d;
    }
}

/// <summary>
/// Total variation of an (N,C,H,W) image: for each element, the squared difference to its right
/// neighbour (if any) plus the squared difference to the one below (if any).
/// </summary>
public struct TotalVariationTerm : IReductionTerm
{
    public ArrayView<float> X;
    public int H, W;
    public readonly int Count => (int)X.Length;
    public readonly float Term(int i)
    {
        int x = i % W;
        int y = (i / W) % H;
        float v = X[i], s = 0f;
        if (x + 1 < W) { float d = X[i + 1] - v; s += d * d; }
        if (y + 1 < H) { float d = X[i + W] - v; s += d * d; }
        return s;
    }
}

public static class Losses
{
    /// <summary>grad[i] += scale · (x[i] − target[i]): the content gradient (scale = w) and the style's dL/dG (scale = 2wd).</summary>
    [KernelName("squared_difference_bwd")]
    public static void SquaredDifferenceBackward(Index1D t, int stride, ArrayView<float> x, ArrayView<float> target,
        float scale, ArrayView<float> grad)
    {
        for (int i = t; i < grad.Length; i += stride)
            grad[i] += scale * (x[i] - target[i]);
    }

    /// <summary>dL/dx of the total variation, one element per loop step.</summary>
    [KernelName("total_variation_bwd")]
    public static void TotalVariationBackward(Index1D t, int stride, int h, int w, ArrayView<float> x, float weight,
        ArrayView<float> grad)
    {
        for (int i = t; i < grad.Length; i += stride)
        {
            int px = i % w, py = i / w % h;
            float v = x[i], s = 0f;
            if (px > 0) s += v - x[i - 1];
            if (px + 1 < w) s -= x[i + 1] - v;
            if (py > 0) s += v - x[i - w];
            if (py + 1 < h) s -= x[i + w] - v;
            grad[i] += 2f * weight * s;
        }
    }
}
