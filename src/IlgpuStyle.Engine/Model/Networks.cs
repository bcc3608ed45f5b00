namespace IlgpuStyle.Model;

/// <summary>The networks a run can use, and which one it uses when none is named.</summary>
public static class Networks
{
    public static readonly NetworkDescription[] All = { Vgg19Layers.Description, ResNet18Layers.Description };

    /// <summary>vgg19 or resnet18 (any case); one clear line for another name.</summary>
    public static NetworkDescription Named(string name) =>
        All.FirstOrDefault(n => string.Equals(n.Name, name.Trim(), StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"--model must be {string.Join(" or ", All.Select(n => n.Name.ToLowerInvariant()))}, got '{name}'");

    /// <summary>
    /// The network of a run: the one named; else VGG19 when a VGG19 weights file is given (--weights) or found
    /// (weights/*.h5), ResNet18 when an ONNX file of ResNet18 is given (an ONNX VGG19 is VGG19's), and otherwise the bundled ResNet18 (the random VGG19 is
    /// what --model vgg19 gives without a file). Where the bundled ResNet18 is missing too, VGG19 with random weights,
    /// which the run then says.
    /// </summary>
    public static NetworkDescription Choose(string? model, string? weightsPath)
    {
        if (model is not null) return Named(model);
        if (weightsPath is not null)
            return weightsPath.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) && !(File.Exists(weightsPath) && OnnxVgg19File.IsVgg19(weightsPath))
                ? ResNet18Layers.Description : Vgg19Layers.Description;
        if (Vgg19WeightsFile.Locate(null) is not null) return Vgg19Layers.Description;
        return ResNet18WeightsFile.Locate() is not null ? ResNet18Layers.Description : Vgg19Layers.Description;
    }

    /// <summary>
    /// The weights of a run's network, with where they came from said through `info` (and, for the random VGG19, through
    /// `warning`): VGG19 from --weights or weights/*.h5, else seeded random; ResNet18 from --weights (an .onnx) or the
    /// bundled file.
    /// </summary>
    public static NetworkWeights Load(NetworkDescription network, string? weightsPath, int randomSeed, Action<string> info, Action<string> warning,
        string? preprocess = null)
    {
        if (network == ResNet18Layers.Description)
        {
            var weights = weightsPath is null ? ResNet18WeightsFile.LoadBundled() : ResNet18WeightsFile.Load(weightsPath);
            string path = weights.Source;
            info($"network: ResNet18, trained on ImageNet, BatchNorm folded into its convolutions ({(weightsPath is null ? "bundled from the NuGet package " + ResNet18WeightsFile.PackageId + " " + ResNet18WeightsFile.PackageVersion + ", MIT: " : "")}{path}; " +
                 "preprocessing caffe: BGR 0–255 minus the ImageNet means; ML.NET's own graph subtracts a mean image within about a grey level of them)");
            if (weightsPath is null && Vgg19WeightsFile.Locate(null) is null)
                info("(VGG19, the network of Gatys et al. and neural-style, is one command away: ilgpustyle weights download)");
            return weights;
        }
        var file = Vgg19WeightsFile.Locate(weightsPath);
        if (file is not null)
        {
            var weights = LoadVgg19(file, preprocess);
            info($"network: VGG19, weights: {file} ({WeightsPlaces.Format(file)}; preprocessing {weights.Preprocessing.Name}: {weights.Preprocessing.Description})");
            return weights;
        }
        var random = NetworkWeights.Random(randomSeed);
        warning($"network: VGG19 with {random.Source} (preprocessing caffe), not trained: no VGG19 weights file found (--weights PATH or weights/*.h5). " +
                "Style still transfers, but as colour speckle more than strokes: `ilgpustyle weights download` fetches the trained " +
                "VGG19 (80 MB), or leave out --model for the bundled trained ResNet18.");
        return random;
    }

    /// <summary>A VGG19 file of any format read here: Keras HDF5, a PyTorch state dict, a Caffe model or ONNX, with the preprocessing it expects.</summary>
    public static NetworkWeights LoadVgg19(string path, string? preprocess = null)
    {
        if (!File.Exists(path)) return Vgg19WeightsFile.Load(path);   // its one line: missing, or a directory
        var preprocessing = InputPreprocessing.For(path, preprocess);
        return WeightsPlaces.Format(path) switch
        {
            "PyTorch (zip)" or "PyTorch (legacy pickle)" => PthWeightsFile.Load(path, preprocessing),
            "HDF5 (Keras)" => preprocessing.FoldInto(Vgg19WeightsFile.Load(path)),
            "Caffe" => CaffeWeightsFile.Load(path, preprocessing),
            "ONNX" => OnnxVgg19File.Load(path, preprocessing),
            "not HDF5" => Vgg19WeightsFile.Load(path),   // its own line: named .h5, not an HDF5 file
            var other => throw new WeightsFileException($"weights file '{Path.GetFileName(path)}': {other} format; VGG19 is read from " +
                                                        "Keras HDF5 (.h5), PyTorch state dicts (.pth), Caffe models (.caffemodel) and ONNX (.onnx)"),
        };
    }
}
