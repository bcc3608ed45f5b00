using IlgpuStyle.Model;
using IlgpuStyle.Tensors;

namespace IlgpuStyle.Transfer;

/// <summary>
/// Device memory a transfer needs at one image size, counted from the same plan the run allocates:
/// the network's weights (and the layouts derived from them: at most Winograd F(4×4)'s transformed filters for both passes, 36/9
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
        if (o.Tile is { } tile) return TiledBytes(o, width, height, styleLongest, tile);
        var network = o.Network;
        var layers = network.Through(o.DeepestLayer);
        long floats = 0;
        foreach (var c in layers.Where(l => l.Op == LayerOp.Conv))
        {
            long taps = (long)c.Kernel * c.Kernel;
            floats += 9L * c.OutChannels * c.InChannels * taps + 3L * c.OutChannels + 16L * c.InChannels * taps;   // w, and 2 × 4 × w derived
        }
        floats += Devices.DevicePolicy.MaxWinogradChunkBytes / sizeof(float);

        long Activations(int w, int h, out long largest, out Dictionary<string, long> channels)
        {
            long sum = 0; largest = 3L * w * h; channels = new();
            foreach (var (layer, _, y) in network.ClampedShapes(new Shape4(1, 3, h, w), o.DeepestLayer))
            {
                sum += y.Length; largest = Math.Max(largest, y.Length); channels[layer.Name] = y.C;
            }
            return sum;
        }

        long acts = Activations(width, height, out long largestAct, out var channels);
        floats += 2 * acts;                                               // activations and their gradients
        floats += o.ContentLayers.Sum(l => acts > 0 ? (long)channels[network.Canonical(l)] * width * height / (1L << (2 * network.HalvingsThrough(l))) : 0);
        int regions = o.ContentMasks?.Count ?? 1;
        floats += regions * o.StyleLayers.Sum(l => 3L * channels[network.Canonical(l)] * channels[network.Canonical(l)]);
        long LayerSize(string l) => (long)channels[network.Canonical(l)] * width * height / (1L << (2 * network.HalvingsThrough(l)));
        if (o.ContentMasks is not null)                                   // per region: masked features and the mask
            floats += regions * o.StyleLayers.Sum(l => LayerSize(l) + LayerSize(l) / channels[network.Canonical(l)]);
        if (o.NormalizeGradients)                                         // the normalization's copy of each loss layer
            floats += o.ContentLayers.Concat(o.StyleLayers).Sum(LayerSize);
        int sw = styleLongest, sh = styleLongest;
        floats += Activations(sw, sh, out long largestStyle, out _);     // the style image's pass (freed afterwards)
        floats += 2 * Math.Max(largestAct, largestStyle);                 // padded-input scratch (with its border)
        long StridedFull(int w, int h) => network.ClampedShapes(new Shape4(1, 3, h, w), o.DeepestLayer)
            .Where(e => e.Layer.Op == LayerOp.Conv && e.Layer.Stride > 1)
            .Select(e => (long)e.Output.C * Math.Max(1, e.Input.H + 2 * e.Layer.Pad - e.Layer.Kernel + 1) * Math.Max(1, e.Input.W + 2 * e.Layer.Pad - e.Layer.Kernel + 1))
            .DefaultIfEmpty(0).Max();
        floats += Math.Max(StridedFull(width, height), StridedFull(sw, sh));   // a stride-2 convolution's stride-1 output (ResNet18)
        floats += Math.Max(largestAct, largestStyle);                     // the Gram's transposed features (Rows variant)
        floats += o.StyleLayers.Select(l => GramPartials((int)channels[network.Canonical(l)],   // and its partial blocks
            Math.Max(LayerSize(l), (long)channels[network.Canonical(l)] * sw * sh / (1L << (2 * network.HalvingsThrough(l)))) / channels[network.Canonical(l)])).DefaultIfEmpty(0).Max();
        floats += ImageVectors(o, width, height);
        return floats * sizeof(float);
    }

    /// <summary>
    /// A run with --tile (<see cref="TiledObjective"/>): the whole image's estimate with the network's part counted for the
    /// largest patch of the tile plan the run will use (<see cref="TiledObjective.Plan"/>; one patch shape's workspace exists
    /// at a time: activations and their gradients, the patch and its gradient, each loss layer's masked features and Gram
    /// matrices), plus each tile's content targets and masks; the image-sized vectors (the image, its gradient, the content
    /// image, the optimizer's) and the style image's pass stay as they are.
    /// </summary>
    static long TiledBytes(StyleTransferOptions o, int width, int height, int styleLongest, int tile)
    {
        var network = o.Network;
        var lossLayers = o.ContentLayers.Concat(o.StyleLayers).Select(network.Canonical).Distinct().ToList();
        var tiles = TiledObjective.Plan(network, lossLayers, width, height, tile);
        // The whole-image estimate of the largest patch is its workspace and the fixed parts; the image-sized vectors are
        // then counted at the image's size instead of the patch's.
        var shapes = tiles.GroupBy(t => (t.PatchWidth, t.PatchHeight)).ToList();
        var untiled = o with { Tile = null };
        long largest = shapes.Max(s => Bytes(untiled, s.Key.PatchWidth, s.Key.PatchHeight, styleLongest) / sizeof(float)
                                       - ImageVectors(o, s.Key.PatchWidth, s.Key.PatchHeight));
        long floats = largest + ImageVectors(o, width, height);
        // Each tile's content targets and interior masks (the patch's layer sizes), and per style layer G_tile, its target,
        // the sum over tiles and G − A.
        var contentLayers = o.ContentLayers.Select(network.Canonical).ToHashSet();
        foreach (var shape in shapes)
        {
            var layers = network.ClampedShapes(new Shape4(1, 3, shape.Key.PatchHeight, shape.Key.PatchWidth), o.DeepestLayer)
                .ToDictionary(e => e.Layer.Name, e => e.Output);
            floats += shape.Count() * lossLayers.Sum(l => (long)layers[l].H * layers[l].W + (contentLayers.Contains(l) ? layers[l].Length : 0));
        }
        floats += o.StyleLayers.Sum(l => 4L * network.Channels(l) * network.Channels(l));
        return floats * sizeof(float);
    }

    /// <summary>
    /// Floats of the image-sized vectors a run keeps whole, tiled or not: the image and its gradient, the optimizer's (Adam 2,
    /// L-BFGS 2·history + 4), the content image and the last good image (and the best).
    /// </summary>
    static long ImageVectors(StyleTransferOptions o, int width, int height) =>
        3L * width * height * (2 + (o.Optimizer == OptimizerKind.Adam ? 2 : 2L * o.LbfgsHistory + 4) + (o.KeepBest ? 3 : 2));

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
        LargestTensorElements(Vgg19Layers.Description, "conv5_1", width, height, styleLongest);

    /// <summary>
    /// The elements of the largest buffer a run of this network allocates (plus a row's slack): over its convolutions, the
    /// zero-padded input of a stride-1 one or of its input gradient, or a layer's input or output, for the content image
    /// or a (square, at most) style image. For VGG19 that is conv1_2's padded input, 64 × (H + 2) × (W + 2).
    /// </summary>
    public static long LargestTensorElements(NetworkDescription network, string deepest, int width, int height, int styleLongest)
    {
        long Largest(int w, int h)
        {
            long largest = 3L * w * h;
            foreach (var (l, x, y) in network.ClampedShapes(new Shape4(1, 3, h, w), deepest))
            {
                largest = Math.Max(largest, y.Length);
                if (l.Op == LayerOp.Conv && l.Stride > 1)
                {
                    // Run through the stride-1 kernels (Ops/Conv2d.cs): the stride-1 output (or the output gradient spread
                    // onto its grid), and that convolution's padded input.
                    long fullH = x.H + 2 * l.Pad - l.Kernel + 1, fullW = x.W + 2 * l.Pad - l.Kernel + 1;
                    largest = Math.Max(largest, y.C * Math.Max(fullH, 1) * Math.Max(fullW, 1));
                    largest = Math.Max(largest, (long)x.C * (x.H + 2 * l.Pad) * (x.W + 2 * l.Pad));
                }
                if (l.Op == LayerOp.Conv && l.Stride == 1)
                {
                    int back = l.Kernel - 1 - l.Pad;
                    largest = Math.Max(largest, (long)x.C * (x.H + 2 * l.Pad) * (x.W + 2 * l.Pad));
                    largest = Math.Max(largest, (long)y.C * (y.H + 2 * back) * (y.W + 2 * back));
                }
            }
            return largest;
        }
        return Math.Max(Largest(width, height), Largest(styleLongest, styleLongest)) + 64;
    }

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
        long Elements(int size)
        {
            var (w, h, st) = Size(size);
            if (o.Tile is not { } tile) return LargestTensorElements(o.Network, o.DeepestLayer, w, h, st);
            // Tiled: the largest patch's buffers, or the image-sized vectors.
            var patch = TiledObjective.Plan(o.Network, o.ContentLayers.Concat(o.StyleLayers).Select(o.Network.Canonical).Distinct().ToList(), w, h, tile)
                .MaxBy(t => (long)t.PatchWidth * t.PatchHeight)!;
            return Math.Max(LargestTensorElements(o.Network, o.DeepestLayer, patch.PatchWidth, patch.PatchHeight, st), 3L * w * h);
        }
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
            (o.Tile is null ? "; --tile evaluates the loss in patches and needs less" : $" with --tile {o.Tile}") +
            " (--scales does not lower the peak: the last scale is full size)");
    }
}
