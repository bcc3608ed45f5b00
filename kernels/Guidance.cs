// Spatial guidance and gradient normalization: the two ops behind the spatial control of Gatys et
// al. 2017 ("Controlling Perceptual Factors in Neural Style Transfer") and neural-style's
// -normalize_gradients.
//
//   mask       y[n,c,p] = x[n,c,p] · t[n,p]            (t: one guidance value per pixel, all channels)
//              dx[n,c,p] += dy[n,c,p] · t[n,p]
//              A guided Gram matrix is then Gram(y) = (F⊙T)(F⊙T)ᵀ: only the region where t > 0 counts.
//
//   normalize  forward: y = x (the identity)
//              backward: dx += s · dy / (Σ|dy| + ε)
//              dy is the gradient of the losses that read y; the backward divides it by its L1 norm
//              (which a reduction has just left in a device scalar slot: no host round trip) and
//              multiplies by the loss weight s, as neural-style's loss modules do.
using ILGPU;
using ILGPU.Backends.EntryPoints;

namespace IlgpuStyle.Kernels;

public static class Guidance
{
    /// <summary>y = x ⊙ t, t broadcast over the channels; m = H·W, cm = C·H·W.</summary>
    [KernelName("mask_fwd")]
    public static void MaskForward(Index1D t, int stride, int m, int cm, ArrayView<float> x, ArrayView<float> mask, ArrayView<float> y)
    {
        for (int i = t; i < y.Length; i += stride)
            y[i] = x[i] * mask[i / cm * m + i % m];
    }

    /// <summary>gradIn += gradOut ⊙ t.</summary>
    [KernelName("mask_bwd")]
    public static void MaskBackward(Index1D t, int stride, int m, int cm, ArrayView<float> gradOut, ArrayView<float> mask, ArrayView<float> gradIn)
    {
        for (int i = t; i < gradIn.Length; i += stride)
            gradIn[i] += gradOut[i] * mask[i / cm * m + i % m];
    }

    /// <summary>gradIn += scale · gradOut / (scalars[slot] + epsilon), scalars[slot] = Σ|gradOut|.</summary>
    [KernelName("normalize_gradient_bwd")]
    public static void NormalizedAccumulate(Index1D t, int stride, ArrayView<float> gradOut, ArrayView<float> scalars, int slot,
        float scale, float epsilon, ArrayView<float> gradIn)
    {
        float k = scale / (scalars[slot] + epsilon);
        for (int i = t; i < gradIn.Length; i += stride)
            gradIn[i] += k * gradOut[i];
    }
}
