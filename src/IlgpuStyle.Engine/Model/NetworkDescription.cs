using IlgpuStyle.Ops;
using IlgpuStyle.Tensors;

namespace IlgpuStyle.Model;

/// <summary>What a layer computes.</summary>
public enum LayerOp
{
    /// <summary>K×K convolution with stride and padding, bias (BatchNorm folded in where the network had one), ReLU if <see cref="LayerSpec.Relu"/>.</summary>
    Conv,
    /// <summary>2×2 pooling, stride 2: max or average as the run's --pooling says (VGG19's five).</summary>
    Pool2x2,
    /// <summary>K×K max pooling with stride and padding, windows that overlap (ResNet18's stem pool).</summary>
    MaxPoolWindow,
    /// <summary>max(0, a + b): a residual block's last convolution plus its shortcut.</summary>
    AddRelu,
}

/// <summary>
/// One layer of a network: its op, the layers it reads ("image" is the input), and its sizes. A layer's output is one
/// tensor named after the layer; a loss may read it where it follows a ReLU (<see cref="IsTap"/>).
/// </summary>
public sealed record LayerSpec(string Name, LayerOp Op, string[] Inputs)
{
    public int InChannels { get; init; }
    public int OutChannels { get; init; }
    public int Kernel { get; init; } = 3;
    public int Stride { get; init; } = 1;
    public int Pad { get; init; } = 1;
    public bool Relu { get; init; } = true;
    /// <summary>Other names users know the layer by: neural-style's relu4_2, Keras's block4_conv2, CNTK's ReLU269.</summary>
    public string[] Aliases { get; init; } = Array.Empty<string>();

    /// <summary>A loss may read this layer: its output follows a ReLU.</summary>
    public bool IsTap => Op is LayerOp.Conv or LayerOp.AddRelu && Relu;
}

/// <summary>A network's defaults for a style transfer: which layers the losses read, and the weights that balance them.</summary>
/// <param name="AutoStyleLayerWeights">Style layers weighted w_l ∝ 1/C_l² (Gatys's own weighting) rather than 1/L each.</param>
public sealed record TransferDefaults(
    string[] ContentLayers, string[] StyleLayers, double ContentWeight, double StyleWeight, double TvWeight, Pooling Pooling,
    string StyleSplitLayer, bool AutoStyleLayerWeights = false);

/// <summary>
/// A network as data (llm.c's one config from which every size follows): its layers in an order where each reads only
/// earlier ones, and its defaults. The forward pass on the tape, the activations' shapes and bytes, `explain`, the FLOP
/// counts and the valid layer names all derive from this table; VGG19 (<see cref="Vgg19Layers"/>) and ResNet18
/// (<see cref="ResNet18Layers"/>) differ only in theirs.
/// </summary>
public sealed class NetworkDescription
{
    public const string Input = "image";

    public string Name { get; }
    public IReadOnlyList<LayerSpec> Layers { get; }
    public TransferDefaults Defaults { get; }
    /// <summary>How the names are spelled, for the one line that refuses an unknown name.</summary>
    public string NamesHelp { get; }

    readonly Dictionary<string, int> index = new();
    readonly Dictionary<string, string> canonical = new(StringComparer.OrdinalIgnoreCase);

    public NetworkDescription(string name, IReadOnlyList<LayerSpec> layers, TransferDefaults defaults, string namesHelp)
    {
        Name = name;
        Layers = layers;
        Defaults = defaults;
        NamesHelp = namesHelp;
        for (int i = 0; i < layers.Count; i++)
        {
            var l = layers[i];
            foreach (var input in l.Inputs)
                if (input != Input && (!index.TryGetValue(input, out int j) || j >= i))
                    throw new InvalidOperationException($"{name}: layer {l.Name} reads {input}, which is not an earlier layer");
            index[l.Name] = i;
            canonical[l.Name] = l.Name;
            foreach (var a in l.Aliases) canonical[a] = l.Name;
        }
    }

    public IEnumerable<LayerSpec> Convolutions => Layers.Where(l => l.Op == LayerOp.Conv);

    /// <summary>The layer's own name for any of its spellings; one clear line for a name this network does not have.</summary>
    public string Canonical(string name) => canonical.TryGetValue(name.Trim(), out var n) ? n
        : throw new ArgumentException($"unknown {Name} layer '{name}': {NamesHelp}");

    public bool Has(string name) => canonical.ContainsKey(name.Trim());

    public LayerSpec this[string layer] => Layers[IndexOf(layer)];

    public int IndexOf(string layer) => index[Canonical(layer)];

    /// <summary>The deepest of the given layers (any spelling), canonical: where a forward pass for them can stop.</summary>
    public string Deepest(IEnumerable<string> layers) => layers.Select(Canonical).MaxBy(IndexOf)
        ?? throw new ArgumentException("no layers given");

    /// <summary>The layers a forward pass down to `deepest` runs: those it depends on, in order.</summary>
    public IReadOnlyList<LayerSpec> Through(string deepest)
    {
        var needed = new HashSet<string> { Canonical(deepest) };
        for (int i = IndexOf(deepest); i >= 0; i--)
            if (needed.Contains(Layers[i].Name))
                foreach (var input in Layers[i].Inputs) needed.Add(input);
        return Layers.Where(l => needed.Contains(l.Name)).ToList();
    }

    /// <summary>Each layer down to `deepest`, in order, with its first input's shape and its output shape; with `clamp`,
    /// every side at least 1.</summary>
    IEnumerable<(LayerSpec Layer, Shape4 Input, Shape4 Output)> Walk(Shape4 input, string deepest, bool clamp)
    {
        var shapes = new Dictionary<string, Shape4> { [Input] = input };
        foreach (var l in Through(deepest))
        {
            var x = shapes[l.Inputs[0]];
            var y = OutputShape(l, x);
            if (clamp) y = y with { H = Math.Max(y.H, 1), W = Math.Max(y.W, 1) };
            shapes[l.Name] = y;
            yield return (l, x, y);
        }
    }

    /// <summary>Every layer's output shape for an input, down to `deepest`; a layer whose output would be empty is one clear line.</summary>
    public IReadOnlyDictionary<string, Shape4> Shapes(Shape4 input, string deepest)
    {
        var shapes = new Dictionary<string, Shape4>();
        foreach (var (l, _, y) in Walk(input, deepest, clamp: false))
        {
            if (y.H <= 0 || y.W <= 0)
                throw new ArgumentException($"an image of {input.W}×{input.H} is too small for {Name} down to {Canonical(deepest)}: " +
                                            $"{l.Name} would be empty (need at least {MinimumSide(deepest)} pixels on the shorter side)");
            shapes[l.Name] = y;
        }
        return shapes;
    }

    /// <summary>
    /// Every layer down to `deepest`, in order, with its first input's and its output's shape, each side at least 1: what an
    /// estimate counts at sizes the network itself would refuse.
    /// </summary>
    public IReadOnlyList<(LayerSpec Layer, Shape4 Input, Shape4 Output)> ClampedShapes(Shape4 input, string deepest) =>
        Walk(input, deepest, clamp: true).ToList();

    /// <summary>A layer's output shape for its first input's shape.</summary>
    public static Shape4 OutputShape(LayerSpec l, Shape4 x) => l.Op switch
    {
        LayerOp.Conv => new Shape4(x.N, l.OutChannels, Floor(x.H + 2 * l.Pad - l.Kernel, l.Stride) + 1, Floor(x.W + 2 * l.Pad - l.Kernel, l.Stride) + 1),
        LayerOp.Pool2x2 => Op.PoolOutputShape(x),
        LayerOp.MaxPoolWindow => x with { H = Floor(x.H + 2 * l.Pad - l.Kernel, l.Stride) + 1, W = Floor(x.W + 2 * l.Pad - l.Kernel, l.Stride) + 1 },
        _ => x,
    };

    static int Floor(int a, int b) => (int)Math.Floor((double)a / b);

    /// <summary>The smallest image side that keeps every layer down to `deepest` non-empty (found by walking the shapes).</summary>
    public int MinimumSide(string deepest)
    {
        for (int side = 1; ; side++)
            if (Walk(new Shape4(1, 3, side, side), deepest, clamp: false).All(e => e.Output.H > 0 && e.Output.W > 0)) return side;
    }

    /// <summary>The output channels of a layer (a pooling keeps its input's).</summary>
    public int Channels(string layer)
    {
        var l = this[layer];
        return l.Op == LayerOp.Conv ? l.OutChannels : l.Inputs[0] == Input ? 3 : Channels(l.Inputs[0]);
    }

    /// <summary>The halvings of the image's size on the way to a layer (strided convolutions and poolings along its first inputs).</summary>
    public int HalvingsThrough(string layer) => Halvings(layer).Count;

    /// <summary>
    /// Each halving of the size on the way to a layer, from the image: true where it rounds up (a padded stride-2 layer:
    /// ⌈n/2⌉), false where it rounds down (VGG19's 2×2 poolings: ⌊n/2⌋).
    /// </summary>
    public IReadOnlyList<bool> Halvings(string layer)
    {
        var steps = new List<bool>();
        for (var l = this[layer]; ; l = this[l.Inputs[0]])
        {
            if (l.Op is LayerOp.Pool2x2) steps.Add(false);
            else if (l.Op is LayerOp.Conv or LayerOp.MaxPoolWindow && l.Stride == 2) steps.Add(true);
            if (l.Inputs[0] == Input) break;
        }
        steps.Reverse();
        return steps;
    }

    /// <summary>
    /// Where a layer's feature cell i looks in the image, derived from the table: cell i sits at image position Jump·i and
    /// sees the image's pixels from Jump·i + Low to Jump·i + High (a convolution with kernel k, stride s, padding p reads
    /// input cells s·i − p … s·i − p + k − 1; a residual sum sees what both its inputs see). Jump is the product of the
    /// strides on the way. A tile of the image whose interior starts at a multiple of the largest jump computes exactly
    /// the features of its interior once it holds −Low pixels before it and High − Jump + 1 after it.
    /// </summary>
    public (int Jump, int Low, int High) Reach(string layer) => Reaches(layer)[Canonical(layer)];

    /// <summary>Every layer's reach on the way to `deepest`, in one walk of the table (<see cref="Reach"/>).</summary>
    IReadOnlyDictionary<string, (int Jump, int Low, int High)> Reaches(string deepest)
    {
        var reach = new Dictionary<string, (int Jump, int Low, int High)> { [Input] = (1, 0, 0) };
        foreach (var l in Through(deepest))
        {
            var (jump, low, high) = reach[l.Inputs[0]];
            reach[l.Name] = l.Op switch
            {
                LayerOp.Conv or LayerOp.MaxPoolWindow => (jump * l.Stride, low - jump * l.Pad, high + jump * (l.Kernel - 1 - l.Pad)),
                LayerOp.Pool2x2 => (jump * 2, low, high + jump),
                _ => l.Inputs.Select(i => reach[i]).Aggregate((a, b) =>
                    a.Jump == b.Jump ? (a.Jump, Math.Min(a.Low, b.Low), Math.Max(a.High, b.High))
                        : throw new InvalidOperationException($"{Name}: {l.Name} adds inputs on different grids")),
            };
        }
        return reach;
    }

    /// <summary>The largest jump on the way to `deepest`: a tile's interior starts on its multiples, so its cells are the image's.</summary>
    public int LargestJump(string deepest) => Reaches(deepest).Values.Max(r => r.Jump);

    /// <summary>The pixels a tile needs before and after its interior for the features of these layers to be exact there.</summary>
    public (int Before, int After) Halo(IEnumerable<string> layers)
    {
        var reaches = layers.Select(Reach).ToList();
        return (reaches.Max(r => -r.Low), reaches.Max(r => r.High - r.Jump + 1));
    }

    public override string ToString() => Name;
}
