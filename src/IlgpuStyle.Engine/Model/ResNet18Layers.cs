namespace IlgpuStyle.Model;

/// <summary>
/// ResNet18 as ML.NET ships it (<see cref="ResNet18WeightsFile"/>; exported by CNTK): a 7×7 stride-2 stem, a 3×3 stride-2
/// max pool, then four stages of [2, 2, 2, 3] basic blocks (64, 128, 256, 512 channels). A basic block is
///   conv1 (3×3, stride s) + ReLU → conv2 (3×3) → + shortcut → ReLU
/// where the shortcut is the block's input itself or, where the block halves the size or changes the channels, a 1×1
/// stride-2 convolution of it. Every convolution has its BatchNorm folded in at load. Names follow torchvision
/// (stem, layer2.0, layer2.0.conv1, …); a stage's name is its last block's output (layer2 is layer2.1), and the ReLU
/// names of the ONNX file (ReLU253 … ReLU393) are accepted as well. Input: BGR 0–255 minus the channel means.
/// </summary>
public static class ResNet18Layers
{
    public static readonly int[] BlocksPerStage = { 2, 2, 2, 3 };
    public static readonly int[] Channels = { 64, 128, 256, 512 };

    /// <summary>The ReLU outputs of the ML.NET file in graph order: stem, then per block its conv1 and its output.</summary>
    static readonly int[] OnnxRelus = { 253, 261, 269, 275, 283, 289, 301, 307, 315, 321, 333, 339, 347, 353, 365, 371, 379, 385, 393 };

    /// <summary>
    /// Defaults chosen by looking at photographs and paintings (docs/models.md): content at layer3, style at the stem's ReLU
    /// and after each stage, weighted 1/C² (with equal weights layer4's loss, 512 channels at 1/32 of the size, is ten to
    /// fifty times the others' and the result keeps the photo's colours and strokes), β 1e6 (its features are smaller than
    /// VGG19's), TV 1e-4 (1e-5 left a faint stride-2 grid on flat regions; 1e-3 blurs).
    /// </summary>
    public static readonly NetworkDescription Description = new("ResNet18", BuildLayers(),
        new TransferDefaults(new[] { "layer3" }, new[] { "stem", "layer1", "layer2", "layer3", "layer4" }, 1.0, 1e6, 1e-4, Pooling.Max, "layer2",
            AutoStyleLayerWeights: true),
        "use stem, layer1 … layer4 (a stage's output), layer2.0 (a block's output), layer2.0.conv1, or the file's ReLU names (ReLU253 …)");

    static List<LayerSpec> BuildLayers()
    {
        int relu = 0;
        string Relu() => $"ReLU{OnnxRelus[relu++]}";
        var layers = new List<LayerSpec>
        {
            new("stem", LayerOp.Conv, new[] { NetworkDescription.Input }) { InChannels = 3, OutChannels = 64, Kernel = 7, Stride = 2, Pad = 3, Aliases = new[] { "conv1", Relu() } },
            new("pool", LayerOp.MaxPoolWindow, new[] { "stem" }) { Kernel = 3, Stride = 2, Pad = 1, Relu = false, Aliases = new[] { "maxpool" } },
        };
        string previous = "pool";
        int inC = 64;
        for (int stage = 0; stage < BlocksPerStage.Length; stage++)
            for (int b = 0; b < BlocksPerStage[stage]; b++)
            {
                string block = $"layer{stage + 1}.{b}";
                int outC = Channels[stage], stride = stage > 0 && b == 0 ? 2 : 1;
                layers.Add(new($"{block}.conv1", LayerOp.Conv, new[] { previous }) { InChannels = inC, OutChannels = outC, Stride = stride, Aliases = new[] { Relu() } });
                layers.Add(new($"{block}.conv2", LayerOp.Conv, new[] { $"{block}.conv1" }) { InChannels = outC, OutChannels = outC, Relu = false });
                string shortcut = previous;
                if (stride != 1 || inC != outC)
                {
                    shortcut = $"{block}.shortcut";
                    layers.Add(new(shortcut, LayerOp.Conv, new[] { previous }) { InChannels = inC, OutChannels = outC, Kernel = 1, Stride = stride, Pad = 0, Relu = false, Aliases = new[] { $"{block}.downsample" } });
                }
                var aliases = new List<string> { Relu() };
                if (b == BlocksPerStage[stage] - 1) aliases.Add($"layer{stage + 1}");
                layers.Add(new(block, LayerOp.AddRelu, new[] { $"{block}.conv2", shortcut }) { OutChannels = outC, Aliases = aliases.ToArray() });
                previous = block;
                inC = outC;
            }
        return layers;
    }
}
