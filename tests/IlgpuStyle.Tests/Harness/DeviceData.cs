using IlgpuStyle.Devices;

namespace IlgpuStyle.Tests.Harness;

/// <summary>Tensors for tests: from float64 data, or poisoned with NaN so unwritten outputs show.</summary>
public static class DeviceData
{
    public static Tensor Upload(this ComputeDevice d, Shape4 shape, double[] data, string name = "t") =>
        Tensor.FromArray(d, shape, data.ToFloat(), name);

    public static Tensor Poisoned(this ComputeDevice d, Shape4 shape, string name = "out")
    {
        var t = new Tensor(d, shape, name);
        Op.Fill(t, float.NaN);
        return t;
    }

    /// <summary>Every variant × every accelerator, for ops with several implementations.</summary>
    public static TheoryData<AcceleratorCase, KernelVariant> AllVariants => Cases(Enum.GetValues<KernelVariant>());

    /// <summary>The Gram matrix's variants (no Direct) × every accelerator.</summary>
    public static TheoryData<AcceleratorCase, KernelVariant> GramVariants => Cases(Op.GramVariants);

    /// <summary>The weight gradient's variants (no Direct, no Rows) × every accelerator.</summary>
    public static TheoryData<AcceleratorCase, KernelVariant> ConvWeightsGradientVariants => Cases(Op.ConvWeightsGradientVariants);

    static TheoryData<AcceleratorCase, KernelVariant> Cases(IEnumerable<KernelVariant> variants)
    {
        var data = new TheoryData<AcceleratorCase, KernelVariant>();
        foreach (var a in Accelerators.Kinds)
            foreach (var v in variants)
                data.Add(a, v);
        return data;
    }
}
