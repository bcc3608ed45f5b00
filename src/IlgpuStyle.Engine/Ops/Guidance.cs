using IlgpuStyle.Devices;
using IlgpuStyle.Kernels;
using IlgpuStyle.Tensors;

namespace IlgpuStyle.Ops;

/// <summary>Guidance masks and gradient normalization (kernels/Guidance.cs).</summary>
public static partial class Op
{
    /// <summary>The scalar slot the gradient normalization leaves its L1 norm in (losses use the slots from 0 up).</summary>
    public const int NormalizationSlot = ScalarSlots - 1;

    /// <summary>The ε of neural-style's normalization: dy / (Σ|dy| + ε).</summary>
    public const float NormalizationEpsilon = 1e-8f;

    static void CheckMask(string op, Tensor x, Tensor mask)
    {
        Check.Shape(op, mask, new Shape4(x.Shape.N, 1, x.Shape.H, x.Shape.W), "mask");
        Check.SameDevice(op, x, mask);
    }

    /// <summary>y = x ⊙ mask, mask (N,1,H,W) broadcast over x's channels.</summary>
    public static void MaskForward(Tensor x, Tensor mask, Tensor y)
    {
        CheckMask("MaskForward", x, mask);
        Check.SameShape("MaskForward", x, y);
        int m = x.Shape.H * x.Shape.W;
        if (x.Length > 0) x.Device.Stride(Guidance.MaskForward, x.Length, x.Length, Bytes(x.Length, 3), m, x.Shape.C * m, x.View, mask.View, y.View);
    }

    /// <summary>gradIn += gradOut ⊙ mask.</summary>
    public static void MaskBackward(Tensor gradOut, Tensor mask, Tensor gradIn)
    {
        CheckMask("MaskBackward", gradIn, mask);
        Check.SameShape("MaskBackward", gradOut, gradIn);
        int m = gradIn.Shape.H * gradIn.Shape.W;
        if (gradIn.Length > 0)
            gradIn.Device.Stride(Guidance.MaskBackward, gradIn.Length, 2 * gradIn.Length, Bytes(gradIn.Length, 4), m, gradIn.Shape.C * m, gradOut.View, mask.View, gradIn.View);
    }

    /// <summary>gradIn += scale · gradOut / (Σ|gradOut| + ε): the L1 norm is a device reduction, the division one kernel.</summary>
    public static void NormalizedGradientAccumulate(Tensor gradOut, Tensor gradIn, float scale)
    {
        Check.SameShape("NormalizedGradientAccumulate", gradOut, gradIn);
        var d = gradIn.Device;
        SumInto(d, new AbsTerm { X = gradOut.View }, NormalizationSlot, 1f);
        if (gradIn.Length > 0)
            d.Stride(Guidance.NormalizedAccumulate, gradIn.Length, 2 * gradIn.Length, Bytes(gradIn.Length, 3),
                gradOut.View, (ArrayView<float>)d.Memory.Scalars.View, NormalizationSlot, scale, NormalizationEpsilon, gradIn.View);
    }
}
