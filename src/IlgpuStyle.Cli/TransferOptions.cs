using System.CommandLine;
using System.Globalization;
using IlgpuStyle.Devices;
using IlgpuStyle.Imaging;
using IlgpuStyle.Model;
using IlgpuStyle.Transfer;

namespace IlgpuStyle.Cli;

/// <summary>The options of `ilgpustyle transfer`, named as jcjohnson/neural-style names them.</summary>
sealed class TransferOptions
{
    static StyleTransferOptions Defaults(NetworkDescription network) => new() { ContentPath = "", StylePaths = Array.Empty<string>(), Network = network };

    static string Layers(NetworkDescription vgg, Func<TransferDefaults, string[]> pick) =>
        $"{string.Join(",", pick(vgg.Defaults))} for VGG19, {string.Join(",", pick(ResNet18Layers.Description.Defaults))} for ResNet18";

    readonly Option<string> content = new("--content", "-c", "-content_image") { HelpName = "PATH", Description = "Content image (required: with no arguments at all, ilgpustyle runs its demo instead)" };
    readonly Option<string[]> style = new("--style", "-s", "-style_image") { HelpName = "PATH[,PATH…]", Description = "Style image (repeat, or a comma-separated list, for several)", AllowMultipleArgumentsPerToken = false };
    readonly Option<string?> blend = new("--style-blend-weights", "-style_blend_weights") { HelpName = "W,W…", Description = "Weights of the styles, e.g. 3,1 (default equal)" };
    readonly Option<string> output = new("--output", "-o", "-output_image") { HelpName = "PATH", Description = "Output image (.png, .jpg)", DefaultValueFactory = _ => Defaults(Vgg19Layers.Description).OutputPath };
    readonly Option<int> imageSize = new("--image-size", "-image_size") { HelpName = "PX", Description = "Longest side of the output in pixels", DefaultValueFactory = _ => Defaults(Vgg19Layers.Description).ImageSize };
    readonly Option<double> styleScale = new("--style-scale", "-style_scale") { HelpName = "X", Description = "Style images are resized to image-size × this", DefaultValueFactory = _ => 1.0 };
    readonly Option<string?> model = new("--model") { HelpName = "vgg19|resnet18", Description = "The network (default: VGG19 where a VGG19 weights file is given or found, else the bundled trained ResNet18)" };
    readonly Option<double?> contentWeight = new("--content-weight", "-content_weight") { HelpName = "α", Description = $"α: weight of ½Σ(F−P)² (default {Defaults(Vgg19Layers.Description).ContentWeight:G} for VGG19, {Defaults(ResNet18Layers.Description).ContentWeight:G} for ResNet18)" };
    readonly Option<double?> styleWeight = new("--style-weight", "-style_weight") { HelpName = "β", Description = $"β: weight of Σ_l w_l·¼Σ(G−A)² (G = FFᵀ/CHW; default {Defaults(Vgg19Layers.Description).StyleWeight:G} for VGG19, {Defaults(ResNet18Layers.Description).StyleWeight:G} for ResNet18)" };
    readonly Option<double?> tvWeight = new("--tv-weight", "-tv_weight") { HelpName = "γ", Description = $"γ: total-variation weight (default {Defaults(Vgg19Layers.Description).TvWeight:G} for VGG19, {Defaults(ResNet18Layers.Description).TvWeight:G} for ResNet18)" };
    readonly Option<string?> contentLayers = new("--content-layers", "-content_layers") { HelpName = "LAYERS", Description = $"Comma-separated layers (VGG19: conv4_2 or relu4_2, the activation after the ReLU; ResNet18: layer3, layer2.1.conv1, …); default {Layers(Vgg19Layers.Description, d => d.ContentLayers)}" };
    readonly Option<string?> styleLayers = new("--style-layers", "-style_layers") { HelpName = "LAYERS", Description = $"Comma-separated layers; default {Layers(Vgg19Layers.Description, d => d.StyleLayers)}" };
    readonly Option<string?> styleLayerWeights = new("--style-layer-weights") { HelpName = "W,W…|auto|equal", Description = "w_l per style layer, comma-separated, auto (∝ 1/C_l², Gatys's weighting) or equal (1/L each); default equal for VGG19, auto for ResNet18" };
    readonly Option<string?> pooling = new("--pooling", "-pooling") { HelpName = "max|avg", Description = "VGG19's 2×2 poolings (default avg; ResNet18's pooling is its trained max)" };
    readonly Option<string> optimizer = new("--optimizer", "-optimizer") { HelpName = "lbfgs|adam", Description = "L-BFGS (as neural-style) or Adam", DefaultValueFactory = _ => "lbfgs" };
    readonly Option<double?> learningRate = new("--learning-rate", "-learning_rate") { HelpName = "X", Description = "Adam step in pixel units (default 10); L-BFGS first step (default 1)" };
    readonly Option<int> iterations = new("--iterations", "-n", "-num_iterations") { HelpName = "N", Description = "Optimizer iterations per scale (at least 1)", DefaultValueFactory = _ => Defaults(Vgg19Layers.Description).Iterations };
    readonly Option<string> init = new("--init", "-init") { HelpName = "random|content|image", Description = "The starting image: noise, the content image, or --init-image (the content image without it)", DefaultValueFactory = _ => "content" };
    readonly Option<string?> initImage = new("--init-image", "-init_image") { HelpName = "PATH", Description = "Starting image for --init image" };
    readonly Option<int> seed = new("--seed", "-seed") { HelpName = "N", Description = "Seed of the random start (same seed, same device: same image); -1: a random seed (every run prints the one it used)", DefaultValueFactory = _ => 0 };
    readonly Option<bool> originalColors = new("--original-colors", "-original_colors")
        { Description = "Keep the content's colours (luminance-only transfer, YIQ); also -original_colors 0|1" };
    readonly Option<int> lbfgsHistory = new("--lbfgs-history", "-lbfgs_num_correction") { HelpName = "M", Description = "Corrections L-BFGS keeps (0: the default)", DefaultValueFactory = _ => 0 };
    readonly Option<int?> gpu = new("-gpu") { HelpName = "N", Description = "neural-style's device choice: GPU N (CUDA, else OpenCL), -1 for the CPU" };
    readonly Option<string?> backend = new("-backend") { HelpName = "nn|cudnn|clnn", Description = "neural-style's backend: nn (any device), cudnn (CUDA), clnn (OpenCL)" };
    readonly Option<int> scales = new("--scales") { HelpName = "N", Description = "Coarse-to-fine scales, each twice the last", DefaultValueFactory = _ => 1 };
    readonly Option<string?> weights = new("--weights") { HelpName = "PATH", Description = "VGG19 weights: Keras HDF5 or a PyTorch state dict (default: weights/*.h5 or *.pth, the Keras cache, the torch hub cache; `ilgpustyle weights list` shows them), or a ResNet18 ONNX file" };
    readonly Option<string?> preprocess = new("--preprocess") { HelpName = "caffe|torch", Description = "What the VGG19 file was trained on: caffe (BGR 0–255 minus the means: Keras's, Caffe's and neural-style-pt's files) or torch (RGB [0, 1], mean/std: torchvision's); default: known by the file. With torch, the default loss weights are scaled for features about 58× smaller" };
    readonly Option<int?> tile = new("--tile") { HelpName = "PX", Description = "Evaluate the loss tile by tile: interiors of PX pixels (a multiple of 4 to VGG19's conv3_1, 16 to conv5_1, 32 for ResNet18), each with the network's reach around it; the same loss and gradient as the whole image (content and style terms; not with masks, --normalize-gradients or scale control yet)" };
    readonly Option<string?> device = new("--device") { HelpName = "KIND[:N]", Description = "cuda, opencl or cpu, optionally :N (default: the fastest found; `ilgpustyle devices` lists them)" };
    readonly Option<int> printEvery = new("--print-every", "-print_iter") { HelpName = "N", Description = "Print losses every N iterations when not on a terminal (0: quiet)", DefaultValueFactory = _ => 10 };
    readonly Option<int> saveEvery = new("--save-every", "-save_iter") { HelpName = "N", Description = "Write an intermediate image every N iterations, and a contact sheet of them (<output>_sheet.png)", DefaultValueFactory = _ => 0 };
    readonly Option<int> checkpointEvery = new("--checkpoint-every") { HelpName = "N", Description = "Save image and optimizer state every N iterations, to the output's path with .ckpt for its extension (-o out/r.png: out/r.ckpt)", DefaultValueFactory = _ => 0 };
    readonly Option<string?> resume = new("--resume") { HelpName = "PATH", Description = "Continue from a checkpoint (same options, more --iterations)" };
    readonly Option<string?> log = new("--log") { HelpName = "PATH", Description = "CSV with iteration,content,style,tv,total,ms per iteration" };
    readonly Option<string?> conv = new("--conv") { HelpName = "VARIANT", Description = "Convolution kernels: naive|blocked|tiled|direct|rows|winograd (default: per device)" };
    readonly Option<string?> gram = new("--gram") { HelpName = "VARIANT", Description = "Gram kernels: naive|blocked|tiled|rows (default: per device)" };
    readonly Option<string> colorControl = new("--color-control") { HelpName = "none|luminance|histogram", Description = "Transfer on luminance only, or give the styles the content's colour statistics first", DefaultValueFactory = _ => "none" };
    readonly Option<string> histogramMode = new("--histogram-mode") { HelpName = "chol|pca|sym", Description = "The linear colour map of --color-control histogram", DefaultValueFactory = _ => "pca" };
    readonly Option<string[]> contentMask = new("--content-mask") { HelpName = "PATH", Description = "Guidance image of the output, one per --style: where style i goes (white)", AllowMultipleArgumentsPerToken = false };
    readonly Option<string[]> styleMask = new("--style-mask") { HelpName = "PATH", Description = "Guidance image of each style image, one per --style: the part of it that counts (white)", AllowMultipleArgumentsPerToken = false };
    readonly Option<string?> fineStyle = new("--fine-style") { HelpName = "PATH", Description = "Scale control: style of the layers before --style-split (with --coarse-style, instead of --style)" };
    readonly Option<string?> coarseStyle = new("--coarse-style") { HelpName = "PATH", Description = "Scale control: style of --style-split and the layers after it" };
    readonly Option<string?> styleSplit = new("--style-split") { HelpName = "LAYER", Description = $"The first style layer that takes the coarse style (default {Vgg19Layers.Description.Defaults.StyleSplitLayer} for VGG19, {ResNet18Layers.Description.Defaults.StyleSplitLayer} for ResNet18)" };
    readonly Option<bool> normalizeGradients = new("--normalize-gradients", "-normalize_gradients") { Description = "Divide each loss layer's gradient by its L1 norm (neural-style's -normalize_gradients)" };
    readonly Option<string?> profile = new("--profile") { HelpName = "PATH", Description = "Profile the run: time every launch (synchronized, so slower), write a Chrome trace to PATH and print the per-kernel and per-layer tables" };
    readonly Option<bool> noPlot = new("--no-plot") { Description = "Do not draw the loss plot (<output>_loss.png)" };
    readonly Option<bool> keepBest = new("--keep-best") { Description = "Write the image of the lowest loss (last scale), not the last iteration's" };

    readonly bool forExplain;

    public TransferOptions() { }

    TransferOptions(bool forExplain) => this.forExplain = forExplain;

    /// <summary>
    /// `explain` takes the options that shape one evaluation (inputs, loss, controls, device), not those of the optimization
    /// or its files; without --content it uses the bundled images, and its size defaults to 64.
    /// </summary>
    public static TransferOptions ForExplain()
    {
        var options = new TransferOptions(forExplain: true);
        options.content.Description = "Content image (default: the bundled demo image)";
        options.imageSize.DefaultValueFactory = _ => 64;
        return options;
    }

    public const string InputsGroup = "Inputs and output", LossGroup = "Loss: the network and its terms", OptimizerGroup = "Optimizer",
        ControlsGroup = "Controls: colour, regions, scales of style", DeviceGroup = "Device and speed", DiagnosticsGroup = "Diagnostics";

    /// <summary>Every option with the heading `--help` lists it under, and whether `explain` takes it (one evaluation, no run).</summary>
    (Option Option, string Group, bool Explain)[] Table() => new (Option, string, bool)[]
    {
        (content, InputsGroup, true), (style, InputsGroup, true), (blend, InputsGroup, true), (output, InputsGroup, false),
        (imageSize, InputsGroup, true), (styleScale, InputsGroup, true), (keepBest, InputsGroup, false), (saveEvery, InputsGroup, false),
        (checkpointEvery, InputsGroup, false), (resume, InputsGroup, false),
        (model, LossGroup, true), (weights, LossGroup, true), (preprocess, LossGroup, true), (contentWeight, LossGroup, true), (styleWeight, LossGroup, true), (tvWeight, LossGroup, true),
        (contentLayers, LossGroup, true), (styleLayers, LossGroup, true), (styleLayerWeights, LossGroup, true), (pooling, LossGroup, true),
        (normalizeGradients, LossGroup, true),
        (optimizer, OptimizerGroup, false), (iterations, OptimizerGroup, false), (learningRate, OptimizerGroup, false), (lbfgsHistory, OptimizerGroup, false),
        (init, OptimizerGroup, true), (initImage, OptimizerGroup, true), (seed, OptimizerGroup, true), (scales, OptimizerGroup, false),
        (originalColors, ControlsGroup, true), (colorControl, ControlsGroup, true), (histogramMode, ControlsGroup, true),
        (contentMask, ControlsGroup, true), (styleMask, ControlsGroup, true), (fineStyle, ControlsGroup, true), (coarseStyle, ControlsGroup, true),
        (styleSplit, ControlsGroup, true),
        (device, DeviceGroup, true), (tile, DeviceGroup, false), (gpu, DeviceGroup, true), (backend, DeviceGroup, true), (conv, DeviceGroup, true), (gram, DeviceGroup, true),
        (printEvery, DiagnosticsGroup, false), (log, DiagnosticsGroup, false), (noPlot, DiagnosticsGroup, false), (profile, DiagnosticsGroup, false),
    };

    public void AddTo(Command command)
    {
        foreach (var (option, group, explain) in Table())
            if (explain || !forExplain) command.Options.Add(option.In(group));
        if (!forExplain)   // not Required: that would mark it so in the help, and no arguments at all is the demo
            command.Validators.Add(result =>
            {
                if (result.GetResult(content) is null)
                    result.AddError("--content is required: the image to restyle (with no arguments at all, ilgpustyle runs its demo)");
            });
    }

    /// <summary>An option's value; an option this command does not take (explain's) has its default.</summary>
    static T Value<T>(ParseResult p, Option<T> option) =>
        p.CommandResult.Command.Options.Contains(option) ? p.GetValue(option)! : option.HasDefaultValue ? (T)option.GetDefaultValue()! : default!;

    /// <summary>--device, or neural-style's -gpu N / -backend nn|cudnn|clnn (the two ways cannot be mixed).</summary>
    public string? DeviceSpec(ParseResult p)
    {
        string? spec = p.GetValue(device), kind = p.GetValue(backend)?.ToLowerInvariant() switch
        {
            null or "nn" => null,
            "cudnn" or "cuda" => "cuda",
            "clnn" or "opencl" => "opencl",
            var other => throw new ArgumentException($"-backend must be nn, cudnn or clnn, got '{other}'"),
        };
        int? n = p.GetValue(gpu);
        if (kind is null && n is null) return spec;
        if (spec is not null) throw new ArgumentException("--device cannot be combined with -gpu or -backend: use one of them");
        if (n is < -1) throw new ArgumentException($"-gpu must be -1 (the CPU) or a GPU's number, got {n}");
        if (kind is not null && n is not -1) return $"{kind}:{n ?? 0}";   // -backend cudnn|clnn -gpu N: that kind's device N
        var devices = SharedDevices.Catalog.Devices;
        if (n == -1)   // the fastest CPU device: PoCL where usable (required with clnn), else ILGPU's CPU accelerator
        {
            if (kind == "cuda") throw new ArgumentException("-backend cudnn runs on a CUDA GPU, not on -gpu -1 (the CPU)");
            var openClCpu = devices.FirstOrDefault(d => d.Usable && d.Kind == DeviceKind.OpenCL && !d.IsGpu);
            if (openClCpu is null && kind == "opencl")
                throw new ArgumentException("-backend clnn -gpu -1: no usable OpenCL CPU device (see `ilgpustyle devices`)");
            return (openClCpu ?? devices.First(d => d.Kind == DeviceKind.Cpu)).Id;
        }
        var gpus = devices.Where(d => d.Usable && d.IsGpu).OrderBy(d => d.Kind == DeviceKind.Cuda ? 0 : 1).ToList();
        return n < gpus.Count ? gpus[n.Value].Id
            : throw new ArgumentException(gpus.Count == 0
                ? $"-gpu {n}: no usable GPU here (see `ilgpustyle devices`); -gpu -1 runs on the CPU"
                : $"-gpu {n}: there {(gpus.Count == 1 ? "is 1 GPU" : $"are {gpus.Count} GPUs")} (0..{gpus.Count - 1})");
    }

    /// <summary>--print-every N: a line every N iterations; 0: no progress at all (neural-style's -print_iter 0).</summary>
    public int PrintEvery(ParseResult p)
    {
        int n = p.GetValue(printEvery);
        return n >= 0 ? n : throw new ArgumentException($"--print-every must not be negative, got {n}");
    }

    /// <summary>
    /// neural-style writes `-original_colors 0|1`; a switch takes true/false after it, so 0 and 1 right after the
    /// switch become false and true before parsing.
    /// </summary>
    public static string[] Normalize(IReadOnlyList<string> args)
    {
        var result = args.ToArray();
        for (int i = 0; i + 1 < result.Length; i++)
            if (result[i] is "-original_colors" or "--original-colors" && result[i + 1] is "0" or "1")
                result[i + 1] = result[i + 1] == "1" ? "true" : "false";
        return result;
    }

    /// <summary>Every --style value split at commas: `-style_image a.jpg,b.jpg` as neural-style writes it.</summary>
    static IReadOnlyList<string> Paths(string[]? values) =>
        (values ?? Array.Empty<string>()).SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();

    /// <summary>The network a run uses: --model, else chosen from the weights there are (<see cref="Networks.Choose"/>).</summary>
    public NetworkDescription Network(ParseResult p) => Networks.Choose(Value(p, model), Value(p, weights));

    public StyleTransferOptions Read(ParseResult p)
    {
        var network = Network(p);
        var defaults = Defaults(network);
        // Features of torch-preprocessed weights are about 58× smaller than Caffe's for the same image: content terms scale
        // with F², style terms with F⁴ (G is FFᵀ), TV not at all; the defaults keep the balance the Caffe defaults have.
        double k = network == Vgg19Layers.Description
            ? InputPreprocessing.For(Vgg19WeightsFile.Locate(Value(p, weights)), Value(p, preprocess)).FeatureScale : 1.0;
        return new()
    {
        Network = network,
        ContentPath = Value(p, content) ?? "",
        StylePaths = Paths(Value(p, style)),
        StyleBlendWeights = Numbers(Value(p, blend), "--style-blend-weights"),
        OutputPath = Value(p, output)!,
        ImageSize = Value(p, imageSize),
        StyleScale = Value(p, styleScale),
        ContentWeight = Value(p, contentWeight) ?? defaults.ContentWeight / (k * k),
        StyleWeight = Value(p, styleWeight) ?? defaults.StyleWeight / (k * k * k * k),
        TvWeight = Value(p, tvWeight) ?? defaults.TvWeight,
        ContentLayers = Value(p, contentLayers) is { } cl ? Layers(network, cl) : defaults.ContentLayers,
        StyleLayers = Value(p, styleLayers) is { } sl ? Layers(network, sl) : defaults.StyleLayers,
        StyleLayerWeights = IsAuto(Value(p, styleLayerWeights)) || IsEqual(Value(p, styleLayerWeights)) ? null : Numbers(Value(p, styleLayerWeights), "--style-layer-weights"),
        AutoStyleLayerWeights = Value(p, styleLayerWeights) is null ? defaults.AutoStyleLayerWeights : IsAuto(Value(p, styleLayerWeights)),
        Pooling = Value(p, pooling) is { } pool ? PoolingFor(network, pool) : defaults.Pooling,
        Optimizer = Value(p, optimizer)!.ToLowerInvariant() switch
        {
            "lbfgs" or "l-bfgs" => OptimizerKind.Lbfgs,
            "adam" => OptimizerKind.Adam,
            var other => throw new ArgumentException($"--optimizer must be lbfgs or adam, got '{other}'"),
        },
        LearningRate = Value(p, learningRate),
        LbfgsHistory = Value(p, lbfgsHistory) switch
        {
            0 => Defaults(Vgg19Layers.Description).LbfgsHistory,
            > 0 and var h => h,
            var h => throw new ArgumentException($"--lbfgs-history must be positive (0: the default), got {h}"),
        },
        Iterations = Value(p, iterations),
        Init = Value(p, init)!.ToLowerInvariant() switch
        {
            "random" => InitKind.Random,
            "content" => InitKind.Content,
            "image" => Value(p, initImage) is null ? InitKind.Content : InitKind.Image,
            var other => throw new ArgumentException($"--init must be random, content or image, got '{other}'"),
        },
        InitImagePath = Value(p, initImage),
        Seed = Value(p, seed) switch
        {
            -1 => Random.Shared.Next(),
            < 0 and var bad => throw new ArgumentException($"--seed must be -1 (a random seed) or a whole number from 0, got {bad}"),
            var fixedSeed => fixedSeed,
        },
        OriginalColors = Value(p, originalColors),
        Scales = Value(p, scales),
        WeightsPath = Value(p, weights),
        Preprocess = Value(p, preprocess) is { } named ? InputPreprocessing.Named(named).Name : null,
        Tile = Value(p, tile),
        SaveEvery = Value(p, saveEvery),
        CheckpointEvery = Value(p, checkpointEvery),
        ResumePath = Value(p, resume),
        LogPath = Value(p, log),
        ConvVariant = Variant(Value(p, conv), "--conv"),
        GramVariant = Variant(Value(p, gram), "--gram"),
        ColorControl = Value(p, colorControl)!.ToLowerInvariant() switch
        {
            "none" => ColorControl.None,
            "luminance" => ColorControl.Luminance,
            "histogram" => ColorControl.Histogram,
            var other => throw new ArgumentException($"--color-control must be none, luminance or histogram, got '{other}'"),
        },
        HistogramMode = Value(p, histogramMode)!.ToLowerInvariant() switch
        {
            "chol" or "cholesky" => HistogramMode.Cholesky,
            "pca" => HistogramMode.Pca,
            "sym" or "symmetric" => HistogramMode.Symmetric,
            var other => throw new ArgumentException($"--histogram-mode must be chol, pca or sym, got '{other}'"),
        },
        ContentMasks = NullIfEmpty(Value(p, contentMask)),
        StyleMasks = NullIfEmpty(Value(p, styleMask)),
        FineStylePath = Value(p, fineStyle),
        CoarseStylePath = Value(p, coarseStyle),
        StyleSplitLayer = Value(p, styleSplit) ?? defaults.StyleSplitLayer,
        NormalizeGradients = Value(p, normalizeGradients),
        KeepBest = Value(p, keepBest),
        WriteLossCurve = !Value(p, noPlot),
        ProfilePath = Value(p, profile),
    };
    }

    /// <summary>--pooling for the chosen network: VGG19 takes max or avg; ResNet18 has one trained max pooling.</summary>
    static Pooling PoolingFor(NetworkDescription network, string value)
    {
        var pooling = Cli.ParsePooling(value);
        if (network == ResNet18Layers.Description && pooling != Pooling.Max)
            throw new ArgumentException("--pooling avg is for VGG19's 2×2 poolings; ResNet18 keeps the max pooling it was trained with");
        return pooling;
    }

    static bool IsAuto(string? s) => string.Equals(s?.Trim(), "auto", StringComparison.OrdinalIgnoreCase);
    static bool IsEqual(string? s) => string.Equals(s?.Trim(), "equal", StringComparison.OrdinalIgnoreCase);

    static IReadOnlyList<string>? NullIfEmpty(string[]? values) => values is { Length: > 0 } ? values : null;

    /// <summary>Layer names as the network spells them (VGG19's relu4_2 and block4_conv2 are conv4_2); another network's are refused.</summary>
    static IReadOnlyList<string> Layers(NetworkDescription network, string s) => Names(s).Select(network.Canonical).ToList();

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
