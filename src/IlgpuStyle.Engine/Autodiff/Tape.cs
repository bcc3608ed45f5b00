using System.Text;
using IlgpuStyle.Devices;
using IlgpuStyle.Ops;
using IlgpuStyle.Tensors;

namespace IlgpuStyle.Autodiff;

/// <summary>
/// One recorded operation: what ran, on which tensors, what it cost, and the closure that carries
/// the gradient from its output back to its inputs. Loss nodes have no output tensor: their
/// "output" is a scalar slot on the device, and their closure starts the chain (dL/dL = 1).
/// </summary>
public sealed record TapeNode(
    string Op, string Label, Tensor[] Inputs, Tensor? Output, long Flops, long Bytes,
    string Derivative, Action Backward)
{
    /// <summary>A loss node's scalar slot on the device (<see cref="Ops.Op.ReadScalars"/>); null for other nodes.</summary>
    public int? Slot { get; init; }

    /// <summary>The kernels its forward launched, in order (recorded while the device's <see cref="ComputeDevice.LaunchLog"/> is on).</summary>
    public IReadOnlyList<string> ForwardKernels { get; init; } = Array.Empty<string>();

    /// <summary>The kernels its backward launched at the last <see cref="Tape.Backward"/> (same condition).</summary>
    public List<string> BackwardKernels { get; } = new();
}

/// <summary>
/// The autodiff tape. Each op below runs its forward kernels now and records a node whose closure
/// runs the backward kernels later; <see cref="Backward"/> zeroes every gradient buffer once and
/// calls the closures in reverse order. Backward kernels accumulate (+=), so a tensor used by two
/// ops receives both contributions: the chain rule with fan-out.
///
/// Which tensors get gradients: those marked with <see cref="RequireGradient"/> (the image, or
/// weights in tests), and every output computed from them. Gradient buffers are allocated the
/// first time they are needed and reused on every later step; outputs are allocated by the caller
/// (the model plans its activations once), so a step allocates no device memory.
/// </summary>
public sealed class Tape : IDisposable
{
    readonly List<TapeNode> nodes = new();
    readonly HashSet<Tensor> requiresGradient = new(ReferenceEqualityComparer.Instance);
    readonly Dictionary<Tensor, Tensor> gradients = new(ReferenceEqualityComparer.Instance);

    public IReadOnlyList<TapeNode> Nodes => nodes;

    /// <summary>Marks a leaf (the image, weights) whose gradient we want.</summary>
    public void RequireGradient(Tensor t) => requiresGradient.Add(t);

    public bool NeedsGradient(Tensor t) => requiresGradient.Contains(t);

    /// <summary>dL/dt, allocated on first use and kept.</summary>
    public Tensor Gradient(Tensor t)
    {
        if (!gradients.TryGetValue(t, out var g))
        {
            g = new Tensor(t.Device, t.Shape, "d" + t.Name);
            Op.Fill(g, 0f);
            gradients[t] = g;
        }
        return g;
    }

    /// <summary>Forgets the recorded ops (keeps gradient buffers for the next step).</summary>
    public void Clear() => nodes.Clear();

    int launchMark;
    IDisposable? span;

    /// <summary>Before an op's forward kernels: a span of the layer opens (the profiler files the launches under it), and the
    /// launch log is marked.</summary>
    void Begin(string label, Tensor x)
    {
        span = x.Device.Span(label, "layer");
        launchMark = x.Device.LaunchLog?.Count ?? 0;
    }

    void Record(string op, string label, Tensor[] inputs, Tensor? output, long flops, long bytes, string derivative, Action backward, int? slot = null)
    {
        var device = inputs[0].Device;
        span?.Dispose();
        span = null;
        if (output is not null && inputs.Any(NeedsGradient)) requiresGradient.Add(output);
        var launched = device.LaunchLog is { } log ? log.Skip(launchMark).ToList() : new List<string>();
        nodes.Add(new TapeNode(op, label, inputs, output, flops, bytes, derivative, backward) { Slot = slot, ForwardKernels = launched });
    }

    /// <summary>Zeroes every gradient buffer, then runs each node's closure in reverse order.</summary>
    public void Backward()
    {
        foreach (var node in nodes)
            foreach (var t in node.Inputs.Where(NeedsGradient))
                Gradient(t);
        foreach (var g in gradients.Values)
            Op.Fill(g, 0f);
        for (int i = nodes.Count - 1; i >= 0; i--)
            if (nodes[i].Inputs.Any(NeedsGradient))
            {
                var device = nodes[i].Inputs[0].Device;
                int mark = device.LaunchLog?.Count ?? 0;
                using (device.Span(nodes[i].Label + " backward", "layer")) nodes[i].Backward();
                nodes[i].BackwardKernels.Clear();
                if (device.LaunchLog is { } log) nodes[i].BackwardKernels.AddRange(log.Skip(mark));
            }
    }

    // ================================================================== ops

    /// <summary>y = conv(x, w) + b, then ReLU if asked (kernels/Conv2d.cs, kernels/Relu.cs).</summary>
    public void Conv2d(string label, Tensor x, Tensor w, Tensor b, Tensor y, int stride, int pad, bool relu, KernelVariant? variant = null)
    {
        Begin(label, x);
        Op.Conv2dForward(x, w, b, y, stride, pad, relu, variant);
        var g = Op.ConvGeometry("Conv2d", x.Shape, w.Shape, stride, pad);
        // What backward computes, as the closure below decides it: with frozen weights only the input gradient, its ReLU
        // mask applied while the kernel pads dy (no masked copy of dy is written).
        bool frozen = !NeedsGradient(w) && !NeedsGradient(b);
        string derivative = (relu, frozen) switch
        {
            (true, true) => "dx += Wᵀ⊛(dy·[y>0])   (W, b frozen: no dW, db; the mask is applied as dy is padded)",
            (false, true) => "dx += Wᵀ⊛dy   (W, b frozen: no dW, db)",
            (true, false) => "g = dy·[y>0];  dx += Wᵀ⊛g,  dW += g⊛x,  db += Σg",
            (false, false) => "dx += Wᵀ⊛dy,  dW += dy⊛x,  db += Σdy",
        };
        Record(relu ? "conv2d+relu" : "conv2d", label, new[] { x, w, b }, y, g.ForwardFlops,
            (x.Length + w.Length + b.Length + y.Length) * sizeof(float), derivative,
            () =>
            {
                var gy = Gradient(y);
                if (relu && !NeedsGradient(w) && !NeedsGradient(b))
                {
                    // Frozen weights (a style transfer): the input gradient's own pass applies the ReLU mask.
                    if (NeedsGradient(x)) Op.Conv2dBackwardInput(w, gy, Gradient(x), stride, pad, variant, reluOutput: y);
                    return;
                }
                if (relu) Op.ReluMask(y, gy);   // in place: y's gradient has no other reader after this node
                if (NeedsGradient(x)) Op.Conv2dBackwardInput(w, gy, Gradient(x), stride, pad, variant);
                // The weight gradient has no Direct or Rows kernel: with those it runs the device's GEMM.
                if (NeedsGradient(w)) Op.Conv2dBackwardWeights(x, gy, Gradient(w), stride, pad, variant is { } v && Op.ConvWeightsGradientVariants.Contains(v) ? v : null);
                if (NeedsGradient(b)) Op.Conv2dBackwardBias(gy, Gradient(b));
            });
    }

    public void MaxPool2d(string label, Tensor x, Tensor y)
    {
        Begin(label, x);
        Op.MaxPool2dForward(x, y);
        Record("maxpool2d", label, new[] { x }, y, 3 * y.Length, (x.Length + y.Length) * sizeof(float),
            "dx[argmax of window] += dy", () => Op.MaxPool2dBackward(x, Gradient(y), Gradient(x)));
    }

    public void AvgPool2d(string label, Tensor x, Tensor y)
    {
        Begin(label, x);
        Op.AvgPool2dForward(x, y);
        Record("avgpool2d", label, new[] { x }, y, 4 * y.Length, (x.Length + y.Length) * sizeof(float),
            "dx[window] += dy/4", () => Op.AvgPool2dBackward(Gradient(y), Gradient(x)));
    }

    /// <summary>K×K max pooling with stride and padding, windows that overlap (ResNet's stem pool; kernels/Pool2d.cs).</summary>
    public void MaxPoolWindow(string label, Tensor x, Tensor y, int k, int stride, int pad)
    {
        Begin(label, x);
        Op.MaxPoolWindowForward(x, y, k, stride, pad);
        Record("maxpool2d", label, new[] { x }, y, (long)k * k * y.Length, (x.Length + y.Length) * sizeof(float),
            $"dx[argmax of window] += dy   ({k}×{k} windows, stride {stride}, overlap: an input can be the maximum of several)",
            () => Op.MaxPoolWindowBackward(x, Gradient(y), Gradient(x), k, stride, pad));
    }

    /// <summary>
    /// y = max(0, a + b): a residual block's last convolution a plus its shortcut b, then ReLU (kernels/Residual.cs). The
    /// sum's gradient goes to both inputs; where b is the block's input, that tensor also feeds the block's first
    /// convolution, so its gradient buffer receives both contributions (+=).
    /// </summary>
    public void AddRelu(string label, Tensor a, Tensor b, Tensor y)
    {
        Begin(label, a);
        Op.AddReluForward(a, b, y);
        Record("add+relu", label, new[] { a, b }, y, 2 * y.Length, 3 * y.Length * sizeof(float),
            "g = dy·[y>0];  da += g,  db += g   (a sum passes its gradient to both branches)",
            () =>
            {
                bool da = NeedsGradient(a), db = NeedsGradient(b);
                if (da && db) Op.AddReluBackward(y, Gradient(y), Gradient(a), Gradient(b));
                else Op.ReluBackward(y, Gradient(y), Gradient(da ? a : b));
            });
    }

    /// <summary>G = scale·F·Fᵀ (kernels/Gram.cs).</summary>
    public void Gram(string label, Tensor f, Tensor gram, float scale, KernelVariant? variant = null)
    {
        Begin(label, f);
        Op.GramForward(f, gram, scale, variant);
        var s = f.Shape;
        Record("gram", label, new[] { f }, gram, Op.GramFlops(s), (f.Length + gram.Length) * sizeof(float),
            "dF += s·(dG + dGᵀ)·F", () => Op.GramBackward(f, Gradient(gram), Gradient(f), scale, variant));
    }

    /// <summary>y = x ⊙ mask, the guidance mask (N,1,H,W) a constant (kernels/Guidance.cs).</summary>
    public void Mask(string label, Tensor x, Tensor mask, Tensor y)
    {
        Begin(label, x);
        Op.MaskForward(x, mask, y);
        Record("mask", label, new[] { x }, y, x.Length, (2 * x.Length + mask.Length) * sizeof(float),
            "dx += dy ⊙ t", () => Op.MaskBackward(Gradient(y), mask, Gradient(x)));
    }

    /// <summary>
    /// y = x going forward; going backward dx += scale·dy/Σ|dy| (kernels/Guidance.cs). Placed
    /// between a layer and the losses that read it, it gives that layer's loss gradient an L1 norm
    /// of `scale` whatever its size (neural-style's -normalize_gradients).
    /// </summary>
    public void NormalizeGradient(string label, Tensor x, Tensor y, float scale)
    {
        Begin(label, x);
        Op.Copy(y, x);
        Record("normalize", label, new[] { x }, y, 0, 2 * x.Length * sizeof(float),
            "dx += w·dy/Σ|dy|", () => Op.NormalizedGradientAccumulate(Gradient(y), Gradient(x), scale));
    }

    /// <summary>scalars[slot] = weight·½Σ(F − P)² (kernels/Losses.cs). P is a constant target.</summary>
    public void ContentLoss(string label, Tensor f, Tensor target, float weight, int slot)
    {
        Begin(label, f);
        Op.SquaredDifferenceSumInto(f, target, slot, 0.5f * weight);
        Record("content_loss", label, new[] { f }, null, 3 * f.Length, 2 * f.Length * sizeof(float),
            "dF += w·(F − P)", () => Op.SquaredDifferenceBackward(f, target, weight, Gradient(f)), slot);
    }

    /// <summary>scalars[slot] = weight·d·Σ(G − A)², d = ¼ in a style transfer (Gatys et al.'s E_l). A is a constant target.</summary>
    public void StyleLoss(string label, Tensor gram, Tensor target, float weight, float d, int slot)
    {
        Begin(label, gram);
        Op.SquaredDifferenceSumInto(gram, target, slot, weight * d);
        Record("style_loss", label, new[] { gram }, null, 3 * gram.Length, 2 * gram.Length * sizeof(float),
            $"dG += 2·w·{Constant(d)}·(G − A)",
            () => Op.SquaredDifferenceBackward(gram, target, 2f * weight * d, Gradient(gram)), slot);
    }

    /// <summary>scalars[slot] = weight·TV(x).</summary>
    public void TotalVariation(string label, Tensor x, float weight, int slot)
    {
        Begin(label, x);
        Op.TotalVariationInto(x, slot, weight);
        Record("tv_loss", label, new[] { x }, null, 8 * x.Length, x.Length * sizeof(float),
            "dx += 2w·Σ_n (x − x_n)", () => Op.TotalVariationBackward(x, weight, Gradient(x)), slot);
    }

    // ================================================================== printing

    /// <summary>
    /// The ops in forward order with shapes, FLOPs, bytes moved and the kernels each launched, then the backward order
    /// with each local derivative and its kernels, then what every symbol means. With the loss slots' values (one
    /// evaluation's), each loss node also shows its value.
    /// </summary>
    public string Describe(IReadOnlyList<float>? lossValues = null)
    {
        var sb = new StringBuilder();
        long flops = 0, bytes = 0;
        sb.AppendLine($"Forward ({nodes.Count} ops)");
        sb.AppendLine($"  {"#",3}  {"op",-13} {"layer",-9} {"inputs",-70} {"output",-18} {"FLOPs",9} {"bytes",9}  kernels");
        for (int i = 0; i < nodes.Count; i++)
        {
            var n = nodes[i];
            flops += n.Flops; bytes += n.Bytes;
            string inputs = string.Join(" ", n.Inputs.Select(t => t.Name + t.Shape));
            string output = n.Output is not null ? n.Output.Shape.ToString()
                : n.Slot is { } slot && lossValues is not null && slot < lossValues.Count ? $"L = {lossValues[slot]:G6}" : "scalar";
            sb.AppendLine($"  {i + 1,3}  {n.Op,-13} {n.Label,-9} {inputs,-70} {output,-18} {Si(n.Flops),9} {Si(n.Bytes, "B"),9}  {Kernels(n.ForwardKernels)}");
        }
        sb.AppendLine($"  total: {Si(flops)}FLOP, {Si(bytes, "B")} moved");
        sb.AppendLine();
        sb.AppendLine("Backward (reverse order; every gradient accumulates into buffers zeroed once per step)");
        for (int i = nodes.Count - 1; i >= 0; i--)
        {
            var n = nodes[i];
            string what = n.Inputs.Any(NeedsGradient) ? n.Derivative : "(skipped: no input needs a gradient)";
            string kernels = n.BackwardKernels.Count > 0 ? $"   kernels: {Kernels(n.BackwardKernels)}" : "";
            sb.AppendLine($"  {i + 1,3}  {n.Op,-13} {n.Label,-9} {what}{kernels}");
        }
        sb.AppendLine();
        sb.AppendLine("Symbols");
        foreach (var (symbol, meaning, _) in Symbols.Where(s => s.Ops is null || nodes.Any(n => s.Ops.Contains(n.Op))))
            sb.AppendLine($"  {symbol,-9} {meaning}");
        return sb.ToString();
    }

    /// <summary>Every symbol the derivatives above use, and the ops that use it (null: all).</summary>
    static readonly (string Symbol, string Meaning, string[]? Ops)[] Symbols =
    {
        ("x, y", "an op's input and output tensors (the names in the inputs column); L the total loss", null),
        ("dx, dy", "their gradients ∂L/∂x, ∂L/∂y, kept in buffers named d<tensor> (dimage is the image's)", null),
        ("+=", "accumulates: a tensor read by two ops (conv4_2 by conv4_3 and the content loss) gets both contributions", null),
        ("W, b", "a convolution's filters (C_out×C_in×K×K; 3×3 in VGG19) and bias; frozen in a style transfer, so dW and db are not computed", new[] { "conv2d", "conv2d+relu" }),
        ("⊛", "cross-correlation, what CNNs call convolution; Wᵀ⊛ the transposed one (filters flipped, in and out channels swapped)", new[] { "conv2d", "conv2d+relu" }),
        ("[y>0]", "the ReLU mask: 1 where the output is positive, 0 elsewhere", new[] { "conv2d+relu", "relu", "add+relu" }),
        ("Σg", "a sum over every pixel (the bias gradient)", new[] { "conv2d", "conv2d+relu" }),
        ("argmax", "the position of a window's largest input, where max pooling sends the gradient", new[] { "maxpool2d" }),
        ("a, b", "a residual add's inputs: the block's last convolution, and its shortcut (the block's input, or its 1×1 projection)", new[] { "add+relu" }),
        ("g", "the gradient of the sum, dy·[y>0]: both inputs receive all of it; the block's input, also read by its first convolution, collects both paths' (+=)", new[] { "add+relu" }),
        ("/4", "average pooling spreads each output's gradient over its 2×2 window", new[] { "avgpool2d" }),
        ("F", "a layer's features read as a C×(H·W) matrix", new[] { "gram", "content_loss" }),
        ("G, s", "the Gram matrix G = s·F·Fᵀ with s = 1/(C·H·W), or 1/(C·Σt²) for a masked region", new[] { "gram", "style_loss" }),
        ("dGᵀ", "the transpose of dG: both halves of the symmetric product F·Fᵀ depend on F", new[] { "gram" }),
        ("P", "the content target: the content image's features at the layer (a constant)", new[] { "content_loss" }),
        ("A", "the style target: the style images' blended Gram matrix at the layer (a constant)", new[] { "style_loss" }),
        ("w", "the loss's weight: α/(content layers) for content, β·w_l·(region weight) for style, γ for TV", new[] { "content_loss", "style_loss", "tv_loss", "normalize" }),
        ("¼", "the style loss's constant: E_l = ¼·Σ(G − A)², Gatys et al.'s 1/(4N²M²) with 1/(NM)² already in s", new[] { "style_loss" }),
        ("t", "a guidance mask at the layer's resolution (a constant)", new[] { "mask" }),
        ("⊙", "element-wise product, the mask broadcast over channels", new[] { "mask" }),
        ("Σ|dy|", "normalize: the L1 norm of the gradient arriving from the layer's losses (w: their weight)", new[] { "normalize" }),
        ("n, x_n", "TV = w·Σ over pixels of (right − x)² + (below − x)²: n runs over a pixel's 4 neighbours, x_n is a neighbour's value", new[] { "tv_loss" }),
    };

    /// <summary>A constant as the derivatives write it: ¼ and ½ as fractions, others as numbers.</summary>
    static string Constant(float d) => d switch
    {
        0.25f => "¼",
        0.5f => "½",
        _ => d.ToString("G4", System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>"a, b ×3": the kernels in launch order, repeats counted.</summary>
    static string Kernels(IReadOnlyList<string> kernels) =>
        kernels.Count == 0 ? "-" : string.Join(", ", kernels.GroupBy(k => k).Select(g => g.Count() > 1 ? $"{g.Key} ×{g.Count()}" : g.Key));

    /// <summary>‖dL/dt‖₂ for every tensor that has a gradient buffer, in the order the buffers were made (read back to the host).</summary>
    public IReadOnlyList<(string Tensor, Shape4 Shape, double Norm)> GradientNorms() =>
        gradients.Select(kv => (kv.Key.Name, kv.Key.Shape, Math.Sqrt(kv.Value.ToArray().Sum(v => (double)v * v)))).ToList();

    /// <summary>
    /// The tape as a Graphviz digraph: tensors as ellipses, ops as boxes (their layer, derivative and kernels), loss ops
    /// feeding one node L. `dot -Tsvg tape.dot -o tape.svg` draws it.
    /// </summary>
    public string ToDot()
    {
        var sb = new StringBuilder();
        sb.AppendLine("digraph tape {");
        sb.AppendLine("  rankdir=TB;");
        sb.AppendLine("  node [fontname=\"Helvetica\", fontsize=10];");
        var ids = new Dictionary<Tensor, string>(ReferenceEqualityComparer.Instance);
        string TensorId(Tensor t)
        {
            if (ids.TryGetValue(t, out var id)) return id;
            id = $"t{ids.Count}";
            ids[t] = id;
            string style = NeedsGradient(t) ? "" : ", style=dashed";
            sb.AppendLine($"  {id} [shape=ellipse{style}, label={Quote($"{t.Name}\n{t.Shape}")}];");
            return id;
        }
        sb.AppendLine("  L [shape=doublecircle, label=\"L\"];");
        for (int i = 0; i < nodes.Count; i++)
        {
            var n = nodes[i];
            var inputs = n.Inputs.Select(TensorId).ToList();
            string? outputId = n.Output is { } output ? TensorId(output) : null;
            string kernels = n.ForwardKernels.Count + n.BackwardKernels.Count == 0 ? ""
                : $"\nforward: {Kernels(n.ForwardKernels)}\nbackward: {Kernels(n.BackwardKernels)}";
            sb.AppendLine($"  op{i} [shape=box, style=rounded, label={Quote($"{i + 1}. {n.Op} {n.Label}\n{n.Derivative}{kernels}")}];");
            foreach (var input in inputs) sb.AppendLine($"  {input} -> op{i};");
            sb.AppendLine($"  op{i} -> {outputId ?? "L"};");
        }
        sb.AppendLine("}");
        return sb.ToString();
    }

    /// <summary>A DOT string literal: backslashes and quotes escaped, line breaks written as \n.</summary>
    static string Quote(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n") + "\"";

    static string Si(long v, string unit = "")
    {
        string[] prefixes = { "", " k", " M", " G", " T" };
        double x = v; int p = 0;
        while (x >= 1000 && p < prefixes.Length - 1) { x /= 1000; p++; }
        return p == 0 ? $"{v}{(unit == "" ? "" : " " + unit)}" : $"{x:F1}{prefixes[p]}{unit}";
    }

    public void Dispose()
    {
        foreach (var g in gradients.Values) g.Dispose();
        gradients.Clear();
        nodes.Clear();
    }
}
