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

/// <summary>A guidance mask: one value in [0, 1] per pixel of an image, row-major (Gatys et al. 2017's guidance channel).</summary>
public sealed record Guide(float[] Values, int Width, int Height, string Source);

/// <summary>A style image and where its Gram matrices go.</summary>
/// <param name="Image">Preprocessed style image (any size).</param>
/// <param name="Blend">Its share of its region's target (the shares of a region sum to 1).</param>
/// <param name="Mask">The part of the style image that counts (null: all of it).</param>
/// <param name="Region">Index of the output region whose target it feeds.</param>
/// <param name="Layers">The style layers it supplies (null: all).</param>
public sealed record StyleSource(Tensor Image, double Blend, Guide? Mask = null, int Region = 0, IReadOnlySet<string>? Layers = null);

/// <summary>A region of the output with its own style target: Mask null is the whole image.</summary>
public sealed record StyleRegion(Guide? Mask, double Weight);

/// <summary>
/// The style-transfer loss of one image size as an <see cref="IObjective"/>: each evaluation
/// records VGG19 and the losses on the tape, runs backward, and reads the loss slots back (the
/// one host synchronization of an evaluation). Targets (content features P, style Grams A per
/// layer and region) are computed once in the constructor; every buffer is allocated there too.
///
/// Spatial control (Gatys et al. 2017): a region r with guidance mask T_r (resized to each layer by
/// the network's own 2×2 average pooling) has the guided Gram G_r = (F⊙T_r)(F⊙T_r)ᵀ/(C·ΣT_r²),
/// and the style image's mask gives its target the same way; with T = 1 everywhere this is the
/// plain G = FFᵀ/(CHW). Gradient normalization puts a <see cref="Tape.NormalizeGradient"/> node
/// between each loss layer and its losses.
/// </summary>
/// <summary>An objective that says its terms: the whole image's (<see cref="StyleObjective"/>) or tile by tile (<see cref="TiledObjective"/>).</summary>
public interface IStyleObjective : IObjective, IDisposable
{
    LossBreakdown Last { get; }
}

public sealed class StyleObjective : IStyleObjective
{
    sealed record ContentTerm(string Layer, Tensor Target, float Weight, Tensor? Normalized);
    sealed record StyleTerm(string Layer, int Region, Tensor? Mask, Tensor? Masked, Tensor Gram, Tensor Target, float Weight, float GramScale);

    readonly Network network;
    readonly Activations activations;
    readonly Tape tape = new();
    readonly List<ContentTerm> content = new();
    readonly List<StyleTerm> style = new();
    readonly Dictionary<string, (Tensor Copy, float Scale)> normalizedStyle = new();
    readonly float tvWeight;
    readonly KernelVariant? gramVariant;
    readonly List<Tensor> owned = new();
    readonly int slots;

    public Tensor X { get; }
    public Tensor Gradient { get; }
    public LossBreakdown Last { get; private set; }
    public Tape Tape => tape;

    /// <summary>Each style term's Gram matrix (as of the last evaluation) and its target, by layer and region.</summary>
    public IReadOnlyList<(string Layer, int Region, Tensor Gram, Tensor Target)> StyleGrams =>
        style.Select(t => (t.Layer, t.Region, t.Gram, t.Target)).ToList();

    /// <summary>The features each loss layer reads (as of the last evaluation), content layers first, each layer once.</summary>
    public IReadOnlyList<(string Layer, Tensor Features)> LossFeatures =>
        content.Select(t => t.Layer).Concat(style.Select(t => t.Layer)).Distinct().Select(l => (l, activations[l])).ToList();

    /// <param name="contentImage">The preprocessed content image, same shape as X.</param>
    /// <param name="styleImages">Preprocessed style images (any sizes) with their blend weights (summing to 1).</param>
    public StyleObjective(Network network, Tensor x, Tensor contentImage, IReadOnlyList<(Tensor Image, double Blend)> styleImages,
        StyleTransferOptions o)
        : this(network, x, contentImage, styleImages.Select(s => new StyleSource(s.Image, s.Blend)).ToList(), new[] { new StyleRegion(null, 1.0) }, o)
    {
    }

    /// <param name="sources">Style images, each feeding one region's targets at some layers.</param>
    /// <param name="regions">The output's regions (one unmasked region without spatial control).</param>
    public StyleObjective(Network network, Tensor x, Tensor contentImage, IReadOnlyList<StyleSource> sources, IReadOnlyList<StyleRegion> regions,
        StyleTransferOptions o)
    {
        this.network = network;
        X = x;
        tvWeight = (float)o.TvWeight;
        gramVariant = o.GramVariant;
        var contentLayers = o.ContentLayers.Select(network.Description.Canonical).ToList();
        var styleLayers = o.StyleLayers.Select(network.Description.Canonical).ToList();
        activations = network.Plan(x.Shape, o.DeepestLayer);
        AddContentTerms(o, contentImage, contentLayers);
        AddStyleTerms(o, styleLayers, regions);
        foreach (var source in sources) AddToStyleTargets(source, styleLayers);

        // The loss slots Forward fills and Evaluate reads back: content terms, then style terms, then TV.
        slots = content.Count + style.Count + 1;
        Check.That("StyleObjective", slots < Op.ScalarSlots, $"{slots - 1} loss terms are more than the device's {Op.ScalarSlots - 2} slots");
        tape.RequireGradient(X);
        Gradient = tape.Gradient(X);
    }

    /// <summary>Content targets P: the content image's features at each content layer, with their weights α/(layers).</summary>
    void AddContentTerms(StyleTransferOptions o, Tensor contentImage, IReadOnlyList<string> contentLayers)
    {
        var device = X.Device;
        using (var targets = new Tape())
        {
            network.Forward(targets, contentImage, activations);
            foreach (var layer in contentLayers)
            {
                var p = Own(new Tensor(device, activations[layer].Shape, "P_" + layer));
                Op.Copy(p, activations[layer]);
                float weight = (float)(o.ContentWeight / contentLayers.Count);
                var normalized = o.NormalizeGradients ? Own(new Tensor(device, p.Shape, "normalized_" + layer)) : null;
                content.Add(new ContentTerm(layer, p, weight, normalized));
            }
        }
    }

    /// <summary>One term per style layer and region: its mask at the layer's resolution, its Gram matrix and a zeroed target.</summary>
    void AddStyleTerms(StyleTransferOptions o, IReadOnlyList<string> styleLayers, IReadOnlyList<StyleRegion> regions)
    {
        var device = X.Device;
        var layerWeights = LayerWeights(o, styleLayers);
        for (int l = 0; l < styleLayers.Count; l++)
        {
            string layer = styleLayers[l];
            var f = activations[layer].Shape;
            if (o.NormalizeGradients)
                normalizedStyle[layer] = (Own(new Tensor(device, f, "normalized_" + layer)), (float)(o.StyleWeight * layerWeights[l]));
            for (int r = 0; r < regions.Count; r++)
            {
                var shape = Op.GramShape(f);
                var target = Own(new Tensor(device, shape, $"A_{layer}{Suffix(r, regions)}"));
                Op.Fill(target, 0f);
                Tensor? mask = null, masked = null;
                float scale = GramScale(f);
                if (regions[r].Mask is { } guide)
                {
                    var values = GuideAt(guide, network.Description, layer, f);
                    scale = GuidedGramScale(values, f.C);
                    mask = Own(Tensor.FromArray(device, new Shape4(1, 1, f.H, f.W), values, $"mask_{layer}{Suffix(r, regions)}"));
                    masked = Own(new Tensor(device, f, $"masked_{layer}{Suffix(r, regions)}"));
                }
                style.Add(new StyleTerm(layer, r, mask, masked, Own(new Tensor(device, shape, $"G_{layer}{Suffix(r, regions)}")), target,
                    (float)(o.StyleWeight * layerWeights[l] * regions[r].Weight), scale));
            }
        }
    }

    /// <summary>A source's share of the targets: A_{l,r} += blend · (guided) Gram of the source at each layer it supplies.</summary>
    void AddToStyleTargets(StyleSource source, IReadOnlyList<string> styleLayers) =>
        AddToStyleTargets(network, source, style.Where(t => t.Region == source.Region).Select(t => (t.Layer, t.Target)).ToList(), styleLayers, gramVariant);

    /// <summary>A_l += blend · (guided) Gram of the source at each of the given terms' layers that it supplies.</summary>
    internal static void AddToStyleTargets(Network network, StyleSource source, IReadOnlyList<(string Layer, Tensor Target)> terms,
        IReadOnlyList<string> styleLayers, KernelVariant? gramVariant)
    {
        var device = source.Image.Device;
        var used = styleLayers.Where(l => source.Layers is null || source.Layers.Contains(l)).ToList();
        if (used.Count == 0) return;
        using var styleActs = network.Plan(source.Image.Shape, network.Description.Deepest(used));
        using var targets = new Tape();
        network.Forward(targets, source.Image, styleActs);
        foreach (var term in terms.Where(t => used.Contains(t.Layer)))
        {
            var f = styleActs[term.Layer];
            using var gram = new Tensor(device, term.Target.Shape, "A_part");
            if (source.Mask is { } guide)
            {
                var values = GuideAt(guide, network.Description, term.Layer, f.Shape);
                using var mask = Tensor.FromArray(device, new Shape4(1, 1, f.Shape.H, f.Shape.W), values, "style_mask");
                using var masked = new Tensor(device, f.Shape, "style_masked");
                Op.MaskForward(f, mask, masked);
                Op.GramForward(masked, gram, GuidedGramScale(values, f.Shape.C), gramVariant);
            }
            else Op.GramForward(f, gram, GramScale(f.Shape), gramVariant);
            Op.Axpy(term.Target, (float)source.Blend, gram);
        }
    }

    static string Suffix(int region, IReadOnlyList<StyleRegion> regions) => regions.Count > 1 ? $"_r{region}" : "";

    /// <summary>w_l: the given list, 1/C_l² normalized to sum 1 (auto), or 1/L each.</summary>
    public static IReadOnlyList<double> LayerWeights(StyleTransferOptions o, IReadOnlyList<string> styleLayers)
    {
        if (o.StyleLayerWeights is { } given) return given;
        if (!o.AutoStyleLayerWeights) return styleLayers.Select(_ => 1.0 / styleLayers.Count).ToList();
        var raw = styleLayers.Select(l =>
        {
            int c = o.Network.Channels(l);
            return 1.0 / ((double)c * c);
        }).ToList();
        double sum = raw.Sum();
        return raw.Select(w => w / sum).ToList();
    }

    /// <summary>
    /// The guidance mask at a layer's resolution: the mask (already at the image's size) average-pooled 2×2 once per halving
    /// of the size on the way to the layer (VGG19's poolings; ResNet18's strided convolutions and pool), as the network
    /// shrinks its features; where a halving rounds up (an odd side through a padded stride-2 layer), the last window
    /// averages what it holds. Fails with one line if nothing of the region is left there.
    /// </summary>
    public static float[] GuideAt(Guide guide, NetworkDescription network, string layer, Shape4 features)
    {
        float[] values = guide.Values;
        int w = guide.Width, h = guide.Height;
        foreach (bool roundUp in network.Halvings(layer))
        {
            int w2 = roundUp ? (w + 1) / 2 : w / 2, h2 = roundUp ? (h + 1) / 2 : h / 2;
            var next = new float[w2 * h2];
            for (int y = 0; y < h2; y++)
                for (int xx = 0; xx < w2; xx++)
                {
                    int i = 2 * y * w + 2 * xx;
                    if (2 * y + 1 < h && 2 * xx + 1 < w)
                        next[y * w2 + xx] = 0.25f * (values[i] + values[i + 1] + values[i + w] + values[i + w + 1]);
                    else
                    {
                        // A window cut by the border (a side rounded up): the mean of what it holds.
                        double sum = 0; int count = 0;
                        for (int dy = 0; dy < 2 && 2 * y + dy < h; dy++)
                            for (int dx = 0; dx < 2 && 2 * xx + dx < w; dx++) { sum += values[i + dy * w + dx]; count++; }
                        next[y * w2 + xx] = (float)(sum / count);
                    }
                }
            (values, w, h) = (next, w2, h2);
        }
        if (w != features.W || h != features.H)
            throw new ArgumentException($"mask '{guide.Source}' is {guide.Width}×{guide.Height}, which gives {w}×{h} at {layer}, not the features' {features.W}×{features.H}");
        if (!values.Any(v => v > 0))
            throw new ArgumentException($"mask '{guide.Source}' has no pixel left at {layer} ({w}×{h}): its white region is too small for this image size");
        return values;
    }

    /// <summary>
    /// The style loss's constant: E_l = ¼·Σ(G − A)². Gatys et al. write Σ(Ĝ − Â)²/(4N²M²) for unnormalized Gram
    /// matrices Ĝ = FFᵀ; with G = Ĝ/(N·M) (N = C, M = H·W) the 1/(NM)² is in G, and ¼ is what remains.
    /// </summary>
    public const float StyleLossConstant = 0.25f;

    Tensor Own(Tensor t) { owned.Add(t); return t; }

    /// <summary>1/(C·Σt²): the guided Gram matrix's normalization (1/(C·H·W) when the mask t is 1 everywhere).</summary>
    static float GuidedGramScale(float[] mask, int channels) => (float)(1.0 / (channels * mask.Sum(v => (double)v * v)));

    /// <summary>1/(C·H·W): the Gram normalization.</summary>
    internal static float GramScale(Shape4 f) => 1f / ((float)f.C * f.H * f.W);

    /// <summary>Records the forward pass on the tape (no backward); the loss slots hold the values afterwards.</summary>
    public void Forward()
    {
        tape.Clear();
        network.Forward(tape, X, activations);
        int slot = 0;
        foreach (var term in content)
        {
            var f = activations[term.Layer];
            if (term.Normalized is { } copy)
            {
                tape.NormalizeGradient(term.Layer, f, copy, term.Weight);
                f = copy;
            }
            tape.ContentLoss(term.Layer, f, term.Target, term.Weight, slot++);
        }
        foreach (var (layer, (copy, scale)) in normalizedStyle)
            tape.NormalizeGradient(layer, activations[layer], copy, scale);
        foreach (var term in style)
        {
            var f = normalizedStyle.TryGetValue(term.Layer, out var n) ? n.Copy : activations[term.Layer];
            if (term.Mask is not null)
            {
                tape.Mask(term.Layer, f, term.Mask, term.Masked!);
                f = term.Masked!;
            }
            tape.Gram(term.Layer, f, term.Gram, term.GramScale, gramVariant);
            tape.StyleLoss(term.Layer, term.Gram, term.Target, term.Weight, StyleLossConstant, slot++);
        }
        if (tvWeight > 0) tape.TotalVariation("image", X, tvWeight, slot);
    }

    public double Evaluate()
    {
        var device = X.Device;
        using (device.Span("forward", "pass")) Forward();
        using (device.Span("backward", "pass")) tape.Backward();
        float[] values;
        using (device.Span("read losses", "host")) values = Op.ReadScalars(X.Device, slots);
        double c = 0, s = 0;
        for (int i = 0; i < content.Count; i++) c += values[i];
        for (int i = 0; i < style.Count; i++) s += values[content.Count + i];
        Last = new LossBreakdown(c, s, tvWeight > 0 ? values[slots - 1] : 0);
        return Last.Total;
    }

    public void Dispose()
    {
        tape.Dispose();
        activations.Dispose();
        foreach (var t in owned) t.Dispose();
    }
}
