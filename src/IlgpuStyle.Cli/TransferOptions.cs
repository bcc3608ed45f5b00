using System.CommandLine;
using System.Globalization;
using IlgpuStyle.Devices;
using IlgpuStyle.Model;
using IlgpuStyle.Transfer;

namespace IlgpuStyle.Cli;

/// <summary>The options of `ilgpustyle transfer`, named as jcjohnson/neural-style names them.</summary>
sealed class TransferOptions
{
    static readonly StyleTransferOptions Defaults = new() { ContentPath = "", StylePaths = Array.Empty<string>() };

    readonly Option<string> content = new("--content", "-c") { Description = "Content image", Required = true };
    readonly Option<string[]> style = new("--style", "-s") { Description = "Style image (repeat for several)", AllowMultipleArgumentsPerToken = false };
    readonly Option<string?> blend = new("--style-blend-weights") { Description = "Weights of the styles, e.g. 3,1 (default equal)" };
    readonly Option<string> output = new("--output", "-o") { Description = "Output image (.png, .jpg)", DefaultValueFactory = _ => Defaults.OutputPath };
    readonly Option<int> imageSize = new("--image-size") { Description = "Longest side of the output in pixels", DefaultValueFactory = _ => Defaults.ImageSize };
    readonly Option<double> styleScale = new("--style-scale") { Description = "Style images are resized to image-size × this", DefaultValueFactory = _ => 1.0 };
    readonly Option<double> contentWeight = new("--content-weight") { Description = "α: weight of ½Σ(F−P)²", DefaultValueFactory = _ => Defaults.ContentWeight };
    readonly Option<double> styleWeight = new("--style-weight") { Description = "β: weight of Σ_l w_l·¼Σ(G−A)² (G = FFᵀ/CHW)", DefaultValueFactory = _ => Defaults.StyleWeight };
    readonly Option<double> tvWeight = new("--tv-weight") { Description = "γ: total-variation weight", DefaultValueFactory = _ => Defaults.TvWeight };
    readonly Option<string> contentLayers = new("--content-layers") { Description = "Comma-separated layers", DefaultValueFactory = _ => string.Join(",", Defaults.ContentLayers) };
    readonly Option<string> styleLayers = new("--style-layers") { Description = "Comma-separated layers", DefaultValueFactory = _ => string.Join(",", Defaults.StyleLayers) };
    readonly Option<string?> styleLayerWeights = new("--style-layer-weights") { Description = "w_l per style layer, comma-separated, or auto (∝ 1/C_l², Gatys's weighting); default 1/L each" };
    readonly Option<string> pooling = new("--pooling") { Description = "max|avg", DefaultValueFactory = _ => "avg" };
    readonly Option<string> optimizer = new("--optimizer") { Description = "lbfgs|adam", DefaultValueFactory = _ => "lbfgs" };
    readonly Option<double?> learningRate = new("--learning-rate") { Description = "Adam step in pixel units (default 10); L-BFGS first step (default 1)" };
    readonly Option<int> iterations = new("--iterations", "-n") { Description = "Optimizer iterations (per scale)", DefaultValueFactory = _ => Defaults.Iterations };
    readonly Option<string> init = new("--init") { Description = "random|content|image", DefaultValueFactory = _ => "content" };
    readonly Option<string?> initImage = new("--init-image") { Description = "Starting image for --init image" };
    readonly Option<int> seed = new("--seed") { Description = "Seed of the random start (same seed, same device: same image)", DefaultValueFactory = _ => 0 };
    readonly Option<bool> originalColors = new("--original-colors") { Description = "Keep the content's colours (luminance-only transfer, YIQ)" };
    readonly Option<int> scales = new("--scales") { Description = "Coarse-to-fine scales, each twice the last", DefaultValueFactory = _ => 1 };
    readonly Option<string?> weights = new("--weights") { Description = "VGG19 HDF5 weights (default: weights/*.h5, else random weights)" };
    readonly Option<string?> device = new("--device") { Description = "cuda|opencl|cpu, optionally :N (default: the fastest found)" };
    readonly Option<int> printEvery = new("--print-every") { Description = "Print losses every N iterations when not on a terminal", DefaultValueFactory = _ => 10 };
    readonly Option<int> saveEvery = new("--save-every") { Description = "Write an intermediate image every N iterations", DefaultValueFactory = _ => 0 };
    readonly Option<int> checkpointEvery = new("--checkpoint-every") { Description = "Save image and optimizer state to <output>.ckpt every N iterations", DefaultValueFactory = _ => 0 };
    readonly Option<string?> resume = new("--resume") { Description = "Continue from a checkpoint (same options, more --iterations)" };
    readonly Option<string?> log = new("--log") { Description = "CSV with iteration,content,style,tv,total,ms per iteration" };
    readonly Option<string?> conv = new("--conv") { Description = "Convolution kernels: naive|blocked|tiled|direct|rows (default: per device)" };
    readonly Option<string?> gram = new("--gram") { Description = "Gram kernels: naive|blocked|tiled|rows (default: per device)" };
    readonly Option<string> colorControl = new("--color-control") { Description = "none|luminance|histogram: transfer on luminance only, or give the styles the content's colour statistics first", DefaultValueFactory = _ => "none" };
    readonly Option<string> histogramMode = new("--histogram-mode") { Description = "chol|pca|sym: the linear colour map of --color-control histogram", DefaultValueFactory = _ => "pca" };
    readonly Option<string[]> contentMask = new("--content-mask") { Description = "Guidance image of the output, one per --style: where style i goes (white)", AllowMultipleArgumentsPerToken = false };
    readonly Option<string[]> styleMask = new("--style-mask") { Description = "Guidance image of each style image, one per --style: the part of it that counts (white)", AllowMultipleArgumentsPerToken = false };
    readonly Option<string?> fineStyle = new("--fine-style") { Description = "Scale control: style of the layers before --style-split (with --coarse-style, instead of --style)" };
    readonly Option<string?> coarseStyle = new("--coarse-style") { Description = "Scale control: style of --style-split and the layers after it" };
    readonly Option<string> styleSplit = new("--style-split") { Description = "The first style layer that takes the coarse style", DefaultValueFactory = _ => Defaults.StyleSplitLayer };
    readonly Option<bool> normalizeGradients = new("--normalize-gradients") { Description = "Divide each loss layer's gradient by its L1 norm (neural-style's -normalize_gradients)" };
    readonly Option<bool> keepBest = new("--keep-best") { Description = "Write the image of the lowest loss (last scale), not the last iteration's" };

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { content, style, blend, output, imageSize, styleScale, contentWeight, styleWeight, tvWeight,
                     contentLayers, styleLayers, styleLayerWeights, pooling, optimizer, learningRate, iterations, init, initImage, seed,
                     originalColors, scales, weights, device, printEvery, saveEvery, checkpointEvery, resume, log, conv, gram,
                     colorControl, histogramMode, contentMask, styleMask, fineStyle, coarseStyle, styleSplit, normalizeGradients, keepBest })
            command.Options.Add(o);
    }

    public string? DeviceSpec(ParseResult p) => p.GetValue(device);
    public int PrintEvery(ParseResult p) => Math.Max(1, p.GetValue(printEvery));

    public StyleTransferOptions Read(ParseResult p) => new()
    {
        ContentPath = p.GetValue(content)!,
        StylePaths = p.GetValue(style) ?? Array.Empty<string>(),
        StyleBlendWeights = Numbers(p.GetValue(blend), "--style-blend-weights"),
        OutputPath = p.GetValue(output)!,
        ImageSize = p.GetValue(imageSize),
        StyleScale = p.GetValue(styleScale),
        ContentWeight = p.GetValue(contentWeight),
        StyleWeight = p.GetValue(styleWeight),
        TvWeight = p.GetValue(tvWeight),
        ContentLayers = Names(p.GetValue(contentLayers)),
        StyleLayers = Names(p.GetValue(styleLayers)),
        StyleLayerWeights = IsAuto(p.GetValue(styleLayerWeights)) ? null : Numbers(p.GetValue(styleLayerWeights), "--style-layer-weights"),
        AutoStyleLayerWeights = IsAuto(p.GetValue(styleLayerWeights)),
        Pooling = Cli.ParsePooling(p.GetValue(pooling)!),
        Optimizer = p.GetValue(optimizer)!.ToLowerInvariant() switch
        {
            "lbfgs" or "l-bfgs" => OptimizerKind.Lbfgs,
            "adam" => OptimizerKind.Adam,
            var other => throw new ArgumentException($"--optimizer must be lbfgs or adam, got '{other}'"),
        },
        LearningRate = p.GetValue(learningRate),
        Iterations = p.GetValue(iterations),
        Init = p.GetValue(init)!.ToLowerInvariant() switch
        {
            "random" => InitKind.Random,
            "content" => InitKind.Content,
            "image" => InitKind.Image,
            var other => throw new ArgumentException($"--init must be random, content or image, got '{other}'"),
        },
        InitImagePath = p.GetValue(initImage),
        Seed = p.GetValue(seed),
        OriginalColors = p.GetValue(originalColors),
        Scales = p.GetValue(scales),
        WeightsPath = p.GetValue(weights),
        SaveEvery = p.GetValue(saveEvery),
        CheckpointEvery = p.GetValue(checkpointEvery),
        ResumePath = p.GetValue(resume),
        LogPath = p.GetValue(log),
        ConvVariant = Variant(p.GetValue(conv), "--conv"),
        GramVariant = Variant(p.GetValue(gram), "--gram"),
        ColorControl = p.GetValue(colorControl)!.ToLowerInvariant() switch
        {
            "none" => ColorControl.None,
            "luminance" => ColorControl.Luminance,
            "histogram" => ColorControl.Histogram,
            var other => throw new ArgumentException($"--color-control must be none, luminance or histogram, got '{other}'"),
        },
        HistogramMode = p.GetValue(histogramMode)!.ToLowerInvariant() switch
        {
            "chol" or "cholesky" => HistogramMode.Cholesky,
            "pca" => HistogramMode.Pca,
            "sym" or "symmetric" => HistogramMode.Symmetric,
            var other => throw new ArgumentException($"--histogram-mode must be chol, pca or sym, got '{other}'"),
        },
        ContentMasks = NullIfEmpty(p.GetValue(contentMask)),
        StyleMasks = NullIfEmpty(p.GetValue(styleMask)),
        FineStylePath = p.GetValue(fineStyle),
        CoarseStylePath = p.GetValue(coarseStyle),
        StyleSplitLayer = p.GetValue(styleSplit)!,
        NormalizeGradients = p.GetValue(normalizeGradients),
        KeepBest = p.GetValue(keepBest),
    };

    static bool IsAuto(string? s) => string.Equals(s?.Trim(), "auto", StringComparison.OrdinalIgnoreCase);

    static IReadOnlyList<string>? NullIfEmpty(string[]? values) => values is { Length: > 0 } ? values : null;

    static IReadOnlyList<string> Names(string? s) =>
        (s ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    static IReadOnlyList<double>? Numbers(string? s, string option)
    {
        if (s is null) return null;
        return Names(s).Select(v => double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)
            ? d : throw new ArgumentException($"{option}: '{v}' is not a number")).ToList();
    }

    /// <summary>`--conv` takes every variant; `--gram` those the Gram matrix has (no Direct): a variant an op lacks is refused, never substituted.</summary>
    internal static KernelVariant? Variant(string? s, string option)
    {
        var allowed = option == "--gram" ? Ops.Op.GramVariants : Enum.GetValues<KernelVariant>();
        return s is null ? null
            : Enum.TryParse<KernelVariant>(s, ignoreCase: true, out var v) && !int.TryParse(s, out _) && allowed.Contains(v) ? v
            : throw new ArgumentException($"{option} must be {string.Join(", ", allowed.Select(n => n.ToString().ToLowerInvariant()))}, got '{s}'");
    }
}
