using IlgpuStyle.Autodiff;
using IlgpuStyle.Kernels;

namespace IlgpuStyle.Tests.Kernels;

[Collection(DeviceTests.Collection)]
public class ResidualTests
{
    /// <summary>y = max(0, a + b), and both inputs' gradients accumulate dy·[y &gt; 0] (over poisoned outputs and random initial gradients).</summary>
    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void AddReluForwardAndBothGradients(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        var r = new Rand();
        foreach (var s in new[] { new Shape4(2, 3, 7, 5), new Shape4(1, 1, 1, 1), new Shape4(1, 64, 17, 9) })
        {
            double[] a = r.Floats(s.Length), b = r.Floats(s.Length), gy = r.Floats(s.Length), ia = r.Floats(s.Length), ib = r.Floats(s.Length);
            string where = $"{accelerator} {s} {r}";
            var y = Reference.AddReluForward(a, b);
            var g = Reference.AddReluBackward(y, gy);
            using var ta = d.Upload(s, a); using var tb = d.Upload(s, b); using var ty = d.Poisoned(s); using var tgy = d.Upload(s, gy);
            Op.AddReluForward(ta, tb, ty);
            Compare.RelativeL2("AddReluForward", y, ty.ToArray(), Tolerance.Kernel, where);
            using var tga = d.Upload(s, ia); using var tgb = d.Upload(s, ib);
            Op.AddReluBackward(ty, tgy, tga, tgb);
            Compare.RelativeL2("AddReluBackward da", ia.Plus(g), tga.ToArray(), Tolerance.Kernel, where, scale: ia);
            Compare.RelativeL2("AddReluBackward db", ib.Plus(g), tgb.ToArray(), Tolerance.Kernel, where, scale: ib);
        }
    }

    /// <summary>
    /// The fan-out a residual block makes: x feeds a convolution and, through the shortcut, the add. On the tape, x's gradient
    /// is the sum of both paths: checked against the float64 composition, and against the convolution path alone (which
    /// must differ by exactly the shortcut's share).
    /// </summary>
    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void TheBlocksInputReceivesBothPathsGradients(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        var r = new Rand();
        var s = new Shape4(1, 4, 7, 5);
        var g = new Conv2dGeometry(1, 4, 7, 5, 4, 3, 3, 1, 1);
        double[] x = r.Floats(s.Length), w = r.Floats(4 * 4 * 9), bias = r.Floats(4), gy = r.Floats(s.Length);
        string where = $"{accelerator} {r}";
        // float64: z = conv(x), y = relu(z + x); dx = Wᵀ⊛g + g with g = gy·[y > 0].
        var z = Reference.Conv2dForward(g, x, w, bias, false);
        var yRef = Reference.AddReluForward(z, x);
        var gRef = Reference.AddReluBackward(yRef, gy);
        var throughConv = Reference.Conv2dBackwardInput(g, w, gRef);
        var dx = throughConv.Plus(gRef);

        using var tx = d.Upload(s, x, "x"); using var tw = d.Upload(new Shape4(4, 4, 3, 3), w); using var tb = d.Upload(Shape4.Vector(4), bias);
        using var conv = d.Poisoned(s, "conv"); using var y = d.Poisoned(s, "block");
        // A content loss ½Σ(y − P)² with P = y − gy seeds dL/dy = gy.
        using var target = d.Upload(s, yRef.Select((v, i) => v - gy[i]).ToArray(), "P");
        tw.Freeze(); tb.Freeze();
        using var tape = new Tape();
        tape.RequireGradient(tx);
        tape.Conv2d("conv", tx, tw, tb, conv, 1, 1, relu: false);
        tape.AddRelu("block", conv, tx, y);
        tape.ContentLoss("seed", y, target, 1f, 0);
        tape.Backward();

        Compare.RelativeL2("block output", yRef, y.ToArray(), Tolerance.Network, where);
        Compare.RelativeL2("dx = conv path + shortcut", dx, tape.Gradient(tx).ToArray(), Tolerance.Network, where);
        // The convolution's path alone is far from it: the test sees the shortcut's share of the fan-out.
        var got = tape.Gradient(tx).ToArray();
        double off = Math.Sqrt(throughConv.Select((v, i) => (v - got[i]) * (v - got[i])).Sum() / throughConv.Sum(v => v * v));
        Assert.True(off > 0.1, $"dx should include the shortcut's gradient, relative distance to the conv path alone {off:G3} ({where})");
        // explain shows the sum going to both branches: a and b, its inputs in the row's inputs column.
        var add = tape.Nodes.Single(n => n.Op == "add+relu");
        Assert.Contains("da += g,  db += g", add.Derivative);
        Assert.Equal(new[] { "conv", "x" }, add.Inputs.Select(t => t.Name));
    }
}
