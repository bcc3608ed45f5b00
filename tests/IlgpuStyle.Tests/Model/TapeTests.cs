using IlgpuStyle.Devices;
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
        // The nodes against the network's own arithmetic: conv1_1 at 8×8 is 2·64·8·8·3·9 FLOPs, pool1 halves the side.
        Assert.Equal(new[] { "conv1_1", "conv1_2", "pool1", "conv2_1" }, tape.Nodes.Select(n => n.Label));
        Assert.Equal(2L * 64 * 8 * 8 * 3 * 9, tape.Nodes[0].Flops);
        Assert.Equal(2L * 128 * 4 * 4 * 64 * 9, tape.Nodes[3].Flops);
        Assert.Equal(new Shape4(1, 64, 4, 4), tape.Nodes[2].Output!.Shape);
        string text = tape.Describe();
        int backwardAt = text.IndexOf("Backward", StringComparison.Ordinal);
        Assert.True(backwardAt > 0 && text.IndexOf("conv2_1", backwardAt) < text.IndexOf("conv1_1", backwardAt), "backward is not printed in reverse");

        // What backward runs, not what it says: with frozen weights (only the image needs a gradient) no weight or bias
        // gradient kernel launches, and where the variant can, the ReLU mask rides in the input gradient's padding.
        d.LaunchLog = new List<string>();
        try
        {
            tape.Backward();
            var frozen = tape.Nodes.SelectMany(n => n.BackwardKernels).ToList();
            Assert.DoesNotContain(frozen, k => k.StartsWith("conv2d_bwd_weights") || k == "conv2d_bwd_bias");
            // Direct and Winograd apply the mask while they pad dy; the others mask in a pass of their own.
            if (d.ConvVariant is KernelVariant.Direct or KernelVariant.Winograd)
                Assert.DoesNotContain(frozen, k => k.StartsWith("relu_"));
            Assert.Contains(frozen, k => k.StartsWith("conv2d_bwd_input"));
            Assert.Contains("dx += Wᵀ⊛(dy·[y>0])", text);

            // With the weights' gradients wanted (training, a gradient check), their kernels run, and the text says dW, db.
            using var trained = new Tape();
            trained.RequireGradient(image);
            foreach (var p in vgg.AllParameters) trained.RequireGradient(p);
            vgg.Forward(trained, image, acts);
            trained.Backward();
            var training = trained.Nodes.SelectMany(n => n.BackwardKernels).ToList();
            Assert.Contains(training, k => k.StartsWith("conv2d_bwd_weights"));
            Assert.Contains(training, k => k == "conv2d_bwd_bias");
            Assert.Contains("g = dy·[y>0];  dx += Wᵀ⊛g,  dW += g⊛x,  db += Σg", trained.Describe());
        }
        finally { d.LaunchLog = null; }
    }
}
