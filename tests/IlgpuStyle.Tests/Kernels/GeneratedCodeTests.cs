using IlgpuStyle.Devices;
using ILGPU;
using ILGPU.Runtime;

namespace IlgpuStyle.Tests.Kernels;

/// <summary>
/// ILGPU's generated OpenCL C kept between runs (<see cref="GeneratedCode"/>): a kernel loaded on one device writes its
/// code; a device opened after it runs the code of the file, not code generated again (the file's constant is changed,
/// and the launch computes with the changed one); a file whose code does not build, or that is no JSON, falls back to
/// generating. Fresh devices
/// (not the shared ones), so that this test's kernel never joins the catalog the PTX test checks.
/// </summary>
[Collection(DeviceTests.Collection)]
public class GeneratedCodeTests(ITestOutputHelper output)
{
    /// <summary>y[i] = x[i] + 12345 (a constant the test finds in the generated code).</summary>
    static void AddMarker(Index1D i, ArrayView<int> x, ArrayView<int> y) => y[i] = x[i] + 12345;

    [Fact]
    public void ThisIlgpuHasTheCacheReachedInto() => Assert.True(GeneratedCode.Available,
        "ILGPU's private cache of generated kernels is not where GeneratedCode expects it (another ILGPU version?): starts generate every kernel again");

    [Fact]
    public void ALaterDeviceRunsTheKeptCode()
    {
        var info = Accelerators.Catalog.Devices.FirstOrDefault(d => d.Kind == DeviceKind.OpenCL && d.Usable);
        Assert.SkipWhen(info is null, "no usable OpenCL device");
        int[] Run(ComputeDevice d)
        {
            var launch = d.Kernel(AddMarker, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, ArrayView<int>>(AddMarker));
            using var x = d.Accelerator.Allocate1D(new[] { 1, 2, 3 });
            using var y = d.Accelerator.Allocate1D<int>(3);
            y.MemSetToZero();
            launch(3, x.View, y.View);
            d.Synchronize();
            return y.GetAsArray1D();
        }
        string Kept() => Directory.EnumerateFiles(GeneratedCode.Folder, nameof(AddMarker) + "-*.json", SearchOption.AllDirectories)
            .OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault() ?? "";

        foreach (var f in Directory.Exists(GeneratedCode.Folder)
                     ? Directory.EnumerateFiles(GeneratedCode.Folder, nameof(AddMarker) + "-*.json", SearchOption.AllDirectories).ToList() : new())
            File.Delete(f);
        using (var first = Accelerators.Catalog.Open(info!))
            Assert.Equal(new[] { 12346, 12347, 12348 }, Run(first));
        string path = Kept();
        Assert.True(File.Exists(path), $"no file of {nameof(AddMarker)} in {GeneratedCode.Folder}");
        string text = File.ReadAllText(path);
        output.WriteLine($"{path}: {text.Length} characters");
        Assert.Contains("12345", text);
        try
        {
            File.WriteAllText(path, text.Replace("12345", "54321"));
            using (var second = Accelerators.Catalog.Open(info!))
                Assert.Equal(new[] { 54322, 54323, 54324 }, Run(second));
            // Damaged files: code that does not build (removed, then generated and kept again), a file that is no JSON.
            File.WriteAllText(path, text.Replace("12345", "12345 this is no OpenCL"));
            using (var third = Accelerators.Catalog.Open(info!))
                Assert.Equal(new[] { 12346, 12347, 12348 }, Run(third));
            Assert.DoesNotContain("this is no OpenCL", File.ReadAllText(Kept()));
            File.WriteAllText(path, "not json");
            using (var fourth = Accelerators.Catalog.Open(info!))
                Assert.Equal(new[] { 12346, 12347, 12348 }, Run(fourth));
        }
        finally { File.Delete(path); }
    }
}
