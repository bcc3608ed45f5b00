using IlgpuStyle.Autodiff;
using IlgpuStyle.Devices;
using IlgpuStyle.Model;
using IlgpuStyle.Ops;
using IlgpuStyle.Optimizers;
using IlgpuStyle.Tensors;

namespace IlgpuStyle.Transfer;

/// <summary>The three parts of the loss at the last evaluation.</summary>
public readonly record struct LossBreakdown(double Content, double Style, double Tv)
{
    public double Total => Content + Style + Tv;
}

/// <summary>
/// The style-transfer loss of one image size as an <see cref="IObjective"/>: each evaluation
/// records VGG19 and the losses on the tape, runs backward, and reads the loss slots back (the
/// one host synchronization of an evaluation). Targets (content features P, blended style Grams
/// A) are computed once in the constructor; every buffer is allocated there too.
/// </summary>
public sealed class StyleObjective : IObjective, IDisposable
{
    readonly Vgg19 vgg;
    readonly Vgg19Activations activations;
    readonly Tape tape = new();
    readonly List<(string Layer, Tensor Target, float Weight)> content = new();
    readonly List<(string Layer, Tensor Gram, Tensor Target, float Weight)> style = new();
    readonly float tvWeight;
    readonly KernelVariant? gramVariant;
    readonly List<Tensor> owned = new();

    public Tensor X { get; }
    public Tensor Gradient { get; }
    public LossBreakdown Last { get; private set; }
    public Tape Tape => tape;

    /// <param name="contentImage">The preprocessed content image, same shape as X.</param>
    /// <param name="styleImages">Preprocessed style images (any sizes) with their blend weights (summing to 1).</param>
    public StyleObjective(Vgg19 vgg, Tensor x, Tensor contentImage, IReadOnlyList<(Tensor Image, double Blend)> styleImages,
        StyleTransferOptions o)
    {
        this.vgg = vgg;
        X = x;
        tvWeight = (float)o.TvWeight;
        gramVariant = o.GramVariant;
        var device = x.Device;
        var contentLayers = o.ContentLayers.Select(Vgg19Layers.Canonical).ToList();
        var styleLayers = o.StyleLayers.Select(Vgg19Layers.Canonical).ToList();
        string deepest = contentLayers.Concat(styleLayers).MaxBy(Vgg19Layers.IndexOf)!;
        activations = vgg.Plan(x.Shape, deepest);

        // Content targets P: the content image's features.
        using (var targets = new Tape())
        {
            vgg.Forward(targets, contentImage, activations);
            foreach (var layer in contentLayers)
            {
                var p = Own(new Tensor(device, activations[layer].Shape, "P_" + layer));
                Op.Copy(p, activations[layer]);
                content.Add((layer, p, (float)(o.ContentWeight / contentLayers.Count)));
            }
        }

        // Style targets A = Σ_i blend_i · Gram(style image i), each style at its own size.
        var layerWeights = o.StyleLayerWeights ?? styleLayers.Select(_ => 1.0 / styleLayers.Count).ToList();
        for (int l = 0; l < styleLayers.Count; l++)
        {
            var shape = Op.GramShape(activations[styleLayers[l]].Shape);
            var target = Own(new Tensor(device, shape, "A_" + styleLayers[l]));
            Op.Fill(target, 0f);
            style.Add((styleLayers[l], Own(new Tensor(device, shape, "G_" + styleLayers[l])), target, (float)(o.StyleWeight * layerWeights[l])));
        }
        foreach (var (image, blend) in styleImages)
        {
            using var styleActs = vgg.Plan(image.Shape, styleLayers.MaxBy(Vgg19Layers.IndexOf)!);
            using var targets = new Tape();
            vgg.Forward(targets, image, styleActs);
            foreach (var (layer, gram, target, _) in style)
            {
                var f = styleActs[layer];
                Op.GramForward(f, gram, GramScale(f.Shape), gramVariant);
                Op.Axpy(target, (float)blend, gram);
            }
        }

        tape.RequireGradient(X);
        Gradient = tape.Gradient(X);
    }

    Tensor Own(Tensor t) { owned.Add(t); return t; }

    /// <summary>1/(C·H·W): the Gram normalization.</summary>
    static float GramScale(Shape4 f) => 1f / ((float)f.C * f.H * f.W);

    /// <summary>Records the forward pass on the tape (no backward); the loss slots hold the values afterwards.</summary>
    public void Forward()
    {
        tape.Clear();
        vgg.Forward(tape, X, activations);
        int slot = 0;
        foreach (var (layer, target, weight) in content)
            tape.ContentLoss(layer, activations[layer], target, weight, slot++);
        foreach (var (layer, gram, target, weight) in style)
        {
            tape.Gram(layer, activations[layer], gram, GramScale(activations[layer].Shape), gramVariant);
            tape.StyleLoss(layer, gram, target, weight, 0.25f, slot++);
        }
        if (tvWeight > 0) tape.TotalVariation("image", X, tvWeight, slot);
    }

    public double Evaluate()
    {
        Forward();
        tape.Backward();
        var values = Op.ReadScalars(X.Device, content.Count + style.Count + 1);
        double c = 0, s = 0;
        for (int i = 0; i < content.Count; i++) c += values[i];
        for (int i = 0; i < style.Count; i++) s += values[content.Count + i];
        Last = new LossBreakdown(c, s, tvWeight > 0 ? values[content.Count + style.Count] : 0);
        return Last.Total;
    }

    public void Dispose()
    {
        tape.Dispose();
        activations.Dispose();
        foreach (var t in owned) t.Dispose();
    }
}
