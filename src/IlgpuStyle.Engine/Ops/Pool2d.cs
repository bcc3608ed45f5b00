using IlgpuStyle.Devices;
using IlgpuStyle.Kernels;
using IlgpuStyle.Tensors;

namespace IlgpuStyle.Ops;

/// <summary>2×2 max and average pooling, stride 2 (kernels/Pool2d.cs).</summary>
public static partial class Op
{
    public static Shape4 PoolOutputShape(Shape4 x) => new(x.N, x.C, x.H / 2, x.W / 2);

    static Pool2dGeometry PoolGeometry(string op, Tensor x, Tensor y)
    {
        Check.Shape(op, y, PoolOutputShape(x.Shape), "output");
        Check.SameDevice(op, x, y);
        return new Pool2dGeometry(x.Shape.N, x.Shape.C, x.Shape.H, x.Shape.W);
    }

    public static void MaxPool2dForward(Tensor x, Tensor y)
    {
        var g = PoolGeometry("MaxPool2dForward", x, y);
        if (y.Length > 0) x.Device.Stride(Pool2d.MaxForward, y.Length, 3 * y.Length, Bytes(x.Length + y.Length, 1), g, x.View, y.View);
    }

    public static void MaxPool2dBackward(Tensor x, Tensor gradOut, Tensor gradIn)
    {
        var g = PoolGeometry("MaxPool2dBackward", x, gradOut);
        Check.SameShape("MaxPool2dBackward", x, gradIn);
        if (x.Length > 0) x.Device.Stride(Pool2d.MaxBackward, x.Length, 3 * x.Length, Bytes(3 * x.Length + gradOut.Length, 1), g, x.View, gradOut.View, gradIn.View);
    }

    public static void AvgPool2dForward(Tensor x, Tensor y)
    {
        var g = PoolGeometry("AvgPool2dForward", x, y);
        if (y.Length > 0) x.Device.Stride(Pool2d.AverageForward, (long)g.N * g.C * g.OutH, 4 * y.Length, Bytes(x.Length + y.Length, 1), g, x.View, y.View);
    }

    public static void AvgPool2dBackward(Tensor gradOut, Tensor gradIn)
    {
        var g = PoolGeometry("AvgPool2dBackward", gradIn, gradOut);
        if (gradIn.Length > 0)
            gradIn.Device.Stride(Pool2d.AverageBackward, (long)g.N * g.C * g.InH, gradIn.Length, Bytes(2 * gradIn.Length + gradOut.Length, 1), g, gradOut.View, gradIn.View);
    }

    // ---------------------------------------------------------------- windowed: K×K, stride S, padding P (ResNet's stem pool)

    public static PoolWindowGeometry PoolWindow(Shape4 x, int k, int stride, int pad)
    {
        if (k < 1 || stride < 1 || pad < 0 || pad >= k)
            throw new ArgumentException($"pooling window {k}×{k}, stride {stride}, padding {pad}: needs k ≥ 1, stride ≥ 1 and 0 ≤ padding < k");
        return new PoolWindowGeometry(x.N, x.C, x.H, x.W, k, stride, pad);
    }

    public static Shape4 PoolWindowOutputShape(Shape4 x, int k, int stride, int pad)
    {
        var g = PoolWindow(x, k, stride, pad);
        return new Shape4(x.N, x.C, Math.Max(0, g.OutH), Math.Max(0, g.OutW));
    }

    public static void MaxPoolWindowForward(Tensor x, Tensor y, int k, int stride, int pad)
    {
        const string op = "MaxPoolWindowForward";
        Check.Shape(op, y, PoolWindowOutputShape(x.Shape, k, stride, pad), "output");
        Check.SameDevice(op, x, y);
        var g = PoolWindow(x.Shape, k, stride, pad);
        if (y.Length > 0) x.Device.Stride(Pool2d.MaxWindowForward, y.Length, (long)k * k * y.Length, Bytes(x.Length + y.Length, 1), g, x.View, y.View);
    }

    /// <summary>gradIn += what each window's maximum receives (windows overlap: an input can receive from several).</summary>
    public static void MaxPoolWindowBackward(Tensor x, Tensor gradOut, Tensor gradIn, int k, int stride, int pad)
    {
        const string op = "MaxPoolWindowBackward";
        Check.Shape(op, gradOut, PoolWindowOutputShape(x.Shape, k, stride, pad), "output gradient");
        Check.SameShape(op, x, gradIn);
        Check.SameDevice(op, x, gradOut); Check.SameDevice(op, x, gradIn);
        var g = PoolWindow(x.Shape, k, stride, pad);
        if (x.Length == 0 || gradOut.Length == 0) return;
        var d = x.Device;
        var argmax = d.Memory.Scratch(ScratchBuffer.PoolArgmax, gradOut.Length);
        d.Stride(Pool2d.MaxWindowArgmax, gradOut.Length, (long)k * k * gradOut.Length, Bytes(x.Length + gradOut.Length, 1), g, x.View, argmax);
        int windows = (k + stride - 1) / stride;
        d.Stride(Pool2d.MaxWindowBackward, x.Length, (long)windows * windows * x.Length, Bytes(2 * x.Length + 2 * gradOut.Length, 1),
            g, argmax, gradOut.View, gradIn.View);
    }
}
