using IlgpuStyle.Devices;
using IlgpuStyle.Kernels;

namespace IlgpuStyle.Tests.Kernels;

[Collection(DeviceTests.Collection)]
public class Conv2dTests
{
    // Odd, non-square, stride 2, 1×1 images, one channel, channel counts off the tile size; rows wider than 32
    // (Direct's 4-pixel kernel; narrower rows take the 8-pixel one) and not a multiple of 4, 8 or 16; 32 or more output
    // channels both ways (Direct's 32-channel kernel on CPU devices, for the forward pass and the input gradient).
    public static readonly Conv2dGeometry[] Geometries =
    {
        new(2, 3, 7, 5, 5, 3, 3, 1, 1),
        new(1, 4, 9, 6, 17, 3, 3, 2, 1),
        new(1, 1, 1, 1, 3, 3, 3, 1, 1),
        new(2, 5, 6, 8, 6, 1, 1, 1, 0),
        new(1, 3, 11, 10, 2, 5, 5, 2, 2),
        new(1, 1, 4, 3, 1, 3, 2, 1, 0),
        new(1, 20, 13, 11, 70, 3, 3, 1, 1),
        new(2, 6, 3, 37, 19, 3, 3, 1, 1),
        new(2, 40, 6, 19, 33, 3, 3, 1, 1),
    };

    /// <summary>The geometries the variant has a kernel for (Direct: stride 1; Rows: 3×3, stride 1); the others are refused.</summary>
    static IEnumerable<Conv2dGeometry> Supported(KernelVariant v)
    {
        var supported = Geometries.Where(g => Op.ConvSupports(v, g)).ToList();
        Assert.True(supported.Count >= 4, $"{v}: only {supported.Count} geometries");
        return supported;
    }

    [Fact]
    public void VariantsWithoutAKernelForTheGeometryAreRefused()
    {
        var d = Accelerators.Get(new AcceleratorCase(DeviceKind.Cpu));
        var g = new Conv2dGeometry(1, 4, 9, 6, 17, 3, 3, 2, 1);   // stride 2
        using var x = new Tensor(d, In(g), "x"); using var w = new Tensor(d, Weights(g), "w"); using var b = new Tensor(d, Shape4.Vector(g.OutC), "b");
        using var y = new Tensor(d, Out(g), "y");
        foreach (var v in new[] { KernelVariant.Direct, KernelVariant.Rows })
        {
            Assert.Contains($"the {v} variant has no kernel", Assert.Throws<ArgumentException>(() => Op.Conv2dForward(x, w, b, y, g.Stride, g.Pad, true, v)).Message);
            Assert.Contains($"the {v} variant has no kernel", Assert.Throws<ArgumentException>(() => Op.Conv2dBackwardInput(w, y, x, g.Stride, g.Pad, v)).Message);
            Assert.Contains($"no {v} variant", Assert.Throws<ArgumentException>(() => Op.Conv2dBackwardWeights(x, y, w, g.Stride, g.Pad, v)).Message);
        }
    }

    static Shape4 In(Conv2dGeometry g) => new(g.N, g.InC, g.InH, g.InW);
    static Shape4 Weights(Conv2dGeometry g) => new(g.OutC, g.InC, g.KH, g.KW);
    static Shape4 Out(Conv2dGeometry g) => new(g.N, g.OutC, g.OutH, g.OutW);
    static string Describe(Conv2dGeometry g, AcceleratorCase a, KernelVariant v, Rand r) =>
        $"{a} {v} x({g.N},{g.InC},{g.InH},{g.InW}) w({g.OutC},{g.InC},{g.KH},{g.KW}) s{g.Stride} p{g.Pad} {r}";

    [Theory, MemberData(nameof(DeviceData.AllVariants), MemberType = typeof(DeviceData))]
    public void Forward(AcceleratorCase accelerator, KernelVariant variant)
    {
        var d = Accelerators.Get(accelerator);
        var r = new Rand();
        foreach (var g in Supported(variant))
            foreach (bool relu in new[] { false, true })
            {
                double[] x = r.Floats(In(g).Length), w = r.Floats(Weights(g).Length), b = r.Floats(g.OutC);
                using var tx = d.Upload(In(g), x); using var tw = d.Upload(Weights(g), w); using var tb = d.Upload(Shape4.Vector(g.OutC), b);
                using var ty = d.Poisoned(Out(g));
                Op.Conv2dForward(tx, tw, tb, ty, g.Stride, g.Pad, relu, variant);
                Compare.RelativeL2($"Conv2dForward relu={relu}", Reference.Conv2dForward(g, x, w, b, relu), ty.ToArray(),
                    g.FilterSize > 100 ? Tolerance.LongSum : Tolerance.Kernel, Describe(g, accelerator, variant, r));
            }
    }

    /// <summary>Direct's 3×3 kernels with a barrier every few input channels (as on PoCL), chunks not dividing the channels.</summary>
    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void DirectInChunksOfChannels(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        var r = new Rand();
        var before = d.DirectChannelsPerBarrier;
        try
        {
            foreach (var (g, chunk) in new[] { (new Conv2dGeometry(1, 20, 13, 11, 70, 3, 3, 1, 1), 3), (new Conv2dGeometry(2, 7, 3, 37, 19, 3, 3, 1, 1), 4), (new Conv2dGeometry(1, 45, 5, 13, 36, 3, 3, 1, 1), 7) })
            {
                d.DirectChannelsPerBarrier = chunk;
                double[] x = r.Floats(In(g).Length), w = r.Floats(Weights(g).Length), b = r.Floats(g.OutC);
                double[] gy = r.Floats(Out(g).Length), initial = r.Floats(In(g).Length);
                using var tx = d.Upload(In(g), x); using var tw = d.Upload(Weights(g), w); using var tb = d.Upload(Shape4.Vector(g.OutC), b);
                using var ty = d.Poisoned(Out(g));
                Op.Conv2dForward(tx, tw, tb, ty, g.Stride, g.Pad, true, KernelVariant.Direct);
                Compare.RelativeL2("Conv2dForward", Reference.Conv2dForward(g, x, w, b, true), ty.ToArray(),
                    Tolerance.LongSum, Describe(g, accelerator, KernelVariant.Direct, r) + $" chunk {chunk}");
                using var tgy = d.Upload(Out(g), gy); using var tgx = d.Upload(In(g), initial);
                Op.Conv2dBackwardInput(tw, tgy, tgx, g.Stride, g.Pad, KernelVariant.Direct);
                Compare.RelativeL2("Conv2dBackwardInput", initial.Plus(Reference.Conv2dBackwardInput(g, w, gy)), tgx.ToArray(),
                    Tolerance.LongSum, Describe(g, accelerator, KernelVariant.Direct, r) + $" chunk {chunk}", scale: initial);
            }
        }
        finally { d.DirectChannelsPerBarrier = before; }
    }

    /// <summary>
    /// Stride-2 convolutions where the device's default is Direct (PoCL): run as the stride-1 convolution on the fast kernels,
    /// every other pixel kept (forward), or of the output gradient spread onto the stride-1 grid (input gradient, with and
    /// without the ReLU mask). ResNet18's three shapes (7×7 pad 3, 3×3 pad 1, 1×1 pad 0) at odd sizes, against float64.
    /// </summary>
    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void StrideTwoThroughTheStrideOneKernels(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        var r = new Rand();
        var before = d.ConvVariant;
        try
        {
            d.ConvVariant = KernelVariant.Direct;
            d.LaunchLog = new List<string>();
            foreach (var g in new[] { new Conv2dGeometry(1, 3, 17, 12, 20, 7, 7, 2, 3), new Conv2dGeometry(2, 2, 10, 7, 5, 3, 3, 2, 1), new Conv2dGeometry(2, 18, 9, 13, 21, 3, 3, 2, 1),
                         new Conv2dGeometry(1, 17, 11, 8, 33, 1, 1, 2, 0) })
            {
                string where = Describe(g, accelerator, KernelVariant.Direct, r) + " (stride 2 through stride 1)";
                double[] x = r.Floats(In(g).Length), w = r.Floats(Weights(g).Length), b = r.Floats(g.OutC);
                double[] gy = r.Floats(Out(g).Length), initial = r.Floats(In(g).Length);
                using var tx = d.Upload(In(g), x); using var tw = d.Upload(Weights(g), w); using var tb = d.Upload(Shape4.Vector(g.OutC), b);
                using var ty = d.Poisoned(Out(g));
                Op.Conv2dForward(tx, tw, tb, ty, g.Stride, g.Pad, true);
                var y = Reference.Conv2dForward(g, x, w, b, true);
                Compare.RelativeL2("Conv2dForward", y, ty.ToArray(), Tolerance.LongSum, where);
                using var tgy = d.Upload(Out(g), gy);
                using (var tgx = d.Upload(In(g), initial))
                {
                    Op.Conv2dBackwardInput(tw, tgy, tgx, g.Stride, g.Pad);
                    Compare.RelativeL2("Conv2dBackwardInput", initial.Plus(Reference.Conv2dBackwardInput(g, w, gy)), tgx.ToArray(),
                        Tolerance.LongSum, where, scale: initial);
                }
                using (var tgx = d.Upload(In(g), initial))
                {
                    Op.Conv2dBackwardInput(tw, tgy, tgx, g.Stride, g.Pad, reluOutput: ty);
                    var masked = Reference.ReluBackward(y, gy);
                    Compare.RelativeL2("Conv2dBackwardInput, ReLU mask", initial.Plus(Reference.Conv2dBackwardInput(g, w, masked)), tgx.ToArray(),
                        Tolerance.LongSum, where, scale: initial);
                }
                // It ran the route (not a GEMM): the stride-1 kernels and the subsampling; the spreading, or for the image's few
                // channels the gather by phase.
                Assert.Contains("conv2d_subsample", d.LaunchLog);
                Assert.Contains(g.InC <= Conv2dStridedInputGradient.MaxChannels ? "conv2d_bwd_input_strided" : "conv2d_dilate", d.LaunchLog);
                Assert.DoesNotContain(d.LaunchLog, k => k.Contains("tiled") || k.Contains("naive"));
                d.LaunchLog.Clear();
            }
        }
        finally { d.ConvVariant = before; d.LaunchLog = null; }
    }

    [Theory, MemberData(nameof(DeviceData.AllVariants), MemberType = typeof(DeviceData))]
    public void BackwardInput(AcceleratorCase accelerator, KernelVariant variant)
    {
        var d = Accelerators.Get(accelerator);
        var r = new Rand();
        foreach (var g in Supported(variant))
        {
            double[] w = r.Floats(Weights(g).Length), gy = r.Floats(Out(g).Length), initial = r.Floats(In(g).Length);
            using var tw = d.Upload(Weights(g), w); using var tgy = d.Upload(Out(g), gy);
            using var tgx = d.Upload(In(g), initial);   // backward accumulates: start from non-zero
            Op.Conv2dBackwardInput(tw, tgy, tgx, g.Stride, g.Pad, variant);
            Compare.RelativeL2("Conv2dBackwardInput", initial.Plus(Reference.Conv2dBackwardInput(g, w, gy)), tgx.ToArray(),
                Tolerance.LongSum, Describe(g, accelerator, variant, r), scale: initial);
        }
    }

    /// <summary>Input gradient through the layer's ReLU: dy = gradOut·[y &gt; 0], the mask applied by the op (while padding, for Direct).</summary>
    [Theory, MemberData(nameof(DeviceData.AllVariants), MemberType = typeof(DeviceData))]
    public void BackwardInputThroughRelu(AcceleratorCase accelerator, KernelVariant variant)
    {
        var d = Accelerators.Get(accelerator);
        var r = new Rand();
        foreach (var g in Supported(variant))
        {
            double[] w = r.Floats(Weights(g).Length), gy = r.Floats(Out(g).Length), y = r.Floats(Out(g).Length), initial = r.Floats(In(g).Length);
            for (int i = 0; i < y.Length; i += 7) y[i] = 0;   // exact zeros: a ReLU output of 0 passes no gradient
            double[] masked = gy.Select((v, i) => y[i] > 0 ? v : 0).ToArray();
            using var tw = d.Upload(Weights(g), w); using var tgy = d.Upload(Out(g), gy); using var ty = d.Upload(Out(g), y);
            using var tgx = d.Upload(In(g), initial);
            Op.Conv2dBackwardInput(tw, tgy, tgx, g.Stride, g.Pad, variant, reluOutput: ty);
            Compare.RelativeL2("Conv2dBackwardInput through ReLU", initial.Plus(Reference.Conv2dBackwardInput(g, w, masked)), tgx.ToArray(),
                Tolerance.LongSum, Describe(g, accelerator, variant, r), scale: initial);
        }
    }

    [Theory, MemberData(nameof(DeviceData.ConvWeightsGradientVariants), MemberType = typeof(DeviceData))]
    public void BackwardWeights(AcceleratorCase accelerator, KernelVariant variant)
    {
        var d = Accelerators.Get(accelerator);
        var r = new Rand();
        foreach (var g in Geometries)
        {
            double[] x = r.Floats(In(g).Length), gy = r.Floats(Out(g).Length), initial = r.Floats(Weights(g).Length);
            using var tx = d.Upload(In(g), x); using var tgy = d.Upload(Out(g), gy);
            using var tgw = d.Upload(Weights(g), initial);
            Op.Conv2dBackwardWeights(tx, tgy, tgw, g.Stride, g.Pad, variant);
            Compare.RelativeL2("Conv2dBackwardWeights", initial.Plus(Reference.Conv2dBackwardWeights(g, x, gy)), tgw.ToArray(),
                Tolerance.LongSum, Describe(g, accelerator, variant, r), scale: initial);
        }
    }

    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void BackwardBias(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        var r = new Rand();
        foreach (var g in Geometries)
        {
            double[] gy = r.Floats(Out(g).Length), initial = r.Floats(g.OutC);
            using var tgy = d.Upload(Out(g), gy); using var tgb = d.Upload(Shape4.Vector(g.OutC), initial);
            Op.Conv2dBackwardBias(tgy, tgb);
            Compare.RelativeL2("Conv2dBackwardBias", initial.Plus(Reference.Conv2dBackwardBias(g, gy)), tgb.ToArray(),
                Tolerance.LongSum, Describe(g, accelerator, KernelVariant.Naive, r), scale: initial);
        }
    }

    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void ShapeMismatchThrowsBeforeLaunch(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        using var x = new Tensor(d, new Shape4(1, 3, 8, 8), "x");
        using var w = new Tensor(d, new Shape4(4, 2, 3, 3), "w");
        using var b = new Tensor(d, Shape4.Vector(4), "b");
        using var y = new Tensor(d, new Shape4(1, 4, 8, 8), "y");
        var e = Assert.Throws<ArgumentException>(() => Op.Conv2dForward(x, w, b, y, 1, 1, true));
        Assert.Contains("Conv2dForward", e.Message);
        Assert.Contains("(1, 3, 8, 8)", e.Message);
        Assert.Contains("(4, 2, 3, 3)", e.Message);
    }
}
