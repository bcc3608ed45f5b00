using IlgpuStyle.Model;
using IlgpuStyle.Tensors;

namespace IlgpuStyle.Transfer;

/// <summary>
/// Device memory a transfer needs at one image size, counted from the same plan the run allocates:
/// VGG19's weights (and the layouts derived from them: at most Winograd F(4×4)'s transformed filters for both passes, 36/9
/// of the weights each, where the tuner picks Winograd; the direct convolution's transposed copies are smaller), the
/// Winograd chunk's transformed inputs and products, the activations and
/// their gradients, the content targets, per style layer a Gram matrix, its target and gradient,
/// the largest style image's activations (while targets are computed), the optimizer's vectors
/// (L-BFGS: 2·history + 4 images; Adam: 2) and the scratch of the padded input.
/// </summary>
public static class MemoryEstimate
{
    public static long Bytes(StyleTransferOptions o, int width, int height, int styleLongest)
    {
        int last = Vgg19Layers.IndexOf(o.DeepestLayer);
        long floats = 0;
        foreach (var c in Vgg19Layers.Convolutions.Where(c => Vgg19Layers.IndexOf(c.Name) <= last))
            floats += 9L * c.OutChannels * c.InChannels * 9L + 3L * c.OutChannels + 16L * c.InChannels * 9;   // w, and 2 × 4 × w derived
        floats += Devices.DevicePolicy.MaxWinogradChunkBytes / sizeof(float);

        long Activations(int w, int h, out long largest, out Dictionary<string, long> channels)
        {
            long sum = 0; largest = 3L * w * h; channels = new();
            int c = 3;
            foreach (var layer in Vgg19Layers.Order.Take(last + 1))
            {
                if (Vgg19Layers.IsPooling(layer)) { w /= 2; h /= 2; }
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
        floats += o.StyleLayers.Select(l => GramPartials((int)channels[Vgg19Layers.Canonical(l)],   // and its partial blocks
            Math.Max(LayerSize(l), (long)channels[Vgg19Layers.Canonical(l)] * sw * sh / (1L << (2 * Pools(l)))) / channels[Vgg19Layers.Canonical(l)])).DefaultIfEmpty(0).Max();
        floats += image * (o.Optimizer == OptimizerKind.Adam ? 2 : 2L * o.LbfgsHistory + 4);
        floats += (o.KeepBest ? 3 : 2) * image;                            // the content image, the last good image (and the best)
        return floats * sizeof(float);
    }

    static int Pools(string layer) => Vgg19Layers.PoolingsThrough(layer);

    /// <summary>Floats of the Rows Gram forward's partial blocks for c channels and m pixels (kernels/Gram.cs, ForwardBlocks).</summary>
    static long GramPartials(int c, long m)
    {
        long blocks = (c + Kernels.Gram.Block - 1) / Kernels.Gram.Block;
        return Math.Max(1, (m + Kernels.Gram.SliceSteps - 1) / Kernels.Gram.SliceSteps) * blocks * (blocks + 1) / 2 * Kernels.Gram.Block * Kernels.Gram.Block;
    }

    /// <summary>
    /// The elements of the largest buffer a run allocates: the zero-padded input of conv1_2 or of conv1_1's input gradient,
    /// 64 × (H + 2) × (W + 2) (plus a row's slack), for the content image or a (square, at most) style image.
    /// </summary>
    public static long LargestTensorElements(int width, int height, int styleLongest) =>
        Math.Max(64L * (width + 2) * (height + 2), 64L * (styleLongest + 2) * (styleLongest + 2)) + 64;

    /// <summary>
    /// No buffer may hold 2³¹ elements or more (<see cref="Devices.DeviceMemory.MaxBufferElements"/>); a device with the
    /// memory would otherwise accept the run and write out of bounds.
    /// </summary>
    public const long MaxTensorElements = Devices.DeviceMemory.MaxBufferElements;

    /// <summary>
    /// Throws, before anything is allocated, if the largest buffer would be beyond what the kernels index (with the largest
    /// --image-size that is not), or if the run does not fit the device (with the estimate, what the device has, and the
    /// largest --image-size that fits).
    /// </summary>
    public static void Check(StyleTransferOptions o, int contentWidth, int contentHeight, long deviceBytes, string deviceName)
    {
        (int W, int H, int Style) Size(int size)
        {
            double s = (double)size / Math.Max(contentWidth, contentHeight);
            return (Math.Max(1, (int)(contentWidth * s)), Math.Max(1, (int)(contentHeight * s)), Math.Max(16, (int)(size * o.StyleScale)));
        }
        long Elements(int size) { var (w, h, st) = Size(size); return LargestTensorElements(w, h, st); }
        if (Elements(o.ImageSize) > MaxTensorElements)
        {
            int low = 16, high = o.ImageSize;
            while (low < high) { int mid = (low + high + 1) / 2; if (Elements(mid) <= MaxTensorElements) low = mid; else high = mid - 1; }
            throw new ArgumentException(
                $"--image-size {o.ImageSize}{(o.StyleScale != 1 ? $" with --style-scale {o.StyleScale}" : "")} makes a buffer of {Elements(o.ImageSize):N0} " +
                $"elements, beyond the 2^31 - 1 the kernels can index; the largest --image-size for this image is about {low}");
        }
        long Needed(int size) { var (w, h, st) = Size(size); return Bytes(o, w, h, st); }
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
