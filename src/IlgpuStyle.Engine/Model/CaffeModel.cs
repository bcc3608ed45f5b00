using ProtoBuf;

namespace IlgpuStyle.Model;

// The part of Caffe's caffe.proto that a .caffemodel's weights need, read by protobuf-net: the field numbers are
// caffe.proto's (NetParameter, LayerParameter, the deprecated V1LayerParameter and V0LayerParameter, BlobProto,
// BlobShape). Fields not listed are skipped by the reader.

[ProtoContract]
public sealed class CaffeNetParameter
{
    [ProtoMember(1)] public string? Name { get; set; }
    [ProtoMember(2)] public List<CaffeV1LayerParameter> Layers { get; set; } = new();   // the V1 form (the VGG release of 2014)
    [ProtoMember(100)] public List<CaffeLayerParameter> Layer { get; set; } = new();    // the current form
}

[ProtoContract]
public sealed class CaffeLayerParameter
{
    [ProtoMember(1)] public string? Name { get; set; }
    [ProtoMember(2)] public string? Type { get; set; }
    [ProtoMember(7)] public List<CaffeBlobProto> Blobs { get; set; } = new();
}

[ProtoContract]
public sealed class CaffeV1LayerParameter
{
    [ProtoMember(4)] public string? Name { get; set; }
    [ProtoMember(5)] public int Type { get; set; }                                   // enum LayerType: CONVOLUTION = 4
    [ProtoMember(6)] public List<CaffeBlobProto> Blobs { get; set; } = new();
    [ProtoMember(1)] public CaffeV0LayerParameter? V0 { get; set; }                  // older still: the layer inside
}

[ProtoContract]
public sealed class CaffeV0LayerParameter
{
    [ProtoMember(1)] public string? Name { get; set; }
    [ProtoMember(2)] public string? Type { get; set; }
    [ProtoMember(50)] public List<CaffeBlobProto> Blobs { get; set; } = new();
}

[ProtoContract]
public sealed class CaffeBlobProto
{
    [ProtoMember(7)] public CaffeBlobShape? Shape { get; set; }
    [ProtoMember(5, IsPacked = true)] public float[]? Data { get; set; }
    [ProtoMember(8, IsPacked = true)] public double[]? DoubleData { get; set; }
    [ProtoMember(1)] public long Num { get; set; }
    [ProtoMember(2)] public long Channels { get; set; }
    [ProtoMember(3)] public long Height { get; set; }
    [ProtoMember(4)] public long Width { get; set; }

    /// <summary>The blob's shape: BlobShape's dims, else the deprecated (num, channels, height, width) with leading 1s dropped.</summary>
    public long[] Dims => Shape is { Dim.Length: > 0 } s ? s.Dim
        : new[] { Num, Channels, Height, Width }.SkipWhile(d => d <= 1).DefaultIfEmpty(1).ToArray();

    public float[] Values => Data is { Length: > 0 } d ? d : DoubleData?.Select(v => (float)v).ToArray() ?? Array.Empty<float>();
}

[ProtoContract]
public sealed class CaffeBlobShape
{
    [ProtoMember(1, IsPacked = true)] public long[] Dim { get; set; } = Array.Empty<long>();
}

/// <summary>
/// VGG19's convolutions from a Caffe .caffemodel (binary NetParameter): the 2014 VGG release's V1 form
/// (VGG_ILSVRC_19_layers.caffemodel, neural-style's), Gatys et al.'s vgg_normalised.caffemodel, and the current `layer`
/// form. Layers are found by Caffe's names (conv1_1 … conv5_4); weights are (out, in, kh, kw) as ours, for BGR 0–255
/// minus the means, as ours.
/// </summary>
public static class CaffeWeightsFile
{
    public static NetworkWeights Load(string path, InputPreprocessing preprocessing)
    {
        string file = Path.GetFileName(path);
        if (!File.Exists(path)) throw new WeightsFileException($"weights file '{path}' does not exist");
        CaffeNetParameter net;
        try
        {
            using var stream = File.OpenRead(path);
            net = Serializer.Deserialize<CaffeNetParameter>(stream);
        }
        catch (Exception e) when (e is ProtoException or EndOfStreamException or InvalidOperationException or OverflowException or ArgumentException)
        {
            throw new WeightsFileException($"weights file '{file}': not a Caffe model, or truncated or corrupt ({e.Message.Split('\n')[0]})", e);
        }
        // Every convolution by name, whichever form the file uses.
        var layers = new Dictionary<string, List<CaffeBlobProto>>();
        foreach (var l in net.Layer.Where(l => l.Name is not null)) layers[l.Name!] = l.Blobs;
        foreach (var l in net.Layers)
        {
            if (l.Name is { } name && l.Blobs.Count > 0) layers[name] = l.Blobs;
            else if (l.V0 is { Name: { } v0 } && l.V0.Blobs.Count > 0) layers[v0] = l.V0.Blobs;
        }
        if (layers.Count == 0)
            throw new WeightsFileException($"weights file '{file}': no layers with weights: not a Caffe model (or an empty one)");
        var kernels = new Dictionary<string, float[]>();
        var biases = new Dictionary<string, float[]>();
        // Every layer first (a file of another network says so), then each one's shapes and data.
        foreach (var spec in Vgg19Layers.Convolutions.Where(c => !layers.TryGetValue(c.Name, out var blobs) || blobs.Count < 2))
            throw new WeightsFileException($"weights file '{file}': no layer {spec.Name} with weights and bias (its layers: " +
                                           $"{string.Join(", ", layers.Keys.Take(6))}{(layers.Count > 6 ? ", …" : "")}); is this VGG19?");
        foreach (var spec in Vgg19Layers.Convolutions)
        {
            var blobs = layers[spec.Name];
            long[] kernel = { spec.OutChannels, spec.InChannels, 3, 3 };
            if (!blobs[0].Dims.SequenceEqual(kernel) || blobs[1].Dims.Aggregate(1L, (a, b) => a * b) != spec.OutChannels)
                throw new WeightsFileException($"weights file '{file}': {spec.Name} has blobs ({string.Join(", ", blobs[0].Dims)}) and " +
                                               $"({string.Join(", ", blobs[1].Dims)}); VGG19's is ({string.Join(", ", kernel)}) and ({spec.OutChannels})");
            var (w, b) = (blobs[0].Values, blobs[1].Values);
            if (w.Length != kernel.Aggregate(1L, (x, y) => x * y) || b.Length != spec.OutChannels)
                throw new WeightsFileException($"weights file '{file}': {spec.Name} holds {w.Length} weights and {b.Length} biases for its shape (truncated?)");
            kernels[spec.Name] = w;
            biases[spec.Name] = b;
        }
        return preprocessing.FoldInto(new NetworkWeights { Kernels = kernels, Biases = biases, Source = path });
    }
}
