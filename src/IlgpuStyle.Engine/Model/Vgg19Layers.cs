namespace IlgpuStyle.Model;

/// <summary>One of VGG19's sixteen 3×3 convolutions.</summary>
public sealed record ConvLayerSpec(string Name, string KerasName, int InChannels, int OutChannels)
{
    public int KernelSize => 3;
}

/// <summary>VGG19's layers in order: 16 convolutions (each followed by ReLU) and 5 poolings.</summary>
public static class Vgg19Layers
{
    public static readonly ConvLayerSpec[] Convolutions = Build();

    /// <summary>conv1_1, conv1_2, pool1, conv2_1, … conv5_4, pool5.</summary>
    public static readonly string[] Order = BuildOrder();

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

    /// <summary>Accepts conv4_2, relu4_2 (neural-style's name) and block4_conv2 (Keras's); returns conv4_2.</summary>
    public static string Canonical(string name)
    {
        var n = name.Trim().ToLowerInvariant();
        if (n.StartsWith("relu")) n = "conv" + n[4..];
        if (n.StartsWith("block") && n.Contains("_conv")) n = $"conv{n[5]}_{n[^1]}";
        if (n.StartsWith("block") && n.EndsWith("_pool")) n = $"pool{n[5]}";
        if (!Order.Contains(n))
            throw new ArgumentException($"unknown VGG19 layer '{name}': use conv1_1 … conv5_4 (or relu1_1 …) and pool1 … pool5");
        return n;
    }

    public static int IndexOf(string layer) => Array.IndexOf(Order, Canonical(layer));

    /// <summary>The deepest of the given layers (any spelling), canonical: where a forward pass for them can stop.</summary>
    public static string Deepest(IEnumerable<string> layers) => layers.Select(Canonical).MaxBy(IndexOf)
        ?? throw new ArgumentException("no layers given");

    public static bool IsPooling(string layer) => Canonical(layer).StartsWith("pool");

    /// <summary>How many 2×2 poolings come before a layer's output (the layer itself included when it is one): its features
    /// are the image's size divided by 2 to this power.</summary>
    public static int PoolingsThrough(string layer) => Order.Take(IndexOf(layer) + 1).Count(IsPooling);
}
