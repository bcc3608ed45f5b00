using IlgpuStyle.Tensors;

namespace IlgpuStyle.Optimizers;

/// <summary>Tensor contents to and from checkpoint streams.</summary>
public static class TensorIO
{
    public static void Write(BinaryWriter writer, Tensor t)
    {
        var data = t.ToArray();
        writer.Write(data.Length);
        writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()));
    }

    public static void Read(BinaryReader reader, Tensor t)
    {
        int n = reader.ReadInt32();
        if (n != t.Length) throw new InvalidDataException($"checkpoint holds {n} values for '{t.Name}' {t.Shape}, which needs {t.Length}");
        var bytes = reader.ReadBytes(n * sizeof(float));
        if (bytes.Length != n * sizeof(float)) throw new InvalidDataException($"checkpoint is truncated inside '{t.Name}'");
        t.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes));
    }
}
