using ILGPU;
using ILGPU.Runtime;
using IlgpuStyle.Kernels;

namespace IlgpuStyle.Tests.Kernels;

/// <summary>
/// The FMA microbenchmarks (kernels/Peak.cs) compute what they claim, so that the rate they time is the rate of that work:
/// every sum against float64, outputs poisoned first, on every accelerator.
/// </summary>
[Collection(DeviceTests.Collection)]
public class PeakTests
{
    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void ProductFormsSumTheirBlocks(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        var r = new Rand();
        const int threads = 2 * Peak.GroupSize, steps = Peak.StepsPerBarrier;
        double[] w = r.Floats(Peak.ProductOperands);
        using var tw = d.Upload(Shape4.Vector(w.Length), w);
        foreach (int rows in new[] { 16, 4 })
        {
            using var sink = d.Poisoned(Shape4.Vector(threads * rows * 16));
            var config = new KernelConfig(threads / Peak.GroupSize, Peak.GroupSize);
            if (rows == 16)
                d.Kernel(Peak.FmaRateProduct16x16, a => a.LoadStreamKernel<int, ArrayView<float>, ArrayView<float>, int>(Peak.FmaRateProduct16x16))
                    (config, steps, tw.View, sink.View, 1);
            else
                d.Kernel(Peak.FmaRateProduct16x4, a => a.LoadStreamKernel<int, ArrayView<float>, ArrayView<float>, int>(Peak.FmaRateProduct16x4))
                    (config, steps, tw.View, sink.View, 1);
            // Row i, column j of thread t at t + (16·i + j)·threads: steps/8 turns of Σ_q u[16q + i] · v[16q + j], v = w[128..].
            var expected = new double[threads * rows * 16];
            for (int t = 0; t < threads; t++)
                for (int i = 0; i < rows; i++)
                    for (int j = 0; j < 16; j++)
                    {
                        double sum = 0;
                        for (int q = 0; q < 8; q++) sum += w[16 * q + i] * w[128 + 16 * q + j];
                        expected[t + (16 * i + j) * threads] = steps / 8 * sum;
                    }
            Compare.RelativeL2($"peak product {rows}x16", expected, sink.ToArray(), Tolerance.LongSum, $"{accelerator} {r}");
        }
    }

    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void ChainsIterateTheirMultiplyAdd(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        var r = new Rand();
        const int threads = 32, iterations = 16;
        float b = (float)(0.9 + 0.05 * r.Floats(1)[0]), c = (float)(0.01 * r.Floats(1)[0]);
        using var sink = d.Poisoned(Shape4.Vector(threads * Peak.Chains));
        d.Kernel(Peak.FmaRate, a => a.LoadAutoGroupedStreamKernel<Index1D, int, float, float, ArrayView<float>>(Peak.FmaRate))
            (threads, iterations, b, c, sink.View);
        var expected = new double[threads * Peak.Chains];
        for (int t = 0; t < threads; t++)
            for (int k = 0; k < Peak.Chains; k++)
            {
                double a = t + k % 16;
                for (int n = 0; n < iterations; n++) a = a * b + c;
                expected[t * Peak.Chains + k] = a;
            }
        Compare.RelativeL2("peak chains", expected, sink.ToArray(), Tolerance.Kernel, $"{accelerator} {r}");
    }
}
