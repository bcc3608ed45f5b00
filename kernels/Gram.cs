// Gram matrix of a feature map, the statistic the style loss compares.
//
// F is image n's feature map seen as a C × M matrix (M = H·W), s a normalization
// (1 for Gatys et al.; 1/(C·M) keeps values of every layer alike):
//   forward   G[n,i,j]  = s · Σ_m F[n,i,m] · F[n,j,m]                         G = s·F·Fᵀ
//   backward  dL/dF[n,c,m] += s · Σ_j (dL/dG[n,c,j] + dL/dG[n,j,c]) · F[n,j,m]  = s·(dG + dGᵀ)·F
//
// Naive kernels: one element of G (or dF) per thread. The tiled version is Gemm.cs with the
// operands below.
using ILGPU;
using ILGPU.Backends.EntryPoints;

namespace IlgpuStyle.Kernels;

public static class Gram
{
    [KernelName("gram_fwd_naive")]
    public static void ForwardNaive(Index1D index, int c, int m, float scale, ArrayView<float> features, ArrayView<float> gram)
    {
        int j = index % c, i = index / c % c, n = index / (c * c);
        long fi = ((long)n * c + i) * m, fj = ((long)n * c + j) * m;
        float s = 0f;
        for (int k = 0; k < m; k++)
            s += features[fi + k] * features[fj + k];
        gram[index] = scale * s;
    }

    [KernelName("gram_bwd_naive")]
    public static void BackwardNaive(Index1D index, int c, int m, float scale, ArrayView<float> features,
        ArrayView<float> gradGram, ArrayView<float> gradFeatures)
    {
        int k = index % m, ch = index / m % c, n = index / (m * c);
        long g0 = (long)n * c * c, f0 = (long)n * c * m;
        float s = 0f;
        for (int j = 0; j < c; j++)
            s += (gradGram[g0 + ch * c + j] + gradGram[g0 + j * c + ch]) * features[f0 + j * m + k];
        gradFeatures[index] += scale * s;
    }
}

/// <summary>A(i, m) = F[n, i, m]: the feature map as stored.</summary>
public struct FeatureRowsOperand : IGemmOperandA
{
    public ArrayView<float> F;
    public int C, M;
    public readonly float Load(int n, int i, int m) => F[((long)n * C + i) * M + m];
}

/// <summary>B(m, j) = F[n, j, m]: the feature map transposed.</summary>
public struct FeatureColumnsOperand : IGemmOperandB
{
    public ArrayView<float> F;
    public int C, M;
    public readonly float Load(int n, int m, int j) => F[((long)n * C + j) * M + m];
}

/// <summary>B(j, m) = F[n, j, m]: the feature map as the right operand of (dG + dGᵀ)·F.</summary>
public struct FeatureOperand : IGemmOperandB
{
    public ArrayView<float> F;
    public int C, M;
    public readonly float Load(int n, int j, int m) => F[((long)n * C + j) * M + m];
}

/// <summary>A(c, j) = dG[n, c, j] + dG[n, j, c]: the symmetrized Gram gradient.</summary>
public struct SymmetricGramGradientOperand : IGemmOperandA
{
    public ArrayView<float> GradGram;
    public int C;
    public readonly float Load(int n, int i, int j)
    {
        long g0 = (long)n * C * C;
        return GradGram[g0 + i * C + j] + GradGram[g0 + j * C + i];
    }
}
