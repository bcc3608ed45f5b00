namespace IlgpuStyle.Model;

/// <summary>
/// A network's convolution weights on the host, in our layout: weights (Co, Ci, K, K), bias (Co), by layer name.
/// VGG19's from an HDF5 file (<see cref="Vgg19WeightsFile"/>) or seeded random (<see cref="Random"/>); ResNet18's from
/// its ONNX file with BatchNorm folded in (<see cref="ResNet18WeightsFile"/>).
/// </summary>
public sealed record NetworkWeights
{
    /// <summary>The table these weights fill.</summary>
    public NetworkDescription Network { get; init; } = Vgg19Layers.Description;
    public required IReadOnlyDictionary<string, float[]> Kernels { get; init; }
    public required IReadOnlyDictionary<string, float[]> Biases { get; init; }
    /// <summary>Where they came from: a file path, or "random (seed N)".</summary>
    public required string Source { get; init; }
    public bool IsRandom { get; init; }
    /// <summary>What the weights were trained on (already folded into conv1_1 where it is not Caffe's: <see cref="InputPreprocessing.FoldInto"/>).</summary>
    public InputPreprocessing Preprocessing { get; init; } = InputPreprocessing.Caffe;

    /// <summary>
    /// VGG19 with He-initialized weights, w ~ N(0, 2/(Ci·9)), biases 0, from a seeded generator. Each ReLU layer
    /// then keeps the activations' scale, so every layer's Gram matrix carries signal: random
    /// convolutions still respond to edges, colours and textures at growing receptive fields,
    /// which is what the style loss compares. Pretrained weights give better results.
    /// Made once per seed and process (20 million normal draws) and shared: treat the arrays as read-only.
    /// </summary>
    public static NetworkWeights Random(int seed) => randomBySeed.GetOrAdd(seed, s => new Lazy<NetworkWeights>(() => MakeRandom(s))).Value;

    static readonly System.Collections.Concurrent.ConcurrentDictionary<int, Lazy<NetworkWeights>> randomBySeed = new();

    static NetworkWeights MakeRandom(int seed)
    {
        var rng = new Random(seed);
        var kernels = new Dictionary<string, float[]>();
        var biases = new Dictionary<string, float[]>();
        foreach (var c in Vgg19Layers.Convolutions)
        {
            double std = Math.Sqrt(2.0 / (c.InChannels * 9));
            var w = new float[c.OutChannels * c.InChannels * 9];
            for (int i = 0; i < w.Length; i++)
            {
                // Box–Muller: two uniforms to one standard normal.
                double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
                w[i] = (float)(std * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
            }
            kernels[c.Name] = w;
            biases[c.Name] = new float[c.OutChannels];
        }
        return new NetworkWeights { Kernels = kernels, Biases = biases, Source = $"random He-initialized weights (seed {seed})", IsRandom = true };
    }
}
