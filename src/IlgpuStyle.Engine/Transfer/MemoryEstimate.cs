using IlgpuStyle.Model;
using IlgpuStyle.Tensors;

namespace IlgpuStyle.Transfer;

/// <summary>
/// Device memory a transfer needs at one image size, counted from the same plan the run allocates:
/// VGG19's weights (and their transposed copies for the direct convolution), the activations and
/// their gradients, the content targets, per style layer a Gram matrix, its target and gradient,
/// the largest style image's activations (while targets are computed), the optimizer's vectors
/// (L-BFGS: 2·history + 4 images; Adam: 2) and the scratch of the padded input.
/// </summary>
public static class MemoryEstimate
{
    public static long Bytes(StyleTransferOptions o, int width, int height, int styleLongest)
    {
        var layers = o.ContentLayers.Concat(o.StyleLayers).Select(Vgg19Layers.Canonical).ToList();
        string deepest = layers.MaxBy(Vgg19Layers.IndexOf)!;
        int last = Vgg19Layers.IndexOf(deepest);
        long floats = 0;
        foreach (var c in Vgg19Layers.Convolutions.Where(c => Vgg19Layers.IndexOf(c.Name) <= last))
            floats += 3L * (c.OutChannels * c.InChannels * 9L + c.OutChannels) + 16L * c.InChannels * 9;

        long Activations(int w, int h, out long largest, out Dictionary<string, long> channels)
        {
            long sum = 0; largest = 3L * w * h; channels = new();
            int c = 3;
            foreach (var layer in Vgg19Layers.Order.Take(last + 1))
            {
                if (layer.StartsWith("pool")) { w /= 2; h /= 2; }
                else c = Vgg19Layers.Convolutions.First(s => s.Name == layer).OutChannels;
                long n = (long)c * Math.Max(w, 1) * Math.Max(h, 1);
                sum += n; largest = Math.Max(largest, n); channels[layer] = c;
            }
            return sum;
        }

        long image = 3L * width * height;
        long acts = Activations(width, height, out long largestAct, out var channels);
        floats += 2 * acts + 2 * image;                                   // activations and gradients, the image and its gradient
        floats += o.ContentLayers.Sum(l => acts > 0 ? (long)channels[Vgg19Layers.Canonical(l)] * width * height / (1L << (2 * Pools(l))) : 0);
        int regions = o.ContentMasks?.Count ?? 1;
        floats += regions * o.StyleLayers.Sum(l => 3L * channels[Vgg19Layers.Canonical(l)] * channels[Vgg19Layers.Canonical(l)]);
        long LayerSize(string l) => (long)channels[Vgg19Layers.Canonical(l)] * width * height / (1L << (2 * Pools(l)));
        if (o.ContentMasks is not null)                                   // per region: masked features and the mask
            floats += regions * o.StyleLayers.Sum(l => LayerSize(l) + LayerSize(l) / channels[Vgg19Layers.Canonical(l)]);
        if (o.NormalizeGradients)                                         // the normalization's copy of each loss layer
            floats += o.ContentLayers.Concat(o.StyleLayers).Sum(LayerSize);
        int sw = styleLongest, sh = styleLongest;
        floats += Activations(sw, sh, out long largestStyle, out _);     // the style image's pass (freed afterwards)
        floats += 2 * Math.Max(largestAct, largestStyle);                 // padded-input scratch (with its border)
        floats += Math.Max(largestAct, largestStyle);                     // the Gram's transposed features (Rows variant)
        floats += image * (o.Optimizer == OptimizerKind.Adam ? 2 : 2L * o.LbfgsHistory + 4);
        floats += (o.KeepBest ? 3 : 2) * image;                            // the content image, the last good image (and the best)
        return floats * sizeof(float);
    }

    static int Pools(string layer) => Vgg19Layers.Order.Take(Vgg19Layers.IndexOf(layer) + 1).Count(l => l.StartsWith("pool"));

    /// <summary>Throws with the estimate, what the device has, and the largest --image-size that fits, if this run does not fit.</summary>
    public static void Check(StyleTransferOptions o, int contentWidth, int contentHeight, long deviceBytes, string deviceName)
    {
        long Needed(int size)
        {
            double s = (double)size / Math.Max(contentWidth, contentHeight);
            return Bytes(o, Math.Max(1, (int)(contentWidth * s)), Math.Max(1, (int)(contentHeight * s)), Math.Max(16, (int)(size * o.StyleScale)));
        }
        long need = Needed(o.ImageSize);
        long budget = (long)(deviceBytes * 0.9);   // leave room for the runtime and fragmentation
        if (need <= budget) return;
        int lo = 16, hi = o.ImageSize;
        while (lo < hi) { int mid = (lo + hi + 1) / 2; if (Needed(mid) <= budget) lo = mid; else hi = mid - 1; }
        throw new ArgumentException(
            $"--image-size {o.ImageSize} needs about {need / 1048576.0:F0} MiB on {deviceName}, which has {deviceBytes / 1048576.0:F0} MiB; " +
            (Needed(lo) <= budget ? $"the largest --image-size that fits is about {lo}" : "even the smallest size does not fit") +
            " (--scales does not lower the peak: the last scale is full size)");
    }
}
