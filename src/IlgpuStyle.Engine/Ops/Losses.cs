using IlgpuStyle.Devices;
using IlgpuStyle.Kernels;
using IlgpuStyle.Tensors;

namespace IlgpuStyle.Ops;

/// <summary>The content, style and total-variation losses: their values are device reductions into scalar slots, their gradients one kernel each (kernels/Losses.cs).</summary>
public static partial class Op
{
    /// <summary>scalars[slot] = scale · Σ (x − target)² (content loss: scale = w/2; style: w·d).</summary>
    public static void SquaredDifferenceSumInto(Tensor x, Tensor target, int slot, float scale)
    {
        Check.SameShape("SquaredDifference", x, target);
        SumInto(x.Device, new SquaredDifferenceTerm { X = x.View, Y = target.View }, slot, scale);
    }

    /// <summary>grad += scale · (x − target).</summary>
    public static void SquaredDifferenceBackward(Tensor x, Tensor target, float scale, Tensor grad)
    {
        Check.SameShape("SquaredDifferenceBackward", x, target);
        Check.SameShape("SquaredDifferenceBackward", x, grad);
        x.Device.Stride(Losses.SquaredDifferenceBackward, x.Length, 3 * x.Length, Bytes(x.Length, 4), x.View, target.View, scale, grad.View);
    }

    /// <summary>scalars[slot] = weight · TV(x).</summary>
    public static void TotalVariationInto(Tensor x, int slot, float weight) =>
        SumInto(x.Device, new TotalVariationTerm { X = x.View, H = x.Shape.H, W = x.Shape.W }, slot, weight);

    /// <summary>grad += dL/dx of weight · TV(x).</summary>
    public static void TotalVariationBackward(Tensor x, float weight, Tensor grad)
    {
        Check.SameShape("TotalVariationBackward", x, grad);
        x.Device.Stride(Losses.TotalVariationBackward, x.Length, 10 * x.Length, Bytes(x.Length, 3), x.Shape.H, x.Shape.W, x.View, weight, grad.View);
    }
}
