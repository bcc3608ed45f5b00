using IlgpuStyle.Autodiff;
using IlgpuStyle.Devices;
using IlgpuStyle.Tensors;

namespace IlgpuStyle.Model;

public enum Pooling { Max, Average }

/// <summary>
/// The activations of one forward pass for one input shape, allocated once (the arena) and reused by every step: one
/// tensor per layer, shaped by the network's table (<see cref="NetworkDescription.Shapes"/>). Only the layers the
/// deepest one a loss reads depends on are planned and run.
/// </summary>
public sealed class Activations : IDisposable
{
    readonly Dictionary<string, Tensor> outputs = new();
    readonly NetworkDescription network;
    public Shape4 InputShape { get; }
    public string Deepest { get; }
    public IReadOnlyList<LayerSpec> Layers { get; }

    internal Activations(ComputeDevice device, NetworkDescription network, Shape4 input, string deepest)
    {
        this.network = network;
        InputShape = input;
        Deepest = network.Canonical(deepest);
        Layers = network.Through(Deepest);
        foreach (var (layer, shape) in network.Shapes(input, Deepest))
            outputs[layer] = new Tensor(device, shape, layer);
    }

    public Tensor this[string layer] => outputs.TryGetValue(network.Canonical(layer), out var t)
        ? t : throw new ArgumentException($"layer {layer} is deeper than {Deepest}, where this forward pass stops");

    public long Bytes => outputs.Values.Sum(t => t.Shape.Bytes);

    public void Dispose()
    {
        foreach (var t in outputs.Values) t.Dispose();
    }
}

/// <summary>
/// A network on a device: its table (<see cref="NetworkDescription"/>: VGG19 or ResNet18) and its convolutions' weights,
/// uploaded once and frozen. <see cref="Forward"/> walks the table and records each layer on the tape.
/// </summary>
public sealed class Network : IDisposable
{
    readonly Dictionary<string, (Tensor Weights, Tensor Bias)> parameters = new();

    public ComputeDevice Device { get; }
    public NetworkDescription Description { get; }
    public Pooling Pooling { get; }
    public string Source { get; }
    public bool IsRandom { get; }
    public KernelVariant? ConvVariant { get; set; }

    /// <summary>Uploads the convolutions that a forward pass down to `deepest` runs (default: all of them).</summary>
    public Network(ComputeDevice device, NetworkWeights weights, Pooling pooling, string? deepest = null)
    {
        Device = device;
        Description = weights.Network;
        Pooling = pooling;
        Source = weights.Source;
        IsRandom = weights.IsRandom;
        var layers = deepest is null ? Description.Layers : Description.Through(deepest);
        foreach (var spec in layers.Where(l => l.Op == LayerOp.Conv))
        {
            var w = Tensor.FromArray(device, new Shape4(spec.OutChannels, spec.InChannels, spec.Kernel, spec.Kernel), weights.Kernels[spec.Name], spec.Name + ".w");
            var b = Tensor.FromArray(device, Shape4.Vector(spec.OutChannels), weights.Biases[spec.Name], spec.Name + ".b");
            w.Freeze(); b.Freeze();
            parameters[spec.Name] = (w, b);
        }
    }

    public (Tensor Weights, Tensor Bias) Parameters(string conv) => parameters[Description.Canonical(conv)];
    public IEnumerable<Tensor> AllParameters => parameters.Values.SelectMany(p => new[] { p.Weights, p.Bias });

    public Activations Plan(Shape4 input, string deepest)
    {
        if (input.C != 3) throw new ArgumentException($"{Description.Name} takes 3-channel images, got shape {input}");
        var acts = new Activations(Device, Description, input, deepest);
        var missing = acts.Layers.FirstOrDefault(l => l.Op == LayerOp.Conv && !parameters.ContainsKey(l.Name));
        if (missing is not null)
        {
            acts.Dispose();
            throw new ArgumentException($"this {Description.Name} was loaded only up to {parameters.Keys.Last()}, not {missing.Name}");
        }
        return acts;
    }

    /// <summary>Runs (and records on the tape) every layer of the plan, from the image up.</summary>
    public void Forward(Tape tape, Tensor image, Activations acts)
    {
        if (image.Shape != acts.InputShape)
            throw new ArgumentException($"{Description.Name}.Forward: image {image.Shape} does not match the planned input {acts.InputShape}");
        Tensor Read(string name) => name == NetworkDescription.Input ? image : acts[name];
        foreach (var layer in acts.Layers)
        {
            var x = Read(layer.Inputs[0]);
            var y = acts[layer.Name];
            switch (layer.Op)
            {
                case LayerOp.Conv:
                    var (w, b) = parameters[layer.Name];
                    tape.Conv2d(layer.Name, x, w, b, y, layer.Stride, layer.Pad, layer.Relu, ConvVariant);
                    break;
                case LayerOp.Pool2x2 when Pooling == Pooling.Max:
                    tape.MaxPool2d(layer.Name, x, y);
                    break;
                case LayerOp.Pool2x2:
                    tape.AvgPool2d(layer.Name, x, y);
                    break;
                case LayerOp.MaxPoolWindow:
                    tape.MaxPoolWindow(layer.Name, x, y, layer.Kernel, layer.Stride, layer.Pad);
                    break;
                case LayerOp.AddRelu:
                    tape.AddRelu(layer.Name, x, Read(layer.Inputs[1]), y);
                    break;
            }
        }
    }

    public void Dispose()
    {
        foreach (var (w, b) in parameters.Values) { w.Dispose(); b.Dispose(); }
    }
}
