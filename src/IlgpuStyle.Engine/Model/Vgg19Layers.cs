namespace IlgpuStyle.Model;

/// <summary>One of VGG19's sixteen 3×3 convolutions.</summary>
public sealed record ConvLayerSpec(string Name, string KerasName, int InChannels, int OutChannels)
{
    public int KernelSize => 3;
}

/// <summary>
/// VGG19's table: 16 convolutions (3×3, stride 1, padding 1, each followed by ReLU: "conv4_2" is the activation after
/// the ReLU, Keras's block4_conv2 output, neural-style's relu4_2) and 5 poolings (2×2, stride 2). Input: a
/// caffe-preprocessed image (BGR 0–255 minus the ImageNet means, see Imaging).
/// </summary>
public static class Vgg19Layers
{
    public static readonly ConvLayerSpec[] Convolutions = Build();

    /// <summary>conv1_1, conv1_2, pool1, conv2_1, … conv5_4, pool5.</summary>
    public static readonly string[] Order = BuildOrder();

    /// <summary>
    /// The defaults of jcjohnson/neural-style for a pretrained VGG19 (α 1, β scaled to our Gram normalization, γ 1e-3),
    /// with average pooling (Gatys et al.'s choice).
    /// </summary>
    public static readonly NetworkDescription Description = new("VGG19", BuildLayers(),
        new TransferDefaults(new[] { "conv4_2" }, new[] { "conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1" }, 1.0, 1e4, 1e-3, Pooling.Average, "conv3_1"),
        "use conv1_1 … conv5_4 (or relu1_1 …) and pool1 … pool5");

    static ConvLayerSpec[] Build()
    {
        int[] perBlock = { 2, 2, 4, 4, 4 };
        int[] channels = { 64, 128, 256, 512, 512 };
        var list = new List<ConvLayerSpec>();
        int inC = 3;
        for (int block = 1; block <= 5; block++)
            for (int i = 1; i <= perBlock[block - 1]; i++)
            {
                int outC = channels[block - 1];
                list.Add(new ConvLayerSpec($"conv{block}_{i}", $"block{block}_conv{i}", inC, outC));
                inC = outC;
            }
        return list.ToArray();
    }

    static string[] BuildOrder()
    {
        var order = new List<string>();
        foreach (var c in Convolutions)
        {
            if (order.Count > 0 && c.Name.EndsWith("_1") && c.Name != "conv1_1")
                order.Add($"pool{c.Name[4] - '1'}");
            order.Add(c.Name);
        }
        order.Add("pool5");
        return order.ToArray();
    }

    static List<LayerSpec> BuildLayers()
    {
        var layers = new List<LayerSpec>();
        string previous = NetworkDescription.Input;
        foreach (var name in Order)
        {
            var conv = Convolutions.FirstOrDefault(c => c.Name == name);
            layers.Add(conv is not null
                ? new LayerSpec(name, LayerOp.Conv, new[] { previous })
                {
                    InChannels = conv.InChannels, OutChannels = conv.OutChannels,
                    Aliases = new[] { "relu" + name[4..], conv.KerasName },
                }
                : new LayerSpec(name, LayerOp.Pool2x2, new[] { previous }) { Kernel = 2, Stride = 2, Pad = 0, Relu = false, Aliases = new[] { $"block{name[4]}_pool" } });
            previous = name;
        }
        return layers;
    }

    /// <summary>Accepts conv4_2, relu4_2 (neural-style's name) and block4_conv2 (Keras's); returns conv4_2.</summary>
    public static string Canonical(string name) => Description.Canonical(name);

    public static int IndexOf(string layer) => Description.IndexOf(layer);

    /// <summary>The deepest of the given layers (any spelling), canonical: where a forward pass for them can stop.</summary>
    public static string Deepest(IEnumerable<string> layers) => Description.Deepest(layers);

    public static bool IsPooling(string layer) => Description[layer].Op == LayerOp.Pool2x2;

    /// <summary>How many 2×2 poolings come before a layer's output (the layer itself included when it is one): its features
    /// are the image's size divided by 2 to this power.</summary>
    public static int PoolingsThrough(string layer) => Description.HalvingsThrough(layer);
}
