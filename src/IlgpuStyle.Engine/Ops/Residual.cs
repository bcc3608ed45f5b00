using IlgpuStyle.Devices;
using IlgpuStyle.Kernels;
using IlgpuStyle.Tensors;

namespace IlgpuStyle.Ops;

/// <summary>The residual add fused with its ReLU, y = max(0, a + b) (kernels/Residual.cs).</summary>
public static partial class Op
{
    public static void AddReluForward(Tensor a, Tensor b, Tensor y)
    {
        const string op = "AddReluForward";
        Check.SameShape(op, a, b); Check.SameShape(op, a, y);
        Check.SameDevice(op, a, b); Check.SameDevice(op, a, y);
        a.Device.Stride(Residual.AddReluForward, y.Length, 2 * y.Length, Bytes(y.Length, 3), a.View, b.View, y.View);
    }

    /// <summary>gradA += g and gradB += g with g = gradOut·[y &gt; 0]: the sum's gradient reaches both of its inputs.</summary>
    public static void AddReluBackward(Tensor y, Tensor gradOut, Tensor gradA, Tensor gradB)
    {
        const string op = "AddReluBackward";
        Check.SameShape(op, y, gradOut); Check.SameShape(op, y, gradA); Check.SameShape(op, y, gradB);
        Check.SameDevice(op, y, gradOut); Check.SameDevice(op, y, gradA); Check.SameDevice(op, y, gradB);
        y.Device.Stride(Residual.AddReluBackward, y.Length, 2 * y.Length, Bytes(y.Length, 6), y.View, gradOut.View, gradA.View, gradB.View);
    }
}
