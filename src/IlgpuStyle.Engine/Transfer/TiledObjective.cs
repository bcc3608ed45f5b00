using IlgpuStyle.Autodiff;
using IlgpuStyle.Devices;
using IlgpuStyle.Model;
using IlgpuStyle.Ops;
using IlgpuStyle.Tensors;

namespace IlgpuStyle.Transfer;

/// <summary>One tile: the image rows and columns whose features it owns (its interior), and the patch it runs the network on.</summary>
public sealed record Tile(int X0, int Y0, int X1, int Y1, int PatchX0, int PatchY0, int PatchX1, int PatchY1)
{
    public int PatchWidth => PatchX1 - PatchX0;
    public int PatchHeight => PatchY1 - PatchY0;
}

/// <summary>
/// The style-transfer objective evaluated tile by tile with the same result as the whole image at once (Gatys's loss
/// allows it: the style loss sees the image only through G = Σ_pixels F·Fᵀ/(C·M), the content loss is a sum over
/// pixels, TV is local). The image is cut into tiles whose interiors start at multiples of the network's largest jump;
/// each tile's patch adds, around its interior, the reach of the deepest loss layer (<see cref="NetworkDescription.Reach"/>),
/// so the features of its interior are exactly the whole image's.
///
/// Pass 1, per tile: forward the patch; mask each loss layer's features to the interior's cells; add their Gram matrix
/// (scaled by the whole image's 1/(C·M)) into G_l and their content loss into the total. Then L_style = Σ_l w_l·¼Σ(G_l − A_l)².
/// Pass 2, per tile: forward again and backward, the Gram node's loss given the target G_tile − (G_l − A_l), so that its
/// gradient is the whole image's w_l·(G_l − A_l) (the masked features are the interior's only: the halo's get none);
/// the patch's image gradient is what the interior's features cause, and adds into the whole image's gradient.
/// TV is evaluated on the whole image (it is the image's own size, no network). Content targets are the content image's
/// features, computed tile by tile the same way; style targets A come in whole.
///
/// This covers content and style terms without masks, gradient normalization or scale control, with either pooling and
/// any network of the table (VGG19, ResNet18).
/// </summary>
public sealed class TiledObjective : IStyleObjective
{
    /// <summary>
    /// What the tiles of one patch shape share while they run: the patch, its activations, the tape with its gradient
    /// buffers, and each loss layer's scratch. One exists at a time (<see cref="ForEachTile"/>): the device holds one
    /// patch's network, not one per shape, and memory follows the tile, not the image.
    /// </summary>
    sealed class Workspace : IDisposable
    {
        public Tensor Patch { get; }
        public Activations Activations { get; }
        public Tape Tape { get; } = new();
        public Dictionary<string, (Tensor Masked, Tensor? Gram, Tensor? GramTarget)> Layers { get; } = new();
        readonly List<IDisposable> owned = new();

        public Workspace(Network network, string deepest, Shape4 patch, IEnumerable<string> lossLayers, ICollection<string> styleLayers)
        {
            var device = network.Device;
            Activations = network.Plan(patch, deepest);
            Patch = new Tensor(device, patch, "patch");
            Tape.RequireGradient(Patch);
            foreach (var l in lossLayers)
            {
                var f = Activations[l].Shape;
                bool isStyle = styleLayers.Contains(l);
                Layers[l] = (Own(new Tensor(device, f, "masked_" + l)), isStyle ? Own(new Tensor(device, Op.GramShape(f), "G_tile_" + l)) : null,
                    isStyle ? Own(new Tensor(device, Op.GramShape(f), "G_target_" + l)) : null);
            }
        }

        T Own<T>(T t) where T : IDisposable { owned.Add(t); return t; }

        public void Dispose()
        {
            Tape.Dispose();
            Activations.Dispose();
            Patch.Dispose();
            foreach (var o in owned) o.Dispose();
        }
    }

    /// <summary>A loss layer in one tile: which of the patch's cells the tile owns, and their content target (content layers).</summary>
    sealed record LayerInTile(string Layer, Tensor Mask, Tensor? ContentTarget);

    readonly Network network;
    readonly string deepest;
    readonly List<string> contentLayers, styleLayers;
    readonly float contentWeight, tvWeight;
    readonly Dictionary<string, (float Weight, float Scale, Tensor Target, Tensor Sum, Tensor Difference)> style = new();
    readonly List<(Tile Tile, List<LayerInTile> Layers)> tiles = new();
    readonly List<string> lossLayers;
    readonly Tape tvTape = new();
    readonly List<IDisposable> owned = new();
    readonly KernelVariant? gramVariant;

    public Tensor X { get; }
    public Tensor Gradient { get; }
    public IReadOnlyList<Tile> Tiles => tiles.Select(t => t.Tile).ToList();
    public LossBreakdown Last { get; private set; }

    /// <summary>The Gram matrices of the last evaluation, summed over the tiles, by style layer.</summary>
    public IReadOnlyDictionary<string, Tensor> StyleGrams => style.ToDictionary(kv => kv.Key, kv => kv.Value.Sum);

    /// <param name="styleTargets">A_l per style layer, the blended targets (as <see cref="StyleObjective.StyleGrams"/> holds them).</param>
    /// <param name="tile">The interior's side (a multiple of the network's largest jump down to the deepest loss layer).</param>
    /// <param name="halo">Pixels added around each interior: null for the reach the network needs (less breaks sameness).</param>
    public TiledObjective(Network network, Tensor x, Tensor contentImage, IReadOnlyDictionary<string, Tensor> styleTargets,
        StyleTransferOptions o, int tile, (int Before, int After)? halo = null)
    {
        this.network = network;
        X = x;
        var description = network.Description;
        contentLayers = o.ContentLayers.Select(description.Canonical).ToList();
        styleLayers = o.StyleLayers.Select(description.Canonical).ToList();
        deepest = description.Deepest(contentLayers.Concat(styleLayers));
        contentWeight = (float)(o.ContentWeight / contentLayers.Count);
        tvWeight = (float)o.TvWeight;
        gramVariant = o.GramVariant;
        Check.That("TiledObjective", o.ContentMasks is null && !o.NormalizeGradients && !o.ScaleControl,
            "tiles do not take masks, --normalize-gradients or scale control yet");

        int w = x.Shape.W, h = x.Shape.H;
        var full = description.Shapes(x.Shape, deepest);
        var lossLayers = contentLayers.Concat(styleLayers).Distinct().ToList();
        var reaches = lossLayers.ToDictionary(l => l, description.Reach);

        var weights = StyleObjective.LayerWeights(o, styleLayers);
        for (int i = 0; i < styleLayers.Count; i++)
        {
            string layer = styleLayers[i];
            var f = full[layer];
            var shape = Op.GramShape(f);
            style[layer] = ((float)(o.StyleWeight * weights[i]), StyleObjective.GramScale(f), styleTargets[layer],
                Own(new Tensor(x.Device, shape, "G_" + layer)), Own(new Tensor(x.Device, shape, "G_minus_A_" + layer)));
        }

        // The tiles, and for each its masks and its content targets (P for the interior: the content image's patch through
        // the network, masked).
        this.lossLayers = lossLayers;
        foreach (var t in Plan(description, lossLayers, w, h, tile, halo))
        {
            var shapes = description.Shapes(new Shape4(1, 3, t.PatchHeight, t.PatchWidth), deepest);
            tiles.Add((t, lossLayers.Select(layer =>
            {
                var f = shapes[layer];
                var mask = Own(Tensor.FromArray(x.Device, new Shape4(1, 1, f.H, f.W), InteriorMask(t, reaches[layer].Jump, f, full[layer], w, h), "interior_" + layer));
                return new LayerInTile(layer, mask, contentLayers.Contains(layer) ? Own(new Tensor(x.Device, f, "P_" + layer)) : null);
            }).ToList()));
        }
        var content = contentImage.ToArray();
        ForEachTile((t, space, layers) =>
        {
            space.Patch.CopyFrom(Crop(content, w, h, t));
            space.Tape.Clear();
            network.Forward(space.Tape, space.Patch, space.Activations);
            foreach (var l in layers.Where(l => l.ContentTarget is not null)) Op.MaskForward(space.Activations[l.Layer], l.Mask, l.ContentTarget!);
        });

        tvTape.RequireGradient(X);
        Gradient = tvTape.Gradient(X);
    }

    /// <summary>
    /// The tiles of an image: interiors of `tile` pixels from the top left (the last of a row or column what is left), each
    /// with a patch that starts on the largest jump's grid (so its cells are the image's), reaches `halo` (default: the loss
    /// layers' reach, <see cref="NetworkDescription.Reach"/>) around the interior and stops at the image's edges. The run
    /// and its memory estimate (<see cref="MemoryEstimate"/>) both take their tiles from here.
    /// </summary>
    public static IReadOnlyList<Tile> Plan(NetworkDescription network, IReadOnlyList<string> lossLayers, int width, int height, int tile,
        (int Before, int After)? halo = null)
    {
        int align = network.LargestJump(network.Deepest(lossLayers));
        Check.That("TiledObjective", tile > 0 && tile % align == 0, $"a tile of {tile} px: it must be a multiple of {align}, the network's largest jump");
        var (before, after) = halo ?? network.Halo(lossLayers);
        var tiles = new List<Tile>();
        for (int y0 = 0; y0 < height; y0 += tile)
            for (int x0 = 0; x0 < width; x0 += tile)
            {
                int x1 = Math.Min(width, x0 + tile), y1 = Math.Min(height, y0 + tile);
                tiles.Add(new Tile(x0, y0, x1, y1, Math.Max(0, (x0 - before) / align * align), Math.Max(0, (y0 - before) / align * align),
                    Math.Min(width, x1 + after), Math.Min(height, y1 + after)));
            }
        return tiles;
    }

    /// <summary>
    /// The objective of a run with --tile: the style targets A_l from the style images (blended, each image whole), then
    /// the tiles. The targets are the objective's.
    /// </summary>
    public static TiledObjective FromSources(Network network, Tensor x, Tensor contentImage, IReadOnlyList<StyleSource> sources,
        StyleTransferOptions o, int tile)
    {
        var styleLayers = o.StyleLayers.Select(network.Description.Canonical).ToList();
        var targets = new Dictionary<string, Tensor>();
        try
        {
            foreach (var layer in styleLayers)
            {
                var c = network.Description.Channels(layer);
                var target = new Tensor(x.Device, new Shape4(1, 1, c, c), "A_" + layer);
                targets[layer] = target;
                Op.Fill(target, 0f);
            }
            foreach (var source in sources)
                StyleObjective.AddToStyleTargets(network, source, targets.Select(kv => (kv.Key, kv.Value)).ToList(), styleLayers, o.GramVariant);
            var objective = new TiledObjective(network, x, contentImage, targets, o, tile);
            objective.owned.AddRange(targets.Values);
            return objective;
        }
        catch
        {
            foreach (var t in targets.Values) t.Dispose();
            throw;
        }
    }

    T Own<T>(T t) where T : IDisposable { owned.Add(t); return t; }

    /// <summary>Runs `each` on every tile, one patch shape at a time: its workspace is made for that shape's tiles and freed after them.</summary>
    void ForEachTile(Action<Tile, Workspace, List<LayerInTile>> each)
    {
        foreach (var group in tiles.GroupBy(t => (t.Tile.PatchWidth, t.Tile.PatchHeight)))
        {
            using var space = new Workspace(network, deepest, new Shape4(1, 3, group.Key.PatchHeight, group.Key.PatchWidth), lossLayers, style.Keys);
            foreach (var (t, layers) in group) each(t, space, layers);
        }
    }

    /// <summary>1 at the cells of a layer that the tile owns (their image position Jump·i inside its interior), 0 elsewhere.</summary>
    static float[] InteriorMask(Tile t, int jump, Shape4 f, Shape4 full, int width, int height)
    {
        var mask = new float[f.H * f.W];
        // The last tile of a row or column owns every cell to the image's last one (its edge need not be on the grid).
        int Cell(int x) => (x + jump - 1) / jump;
        int cx0 = Cell(t.X0), cx1 = t.X1 == width ? full.W : Cell(t.X1), cy0 = Cell(t.Y0), cy1 = t.Y1 == height ? full.H : Cell(t.Y1);
        int ox = t.PatchX0 / jump, oy = t.PatchY0 / jump;
        for (int y = cy0; y < cy1; y++)
            for (int x = cx0; x < cx1; x++)
                if (y - oy is var py && x - ox is var px && py >= 0 && py < f.H && px >= 0 && px < f.W) mask[py * f.W + px] = 1;
        return mask;
    }

    /// <summary>The patch of a (3, H, W) image.</summary>
    static float[] Crop(float[] image, int width, int height, Tile t)
    {
        var patch = new float[3 * t.PatchWidth * t.PatchHeight];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < t.PatchHeight; y++)
                Array.Copy(image, (c * height + t.PatchY0 + y) * width + t.PatchX0, patch, (c * t.PatchHeight + y) * t.PatchWidth, t.PatchWidth);
        return patch;
    }

    public double Evaluate()
    {
        var device = X.Device;
        int w = X.Shape.W, h = X.Shape.H;
        var image = X.ToArray();
        // Pass 1: the Gram matrices and the content loss, summed over the tiles' interiors.
        foreach (var s in style.Values) Op.Fill(s.Sum, 0f);
        double contentLoss = 0;
        ForEachTile((t, space, layers) =>
        {
            space.Patch.CopyFrom(Crop(image, w, h, t));
            int slots = Record(space, layers, secondPass: false);
            if (slots > 0) contentLoss += Op.ReadScalars(device, slots).Sum(v => (double)v);
        });
        // L_style from the whole image's Gram matrices, and G − A for pass 2.
        double styleLoss = 0;
        foreach (var (layer, s) in style)
        {
            Op.Axpby(s.Difference, 1f, s.Sum, -1f, s.Target);
            var d = s.Difference.ToArray();
            styleLoss += s.Weight * StyleObjective.StyleLossConstant * d.Sum(v => (double)v * v);
        }

        // Pass 2: forward and backward per tile; the style loss node's target makes its gradient the whole image's.
        var gradient = new float[image.Length];
        ForEachTile((t, space, layers) =>
        {
            space.Patch.CopyFrom(Crop(image, w, h, t));
            Record(space, layers, secondPass: true);
            space.Tape.Backward();
            var patchGradient = space.Tape.Gradient(space.Patch).ToArray();
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < t.PatchHeight; y++)
                    for (int x = 0; x < t.PatchWidth; x++)
                        gradient[(c * h + t.PatchY0 + y) * w + t.PatchX0 + x] += patchGradient[(c * t.PatchHeight + y) * t.PatchWidth + x];
        });

        // TV on the whole image; its gradient, plus the tiles', is the objective's.
        tvTape.Clear();
        double tv = 0;
        if (tvWeight > 0)
        {
            tvTape.TotalVariation("image", X, tvWeight, 0);
            tvTape.Backward();
            tv = Op.ReadScalars(device, 1)[0];
            var tvGradient = Gradient.ToArray();
            for (int i = 0; i < gradient.Length; i++) gradient[i] += tvGradient[i];
        }
        Gradient.CopyFrom(gradient);
        Last = new LossBreakdown(contentLoss, styleLoss, tv);
        return Last.Total;
    }

    /// <summary>
    /// One tile's forward on its workspace's tape: the network, each loss layer's features masked to the interior, the
    /// content losses, the Gram matrices. Pass 1 adds the Gram matrices into the whole image's; pass 2 gives each its style
    /// loss with the target G_tile − (G − A), whose gradient is then the whole image's. Returns the loss slots used.
    /// </summary>
    int Record(Workspace space, List<LayerInTile> layers, bool secondPass)
    {
        var (tape, acts) = (space.Tape, space.Activations);
        tape.Clear();
        network.Forward(tape, space.Patch, acts);
        int slot = 0;
        foreach (var l in layers)
        {
            var (masked, gram, gramTarget) = space.Layers[l.Layer];
            tape.Mask(l.Layer, acts[l.Layer], l.Mask, masked);
            if (l.ContentTarget is { } p) tape.ContentLoss(l.Layer, masked, p, contentWeight, slot++);
            if (gram is null) continue;
            var s = style[l.Layer];
            tape.Gram(l.Layer, masked, gram, s.Scale, gramVariant);
            if (!secondPass) Op.Axpy(s.Sum, 1f, gram);
            else
            {
                Op.Axpby(gramTarget!, 1f, gram, -1f, s.Difference);   // G_tile − (G − A): the node's G − target is G − A
                tape.StyleLoss(l.Layer, gram, gramTarget!, s.Weight, StyleObjective.StyleLossConstant, slot++);
            }
        }
        return slot;
    }

    public void Dispose()
    {
        tvTape.Dispose();
        foreach (var o in owned) o.Dispose();
    }
}
