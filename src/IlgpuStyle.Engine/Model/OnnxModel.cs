using ProtoBuf;

namespace IlgpuStyle.Model;

// The part of ONNX's onnx.proto (IR version 3 and later) a convolutional network's graph and weights need, read by
// protobuf-net: the field numbers are onnx.proto's. Fields not listed are skipped by the reader.

[ProtoContract]
public sealed class OnnxModelProto
{
    [ProtoMember(1)] public long IrVersion { get; set; }
    [ProtoMember(2)] public string? ProducerName { get; set; }
    [ProtoMember(3)] public string? ProducerVersion { get; set; }
    [ProtoMember(7)] public OnnxGraphProto? Graph { get; set; }
    [ProtoMember(8)] public List<OnnxOperatorSetId> OpsetImport { get; set; } = new();
}

[ProtoContract]
public sealed class OnnxOperatorSetId
{
    [ProtoMember(1)] public string? Domain { get; set; }
    [ProtoMember(2)] public long Version { get; set; }
}

[ProtoContract]
public sealed class OnnxGraphProto
{
    [ProtoMember(1)] public List<OnnxNodeProto> Node { get; set; } = new();
    [ProtoMember(2)] public string? Name { get; set; }
    [ProtoMember(5)] public List<OnnxTensorProto> Initializer { get; set; } = new();
    [ProtoMember(11)] public List<OnnxValueInfoProto> Input { get; set; } = new();
    [ProtoMember(12)] public List<OnnxValueInfoProto> Output { get; set; } = new();
}

[ProtoContract]
public sealed class OnnxValueInfoProto
{
    [ProtoMember(1)] public string? Name { get; set; }
}

[ProtoContract]
public sealed class OnnxNodeProto
{
    [ProtoMember(1)] public List<string> Input { get; set; } = new();
    [ProtoMember(2)] public List<string> Output { get; set; } = new();
    [ProtoMember(3)] public string? Name { get; set; }
    [ProtoMember(4)] public string? OpType { get; set; }
    [ProtoMember(5)] public List<OnnxAttributeProto> Attribute { get; set; } = new();

    public OnnxAttributeProto? this[string name] => Attribute.FirstOrDefault(a => a.Name == name);

    public long[] Ints(string name, params long[] fallback) => this[name]?.Ints is { Count: > 0 } v ? v.ToArray() : fallback;
    public long Int(string name, long fallback) => this[name] is { } a ? a.I : fallback;
    public float Float(string name, float fallback) => this[name] is { } a ? a.F : fallback;
}

[ProtoContract]
public sealed class OnnxAttributeProto
{
    [ProtoMember(1)] public string? Name { get; set; }
    [ProtoMember(2)] public float F { get; set; }
    [ProtoMember(3)] public long I { get; set; }
    [ProtoMember(4)] public byte[]? S { get; set; }
    [ProtoMember(7)] public List<float> Floats { get; set; } = new();
    [ProtoMember(8)] public List<long> Ints { get; set; } = new();
}

[ProtoContract]
public sealed class OnnxTensorProto
{
    public const int Float = 1;

    [ProtoMember(1)] public List<long> Dims { get; set; } = new();
    [ProtoMember(2)] public int DataType { get; set; }
    [ProtoMember(4)] public List<float> FloatData { get; set; } = new();
    [ProtoMember(8)] public string? Name { get; set; }
    [ProtoMember(9)] public byte[]? RawData { get; set; }

    public long ElementCount => Dims.Aggregate(1L, (a, d) => a * d);

    /// <summary>The values as float32: from raw_data (little-endian) or float_data; null when the tensor is not float32 or
    /// its data does not match its dims.</summary>
    public float[]? ToFloats()
    {
        if (DataType != Float) return null;
        if (RawData is { } raw)
        {
            if (raw.Length != ElementCount * sizeof(float)) return null;
            var values = new float[ElementCount];
            Buffer.BlockCopy(raw, 0, values, 0, raw.Length);
            if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX raw data is little-endian");
            return values;
        }
        return FloatData.Count == ElementCount ? FloatData.ToArray() : null;
    }
}
