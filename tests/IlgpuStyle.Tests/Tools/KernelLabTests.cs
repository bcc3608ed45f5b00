using System.Text.Json;
using IlgpuStyle.Devices;
using IlgpuStyle.Profiling;
using IlgpuStyle.Tests.Transfer;

namespace IlgpuStyle.Tests.Tools;

/// <summary>
/// `ilgpustyle kernels`: every variant of a conv at a VGG19 layer's shape is checked against float64 before it is timed,
/// a wrong result is reported as failed and not timed, and the command writes the table as a document.
/// </summary>
[Collection(DeviceTests.Collection)]
public class KernelLabTests(ITestOutputHelper output)
{
    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void EveryVariantIsCheckedThenTimed(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        // conv1_2 at 32²: 64 → 64 channels, 32×32 (every tile applies); conv4_1 at 32²: 256 → 512, 4×4 (rows shorter than a tile).
        foreach (var (layer, op) in new[] { ("conv1_2", LabOp.Conv), ("conv1_2", LabOp.ConvInput), ("conv4_1", LabOp.Conv) })
        {
            var g = KernelLab.LayerGeometry(layer, 32);
            var rows = KernelLab.Run(d, op, g, repeats: 1, peakGflops: 100, seed: 7);
            foreach (var r in rows)
                output.WriteLine($"{accelerator} {layer} {op} {r.Variant}: valid {r.Valid}, rel {r.RelativeError:G3}, {r.MedianMs:F2} ms {r.Failure}");
            Assert.Equal(KernelLab.Variants().Select(v => v.Name), rows.Select(r => r.Variant));
            foreach (var r in rows)
            {
                Assert.True(r.Valid, $"{accelerator} {layer} {op} {r.Variant}: {r.Failure}");
                Assert.True(r.Checked > 3000, $"{r.Variant}: only {r.Checked} outputs checked");
                Assert.True(r.MedianMs > 0 && r.EffectiveGflops > 0, $"{r.Variant}: not timed");
                Assert.True(r.ExecutedGflops >= r.EffectiveGflops, $"{r.Variant}: executes fewer FLOPs than the convolution has");
            }
            Assert.Contains(KernelLab.DefaultFor(d, g), rows.Select(r => r.Variant));
        }
        Assert.Null(d.DirectTileOverride);
    }

    [Fact]
    public void DevicesReportTheirFloatVectorWidth()
    {
        foreach (var d in IlgpuStyle.Devices.SharedDevices.Catalog.Devices)
        {
            output.WriteLine($"{d.Id} {d.Name}: {d.VectorWidthFloat} floats per vector");
            Assert.True(d.VectorWidthFloat is 1 or 2 or 4 or 8 or 16 or 32, $"{d.Id}: vector width {d.VectorWidthFloat}");
        }
    }

    [Fact]
    public void AWrongOrMissingOutputFailsAndIsNotTimed()
    {
        var expected = new[] { 1.0, -2.0, 3.0, 0.5 };
        Assert.True(KernelLab.Check("same", expected, new[] { 1f, -2f, 3f, 0.5f }).Valid);
        var wrong = KernelLab.Check("wrong", expected, new[] { 1f, -2f, 3.01f, 0.5f });
        Assert.False(wrong.Valid);
        Assert.Contains("relative error", wrong.Failure);
        Assert.Null(wrong.MedianMs);
        Assert.False(KernelLab.Check("poisoned", expected, new[] { 1f, float.NaN, 3f, 0.5f }).Valid);
    }

    [Fact]
    public void CommandWritesTheTable()
    {
        var (code, stdout, stderr) = CliRunner.Run("kernels", "--layer", "conv2_1", "--image-size", "32", "--repeats", "1", "--format", "json");
        Assert.True(code == 0, $"exit {code}\n{stderr}\n{stdout}");
        using var json = JsonDocument.Parse(stdout);
        Assert.Contains("\"default_variant\"", stdout);
        Assert.Contains("\"direct 32x8\"", stdout);
        var (bad, _, error) = CliRunner.Run("kernels", "--layer", "pool1");
        Assert.Equal(1, bad);
        Assert.Contains("--layer must be a convolution", error);
    }
}
