using IlgpuStyle.Devices;
using Xunit.Sdk;

namespace IlgpuStyle.Tests.Harness;

/// <summary>One accelerator kind as a theory argument; it shows in the test name as [Cuda], [OpenCL] or [CPU].</summary>
public sealed class AcceleratorCase : IXunitSerializable
{
    public DeviceKind Kind { get; private set; }
    public AcceleratorCase() { }
    public AcceleratorCase(DeviceKind kind) => Kind = kind;
    public void Deserialize(IXunitSerializationInfo info) => Kind = info.GetValue<DeviceKind>(nameof(Kind));
    public void Serialize(IXunitSerializationInfo info) => info.AddValue(nameof(Kind), Kind);
    public override string ToString() => Kind == DeviceKind.Cpu ? "[CPU]" : $"[{Kind}]";
}

/// <summary>
/// Every kernel test is a theory over <see cref="All"/>: it runs once per accelerator kind and is
/// skipped, with the reason, where that kind is absent. Devices come from <see cref="SharedDevices"/>, as the
/// command line's do: opened once per test run and shared with the CLI tests, so each kernel compiles once per device.
///
/// ILGPUSTYLE_ACCELERATORS=opencl,cpu limits the kinds that run (the others skip);
/// ILGPUSTYLE_REQUIRE_OPENCL=1 turns an absent OpenCL device into a failure instead of a skip.
/// </summary>
public static class Accelerators
{

    public static AcceleratorCase[] Kinds =>
        new[] { new AcceleratorCase(DeviceKind.Cuda), new AcceleratorCase(DeviceKind.OpenCL), new AcceleratorCase(DeviceKind.Cpu) };

    public static TheoryData<AcceleratorCase> All => new(Kinds);

    public static DeviceCatalog Catalog => SharedDevices.Catalog;

    /// <summary>The shared device of that kind, or a skip (or, for a required OpenCL, a failure).</summary>
    public static ComputeDevice Get(AcceleratorCase c)
    {
        var only = Environment.GetEnvironmentVariable("ILGPUSTYLE_ACCELERATORS");
        if (!string.IsNullOrWhiteSpace(only) &&
            !only.Split(',').Any(k => k.Trim().Equals(c.Kind.ToString(), StringComparison.OrdinalIgnoreCase)))
            Assert.Skip($"{c.Kind} not selected by ILGPUSTYLE_ACCELERATORS={only}");
        var info = Catalog.Devices.FirstOrDefault(d => d.Kind == c.Kind && d.Usable);
        if (info is null)
        {
            if (c.Kind == DeviceKind.OpenCL && Environment.GetEnvironmentVariable("ILGPUSTYLE_REQUIRE_OPENCL") == "1")
                Assert.Fail("ILGPUSTYLE_REQUIRE_OPENCL=1 but no usable OpenCL device was found");
            var seen = Catalog.Devices.Where(d => d.Kind == c.Kind).ToList();
            string why = seen.Count == 0
                ? c.Kind switch
                {
                    DeviceKind.Cuda => "no CUDA device (needs an NVIDIA GPU and driver)",
                    DeviceKind.OpenCL => "no OpenCL device (install PoCL 5+ or a GPU driver; CI runs tools/pocl-root.sh)",
                    _ => "no CPU accelerator",
                }
                : $"{c.Kind} device present but not usable: {seen[0].WhyNotUsable}";
            Assert.Skip(why);
        }
        return SharedDevices.Open(info!);
    }
}
