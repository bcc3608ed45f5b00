using IlgpuStyle.Kernels;
using IlgpuStyle.Model;

namespace IlgpuStyle.Tests.Model;

/// <summary>
/// VGG19 plus the style-transfer losses as a float64 composition of the reference ops: the oracle
/// for the tape. Loss = Σ_content wc·½Σ(F−P)² + Σ_style ws·d·Σ(G−A)² + wtv·TV(x), with G = s·F·Fᵀ.
/// </summary>
public sealed class ReferenceVgg19(NetworkWeights weights, Pooling pooling)
{
    public sealed record Loss(string Layer, double[] Target, double Weight, bool Style, double GramScale = 1, double D = 1);

    public Dictionary<string, double[]> Activations { get; } = new();
    public Dictionary<string, (int C, int H, int W)> Shapes { get; } = new();

    public void Forward(double[] image, int h, int w, string deepest)
    {
        Activations.Clear(); Shapes.Clear();
        var x = image; int c = 3;
        foreach (var layer in Vgg19Layers.Order.Take(Vgg19Layers.IndexOf(deepest) + 1))
        {
            if (layer.StartsWith("conv"))
            {
                var spec = Vgg19Layers.Convolutions.First(s => s.Name == layer);
                var g = new Conv2dGeometry(1, c, h, w, spec.OutChannels, 3, 3, 1, 1);
                x = Reference.Conv2dForward(g, x, weights.Kernels[layer].Select(v => (double)v).ToArray(),
                    weights.Biases[layer].Select(v => (double)v).ToArray(), relu: true);
                c = spec.OutChannels;
            }
            else
            {
                var g = new Pool2dGeometry(1, c, h, w);
                x = pooling == Pooling.Max ? Reference.MaxPool2dForward(g, x) : Reference.AvgPool2dForward(g, x);
                h /= 2; w /= 2;
            }
            Activations[layer] = x;
            Shapes[layer] = (c, h, w);
        }
    }

    public double Evaluate(double[] image, int h, int w, IReadOnlyList<Loss> losses, double tvWeight)
    {
        Forward(image, h, w, Deepest(losses));
        double total = tvWeight * Reference.TotalVariation(image, h, w, 1);
        foreach (var l in losses)
        {
            var f = Activations[l.Layer];
            var (c, lh, lw) = Shapes[l.Layer];
            total += l.Style
                ? Reference.StyleLoss(Reference.GramForward(1, c, lh * lw, l.GramScale, f), l.Target, l.Weight, l.D)
                : Reference.ContentLoss(f, l.Target, l.Weight);
        }
        return total;
    }

    static string Deepest(IReadOnlyList<Loss> losses) => losses.MaxBy(l => Vgg19Layers.IndexOf(l.Layer))!.Layer;

    /// <summary>
    /// dLoss/dimage and dLoss/dw of the first convolution, by the chain rule through the reference
    /// backward ops. With `activations` (the device's forward pass), the backward routes through the
    /// same ReLU masks and max-pooling choices the device made: at a near-tie in a pooling window,
    /// float32 and float64 may pick different maxima, and max is not differentiable there.
    /// </summary>
    public (double[] Image, double[] Conv1_1Weights) Gradient(double[] image, int h, int w, IReadOnlyList<Loss> losses, double tvWeight,
        IReadOnlyDictionary<string, double[]>? activations = null)
    {
        string deepest = Deepest(losses);
        Forward(image, h, w, deepest);
        if (activations is not null)
            foreach (var (layer, values) in activations) Activations[layer] = values;
        var layers = Vgg19Layers.Order.Take(Vgg19Layers.IndexOf(deepest) + 1).ToList();
        var grads = layers.ToDictionary(l => l, l => new double[Activations[l].Length]);
        foreach (var l in losses)
        {
            var f = Activations[l.Layer];
            var (c, lh, lw) = Shapes[l.Layer];
            var g = l.Style
                ? Reference.GramBackward(1, c, lh * lw, l.GramScale, f,
                    Reference.StyleLossBackward(Reference.GramForward(1, c, lh * lw, l.GramScale, f), l.Target, l.Weight, l.D))
                : Reference.ContentLossBackward(f, l.Target, l.Weight);
            Accumulate(grads[l.Layer], g);
        }
        double[] dConv11 = Array.Empty<double>();
        double[] dImage = new double[image.Length];
        for (int i = layers.Count - 1; i >= 0; i--)
        {
            string layer = layers[i];
            var input = i == 0 ? image : Activations[layers[i - 1]];
            var (ic, ih, iw) = i == 0 ? (3, h, w) : Shapes[layers[i - 1]];
            var dInput = i == 0 ? dImage : grads[layers[i - 1]];
            if (layer.StartsWith("conv"))
            {
                var spec = Vgg19Layers.Convolutions.First(s => s.Name == layer);
                var g = new Conv2dGeometry(1, ic, ih, iw, spec.OutChannels, 3, 3, 1, 1);
                var dPre = Reference.ReluBackward(Activations[layer], grads[layer]);
                Accumulate(dInput, Reference.Conv2dBackwardInput(g, weights.Kernels[layer].Select(v => (double)v).ToArray(), dPre));
                if (layer == "conv1_1") dConv11 = Reference.Conv2dBackwardWeights(g, input, dPre);
            }
            else
            {
                var g = new Pool2dGeometry(1, ic, ih, iw);
                Accumulate(dInput, pooling == Pooling.Max ? Reference.MaxPool2dBackward(g, input, grads[layer]) : Reference.AvgPool2dBackward(g, grads[layer]));
            }
        }
        Accumulate(dImage, Reference.TotalVariationBackward(image, h, w, tvWeight));
        return (dImage, dConv11);
    }

    static void Accumulate(double[] into, double[] add)
    {
        for (int i = 0; i < into.Length; i++) into[i] += add[i];
    }
}
