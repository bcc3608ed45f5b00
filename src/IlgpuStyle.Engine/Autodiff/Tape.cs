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
    string Derivative, Action Backward);

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

    void Record(string op, string label, Tensor[] inputs, Tensor? output, long flops, long bytes, string derivative, Action backward)
    {
        inputs[0].Device.Scope = "";
        if (output is not null && inputs.Any(NeedsGradient)) requiresGradient.Add(output);
        nodes.Add(new TapeNode(op, label, inputs, output, flops, bytes, derivative, backward));
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
                device.Scope = nodes[i].Label + " backward";
                nodes[i].Backward();
                device.Scope = "";
            }
    }

    // ================================================================== ops

    /// <summary>y = conv(x, w) + b, then ReLU if asked (kernels/Conv2d.cs, kernels/Relu.cs).</summary>
    public void Conv2d(string label, Tensor x, Tensor w, Tensor b, Tensor y, int stride, int pad, bool relu, KernelVariant? variant = null)
    {
        x.Device.Scope = label;
        Op.Conv2dForward(x, w, b, y, stride, pad, relu, variant);
        var g = Op.ConvGeometry("Conv2d", x.Shape, w.Shape, stride, pad);
        Record(relu ? "conv2d+relu" : "conv2d", label, new[] { x, w, b }, y, g.ForwardFlops,
            (x.Length + w.Length + b.Length + y.Length) * sizeof(float),
            relu ? "g = dy·[y>0];  dx += Wᵀ⊛g,  dW += g⊛x,  db += Σg" : "dx += Wᵀ⊛dy,  dW += dy⊛x,  db += Σdy",
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

    public void Relu(string label, Tensor x, Tensor y)
    {
        x.Device.Scope = label;
        Op.ReluForward(x, y);
        Record("relu", label, new[] { x }, y, x.Length, 2 * x.Length * sizeof(float), "dx += dy·[y>0]",
            () => Op.ReluBackward(y, Gradient(y), Gradient(x)));
    }

    public void MaxPool2d(string label, Tensor x, Tensor y)
    {
        x.Device.Scope = label;
        Op.MaxPool2dForward(x, y);
        Record("maxpool2d", label, new[] { x }, y, 3 * y.Length, (x.Length + y.Length) * sizeof(float),
            "dx[argmax of window] += dy", () => Op.MaxPool2dBackward(x, Gradient(y), Gradient(x)));
    }

    public void AvgPool2d(string label, Tensor x, Tensor y)
    {
        x.Device.Scope = label;
        Op.AvgPool2dForward(x, y);
        Record("avgpool2d", label, new[] { x }, y, 4 * y.Length, (x.Length + y.Length) * sizeof(float),
            "dx[window] += dy/4", () => Op.AvgPool2dBackward(Gradient(y), Gradient(x)));
    }

    /// <summary>G = scale·F·Fᵀ (kernels/Gram.cs).</summary>
    public void Gram(string label, Tensor f, Tensor gram, float scale, KernelVariant? variant = null)
    {
        f.Device.Scope = label;
        Op.GramForward(f, gram, scale, variant);
        var s = f.Shape;
        Record("gram", label, new[] { f }, gram, 2L * s.N * s.C * s.C * s.H * s.W, (f.Length + gram.Length) * sizeof(float),
            "dF += s·(dG + dGᵀ)·F", () => Op.GramBackward(f, Gradient(gram), Gradient(f), scale, variant));
    }

    /// <summary>y = x ⊙ mask, the guidance mask (N,1,H,W) a constant (kernels/Guidance.cs).</summary>
    public void Mask(string label, Tensor x, Tensor mask, Tensor y)
    {
        x.Device.Scope = label;
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
        x.Device.Scope = label;
        Op.Copy(y, x);
        Record("normalize", label, new[] { x }, y, 0, 2 * x.Length * sizeof(float),
            "dx += s·dy/Σ|dy|", () => Op.NormalizedGradientAccumulate(Gradient(y), Gradient(x), scale));
    }

    /// <summary>scalars[slot] = weight·½Σ(F − P)² (kernels/Losses.cs). P is a constant target.</summary>
    public void ContentLoss(string label, Tensor f, Tensor target, float weight, int slot)
    {
        f.Device.Scope = label;
        Op.SquaredDifferenceSumInto(f, target, slot, 0.5f * weight);
        Record("content_loss", label, new[] { f }, null, 3 * f.Length, 2 * f.Length * sizeof(float),
            "dF += w·(F − P)", () => Op.SquaredDifferenceBackward(f, target, weight, Gradient(f)));
    }

    /// <summary>scalars[slot] = weight·d·Σ(G − A)². A is a constant target.</summary>
    public void StyleLoss(string label, Tensor gram, Tensor target, float weight, float d, int slot)
    {
        gram.Device.Scope = label;
        Op.SquaredDifferenceSumInto(gram, target, slot, weight * d);
        Record("style_loss", label, new[] { gram }, null, 3 * gram.Length, 2 * gram.Length * sizeof(float),
            "dG += 2·w·d·(G − A)", () => Op.SquaredDifferenceBackward(gram, target, 2f * weight * d, Gradient(gram)));
    }

    /// <summary>scalars[slot] = weight·TV(x).</summary>
    public void TotalVariation(string label, Tensor x, float weight, int slot)
    {
        x.Device.Scope = label;
        Op.TotalVariationInto(x, slot, weight);
        Record("tv_loss", label, new[] { x }, null, 8 * x.Length, x.Length * sizeof(float),
            "dx += 2w·(4-neighbour differences)", () => Op.TotalVariationBackward(x, weight, Gradient(x)));
    }

    // ================================================================== printing

    /// <summary>The ops in forward order with shapes, FLOPs and bytes moved, then the backward order with each local derivative.</summary>
    public string Describe()
    {
        var sb = new StringBuilder();
        long flops = 0, bytes = 0;
        sb.AppendLine($"Forward ({nodes.Count} ops)");
        sb.AppendLine($"  {"#",3}  {"op",-13} {"layer",-9} {"inputs",-70} {"output",-18} {"FLOPs",9} {"bytes",9}");
        for (int i = 0; i < nodes.Count; i++)
        {
            var n = nodes[i];
            flops += n.Flops; bytes += n.Bytes;
            string inputs = string.Join(" ", n.Inputs.Select(t => t.Name + t.Shape));
            string output = n.Output is null ? "scalar" : n.Output.Shape.ToString();
            sb.AppendLine($"  {i + 1,3}  {n.Op,-13} {n.Label,-9} {inputs,-70} {output,-18} {Si(n.Flops),9} {Si(n.Bytes, "B"),9}");
        }
        sb.AppendLine($"  total: {Si(flops)}FLOP, {Si(bytes, "B")} moved");
        sb.AppendLine();
        sb.AppendLine("Backward (reverse order; every gradient accumulates into buffers zeroed once per step)");
        for (int i = nodes.Count - 1; i >= 0; i--)
        {
            var n = nodes[i];
            string skip = n.Inputs.Any(NeedsGradient) ? "" : "   (skipped: no input needs a gradient)";
            sb.AppendLine($"  {i + 1,3}  {n.Op,-13} {n.Label,-9} {n.Derivative}{skip}");
        }
        return sb.ToString();
    }

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
