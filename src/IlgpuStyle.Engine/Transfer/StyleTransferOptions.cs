using IlgpuStyle.Devices;
using IlgpuStyle.Model;

namespace IlgpuStyle.Transfer;

public enum OptimizerKind { Lbfgs, Adam }
public enum InitKind { Random, Content, Image }

/// <summary>
/// Everything a style-transfer run takes. Losses follow Gatys et al.:
///   L = α·Σ_content ½Σ(F − P)²  +  β·Σ_l w_l·¼Σ(G − A)²  +  γ·TV(x)
/// with G = F·Fᵀ/(C·H·W), so ¼Σ(G − A)² is exactly Gatys's Σ(G − A)²/(4N²M²) for the unnormalized
/// Gram matrix (N = C, M = H·W). Pixels are in caffe space (0–255, means subtracted).
/// </summary>
public sealed record StyleTransferOptions
{
    public required string ContentPath { get; init; }
    public required IReadOnlyList<string> StylePaths { get; init; }
    /// <summary>Relative weights of the styles (normalized to sum 1); null: equal.</summary>
    public IReadOnlyList<double>? StyleBlendWeights { get; init; }
    public string OutputPath { get; init; } = "out/result.png";
    /// <summary>Longest side of the output, pixels.</summary>
    public int ImageSize { get; init; } = 256;
    /// <summary>Style images are resized to ImageSize·StyleScale (longest side).</summary>
    public double StyleScale { get; init; } = 1.0;

    public double ContentWeight { get; init; } = 1.0;
    public double StyleWeight { get; init; } = 1e4;
    public double TvWeight { get; init; } = 1e-3;
    public IReadOnlyList<string> ContentLayers { get; init; } = new[] { "conv4_2" };
    public IReadOnlyList<string> StyleLayers { get; init; } = new[] { "conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1" };
    /// <summary>w_l per style layer; null: 1/L each.</summary>
    public IReadOnlyList<double>? StyleLayerWeights { get; init; }
    public Pooling Pooling { get; init; } = Pooling.Average;

    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Lbfgs;
    /// <summary>L-BFGS: the line search's first step (1); Adam: the step in pixel units (default 10).</summary>
    public double? LearningRate { get; init; }
    public int LbfgsHistory { get; init; } = 20;
    public int Iterations { get; init; } = 300;
    /// <summary>Starting image. Content (as the PyTorch tutorial) reaches a good image in far fewer iterations than noise (neural-style's default).</summary>
    public InitKind Init { get; init; } = InitKind.Content;
    public string? InitImagePath { get; init; }
    public int Seed { get; init; }
    public bool OriginalColors { get; init; }
    /// <summary>Coarse-to-fine: optimize at ImageSize/2^(K−1), …, ImageSize, upsampling between.</summary>
    public int Scales { get; init; } = 1;

    public string? WeightsPath { get; init; }
    /// <summary>Seed of the random-weight VGG19 used when no weights file is found.</summary>
    public int RandomWeightsSeed { get; init; } = 1;
    public int SaveEvery { get; init; }
    /// <summary>Write image and optimizer state to &lt;output&gt;.ckpt every N iterations (0: never).</summary>
    public int CheckpointEvery { get; init; }
    /// <summary>Continue from a checkpoint written by a run with the same options.</summary>
    public string? ResumePath { get; init; }
    public string? LogPath { get; init; }
    public bool WriteLossCurve { get; init; } = true;
    public KernelVariant? ConvVariant { get; init; }
    public KernelVariant? GramVariant { get; init; }

    public double EffectiveLearningRate => LearningRate ?? (Optimizer == OptimizerKind.Adam ? 10.0 : 1.0);

    /// <summary>Checks every value and file before any work; throws ArgumentException with one clear line.</summary>
    public void Validate()
    {
        static void Require(bool ok, string message) { if (!ok) throw new ArgumentException(message); }
        static void Finite(double v, string name) => Require(double.IsFinite(v), $"{name} must be a finite number, got {v}");

        Require(File.Exists(ContentPath), $"content image '{ContentPath}' does not exist");
        Require(StylePaths.Count > 0, "at least one --style image is needed");
        foreach (var s in StylePaths) Require(File.Exists(s), $"style image '{s}' does not exist");
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
        foreach (var l in ContentLayers.Concat(StyleLayers)) Vgg19Layers.Canonical(l);   // throws for unknown layers
        foreach (var l in ContentLayers.Concat(StyleLayers))
            Require(Vgg19Layers.Canonical(l).StartsWith("conv"), $"layer '{l}' is a pooling layer; losses read convolution (ReLU) outputs");
        if (StyleLayerWeights is not null)
        {
            Require(StyleLayerWeights.Count == StyleLayers.Count,
                $"--style-layer-weights has {StyleLayerWeights.Count} values for {StyleLayers.Count} style layer(s)");
            foreach (var w in StyleLayerWeights) { Finite(w, "a style layer weight"); Require(w >= 0, $"style layer weights must not be negative, got {w}"); }
        }
        if (LearningRate is { } lr) { Finite(lr, "--learning-rate"); Require(lr > 0, $"--learning-rate must be positive, got {lr}"); }
        Require(Iterations >= 0, $"--iterations must not be negative, got {Iterations}");
        Require(LbfgsHistory > 0, $"the L-BFGS history must be positive, got {LbfgsHistory}");
        Require(Scales is >= 1 and <= 6, $"--scales must be between 1 and 6, got {Scales}");
        Require(ImageSize >> (Scales - 1) >= 16, $"--scales {Scales} makes the first scale {ImageSize >> (Scales - 1)} px, below VGG19's 16 px minimum");
        Require(SaveEvery >= 0, $"--save-every must not be negative, got {SaveEvery}");
        Require(CheckpointEvery >= 0, $"--checkpoint-every must not be negative, got {CheckpointEvery}");
        if (ResumePath is not null) Require(File.Exists(ResumePath), $"checkpoint '{ResumePath}' does not exist");
        if (Init == InitKind.Image)
        {
            Require(InitImagePath is not null, "--init image needs --init-image PATH");
            Require(File.Exists(InitImagePath!), $"init image '{InitImagePath}' does not exist");
        }
        if (WeightsPath is not null) Require(File.Exists(WeightsPath), $"weights file '{WeightsPath}' does not exist");

        string ext = Path.GetExtension(OutputPath).ToLowerInvariant();
        Require(ext is ".png" or ".jpg" or ".jpeg", $"output '{OutputPath}' must end in .png, .jpg or .jpeg");
        string output = Path.GetFullPath(OutputPath);
        var inputs = new List<string> { ContentPath };
        inputs.AddRange(StylePaths);
        if (InitImagePath is not null) inputs.Add(InitImagePath);
        if (WeightsPath is not null) inputs.Add(WeightsPath);
        foreach (var input in inputs)
            Require(!SameFile(output, input), $"output '{OutputPath}' is also an input; choose another --output");
        if (LogPath is not null)
            foreach (var input in inputs.Append(OutputPath))
                Require(!SameFile(Path.GetFullPath(LogPath), input), $"--log '{LogPath}' would overwrite '{input}'");
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
