using ILGPU;
using ILGPU.Runtime;
using IlgpuStyle.Kernels;
using IlgpuStyle.Tensors;

namespace IlgpuStyle.Ops;

/// <summary>ReLU (kernels/Relu.cs) and 2×2 pooling (kernels/Pool2d.cs).</summary>
public static partial class Op
{
    public static void ReluForward(Tensor x, Tensor y)
    {
        Check.SameShape("ReluForward", x, y);
        var d = x.Device;
        var k = d.Kernel(Relu.Forward, a => a.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, ArrayView<float>>(Relu.Forward));
        int threads = d.StrideThreadsFor(x.Length);
        using (d.Launch("relu_fwd", x.Length, Bytes(x.Length, 2))) k(threads, threads, x.View, y.View);
    }

    /// <summary>gradIn += gradOut · [y > 0].</summary>
    public static void ReluBackward(Tensor y, Tensor gradOut, Tensor gradIn)
    {
        Check.SameShape("ReluBackward", y, gradOut);
        Check.SameShape("ReluBackward", y, gradIn);
        var d = y.Device;
        var k = d.Kernel(Relu.Backward, a => a.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>>(Relu.Backward));
        int threads = d.StrideThreadsFor(y.Length);
        using (d.Launch("relu_bwd", y.Length, Bytes(y.Length, 4))) k(threads, threads, y.View, gradOut.View, gradIn.View);
    }

    /// <summary>grad ← grad · [y > 0], in place: dL/d(ReLU output) becomes dL/d(pre-activation).</summary>
    public static void ReluMask(Tensor y, Tensor grad)
    {
        Check.SameShape("ReluMask", y, grad);
        var d = y.Device;
        var k = d.Kernel(Relu.MaskByOutput, a => a.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, ArrayView<float>>(Relu.MaskByOutput));
        int threads = d.StrideThreadsFor(y.Length);
        using (d.Launch("relu_mask_by_output", y.Length, Bytes(y.Length, 3))) k(threads, threads, y.View, grad.View);
    }

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
        var d = x.Device;
        var k = d.Kernel(Pool2d.MaxForward, a => a.LoadAutoGroupedStreamKernel<Index1D, int, Pool2dGeometry, ArrayView<float>, ArrayView<float>>(Pool2d.MaxForward));
        int threads = d.StrideThreadsFor(y.Length);
        if (y.Length > 0) using (d.Launch("maxpool2d_fwd", 3 * y.Length, Bytes(x.Length + y.Length, 1))) k(threads, threads, g, x.View, y.View);
    }

    public static void MaxPool2dBackward(Tensor x, Tensor gradOut, Tensor gradIn)
    {
        var g = PoolGeometry("MaxPool2dBackward", x, gradOut);
        Check.SameShape("MaxPool2dBackward", x, gradIn);
        var d = x.Device;
        var k = d.Kernel(Pool2d.MaxBackward, a => a.LoadAutoGroupedStreamKernel<Index1D, int, Pool2dGeometry, ArrayView<float>, ArrayView<float>, ArrayView<float>>(Pool2d.MaxBackward));
        int threads = d.StrideThreadsFor(x.Length);
        if (x.Length > 0) using (d.Launch("maxpool2d_bwd", 3 * x.Length, Bytes(3 * x.Length + gradOut.Length, 1))) k(threads, threads, g, x.View, gradOut.View, gradIn.View);
    }

    public static void AvgPool2dForward(Tensor x, Tensor y)
    {
        var g = PoolGeometry("AvgPool2dForward", x, y);
        var d = x.Device;
        var k = d.Kernel(Pool2d.AverageForward, a => a.LoadAutoGroupedStreamKernel<Index1D, int, Pool2dGeometry, ArrayView<float>, ArrayView<float>>(Pool2d.AverageForward));
        int threads = d.StrideThreadsFor((long)g.N * g.C * g.OutH);
        if (y.Length > 0) using (d.Launch("avgpool2d_fwd", 4 * y.Length, Bytes(x.Length + y.Length, 1))) k(threads, threads, g, x.View, y.View);
    }

    public static void AvgPool2dBackward(Tensor gradOut, Tensor gradIn)
    {
        var g = PoolGeometry("AvgPool2dBackward", gradIn, gradOut);
        var d = gradIn.Device;
        var k = d.Kernel(Pool2d.AverageBackward, a => a.LoadAutoGroupedStreamKernel<Index1D, int, Pool2dGeometry, ArrayView<float>, ArrayView<float>>(Pool2d.AverageBackward));
        int threads = d.StrideThreadsFor((long)g.N * g.C * g.InH);
        if (gradIn.Length > 0) using (d.Launch("avgpool2d_bwd", gradIn.Length, Bytes(2 * gradIn.Length + gradOut.Length, 1))) k(threads, threads, g, gradOut.View, gradIn.View);
    }
}
