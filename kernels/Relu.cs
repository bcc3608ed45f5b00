// ReLU on its own (the convolution fuses it into its output; see Conv2d.cs).
//
//   forward   y[i] = max(0, x[i])
//   backward  dL/dx[i] += dL/dy[i] · [y[i] > 0]        (y > 0 ⇔ x > 0, so y is all backward needs)
//
// MaskByOutput is the in-place form the fused convolution uses: g[i] = g[i] · [y[i] > 0] turns
// dL/d(relu output) into dL/d(pre-activation) before the convolution's own backward.
using ILGPU;
using ILGPU.Backends.EntryPoints;

namespace IlgpuStyle.Kernels;

public static class Relu
{
    [KernelName("relu_fwd")]
    public static void Forward(Index1D t, int stride, ArrayView<float> x, ArrayView<float> y)
    {
        for (int i = t; i < y.Length; i += stride)
            y[i] = MathF.Max(x[i], 0f);
    }

    [KernelName("relu_bwd")]
    public static void Backward(Index1D t, int stride, ArrayView<float> y, ArrayView<float> gradOut, ArrayView<float> gradIn)
    {
        for (int i = t; i < gradIn.Length; i += stride)
            gradIn[i] += y[i] > 0f ? gradOut[i] : 0f;
    }

    [KernelName("relu_mask_by_output")]
    public static void MaskByOutput(Index1D t, int stride, ArrayView<float> y, ArrayView<float> grad)
    {
        for (int i = t; i < grad.Length; i += stride)
            if (!(y[i] > 0f)) grad[i] = 0f;
    }
}
