using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.OpenCL;
using ILGPU.Runtime;
using IlgpuStyle.Devices;
using IlgpuStyle.Kernels;

namespace IlgpuStyle.Tests.Kernels;

/// <summary>VectorStore.Store16 (vstore16 on OpenCL, 16 scalar stores elsewhere): stores exactly its 16 floats, at any offset,
/// on every accelerator; and the products that need it are written with it in their OpenCL C.</summary>
[Collection(DeviceTests.Collection)]
public class VectorStoreTests
{
    /// <summary>Thread i: y[o + 17·i + j] = x[16·i + j] (rows 17 apart: every row but the first starts off a 16-float boundary).</summary>
    static void StoreRows(Index1D i, ArrayView<float> x, ArrayView<float> y, long o)
    {
        int s = 16 * i;
        VectorStore.Store16(y, o + 17L * i, x[s], x[s + 1], x[s + 2], x[s + 3], x[s + 4], x[s + 5], x[s + 6], x[s + 7],
            x[s + 8], x[s + 9], x[s + 10], x[s + 11], x[s + 12], x[s + 13], x[s + 14], x[s + 15]);
    }

    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void StoresItsSixteenFloatsAndNothingElse(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        var r = new Rand();
        const int rows = 5, offset = 3;
        double[] x = r.Floats(rows * 16);
        using var tx = d.Upload(Shape4.Vector(x.Length), x);
        using var ty = d.Poisoned(Shape4.Vector(offset + 17 * rows + 2));
        // Loaded on the accelerator itself, not through the device's kernel cache: a test's own kernel is not one of the
        // engine's (KernelCatalogTests checks that every kernel the device loaded is in the catalog).
        d.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, long>(StoreRows)(rows, tx.View, ty.View, offset);
        d.Accelerator.Synchronize();
        float[] y = ty.ToArray();
        for (int k = 0; k < y.Length; k++)
        {
            int row = (k - offset) / 17, j = (k - offset) % 17;
            bool written = k >= offset && row < rows && j < 16;
            if (written) Assert.True(y[k] == (float)x[16 * row + j], $"{accelerator} {r}: y[{k}] = {y[k]}, expected x[{16 * row + j}] = {x[16 * row + j]}");
            else Assert.True(float.IsNaN(y[k]), $"{accelerator} {r}: y[{k}] = {y[k]} was written; only rows of 16 from {offset}, 17 apart, should be");
        }
    }

    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void ProductsStoreVectorsInTheirOpenClSource(AcceleratorCase accelerator)
    {
        Assert.SkipWhen(accelerator.Kind != DeviceKind.OpenCL, "OpenCL C source only");
        var d = Accelerators.Get(accelerator);
        var backend = ((ILGPU.Runtime.OpenCL.CLAccelerator)d.Accelerator).Backend;
        foreach (var (method, stores) in new[]
                 {
                     (typeof(Conv2dWinograd).GetMethod(nameof(Conv2dWinograd.Multiply16x16))!, 16),
                     (typeof(Conv2dWinograd).GetMethod(nameof(Conv2dWinograd.Multiply8x16))!, 8),
                     (typeof(Conv2dWinograd).GetMethod(nameof(Conv2dWinograd.Multiply4x16))!, 4),
                     (typeof(Gram).GetMethod(nameof(Gram.ForwardBlocks))!, 16),
                     (typeof(Gram).GetMethod(nameof(Gram.ForwardBlocks4x16))!, 4),
                 })
        {
            var source = ((CLCompiledKernel)backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(method), default)).Source;
            int count = System.Text.RegularExpressions.Regex.Matches(source, @"\bvstore16\b").Count;
            Assert.True(count == stores, $"{method.Name}: {count} vstore16 in its OpenCL C, expected {stores} (one per row of 16 sums)");
        }
    }
}
