// One Adam step (Kingma & Ba), elementwise over the pixels being optimized:
//
//   m ← β1·m + (1 − β1)·g          v ← β2·v + (1 − β2)·g²
//   x ← x − lr · (m / (1 − β1ᵗ)) / (√(v / (1 − β2ᵗ)) + ε)
//
// The bias corrections c1 = 1 − β1ᵗ and c2 = 1 − β2ᵗ are computed on the host per step.
using ILGPU;
using ILGPU.Backends.EntryPoints;

namespace IlgpuStyle.Kernels;

public static class Adam
{
    [KernelName("adam_step")]
    public static void Step(Index1D t, int stride, ArrayView<float> x, ArrayView<float> g, ArrayView<float> m, ArrayView<float> v,
        float lr, float beta1, float beta2, float eps, float c1, float c2)
    {
        for (int i = t; i < x.Length; i += stride)
        {
            float gi = g[i];
            float mi = beta1 * m[i] + (1f - beta1) * gi;
            float vi = beta2 * v[i] + (1f - beta2) * gi * gi;
            m[i] = mi;
            v[i] = vi;
            x[i] -= lr * (mi / c1) / (MathF.Sqrt(vi / c2) + eps);
        }
    }
}
