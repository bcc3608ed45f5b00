using IlgpuStyle.Devices;
using IlgpuStyle.Kernels;
using IlgpuStyle.Tensors;

namespace IlgpuStyle.Ops;

/// <summary>ReLU (kernels/Relu.cs); in VGG19 it is fused into the convolutions, these stand alone.</summary>
public static partial class Op
{
    public static void ReluForward(Tensor x, Tensor y)
    {
        Check.SameShape("ReluForward", x, y);
        x.Device.Stride(Relu.Forward, x.Length, x.Length, Bytes(x.Length, 2), x.View, y.View);
    }

    /// <summary>gradIn += gradOut · [y > 0].</summary>
    public static void ReluBackward(Tensor y, Tensor gradOut, Tensor gradIn)
    {
        Check.SameShape("ReluBackward", y, gradOut);
        Check.SameShape("ReluBackward", y, gradIn);
        y.Device.Stride(Relu.Backward, y.Length, y.Length, Bytes(y.Length, 4), y.View, gradOut.View, gradIn.View);
    }

    /// <summary>grad ← grad · [y > 0], in place: dL/d(ReLU output) becomes dL/d(pre-activation).</summary>
    public static void ReluMask(Tensor y, Tensor grad)
    {
        Check.SameShape("ReluMask", y, grad);
        y.Device.Stride(Relu.MaskByOutput, y.Length, y.Length, Bytes(y.Length, 3), y.View, grad.View);
    }
}
