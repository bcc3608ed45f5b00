using IlgpuStyle.Devices;
using IlgpuStyle.Imaging;
using IlgpuStyle.Model;

namespace IlgpuStyle.Transfer;

public enum OptimizerKind { Lbfgs, Adam }
public enum InitKind { Random, Content, Image }

/// <summary>Colour control (Gatys et al. 2017, section 5).</summary>
public enum ColorControl
{
    /// <summary>Colours come from the styles.</summary>
    None,
    /// <summary>Optimize on luminance only (style luminance matched to the content's mean and spread), then put the content's chroma back.</summary>
    Luminance,
    /// <summary>Give each style image the content's colour mean and covariance with a linear map before the transfer.</summary>
    Histogram,
}

/// <summary>
/// Everything a style-transfer run takes. Losses follow Gatys et al.:
///   L = α·Σ_content ½Σ(F − P)²  +  β·Σ_l w_l·¼Σ(G − A)²  +  γ·TV(x)
/// with G = F·Fᵀ/(C·H·W), so ¼Σ(G − A)² is exactly Gatys's Σ(G − A)²/(4N²M²) for the unnormalized
/// Gram matrix (N = C, M = H·W). Pixels are in caffe space (0–255, means subtracted).
/// </summary>
public sealed record StyleTransferOptions
{
    public required string ContentPath { get; init; }
    /// <summary>Style images; empty when <see cref="FineStylePath"/> and <see cref="CoarseStylePath"/> are used instead.</summary>
    public required IReadOnlyList<string> StylePaths { get; init; }
    /// <summary>Relative weights of the styles (normalized to sum 1); null: equal.</summary>
    public IReadOnlyList<double>? StyleBlendWeights { get; init; }
    public string OutputPath { get; init; } = "out/result.png";
    /// <summary>Longest side of the output, pixels.</summary>
    public int ImageSize { get; init; } = 256;
    /// <summary>Style images are resized to ImageSize·StyleScale (longest side).</summary>
    public double StyleScale { get; init; } = 1.0;

    /// <summary>The network whose features the losses compare: VGG19 (a weights file, or seeded random weights) or ResNet18
    /// (the bundled ONNX). Layers, loss weights and pooling not given default to its <see cref="NetworkDescription.Defaults"/>.</summary>
    public NetworkDescription Network { get; init; } = Vgg19Layers.Description;

    double? contentWeight, styleWeight, tvWeight;
    IReadOnlyList<string>? contentLayers, styleLayers;
    Pooling? pooling;
    public double ContentWeight { get => contentWeight ?? Network.Defaults.ContentWeight; init => contentWeight = value; }
    public double StyleWeight { get => styleWeight ?? Network.Defaults.StyleWeight; init => styleWeight = value; }
    public double TvWeight { get => tvWeight ?? Network.Defaults.TvWeight; init => tvWeight = value; }
    public IReadOnlyList<string> ContentLayers { get => contentLayers ?? Network.Defaults.ContentLayers; init => contentLayers = value; }
    public IReadOnlyList<string> StyleLayers { get => styleLayers ?? Network.Defaults.StyleLayers; init => styleLayers = value; }
    /// <summary>w_l per style layer; null: 1/L each.</summary>
    public IReadOnlyList<double>? StyleLayerWeights { get; init; }
    /// <summary>VGG19's 2×2 poolings: max or average (ResNet18's one pooling is always its trained max).</summary>
    public Pooling Pooling { get => pooling ?? Network.Defaults.Pooling; init => pooling = value; }

    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Lbfgs;
    /// <summary>L-BFGS: the line search's first step (1); Adam: the step in pixel units (default 10).</summary>
    public double? LearningRate { get; init; }
    public int LbfgsHistory { get; init; } = Optimizers.LbfgsOptimizer.DefaultHistory;
    public int Iterations { get; init; } = 300;
    /// <summary>Starting image. Content (as the PyTorch tutorial) reaches a good image in far fewer iterations than noise (neural-style's default).</summary>
    public InitKind Init { get; init; } = InitKind.Content;
    public string? InitImagePath { get; init; }
    public int Seed { get; init; }
    public bool OriginalColors { get; init; }
    /// <summary>Coarse-to-fine: optimize at ImageSize/2^(K−1), …, ImageSize, upsampling between.</summary>
    public int Scales { get; init; } = 1;

    public string? WeightsPath { get; init; }

    /// <summary>caffe or torch: what the VGG19 file was trained on (null: known by the file, <see cref="InputPreprocessing.For"/>).</summary>
    public string? Preprocess { get; init; }

    /// <summary>Evaluate the loss tile by tile, interiors of this many pixels (<see cref="TiledObjective"/>): the same result in less memory.</summary>
    public int? Tile { get; init; }
    /// <summary>Seed of the random-weight VGG19 used when no weights file is found.</summary>
    public int RandomWeightsSeed { get; init; } = 1;
    public int SaveEvery { get; init; }
    /// <summary>Write image and optimizer state every N iterations (0: never), to <see cref="Checkpoint.PathFor"/>: the output's path with .ckpt for its extension.</summary>
    public int CheckpointEvery { get; init; }
    /// <summary>Continue from a checkpoint written by a run with the same options.</summary>
    public string? ResumePath { get; init; }
    public string? LogPath { get; init; }
    /// <summary>Profile the run: every launch synchronized and timed, a Chrome trace written here (slower while on; same images).</summary>
    public string? ProfilePath { get; init; }
    public bool WriteLossCurve { get; init; } = true;
    public KernelVariant? ConvVariant { get; init; }
    public KernelVariant? GramVariant { get; init; }

    // ------------------------------------------------------------ controls (Gatys et al. 2017)

    public ColorControl ColorControl { get; init; } = ColorControl.None;
    public HistogramMode HistogramMode { get; init; } = HistogramMode.Pca;
    /// <summary>Guidance images of the output, one per style image: region i of the output takes style i (white = in, black = out).</summary>
    public IReadOnlyList<string>? ContentMasks { get; init; }
    /// <summary>Guidance images of the style images, one per style: the part of style i that supplies its Gram matrices.</summary>
    public IReadOnlyList<string>? StyleMasks { get; init; }
    /// <summary>Scale control: this style supplies the Gram targets of the style layers before <see cref="StyleSplitLayer"/>…</summary>
    public string? FineStylePath { get; init; }
    /// <summary>…and this one those of the split layer and deeper.</summary>
    public string? CoarseStylePath { get; init; }
    string? styleSplitLayer;
    public string StyleSplitLayer { get => styleSplitLayer ?? Network.Defaults.StyleSplitLayer; init => styleSplitLayer = value; }
    /// <summary>Divide each loss layer's gradient by its L1 norm in the backward pass (then multiply by the loss weight), as neural-style does.</summary>
    public bool NormalizeGradients { get; init; }
    bool? autoStyleLayerWeights;
    /// <summary>w_l ∝ 1/C_l² (C_l the layer's channels, as Gatys's own code weights its layers), normalized to sum 1. Default:
    /// the network's (ResNet18: yes, VGG19: no), unless <see cref="StyleLayerWeights"/> are given.</summary>
    public bool AutoStyleLayerWeights
    {
        get => autoStyleLayerWeights ?? (StyleLayerWeights is null && Network.Defaults.AutoStyleLayerWeights);
        init => autoStyleLayerWeights = value;
    }
    /// <summary>Write the image of the lowest loss seen at the last scale, not the last one.</summary>
    public bool KeepBest { get; init; }

    public bool ScaleControl => FineStylePath is not null || CoarseStylePath is not null;

    /// <summary>The style images the run loads: the --style list, or fine then coarse.</summary>
    public IReadOnlyList<string> AllStylePaths => ScaleControl ? new[] { FineStylePath!, CoarseStylePath! } : StylePaths;

    /// <summary>The deepest layer a loss reads: VGG19 runs down to it and no further.</summary>
    public string DeepestLayer => Network.Deepest(ContentLayers.Concat(StyleLayers));

    /// <summary>The scalar slots the losses need: content layers, style layers × regions, TV (one slot is the gradient normalization's).</summary>
    public int LossSlots => ContentLayers.Count + StyleLayers.Count * Math.Max(1, ContentMasks?.Count ?? 1) + 1;

    public double EffectiveLearningRate => LearningRate ?? (Optimizer == OptimizerKind.Adam ? 10.0 : 1.0);

    /// <summary>Checks every value and file before any work; throws ArgumentException with one clear line.</summary>
    public void Validate()
    {
        static void Require(bool ok, string message) { if (!ok) throw new ArgumentException(message); }
        static void Finite(double v, string name) => Require(double.IsFinite(v), $"{name} must be a finite number, got {v}");
        static void Exists(string path, string what) => Require(File.Exists(path), Directory.Exists(path)
            ? $"{what} '{path}' is a directory, not a file" : $"{what} '{path}' does not exist");

        Exists(ContentPath, "content image");
        if (Tile is { } tile)
        {
            int align = Network.LargestJump(DeepestLayer);
            Require(tile > 0 && tile % align == 0, $"--tile must be a positive multiple of {align} ({Network.Name} down to {DeepestLayer} halves the image " +
                                                   $"{(int)Math.Log2(align)} times), got {tile}");
            Require(ContentMasks is null && StyleMasks is null && !NormalizeGradients && !ScaleControl,
                "--tile does not work with --content-mask, --style-mask, --normalize-gradients or --fine-style/--coarse-style yet");
        }
        if (ScaleControl)
        {
            Require(FineStylePath is not null && CoarseStylePath is not null, "scale control needs both --fine-style and --coarse-style");
            Require(StylePaths.Count == 0, "--style cannot be combined with --fine-style/--coarse-style (they are the styles)");
            Require(StyleBlendWeights is null, "--style-blend-weights cannot be combined with --fine-style/--coarse-style");
            Require(ContentMasks is null && StyleMasks is null, "masks cannot be combined with --fine-style/--coarse-style");
            string split = Network.Canonical(StyleSplitLayer);
            var canonical = StyleLayers.Select(Network.Canonical).ToList();
            Require(canonical.Contains(split), $"--style-split '{StyleSplitLayer}' is not one of the style layers ({string.Join(",", StyleLayers)})");
            Require(canonical.Any(l => Network.IndexOf(l) < Network.IndexOf(split)),
                $"--style-split '{StyleSplitLayer}' leaves no style layer before it for the fine style");
        }
        else Require(StylePaths.Count > 0, "at least one --style image is needed");
        foreach (var s in AllStylePaths) Exists(s, "style image");
        foreach (var (masks, name) in new[] { (ContentMasks, "--content-mask"), (StyleMasks, "--style-mask") })
        {
            if (masks is null) continue;
            Require(masks.Count == StylePaths.Count,
                $"{masks.Count} {name} image(s) for {StylePaths.Count} style image(s): give one per --style, in the same order");
            foreach (var m in masks) Exists(m, "mask");
        }
        Require(LossSlots < Ops.Op.ScalarSlots, $"{LossSlots - 1} losses (layers × masks) are more than the {Ops.Op.ScalarSlots - 2} this build can hold");
        if (StyleBlendWeights is not null)
        {
            Require(StyleBlendWeights.Count == StylePaths.Count,
                $"--style-blend-weights has {StyleBlendWeights.Count} values for {StylePaths.Count} style image(s)");
            foreach (var w in StyleBlendWeights) { Finite(w, "a style blend weight"); Require(w >= 0, $"style blend weights must not be negative, got {w}"); }
            Require(StyleBlendWeights.Sum() > 0, "style blend weights must not all be 0");
        }
        Require(ImageSize > 0, $"--image-size must be positive, got {ImageSize}");
        Require(ImageSize <= 8192, $"--image-size {ImageSize} is above 8192");
        Finite(StyleScale, "--style-scale"); Require(StyleScale > 0, $"--style-scale must be positive, got {StyleScale}");
        foreach (var (v, name) in new[] { (ContentWeight, "--content-weight"), (StyleWeight, "--style-weight"), (TvWeight, "--tv-weight") })
        {
            Finite(v, name);
            Require(v >= 0, $"{name} must not be negative, got {v}");
        }
        Require(ContentLayers.Count + StyleLayers.Count > 0, "no content or style layer to optimize");
        foreach (var l in ContentLayers.Concat(StyleLayers)) Network.Canonical(l);   // throws for unknown layers
        foreach (var l in ContentLayers.Concat(StyleLayers))
            Require(Network[l].IsTap, Network[l].Op is LayerOp.Pool2x2 or LayerOp.MaxPoolWindow
                ? $"layer '{l}' is a pooling layer; losses read convolution (ReLU) outputs"
                : $"layer '{l}' has no ReLU after it; losses read ReLU outputs ({Network.Name}: {Network.NamesHelp[4..]})");
        Require(!(AutoStyleLayerWeights && StyleLayerWeights is not null), "--style-layer-weights is either auto or a list of numbers");
        if (StyleLayerWeights is not null)
        {
            Require(StyleLayerWeights.Count == StyleLayers.Count,
                $"--style-layer-weights has {StyleLayerWeights.Count} values for {StyleLayers.Count} style layer(s)");
            foreach (var w in StyleLayerWeights) { Finite(w, "a style layer weight"); Require(w >= 0, $"style layer weights must not be negative, got {w}"); }
        }
        if (LearningRate is { } lr) { Finite(lr, "--learning-rate"); Require(lr > 0, $"--learning-rate must be positive, got {lr}"); }
        Require(Iterations >= 1, $"--iterations must be at least 1, got {Iterations}");
        Require(LbfgsHistory > 0, $"the L-BFGS history must be positive, got {LbfgsHistory}");
        Require(Scales is >= 1 and <= 6, $"--scales must be between 1 and 6, got {Scales}");
        Require(ImageSize >> (Scales - 1) >= 16, $"--scales {Scales} makes the first scale {ImageSize >> (Scales - 1)} px, below VGG19's 16 px minimum");
        Require(SaveEvery >= 0, $"--save-every must not be negative, got {SaveEvery}");
        Require(CheckpointEvery >= 0, $"--checkpoint-every must not be negative, got {CheckpointEvery}");
        if (ResumePath is not null) Exists(ResumePath, "checkpoint");
        if (Init == InitKind.Image)
        {
            Require(InitImagePath is not null, "--init image needs --init-image PATH");
            Exists(InitImagePath!, "init image");
        }
        if (WeightsPath is not null) Exists(WeightsPath, "weights file");

        string ext = Path.GetExtension(OutputPath).ToLowerInvariant();
        Require(ext is ".png" or ".jpg" or ".jpeg", $"output '{OutputPath}' must end in .png, .jpg or .jpeg");
        string output = Path.GetFullPath(OutputPath);
        var inputs = InputPaths().ToList();
        foreach (var input in inputs)
            Require(!SameFile(output, input), $"output '{OutputPath}' is also an input; choose another --output");
        if (LogPath is not null) RequireNotOverwriting("--log", LogPath, inputs.Append(OutputPath));
        if (ProfilePath is not null)
        {
            Require(!Directory.Exists(ProfilePath), $"--profile '{ProfilePath}' is a directory; give a file name such as trace.json");
            RequireNotOverwriting("--profile", ProfilePath, inputs.Append(OutputPath).Concat(LogPath is null ? Array.Empty<string>() : new[] { LogPath }));
        }
    }

    /// <summary>Every file this run reads: content, styles, masks, start image, weights.</summary>
    public IEnumerable<string> InputPaths() =>
        new[] { ContentPath }.Concat(AllStylePaths).Concat(ContentMasks ?? Array.Empty<string>()).Concat(StyleMasks ?? Array.Empty<string>())
            .Concat(InitImagePath is null ? Array.Empty<string>() : new[] { InitImagePath })
            .Concat(WeightsPath is null ? Array.Empty<string>() : new[] { WeightsPath });

    /// <summary>Refuses, in one line, a file an option would write where it is one of `others` (an input or another output).</summary>
    public static void RequireNotOverwriting(string option, string path, IEnumerable<string> others)
    {
        foreach (var other in others)
            if (SameFile(Path.GetFullPath(path), other)) throw new ArgumentException($"{option} '{path}' would overwrite '{other}'");
    }

    static bool SameFile(string fullPath, string other)
    {
        string b = Path.GetFullPath(other);
        if (string.Equals(fullPath, b, StringComparison.Ordinal)) return true;
        try
        {
            var fa = new FileInfo(fullPath); var fb = new FileInfo(b);
            if (fa.Exists && fb.Exists && fa.LinkTarget is null && fb.LinkTarget is null) return false;
            string ra = fa.Exists ? (fa.ResolveLinkTarget(true)?.FullName ?? fa.FullName) : fa.FullName;
            string rb = fb.Exists ? (fb.ResolveLinkTarget(true)?.FullName ?? fb.FullName) : fb.FullName;
            return string.Equals(ra, rb, StringComparison.Ordinal);
        }
        catch (IOException) { return false; }
    }
}
