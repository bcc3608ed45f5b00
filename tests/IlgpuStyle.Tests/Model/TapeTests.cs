using IlgpuStyle.Autodiff;
using IlgpuStyle.Kernels;
using IlgpuStyle.Model;

namespace IlgpuStyle.Tests.Model;

[Collection(DeviceTests.Collection)]
public class TapeTests
{
    const int H = 16, W = 16;
    static readonly string[] StyleLayers = { "conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1" };

    /// <summary>Content at conv4_2 and style at conv1_1 … conv5_1 with random targets, plus TV: every op VGG19 style transfer runs.</summary>
    static (List<ReferenceVgg19.Loss> Losses, double Tv) Problem(ReferenceVgg19 reference, Rand r)
    {
        reference.Forward(r.Floats(3 * H * W, 100), H, W, "conv5_1");
        var losses = new List<ReferenceVgg19.Loss>();
        var f = reference.Activations["conv4_2"];
        losses.Add(new("conv4_2", f.Select(v => (double)(float)(v * (1 + 0.3 * r.Doubles(1)[0]))).ToArray(), 1e-3, false));
        foreach (var layer in StyleLayers)
        {
            var (c, h, w) = reference.Shapes[layer];
            double scale = 1.0 / (c * h * w);
            var gram = Reference.GramForward(1, c, h * w, scale, reference.Activations[layer]);
            losses.Add(new(layer, gram.Select(v => (double)(float)(v * 0.5)).ToArray(), 1.0 / StyleLayers.Length, true, scale, 1.0));
        }
        return (losses, 1e-4);
    }

    static void RecordOnTape(Tape tape, Network vgg, Activations acts, Tensor image, List<ReferenceVgg19.Loss> losses, double tv,
        List<Tensor> owned)
    {
        vgg.Forward(tape, image, acts);
        int slot = 0;
        foreach (var l in losses)
        {
            var f = acts[l.Layer];
            if (!l.Style)
            {
                var target = Tensor.FromArray(vgg.Device, f.Shape, l.Target.ToFloat(), "P_" + l.Layer); owned.Add(target);
                tape.ContentLoss(l.Layer, f, target, (float)l.Weight, slot++);
            }
            else
            {
                var gram = new Tensor(vgg.Device, Op.GramShape(f.Shape), "G_" + l.Layer); owned.Add(gram);
                var target = Tensor.FromArray(vgg.Device, gram.Shape, l.Target.ToFloat(), "A_" + l.Layer); owned.Add(target);
                tape.Gram(l.Layer, f, gram, (float)l.GramScale);
                tape.StyleLoss(l.Layer, gram, target, (float)l.Weight, (float)l.D, slot++);
            }
        }
        tape.TotalVariation("image", image, (float)tv, slot);
    }

    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void Vgg19ForwardBackwardMatchFloat64Composition(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        var r = new Rand();
        var weights = NetworkWeights.Random(r.Next(1000));
        foreach (var pooling in new[] { Pooling.Average, Pooling.Max })
        {
            string where = $"{accelerator} {pooling} {r}";
            var reference = new ReferenceVgg19(weights, pooling);
            var (losses, tv) = Problem(reference, r);
            var image = r.Floats(3 * H * W, 100);

            using var vgg = new Network(d, weights, pooling, "conv5_1");
            using var acts = vgg.Plan(new Shape4(1, 3, H, W), "conv5_1");
            using var tImage = Tensor.FromArray(d, acts.InputShape, image.ToFloat(), "image");
            using var tape = new Tape();
            tape.RequireGradient(tImage);
            var (w11, _) = vgg.Parameters("conv1_1");
            tape.RequireGradient(w11);
            var owned = new List<Tensor>();
            try
            {
                RecordOnTape(tape, vgg, acts, tImage, losses, tv, owned);
                float total = Op.ReadScalars(d, losses.Count + 1).Sum();
                reference.Forward(image, H, W, "conv5_1");
                foreach (var layer in acts.Layers.Select(l => l.Name))
                    Compare.RelativeL2($"activation {layer}", reference.Activations[layer], acts[layer].ToArray(), Tolerance.Network, where);
                Compare.Scalar("total loss", reference.Evaluate(image, H, W, losses, tv), total, Tolerance.Network, where);

                tape.Backward();
                var deviceActivations = acts.Layers.ToDictionary(l => l.Name, l => acts[l.Name].ToArray().ToDouble());
                var (dImage, dW11) = reference.Gradient(image, H, W, losses, tv, deviceActivations);
                Compare.RelativeL2("dLoss/dimage", dImage, tape.Gradient(tImage).ToArray(), Tolerance.Network, where);
                Compare.RelativeL2("dLoss/dw conv1_1", dW11, tape.Gradient(w11).ToArray(), Tolerance.Network, where);

                // A second step on the same tape gives the same gradient: buffers are zeroed, not accumulated across steps.
                var first = tape.Gradient(tImage).ToArray();
                tape.Clear();
                RecordOnTape(tape, vgg, acts, tImage, losses, tv, owned);
                tape.Backward();
                Assert.Equal(first, tape.Gradient(tImage).ToArray());

                // Central differences of the float64 loss at a few pixels against the device gradient.
                var pixels = r.Indices(image.Length, 4);
                var numeric = Reference.NumericalGradient(x => reference.Evaluate(x, H, W, losses, tv), image, pixels, 1e-3);
                Compare.RelativeL2("dLoss/dimage vs central differences", numeric, pixels.Select(i => (float)first[i]).ToArray(),
                    Tolerance.NetworkGradient, where);
            }
            finally { foreach (var t in owned) t.Dispose(); }
        }
    }

    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void TapePrintsForwardAndBackward(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        using var vgg = new Network(d, NetworkWeights.Random(1), Pooling.Average, "conv2_1");
        using var acts = vgg.Plan(new Shape4(1, 3, 8, 8), "conv2_1");
        using var image = new Tensor(d, acts.InputShape, "image");
        using var tape = new Tape();
        tape.RequireGradient(image);
        vgg.Forward(tape, image, acts);
        string text = tape.Describe();
        Assert.Contains("Forward (4 ops)", text);
        Assert.Contains("conv2d+relu   conv1_1", text);
        Assert.Contains("avgpool2d     pool1", text);
        Assert.Contains("Backward", text);
        // Frozen weights (only the image needs a gradient): what backward runs is the input gradient with the mask fused.
        Assert.Contains("dx += Wᵀ⊛(dy·[y>0])", text);
        Assert.DoesNotContain("dW +=", text);
        Assert.True(text.IndexOf("conv2_1", text.IndexOf("Backward")) < text.IndexOf("conv1_1", text.IndexOf("Backward")), "backward order is reversed");

        // With the weights' gradients wanted (training, a gradient check), the mask is a pass of its own and dW, db are computed.
        using var trained = new Tape();
        trained.RequireGradient(image);
        foreach (var p in vgg.AllParameters) trained.RequireGradient(p);
        vgg.Forward(trained, image, acts);
        string training = trained.Describe();
        Assert.Contains("g = dy·[y>0];  dx += Wᵀ⊛g,  dW += g⊛x,  db += Σg", training);
        Assert.DoesNotContain("W, b frozen", training);
    }
}
