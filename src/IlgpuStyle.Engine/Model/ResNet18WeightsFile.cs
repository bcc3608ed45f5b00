using ProtoBuf;

namespace IlgpuStyle.Model;

/// <summary>
/// Reads ResNet18 from an ONNX file, the one ML.NET ships in the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18
/// 0.24.0 (MIT licence, .NET Foundation; exported by CNTK 2.6), or any ONNX graph of the same structure.
///
/// The graph is not trusted for its names but matched by structure against <see cref="ResNet18Layers"/>: from the graph's
/// input, each of our layers finds the one node that reads what its inputs' nodes wrote and has its kernel, stride and
/// channels (a Conv with its BatchNormalization and ReLU, a MaxPool, an Add with its ReLU). Every node must be used.
///
/// BatchNormalization is folded into its convolution at load: frozen BN is y = γ·(z − μ)/√(σ² + ε) + β for the
/// convolution's output z = w⊛x + b, an affine map per output channel, so with k = γ/√(σ² + ε)
///   w' = w·k,   b' = (b − μ)·k + β
/// gives the same y from one convolution.
/// </summary>
public static class ResNet18WeightsFile
{
    /// <summary>The ops this reader turns into our layers; any other op in the graph is refused by name.</summary>
    static readonly string[] KnownOps = { "Conv", "BatchNormalization", "Relu", "Add", "MaxPool", "AveragePool", "GlobalAveragePool" };

    public const string PackageId = "microsoft.ml.dnnimagefeaturizer.resnet18";
    public const string PackageVersion = "0.24.0";
    const string ModelInPackage = "tools/DnnImageModels/ResNet18Onnx/ResNet18.onnx";

    /// <summary>
    /// Where the bundled model is: beside the program (models/ResNet18.onnx, copied there by the build and carried by the
    /// tool package), else in the NuGet package folder that restore filled. Null when neither has it.
    /// </summary>
    public static string? Locate()
    {
        var beside = Path.Combine(AppContext.BaseDirectory, "models", "ResNet18.onnx");
        if (File.Exists(beside)) return beside;
        var inPackages = Path.Combine(PackageFolder(), PackageId, PackageVersion, ModelInPackage);
        return File.Exists(inPackages) ? inPackages : null;
    }

    /// <summary>
    /// The mean image (1, 3, 224, 224), BGR, that ML.NET's preprocessing graph (models/ResNetPreprocess.onnx) subtracts
    /// from a BGR 0–255 image before ResNet18; its channel means are about B 103.06, G 115.90, R 123.15.
    /// </summary>
    public static float[] MeanImage(string preprocessPath)
    {
        var graph = Read(preprocessPath).Graph!;
        var mean = graph.Initializer.FirstOrDefault(t => t.Dims.SequenceEqual(new long[] { 1, 3, 224, 224 }))
            ?? throw new WeightsFileException($"ONNX file '{Path.GetFileName(preprocessPath)}' has no 1×3×224×224 mean image");
        return mean.ToFloats() ?? throw new WeightsFileException($"ONNX file '{Path.GetFileName(preprocessPath)}': the mean image is not float32 data");
    }

    /// <summary>NuGet's global package folder: $NUGET_PACKAGES, else ~/.nuget/packages.</summary>
    public static string PackageFolder() => Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p ? p
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    /// <summary>The one line said when the bundled model is nowhere.</summary>
    public static string MissingMessage =>
        $"the bundled ResNet18 is missing: neither {Path.Combine(AppContext.BaseDirectory, "models", "ResNet18.onnx")} nor the NuGet package " +
        $"{PackageId} {PackageVersion} under {PackageFolder()} (a restore fetches it: dotnet restore IlgpuStyle.sln)";

    /// <summary>The bundled model (<see cref="Locate"/>), or one clear line where it is missing.</summary>
    public static NetworkWeights LoadBundled() => Load(Locate() ?? throw new WeightsFileException(MissingMessage));

    public static OnnxModelProto Read(string path)
    {
        string file = Path.GetFileName(path);
        if (Directory.Exists(path)) throw new WeightsFileException($"ONNX file '{path}' is a directory, not a file");
        if (!File.Exists(path)) throw new WeightsFileException($"ONNX file '{path}' does not exist");
        try
        {
            using var stream = File.OpenRead(path);
            var model = Serializer.Deserialize<OnnxModelProto>(stream);
            if (model.Graph is null || model.Graph.Node.Count == 0)
                throw new WeightsFileException($"ONNX file '{file}' has no graph: not an ONNX model, or truncated");
            return model;
        }
        catch (Exception e) when (e is not WeightsFileException)
        {
            throw new WeightsFileException($"ONNX file '{file}' cannot be read: truncated or corrupt ({e.GetType().Name}: {e.Message})", e);
        }
    }

    public static NetworkWeights Load(string path)
    {
        string file = Path.GetFileName(path);
        var graph = Read(path).Graph!;
        var unknown = graph.Node.Select(n => n.OpType ?? "").Where(op => !KnownOps.Contains(op)).Distinct().ToList();
        if (unknown.Count > 0)
            throw new WeightsFileException($"ONNX file '{file}': the graph has op {string.Join(", ", unknown)}, which IlgpuStyle does not run " +
                                           $"(it runs {string.Join(", ", KnownOps)})");
        var initializers = new Dictionary<string, OnnxTensorProto>();
        foreach (var t in graph.Initializer) if (t.Name is not null) initializers[t.Name] = t;
        string input = graph.Input.Select(i => i.Name).FirstOrDefault(n => n is not null && !initializers.ContainsKey(n))
            ?? throw new WeightsFileException($"ONNX file '{file}': the graph has no input");

        var consumers = new Dictionary<string, List<OnnxNodeProto>>();
        foreach (var n in graph.Node)
            foreach (var i in n.Input)
                (consumers.TryGetValue(i, out var list) ? list : consumers[i] = new()).Add(n);
        var used = new HashSet<OnnxNodeProto>(ReferenceEqualityComparer.Instance);
        OnnxNodeProto? Single(string tensor, string op) =>
            consumers.TryGetValue(tensor, out var list) ? list.SingleOrDefault(n => n.OpType == op && !used.Contains(n)) : null;
        // Our layer → the ONNX tensor that holds its output.
        var tensorOf = new Dictionary<string, string> { [NetworkDescription.Input] = input };
        var kernels = new Dictionary<string, float[]>();
        var biases = new Dictionary<string, float[]>();
        var description = ResNet18Layers.Description;
        string NotResNet(string why) => $"ONNX file '{file}' is not the ResNet18 IlgpuStyle knows: {why}";

        foreach (var l in description.Layers)
        {
            var from = l.Inputs.Select(i => tensorOf[i]).ToList();
            switch (l.Op)
            {
                case LayerOp.Conv:
                {
                    var conv = consumers.GetValueOrDefault(from[0])?.Where(n => n.OpType == "Conv" && !used.Contains(n))
                        .SingleOrDefault(n => Matches(n, l, initializers))
                        ?? throw new WeightsFileException(NotResNet($"no {l.Kernel}×{l.Kernel} stride-{l.Stride} convolution to {l.OutChannels} channels for {l.Name}"));
                    used.Add(conv);
                    var (w, b) = ConvWeights(conv, l, initializers, file);
                    string output = conv.Output[0];
                    if (Single(output, "BatchNormalization") is { } bn)
                    {
                        used.Add(bn);
                        Fold(bn, w, b, l, initializers, file);
                        output = bn.Output[0];
                    }
                    if (l.Relu)
                    {
                        var relu = Single(output, "Relu") ?? throw new WeightsFileException(NotResNet($"{l.Name} has no ReLU after it"));
                        used.Add(relu);
                        output = relu.Output[0];
                    }
                    kernels[l.Name] = w;
                    biases[l.Name] = b;
                    tensorOf[l.Name] = output;
                    break;
                }
                case LayerOp.MaxPoolWindow:
                {
                    var pool = Single(from[0], "MaxPool") ?? throw new WeightsFileException(NotResNet($"no max pooling for {l.Name}"));
                    if (pool.Ints("kernel_shape").Any(k => k != l.Kernel) || pool.Ints("strides", 1, 1).Any(s => s != l.Stride))
                        throw new WeightsFileException(NotResNet($"{l.Name} is not a {l.Kernel}×{l.Kernel} stride-{l.Stride} max pooling"));
                    used.Add(pool);
                    tensorOf[l.Name] = pool.Output[0];
                    break;
                }
                case LayerOp.AddRelu:
                {
                    var add = consumers.GetValueOrDefault(from[0])?.SingleOrDefault(n => n.OpType == "Add" && !used.Contains(n) &&
                                  n.Input.Count == 2 && n.Input.OrderBy(s => s, StringComparer.Ordinal).SequenceEqual(from.OrderBy(s => s, StringComparer.Ordinal)))
                        ?? throw new WeightsFileException(NotResNet($"no residual add for {l.Name}"));
                    used.Add(add);
                    var relu = Single(add.Output[0], "Relu") ?? throw new WeightsFileException(NotResNet($"{l.Name} has no ReLU after its add"));
                    used.Add(relu);
                    tensorOf[l.Name] = relu.Output[0];
                    break;
                }
                default:
                    throw new InvalidOperationException($"ResNet18 has no {l.Op} layer");
            }
        }
        // What is left may only be the classifier's pooling at the end.
        var left = graph.Node.Where(n => !used.Contains(n) && n.OpType is not ("AveragePool" or "GlobalAveragePool")).ToList();
        if (left.Count > 0)
            throw new WeightsFileException(NotResNet($"{left.Count} node(s) fit no layer, the first {left[0].OpType} '{left[0].Name ?? left[0].Output.FirstOrDefault()}'"));
        return new NetworkWeights { Network = description, Kernels = kernels, Biases = biases, Source = path };
    }

    static bool Matches(OnnxNodeProto conv, LayerSpec l, Dictionary<string, OnnxTensorProto> initializers) =>
        conv.Ints("kernel_shape", l.Kernel, l.Kernel).All(k => k == l.Kernel) &&
        conv.Ints("strides", 1, 1).All(s => s == l.Stride) &&
        conv.Input.Count >= 2 && initializers.TryGetValue(conv.Input[1], out var w) && w.Dims.Count == 4 && w.Dims[0] == l.OutChannels;

    /// <summary>The filters (Co, Ci, K, K) and bias (zero where the Conv has none), checked against the layer.</summary>
    static (float[] W, float[] B) ConvWeights(OnnxNodeProto conv, LayerSpec l, Dictionary<string, OnnxTensorProto> initializers, string file)
    {
        var wt = initializers[conv.Input[1]];
        long[] expected = { l.OutChannels, l.InChannels, l.Kernel, l.Kernel };
        if (!wt.Dims.SequenceEqual(expected))
            throw new WeightsFileException($"ONNX file '{file}': {l.Name}'s filters are ({string.Join(", ", wt.Dims)}), expected ({string.Join(", ", expected)})");
        if (conv.Int("group", 1) != 1 || conv.Ints("dilations", 1, 1).Any(d => d != 1))
            throw new WeightsFileException($"ONNX file '{file}': {l.Name} is a grouped or dilated convolution, which IlgpuStyle does not run");
        // CNTK writes asymmetric pads ([3,3,2,2] on the stem, [1,1,0,0] on stride-2 convolutions): the leading pads are
        // ours, and at even sizes the trailing ones never reach a window, so symmetric padding gives the same result.
        var pads = conv.Ints("pads", 0, 0, 0, 0);
        if (pads.Length != 4 || pads[0] != l.Pad || pads[1] != l.Pad || pads[2] > l.Pad || pads[3] > l.Pad)
            throw new WeightsFileException($"ONNX file '{file}': {l.Name}'s padding [{string.Join(",", pads)}] is not {l.Pad} before each axis");
        var w = wt.ToFloats() ?? throw new WeightsFileException($"ONNX file '{file}': {l.Name}'s filters are not float32 data of their shape");
        var b = new float[l.OutChannels];
        if (conv.Input.Count > 2 && conv.Input[2] is { Length: > 0 } biasName)
            b = Vector(initializers, biasName, l, file, "bias");
        return (w, b);
    }

    /// <summary>Folds a BatchNormalization into the convolution before it: w ← w·k, b ← (b − μ)·k + β with k = γ/√(σ² + ε).</summary>
    static void Fold(OnnxNodeProto bn, float[] w, float[] b, LayerSpec l, Dictionary<string, OnnxTensorProto> initializers, string file)
    {
        if (bn.Input.Count != 5) throw new WeightsFileException($"ONNX file '{file}': {l.Name}'s BatchNormalization has {bn.Input.Count} inputs, not 5");
        var gamma = Vector(initializers, bn.Input[1], l, file, "BatchNorm scale");
        var beta = Vector(initializers, bn.Input[2], l, file, "BatchNorm bias");
        var mean = Vector(initializers, bn.Input[3], l, file, "BatchNorm mean");
        var variance = Vector(initializers, bn.Input[4], l, file, "BatchNorm variance");
        double epsilon = bn.Float("epsilon", 1e-5f);
        int perFilter = w.Length / l.OutChannels;
        for (int co = 0; co < l.OutChannels; co++)
        {
            double k = gamma[co] / Math.Sqrt(variance[co] + epsilon);
            for (int i = 0; i < perFilter; i++) w[co * perFilter + i] = (float)(w[co * perFilter + i] * k);
            b[co] = (float)((b[co] - mean[co]) * k + beta[co]);
        }
    }

    static float[] Vector(Dictionary<string, OnnxTensorProto> initializers, string name, LayerSpec l, string file, string what)
    {
        if (!initializers.TryGetValue(name, out var t))
            throw new WeightsFileException($"ONNX file '{file}': {l.Name}'s {what} '{name}' is not among the initializers");
        if (t.ElementCount != l.OutChannels)
            throw new WeightsFileException($"ONNX file '{file}': {l.Name}'s {what} has {t.ElementCount} values, expected {l.OutChannels}");
        return t.ToFloats() ?? throw new WeightsFileException($"ONNX file '{file}': {l.Name}'s {what} is not float32 data of its shape");
    }
}
