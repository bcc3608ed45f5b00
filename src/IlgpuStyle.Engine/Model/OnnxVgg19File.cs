namespace IlgpuStyle.Model;

/// <summary>
/// VGG19's convolutions from an ONNX model (the ONNX model zoo's vgg19-7.onnx, or any export of VGG19): the graph's
/// first sixteen Conv nodes, in the order the graph lists them, are conv1_1 … conv5_4; each must be 3×3, stride 1,
/// padding 1, with the weight (out, in, 3, 3) and bias of VGG19's layer as initializers. A graph with batch
/// normalization (vgg19-bn) is another network and is refused. The zoo's files take torchvision's preprocessing.
/// </summary>
public static class OnnxVgg19File
{
    /// <summary>Whether an ONNX file holds VGG19 rather than ResNet18: its first convolution is 3×3 with 64 filters on 3 channels.</summary>
    public static bool IsVgg19(string path)
    {
        var graph = ResNet18WeightsFile.Read(path).Graph!;
        var first = graph.Node.FirstOrDefault(n => n.OpType == "Conv");
        var weight = first is null ? null : graph.Initializer.FirstOrDefault(t => t.Name == first.Input.ElementAtOrDefault(1));
        return weight is not null && weight.Dims.SequenceEqual(new long[] { 64, 3, 3, 3 });
    }

    public static NetworkWeights Load(string path, InputPreprocessing preprocessing)
    {
        string file = Path.GetFileName(path);
        var graph = ResNet18WeightsFile.Read(path).Graph!;
        if (graph.Node.Any(n => n.OpType == "BatchNormalization"))
            throw new WeightsFileException($"ONNX file '{file}' has batch normalization: VGG19 with BN (vgg19-bn) is another network; use VGG19 without it");
        var initializers = graph.Initializer.Where(t => t.Name is not null).ToDictionary(t => t.Name!);
        var convs = graph.Node.Where(n => n.OpType == "Conv").ToList();
        if (convs.Count < Vgg19Layers.Convolutions.Length)
            throw new WeightsFileException($"ONNX file '{file}' has {convs.Count} convolutions, VGG19 has {Vgg19Layers.Convolutions.Length}");
        var kernels = new Dictionary<string, float[]>();
        var biases = new Dictionary<string, float[]>();
        foreach (var (spec, conv) in Vgg19Layers.Convolutions.Zip(convs))
        {
            string where = $"ONNX file '{file}': {spec.Name} (node {conv.Name ?? conv.Output.FirstOrDefault()})";
            if (!conv.Ints("kernel_shape", 3, 3).SequenceEqual(new long[] { 3, 3 }) || !conv.Ints("strides", 1, 1).All(s => s == 1)
                || !conv.Ints("pads", 1, 1, 1, 1).All(p => p == 1) || conv.Int("group", 1) != 1)
                throw new WeightsFileException($"{where} is not a 3×3 convolution with stride 1 and padding 1");
            var w = conv.Input.Count > 1 && initializers.TryGetValue(conv.Input[1], out var wt) ? wt
                : throw new WeightsFileException($"{where}: its weight is not an initializer");
            if (!w.Dims.SequenceEqual(new long[] { spec.OutChannels, spec.InChannels, 3, 3 }))
                throw new WeightsFileException($"{where}: weight ({string.Join(", ", w.Dims)}), VGG19's is ({spec.OutChannels}, {spec.InChannels}, 3, 3)");
            kernels[spec.Name] = w.ToFloats() ?? throw new WeightsFileException($"{where}: the weight is not float32, or its data does not match its shape");
            if (conv.Input.Count > 2 && initializers.TryGetValue(conv.Input[2], out var bt))
                biases[spec.Name] = bt.Dims.SequenceEqual(new long[] { spec.OutChannels }) && bt.ToFloats() is { } b ? b
                    : throw new WeightsFileException($"{where}: the bias is not float32 ({spec.OutChannels})");
            else biases[spec.Name] = new float[spec.OutChannels];
        }
        return preprocessing.FoldInto(new NetworkWeights { Kernels = kernels, Biases = biases, Source = path });
    }
}
