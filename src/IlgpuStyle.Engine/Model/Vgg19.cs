using IlgpuStyle.Autodiff;
using IlgpuStyle.Devices;
using IlgpuStyle.Ops;
using IlgpuStyle.Tensors;

namespace IlgpuStyle.Model;

public enum Pooling { Max, Average }

/// <summary>
/// The activations of one forward pass for one input shape, allocated once (the arena) and
/// reused by every step. Only layers up to the deepest one a loss reads are planned and run.
/// </summary>
public sealed class Vgg19Activations : IDisposable
{
    readonly Dictionary<string, Tensor> outputs = new();
    public Shape4 InputShape { get; }
    public string Deepest { get; }
    public IReadOnlyList<string> Layers { get; }

    internal Vgg19Activations(ComputeDevice device, Shape4 input, string deepest)
    {
        InputShape = input;
        Deepest = Vgg19Layers.Canonical(deepest);
        Layers = Vgg19Layers.Order.Take(Vgg19Layers.IndexOf(Deepest) + 1).ToList();
        var shape = input;
        foreach (var layer in Layers)
        {
            if (layer.StartsWith("conv"))
            {
                var spec = Vgg19Layers.Convolutions.First(c => c.Name == layer);
                shape = shape with { C = spec.OutChannels };
            }
            else
            {
                shape = Op.PoolOutputShape(shape);
                if (shape.H == 0 || shape.W == 0)
                    throw new ArgumentException($"an image of {input.W}×{input.H} is too small for VGG19 down to {Deepest}: {layer} would be empty (need at least {MinimumSide(Deepest)} pixels on the shorter side)");
            }
            outputs[layer] = new Tensor(device, shape, layer);
        }
    }

    /// <summary>Smallest image side that keeps every layer down to `deepest` non-empty: 2^(poolings before it).</summary>
    public static int MinimumSide(string deepest) => 1 << Vgg19Layers.PoolingsThrough(deepest);

    public Tensor this[string layer] => outputs.TryGetValue(Vgg19Layers.Canonical(layer), out var t)
        ? t : throw new ArgumentException($"layer {layer} is deeper than {Deepest}, where this forward pass stops");

    public long Bytes => outputs.Values.Sum(t => t.Shape.Bytes);

    public void Dispose()
    {
        foreach (var t in outputs.Values) t.Dispose();
    }
}

/// <summary>
/// VGG19's 16 convolutions and 5 poolings on a device, named conv1_1 … conv5_4 and pool1 … pool5;
/// each convolution is fused with its ReLU, so "conv4_2" is the activation after ReLU (Keras's
/// block4_conv2 output, neural-style's relu4_2). Input: a caffe-preprocessed image (see Imaging).
/// </summary>
public sealed class Vgg19 : IDisposable
{
    readonly Dictionary<string, (Tensor Weights, Tensor Bias)> parameters = new();

    public ComputeDevice Device { get; }
    public Pooling Pooling { get; }
    public string Source { get; }
    public bool IsRandom { get; }
    public KernelVariant? ConvVariant { get; set; }

    /// <summary>Uploads the convolutions up to `deepest` (default all 16).</summary>
    public Vgg19(ComputeDevice device, Vgg19Weights weights, Pooling pooling, string deepest = "conv5_4")
    {
        Device = device;
        Pooling = pooling;
        Source = weights.Source;
        IsRandom = weights.IsRandom;
        int last = Vgg19Layers.IndexOf(deepest);
        foreach (var spec in Vgg19Layers.Convolutions.Where(c => Vgg19Layers.IndexOf(c.Name) <= last))
        {
            var w = Tensor.FromArray(device, new Shape4(spec.OutChannels, spec.InChannels, 3, 3), weights.Kernels[spec.Name], spec.Name + ".w");
            var b = Tensor.FromArray(device, Shape4.Vector(spec.OutChannels), weights.Biases[spec.Name], spec.Name + ".b");
            w.Freeze(); b.Freeze();
            parameters[spec.Name] = (w, b);
        }
    }

    public (Tensor Weights, Tensor Bias) Parameters(string conv) => parameters[Vgg19Layers.Canonical(conv)];
    public IEnumerable<Tensor> AllParameters => parameters.Values.SelectMany(p => new[] { p.Weights, p.Bias });

    public Vgg19Activations Plan(Shape4 input, string deepest)
    {
        if (input.C != 3) throw new ArgumentException($"VGG19 takes 3-channel images, got shape {input}");
        var acts = new Vgg19Activations(Device, input, deepest);
        var missing = acts.Layers.FirstOrDefault(l => l.StartsWith("conv") && !parameters.ContainsKey(l));
        if (missing is not null) throw new ArgumentException($"this VGG19 was loaded only up to {parameters.Keys.Last()}, not {missing}");
        return acts;
    }

    /// <summary>Runs (and records on the tape) every layer of the plan, from the image up.</summary>
    public void Forward(Tape tape, Tensor image, Vgg19Activations acts)
    {
        if (image.Shape != acts.InputShape)
            throw new ArgumentException($"Vgg19.Forward: image {image.Shape} does not match the planned input {acts.InputShape}");
        var x = image;
        foreach (var layer in acts.Layers)
        {
            var y = acts[layer];
            if (layer.StartsWith("conv"))
            {
                var (w, b) = parameters[layer];
                tape.Conv2d(layer, x, w, b, y, 1, 1, relu: true, ConvVariant);
            }
            else if (Pooling == Pooling.Max) tape.MaxPool2d(layer, x, y);
            else tape.AvgPool2d(layer, x, y);
            x = y;
        }
    }

    public void Dispose()
    {
        foreach (var (w, b) in parameters.Values) { w.Dispose(); b.Dispose(); }
    }
}
