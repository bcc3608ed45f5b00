// The residual connection of a ResNet block, fused with the ReLU that follows it:
//
//   forward   y[i] = max(0, a[i] + b[i])          a: the block's last convolution, b: the shortcut
//   backward  g[i] = dL/dy[i] · [y[i] > 0]
//             dL/da[i] += g[i]
//             dL/db[i] += g[i]
//
// A sum sends its whole gradient to both of its inputs. The shortcut b is often the block's own
// input x, which the block's first convolution also reads: x's gradient then receives two
// contributions, one through the convolutions and one straight through the shortcut, and the
// backward passes add (+=) them into the same buffer. That fan-out is why ResNets train deep: the
// shortcut carries the gradient past the block unattenuated.
using ILGPU;
using ILGPU.Backends.EntryPoints;

namespace IlgpuStyle.Kernels;

public static class Residual
{
    [KernelName("add_relu_fwd")]
    public static void AddReluForward(Index1D t, int stride, ArrayView<float> a, ArrayView<float> b, ArrayView<float> y)
    {
        for (int i = t; i < y.Length; i += stride)
            y[i] = MathF.Max(a[i] + b[i], 0f);
    }

    [KernelName("add_relu_bwd")]
    public static void AddReluBackward(Index1D t, int stride, ArrayView<float> y, ArrayView<float> gradOut, ArrayView<float> gradA,
        ArrayView<float> gradB)
    {
        for (int i = t; i < y.Length; i += stride)
        {
            float g = y[i] > 0f ? gradOut[i] : 0f;
            gradA[i] += g;
            gradB[i] += g;
        }
    }
}
