using IlgpuStyle.Imaging;

namespace IlgpuStyle.Model;

/// <summary>
/// What a network's weights expect of an image. Caffe's VGG19 (and Keras's copy of it, and neural-style-pt's conversion)
/// was trained on BGR pixels 0–255 minus the ImageNet means: the image this program optimizes is exactly that
/// (<see cref="Preprocessing"/>). torchvision's and the ONNX model zoo's were trained on RGB in [0, 1], normalized by mean
/// (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225). That is an affine map of our image per channel, so it folds into
/// conv1_1 (<see cref="FoldInto"/>) and the rest of the program never knows: z_c = (u_c' + M_c' − 255·m_c)/(255·s_c), with
/// u our pixel (BGR minus M), c' the BGR index of RGB channel c; the scale goes into the weights (exact), the offset
/// M − 255·m (at most half a grey level: 0.005, 0.499, 0.409) into the bias, exact everywhere except in conv1_1's
/// one-pixel border, where PyTorch's zero padding is a padding with that half grey level here.
/// </summary>
public sealed record InputPreprocessing(string Name, string Description)
{
    public static readonly InputPreprocessing Caffe = new("caffe", "BGR 0–255 minus the ImageNet means (Caffe, Keras, neural-style-pt's conversion)");
    public static readonly InputPreprocessing Torch = new("torch", "RGB in [0, 1] normalized by mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225) (torchvision, ONNX zoo)");

    static readonly double[] MeanRgb = { 0.485, 0.456, 0.406 }, StdRgb = { 0.229, 0.224, 0.225 };

    /// <summary>
    /// How much smaller this preprocessing's features are than Caffe's for the same image: 1/(255·mean std) ≈ 1/57.8 (exact
    /// at conv1_1 up to the per-channel spread, about so deeper: a ReLU network scales with its input, but for its biases).
    /// </summary>
    public double FeatureScale => this == Torch ? 1.0 / (255 * StdRgb.Average()) : 1.0;

    public static InputPreprocessing Named(string name) => name.Trim().ToLowerInvariant() switch
    {
        "caffe" => Caffe,
        "torch" or "pytorch" => Torch,
        _ => throw new ArgumentException($"--preprocess must be caffe or torch, got '{name}'"),
    };

    /// <summary>
    /// The preprocessing a VGG19 file expects: --preprocess where given; else by the file: Keras's and Caffe's files and
    /// neural-style-pt's vgg19-d01eb7cb.pth take Caffe's, other PyTorch and ONNX files torchvision's.
    /// </summary>
    public static InputPreprocessing For(string? weightsPath, string? forced)
    {
        if (forced is not null) return Named(forced);
        if (weightsPath is null) return Caffe;
        string name = Path.GetFileName(weightsPath).ToLowerInvariant();
        if (name.StartsWith("vgg19-d01eb7cb")) return Caffe;
        return Path.GetExtension(name) is ".pth" or ".pt" or ".onnx" ? Torch : Caffe;
    }

    /// <summary>Weights that expect this preprocessing, made to take our image (conv1_1 changed for torch; the same weights for caffe).</summary>
    public NetworkWeights FoldInto(NetworkWeights weights)
    {
        if (this == Caffe) return weights with { Preprocessing = this };
        var first = Vgg19Layers.Convolutions[0];
        var w = weights.Kernels[first.Name];
        var b = weights.Biases[first.Name];
        int taps = first.InChannels * 9;
        var folded = new float[w.Length];
        var bias = new float[b.Length];
        for (int o = 0; o < first.OutChannels; o++)
        {
            double sum = b[o];
            for (int bgr = 0; bgr < 3; bgr++)
            {
                int rgb = 2 - bgr;
                double scale = 1.0 / (255 * StdRgb[rgb]), offset = Preprocessing.MeanBgr[bgr] - 255 * MeanRgb[rgb];
                for (int k = 0; k < 9; k++)
                {
                    double v = w[o * taps + rgb * 9 + k] * scale;
                    folded[o * taps + bgr * 9 + k] = (float)v;
                    sum += v * offset;
                }
            }
            bias[o] = (float)sum;
        }
        var kernels = weights.Kernels.ToDictionary(kv => kv.Key, kv => kv.Value);
        var biases = weights.Biases.ToDictionary(kv => kv.Key, kv => kv.Value);
        kernels[first.Name] = folded;
        biases[first.Name] = bias;
        return weights with { Kernels = kernels, Biases = biases, Preprocessing = this };
    }
}
