
namespace IlgpuStyle.Tests.Harness;

/// <summary>
/// Every test that launches kernels or runs the command line belongs to this collection, whose tests run one at a time:
/// they share one device per kind (a device is one stream, not thread-safe) and the console. Host-only tests (PTX
/// compilation, HDF5 files, float64 references) are in collections of their own and run beside it (xunit.runner.json).
/// </summary>
[CollectionDefinition(Collection)]
public sealed class DeviceTests
{
    public const string Collection = "devices";
}
