namespace IlgpuStyle.Model;

/// <summary>
/// VGG19's convolution weights on the host, in our layout: weights (Co, Ci, 3, 3), bias (Co).
/// From an HDF5 file (<see cref="Vgg19WeightsFile"/>) or seeded random (<see cref="Random"/>).
/// </summary>
public sealed class Vgg19Weights
{
    public required IReadOnlyDictionary<string, float[]> Kernels { get; init; }
    public required IReadOnlyDictionary<string, float[]> Biases { get; init; }
    /// <summary>Where they came from: a file path, or "random (seed N)".</summary>
    public required string Source { get; init; }
    public bool IsRandom { get; init; }

    /// <summary>
    /// He-initialized weights, w ~ N(0, 2/(Ci·9)), biases 0, from a seeded generator. Each ReLU layer
    /// then keeps the activations' scale, so every layer's Gram matrix carries signal: random
    /// convolutions still respond to edges, colours and textures at growing receptive fields,
    /// which is what the style loss compares. Pretrained weights give better results.
    /// Made once per seed and process (20 million normal draws) and shared: treat the arrays as read-only.
    /// </summary>
    public static Vgg19Weights Random(int seed) => randomBySeed.GetOrAdd(seed, s => new Lazy<Vgg19Weights>(() => MakeRandom(s))).Value;

    static readonly System.Collections.Concurrent.ConcurrentDictionary<int, Lazy<Vgg19Weights>> randomBySeed = new();

    static Vgg19Weights MakeRandom(int seed)
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
        return new Vgg19Weights { Kernels = kernels, Biases = biases, Source = $"random He-initialized weights (seed {seed})", IsRandom = true };
    }
}
