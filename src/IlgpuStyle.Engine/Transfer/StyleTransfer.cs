using System.Diagnostics;
using System.Globalization;
using IlgpuStyle.Devices;
using IlgpuStyle.Imaging;
using IlgpuStyle.IO;
using IlgpuStyle.Model;
using IlgpuStyle.Ops;
using IlgpuStyle.Optimizers;
using IlgpuStyle.Tensors;

namespace IlgpuStyle.Transfer;

/// <summary>One iteration's report.</summary>
public sealed record TransferProgress(
    int Iteration, int Iterations, int Scale, int Scales, int Width, int Height,
    double Content, double Style, double Tv, double Total, double Milliseconds, double IterationsPerSecond);

/// <summary>What a run produced.</summary>
public sealed record TransferResult(
    string OutputPath, int Iterations, int Evaluations, double FinalLoss, bool Cancelled,
    TimeSpan Elapsed, TimeSpan TimeToFirstIteration, string WeightsSource, bool RandomWeights,
    IReadOnlyList<string> WrittenFiles)
{
    /// <summary>With --keep-best: the iteration (of the last scale) whose image was written, and its loss.</summary>
    public int? BestIteration { get; init; }
    public double? BestLoss { get; init; }

    /// <summary>The written image's size.</summary>
    public int Width { get; init; }
    public int Height { get; init; }

    /// <summary>Where the time before the first iteration went (<see cref="TimeToFirstIteration"/> by phase).</summary>
    public StartupSplit? Startup { get; init; }

    /// <summary>With --profile: every launch and span of the run (its trace is written to the profile path).</summary>
    public Profiling.KernelProfiler? Profile { get; init; }
}

/// <summary>How the library talks to its caller (the CLI renders it; the library never writes to the console).</summary>
public interface ITransferListener
{
    void Info(string message) { }
    void Warning(string message) { }
    void Progress(TransferProgress progress) { }
}

/// <summary>
/// Neural style transfer (Gatys et al.): find the image whose VGG19 features match the content
/// image at the content layers and whose Gram matrices match the style images at the style layers.
///
///   var result = StyleTransfer.Run(options, device, listener, cancellationToken);
/// </summary>
public static partial class StyleTransfer
{
    public static TransferResult Run(StyleTransferOptions o, ComputeDevice device, ITransferListener? listener = null,
        CancellationToken cancel = default)
    {
        listener ??= new SilentListener();
        o.Validate();
        if (o.ProfilePath is null) return RunUnprofiled(o, device, listener, cancel);
        // --profile: a profiler on the device for the whole run, its trace beside the other outputs.
        var profiler = new Profiling.KernelProfiler(device);
        var previous = device.Observer;
        device.Observer = profiler;
        TransferResult result;
        try { result = RunUnprofiled(o, device, listener, cancel); }
        finally { device.Observer = previous; }
        profiler.WriteTrace(o.ProfilePath);
        return result with { Profile = profiler, WrittenFiles = result.WrittenFiles.Append(o.ProfilePath).ToList() };
    }

    /// <summary>The run as a pipeline: open it (inputs, network, checkpoint), optimize each scale, write what it made.</summary>
    static TransferResult RunUnprofiled(StyleTransferOptions o, ComputeDevice device, ITransferListener listener, CancellationToken cancel)
    {
        var previous = device.Tiles.FirstTiming;
        device.Tiles.FirstTiming = listener.Info;   // the autotuner's first timing makes the first iteration slow: say so
        try
        {
            using var run = TransferRun.Open(o, device, listener, cancel);
            for (int scale = run.FirstScale; scale < o.Scales && !run.Cancelled; scale++)
                run.OptimizeScale(scale);
            return run.WriteOutputs();
        }
        finally { device.Tiles.FirstTiming = previous; }
    }

    /// <summary>
    /// One evaluation's objective as a run would build it at the final size (`explain` shows its tape): the network,
    /// the targets of the given images and controls, and the starting image of the first scale.
    /// </summary>
    public static PreparedObjective Prepare(StyleTransferOptions o, ComputeDevice device, ITransferListener? listener = null)
    {
        listener ??= new SilentListener();
        var inputs = HostInputs.Load(o);
        MemoryEstimate.Check(o, inputs.Content.Width, inputs.Content.Height, device.MemoryBytes, device.ToString());
        var weights = LoadWeights(o, listener);
        var network = Build(o, device, weights);
        ScaleInputs? input = null;
        Tensor? x = null;
        try
        {
            input = ScaleInputs.Prepare(o, device, inputs, o.ImageSize, o.Scales - 1);
            x = new Tensor(device, input.Content.Shape, "image");
            Start(o, inputs, input, x, new Random(o.Seed));
            var objective = new StyleObjective(network, x, input.Content, input.Sources, input.Regions, o);
            return new PreparedObjective(objective, network, input, x, weights);
        }
        catch
        {
            x?.Dispose();
            input?.Dispose();
            network.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A scale's objective (its constructor computes the targets: the content and style images through VGG19) and its
    /// optimizer (whose state starts at zero): one span in a trace.
    /// </summary>
    static (IStyleObjective, IOptimizer) Setup(StyleTransferOptions o, ComputeDevice device, int scale, Func<IStyleObjective> build)
    {
        using var span = device.Span($"targets and optimizer, scale {scale + 1}", "run");
        var objective = build();
        try
        {
            IOptimizer optimizer = o.Optimizer == OptimizerKind.Adam
                ? new AdamOptimizer(objective, (float)o.EffectiveLearningRate)
                : new LbfgsOptimizer(objective, o.LbfgsHistory, o.EffectiveLearningRate);
            return (objective, optimizer);
        }
        catch
        {
            objective.Dispose();
            throw;
        }
    }

    /// <summary>The network down to the deepest layer the losses read.</summary>
    static Network Build(StyleTransferOptions o, ComputeDevice device, NetworkWeights weights)
    {
        return new Network(device, weights, o.Pooling, o.DeepestLayer) { ConvVariant = o.ConvVariant };
    }

    /// <summary>The first scale's starting image: the content, the given image, or noise from the seed.</summary>
    static void Start(StyleTransferOptions o, HostInputs inputs, ScaleInputs input, Tensor x, Random random)
    {
        int w = input.ContentImage.Width, h = input.ContentImage.Height;
        if (o.Init == InitKind.Content) x.CopyFrom(input.Content.ToArray());
        else if (o.Init == InitKind.Image)
        {
            var start = inputs.Init!.Resize(w, h);
            x.CopyFrom(Preprocessing.ToNetwork(o.ColorControl == ColorControl.Luminance ? ColorTransfer.Luminance(start) : start));
        }
        else x.CopyFrom(RandomImage(random, x.Length));
    }

    /// <summary>The images of a run on the host, loaded once: content, styles, start image, blend weights and masks.</summary>
    sealed record HostInputs(RgbImage Content, List<RgbImage> Styles, RgbImage? Init, List<double> Blend,
        List<RgbImage>? ContentMasks, List<RgbImage>? StyleMasks)
    {
        public static HostInputs Load(StyleTransferOptions o) => new(
            RgbImage.Load(o.ContentPath),
            o.AllStylePaths.Select(RgbImage.Load).ToList(),
            o.Init == InitKind.Image ? RgbImage.Load(o.InitImagePath!) : null,
            Normalize(o.StyleBlendWeights ?? o.AllStylePaths.Select(_ => 1.0).ToList()),
            o.ContentMasks?.Select(LoadMask).ToList(),
            o.StyleMasks?.Select(LoadMask).ToList());
    }

    /// <summary>What the network sees at one scale: the content (after colour control) and the styles on the device, and the regions.</summary>
    sealed class ScaleInputs : IDisposable
    {
        public required RgbImage ContentImage { get; init; }
        public required Tensor Content { get; init; }
        public required List<Tensor> StyleTensors { get; init; }
        public required List<StyleSource> Sources { get; init; }
        public required List<StyleRegion> Regions { get; init; }

        public static ScaleInputs Prepare(StyleTransferOptions o, ComputeDevice device, HostInputs inputs, int size, int scale)
        {
            var content = inputs.Content.ResizeLongestSide(size);
            int w = content.Width, h = content.Height;
            string deepest = o.DeepestLayer;
            int minimum = o.Network.MinimumSide(deepest);
            if (Math.Min(w, h) < minimum)
                throw new ArgumentException($"at {w}×{h} (scale {scale + 1} of {o.Scales}) the image is too small for {o.Network.Name} down to {deepest}: " +
                                            $"the shorter side needs at least {minimum} pixels; raise --image-size or lower --scales");

            // Colour control: what the network sees of the content and the styles.
            var styleImages = inputs.Styles.Select(s => s.ResizeLongestSide(Math.Max(16, (int)Math.Round(size * o.StyleScale)))).ToList();
            var contentInput = content;
            if (o.ColorControl == ColorControl.Luminance)
            {
                contentInput = ColorTransfer.Luminance(content);
                styleImages = styleImages.Select(s => ColorTransfer.MatchedLuminance(s, content)).ToList();
            }
            else if (o.ColorControl == ColorControl.Histogram)
                styleImages = styleImages.Select(s => ColorTransfer.MatchHistogram(s, content, o.HistogramMode)).ToList();

            var contentTensor = Preprocessing.Upload(device, contentInput, "content");
            var styleTensors = new List<Tensor>();
            try
            {
                foreach (var (s, i) in styleImages.Select((s, i) => (s, i))) styleTensors.Add(Preprocessing.Upload(device, s, $"style{i}"));
                var (sources, regions) = Styles(o, styleTensors, styleImages, inputs.Blend, inputs.ContentMasks, inputs.StyleMasks, w, h);
                return new ScaleInputs { ContentImage = content, Content = contentTensor, StyleTensors = styleTensors, Sources = sources, Regions = regions };
            }
            catch
            {
                contentTensor.Dispose();
                foreach (var t in styleTensors) t.Dispose();
                throw;
            }
        }

        public void Dispose()
        {
            foreach (var s in StyleTensors) s.Dispose();
            Content.Dispose();
        }
    }

    static NetworkWeights LoadWeights(StyleTransferOptions o, ITransferListener listener) =>
        Networks.Load(o.Network, o.WeightsPath, o.RandomWeightsSeed, listener.Info, listener.Warning, o.Preprocess);

    /// <summary>
    /// The style images as sources of the regions' targets: plain (one region, blended), spatial
    /// control (region i = content mask i, its style = style i within style mask i), or scale
    /// control (fine style below the split layer, coarse from it on).
    /// </summary>
    static (List<StyleSource>, List<StyleRegion>) Styles(StyleTransferOptions o, List<Tensor> tensors, List<RgbImage> images,
        List<double> blend, List<RgbImage>? contentMasks, List<RgbImage>? styleMasks, int width, int height)
    {
        Guide? StyleGuide(int i) => styleMasks is null ? null : ToGuide(styleMasks[i], images[i].Width, images[i].Height, o.StyleMasks![i]);
        if (o.ScaleControl)
        {
            int split = o.Network.IndexOf(o.StyleSplitLayer);
            var layers = o.StyleLayers.Select(o.Network.Canonical).ToList();
            var fine = layers.Where(l => o.Network.IndexOf(l) < split).ToHashSet();
            var coarse = layers.Where(l => o.Network.IndexOf(l) >= split).ToHashSet();
            return (new List<StyleSource> { new(tensors[0], 1.0, null, 0, fine), new(tensors[1], 1.0, null, 0, coarse) },
                new List<StyleRegion> { new(null, 1.0) });
        }
        if (contentMasks is not null)
        {
            // Each region weighs blend_i·k (k regions): equal blends give every region the weight of a plain run.
            var regions = contentMasks.Select((m, i) => new StyleRegion(ToGuide(m, width, height, o.ContentMasks![i]), blend[i] * contentMasks.Count)).ToList();
            return (tensors.Select((t, i) => new StyleSource(t, 1.0, StyleGuide(i), i)).ToList(), regions);
        }
        return (tensors.Select((t, i) => new StyleSource(t, blend[i], StyleGuide(i), 0)).ToList(), new List<StyleRegion> { new(null, 1.0) });
    }

    /// <summary>A guidance image as luminance in [0, 255]; an all-black one is refused.</summary>
    static RgbImage LoadMask(string path)
    {
        var mask = ColorTransfer.Luminance(RgbImage.Load(path));
        if (mask.Data.Max() < 0.5f)
            throw new ArgumentException($"mask '{path}' is empty (black everywhere): white marks the region it guides");
        return mask;
    }

    /// <summary>The mask resized to an image's size, as values in [0, 1].</summary>
    static Guide ToGuide(RgbImage mask, int width, int height, string source)
    {
        var resized = mask.Resize(width, height);
        var values = new float[width * height];
        for (int p = 0; p < values.Length; p++) values[p] = Math.Clamp(resized.Data[3 * p] / 255f, 0f, 1f);
        return new Guide(values, width, height, source);
    }

    /// <summary>The content's colours (luminance of the result, chroma of the content) for --original-colors and luminance-only transfer.</summary>
    static RgbImage Finish(RgbImage image, RgbImage contentFull, StyleTransferOptions o) =>
        o.OriginalColors || o.ColorControl == ColorControl.Luminance ? ColorSpace.CombineLuminanceAndChroma(image, contentFull.Resize(image.Width, image.Height)) : image;

    static RgbImage Thumbnail(RgbImage image) =>
        Math.Max(image.Width, image.Height) > ContactSheet.Cell ? image.ResizeLongestSide(ContactSheet.Cell) : image;

    static float[] RandomImage(Random random, long length)
    {
        // Small noise around the mean colour (0 in caffe space), as neural-style's random init.
        var data = new float[length];
        for (long i = 0; i < length; i++) data[i] = (float)((random.NextDouble() * 2 - 1) * 20);
        return data;
    }

    static List<double> Normalize(IReadOnlyList<double> w)
    {
        double sum = w.Sum();
        return w.Select(v => v / sum).ToList();
    }

    /// <summary>out/result.png + "_loss" → out/result_loss.png.</summary>
    public static string Sibling(string path, string suffix, string? extension = null) =>
        Path.Combine(Path.GetDirectoryName(path) ?? "", Path.GetFileNameWithoutExtension(path) + suffix + (extension ?? Path.GetExtension(path)));

    /// <summary>Fails now, not after the optimization, if the output folder cannot be written.</summary>
    static void EnsureWritable(string output)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(output))!;
        try
        {
            Directory.CreateDirectory(dir);
            string probe = Path.Combine(dir, $".ilgpustyle-write-test-{Environment.ProcessId}");
            File.WriteAllBytes(probe, Array.Empty<byte>());
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageFileException($"cannot write to '{dir}': {e.Message}", e);
        }
    }

    static void WriteLog(string path, IEnumerable<(int Iteration, double Content, double Style, double Tv, double Total, double Ms)> rows) =>
        AtomicFile.Write(path, stream =>
        {
            using var writer = new StreamWriter(stream);
            writer.WriteLine("iteration,content,style,tv,total,ms");
            foreach (var r in rows)
                writer.WriteLine(string.Join(",", r.Iteration.ToString(CultureInfo.InvariantCulture),
                    G(r.Content), G(r.Style), G(r.Tv), G(r.Total), r.Ms.ToString("F3", CultureInfo.InvariantCulture)));
            static string G(double v) => v.ToString("G9", CultureInfo.InvariantCulture);
        });

    sealed class SilentListener : ITransferListener;
}

/// <summary>A style objective with everything it stands on (network, targets, image), disposed together.</summary>
public sealed class PreparedObjective : IDisposable
{
    readonly Network network;
    readonly IDisposable inputs;
    readonly Tensor image;

    internal PreparedObjective(StyleObjective objective, Network network, IDisposable inputs, Tensor image, NetworkWeights weights)
    {
        Objective = objective;
        this.network = network;
        this.inputs = inputs;
        this.image = image;
        WeightsSource = weights.Source;
        RandomWeights = weights.IsRandom;
    }

    public StyleObjective Objective { get; }
    public string WeightsSource { get; }
    public bool RandomWeights { get; }
    public int Width => image.Shape.W;
    public int Height => image.Shape.H;

    public void Dispose()
    {
        Objective.Dispose();
        image.Dispose();
        inputs.Dispose();
        network.Dispose();
    }
}

/// <summary>The loss or the image stopped being finite.</summary>
public sealed class NonFiniteLossException(string message) : Exception(message);
