using System.Text.Json;
using ILGPU;
using ILGPU.Runtime;
using IlgpuStyle.Devices;
using IlgpuStyle.Kernels;
using IlgpuStyle.Ops;
using IlgpuStyle.Tensors;

namespace IlgpuStyle.Profiling;

/// <summary>A device's measured limits: FMA rate and copy bandwidth.</summary>
public sealed record DevicePeak(string Device, double GflopPerSecond, double GBPerSecond)
{
    /// <summary>When this measurement was taken (null in caches written before it was recorded).</summary>
    public DateTime? MeasuredUtc { get; init; }

    /// <summary>The FMA microbenchmark that measured the rate (kernels/Peak.cs).</summary>
    public string? FmaKernel { get; init; }

    /// <summary>The file the measurements are cached in, one entry per device.</summary>
    public static string CachePath => IO.CacheFiles.PathOf("peaks-v3.json");   // v3: the product-shaped FMA kernel on CPU OpenCL devices (v2 measured half of AVX-512 there; v1 ran scalar on PoCL)

    /// <summary>
    /// The cached figures of this device, or a measurement (about a second) that is then cached. remeasure: measure
    /// again and replace the cached entry (a measurement taken while the machine was busy stays low until then).
    /// </summary>
    public static DevicePeak For(ComputeDevice device, bool remeasure = false)
    {
        string key = $"{device.Info.Kind}:{device.Name}";
        var cache = Load();
        if (!remeasure && cache.TryGetValue(key, out var known)) return known;
        var peak = Measure(device) with { MeasuredUtc = DateTime.UtcNow };
        cache[key] = peak;
        try
        {
            // Through a temporary file, as the tuner's cache: another process reading it half-written would find no entry
            // and measure again, perhaps while the machine is busy, and keep that low figure.
            IO.AtomicFile.WriteAllText(CachePath, JsonSerializer.Serialize(cache, new JsonSerializerOptions { WriteIndented = true }));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* the cache is a convenience */ }
        return peak;
    }

    static Dictionary<string, DevicePeak> Load()
    {
        try { return JsonSerializer.Deserialize<Dictionary<string, DevicePeak>>(File.ReadAllText(CachePath)) ?? new(); }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException) { return new(); }
    }

    public static DevicePeak Measure(ComputeDevice device)
    {
        var observer = device.Observer;
        device.Observer = null;
        try
        {
            var (gflops, fmaKernel) = FmaRate(device);

            // Copy bandwidth: read + write of 64 MiB (16 MiB on the CPU accelerator).
            long n = device.Info.Kind == DeviceKind.Cpu ? 4L << 20 : 16L << 20;
            using var a = new Tensor(device, Shape4.Vector((int)n), "peak.a");
            using var b = new Tensor(device, Shape4.Vector((int)n), "peak.b");
            Op.Fill(a, 1f);
            Op.Copy(b, a);   // grid-stride on GPUs, contiguous chunks on CPU devices
            double copy = Timing.Repeat(device, 3, () => Op.Copy(b, a))[0] / 1e3;   // the fastest of three
            return new DevicePeak($"{device.Info.Kind}:{device.Name}", gflops, 2.0 * n * sizeof(float) / copy / 1e9) { FmaKernel = fmaKernel };
        }
        finally { device.Observer = observer; }
    }

    /// <summary>
    /// The FMA rate, best of five timed launches after one that compiles and warms up: on CPU OpenCL devices the product form
    /// whose block follows the reported vector width (16 sums of 16 floats at width 16, 4 at width 8), elsewhere the chains.
    /// </summary>
    static (double Gflops, string Kernel) FmaRate(ComputeDevice device)
    {
        bool cpuOpenCl = device.Info.Kind == DeviceKind.OpenCL && !device.Info.IsGpu;
        if (cpuOpenCl)
        {
            // Enough threads for every core, steps chosen to run tens of milliseconds.
            const int threads = 1 << 14, steps = 1 << 12;
            bool wide = device.Info.VectorWidthFloat >= 16;
            int perStep = wide ? 512 : 128;
            using var w = new Tensor(device, Shape4.Vector(Peak.ProductOperands), "peak.w");
            using var sink = new Tensor(device, Shape4.Vector(threads * perStep / 2), "peak.sink");
            Op.Fill(w, 1e-3f);
            var kernel = wide
                ? device.Kernel(Peak.FmaRateProduct16x16, a => a.LoadStreamKernel<int, ArrayView<float>, ArrayView<float>, int>(Peak.FmaRateProduct16x16))
                : device.Kernel(Peak.FmaRateProduct16x4, a => a.LoadStreamKernel<int, ArrayView<float>, ArrayView<float>, int>(Peak.FmaRateProduct16x4));
            var config = new KernelConfig(threads / Peak.GroupSize, Peak.GroupSize);
            double seconds = Best(device, rounds => kernel(config, rounds, w.View, sink.View, 1), steps);
            return ((double)perStep * steps * threads / seconds / 1e9, wide ? "peak_fma_product_16x16" : "peak_fma_product_16x4");
        }
        else
        {
            int threads = device.Info.IsGpu ? Math.Max(1 << 15, device.Accelerator.NumMultiprocessors * device.Accelerator.MaxNumThreadsPerMultiprocessor)
                : device.Info.Kind == DeviceKind.Cpu ? 16 * Environment.ProcessorCount : 1 << 14;
            int iterations = device.Info.IsGpu ? 1 << 12 : device.Info.Kind == DeviceKind.Cpu ? 1 << 10 : 1 << 11;
            using var sink = new Tensor(device, Shape4.Vector(threads * Peak.Chains), "peak.sink");
            var fma = device.Kernel(Peak.FmaRate, a => a.LoadAutoGroupedStreamKernel<Index1D, int, float, float, ArrayView<float>>(Peak.FmaRate));
            double seconds = Best(device, rounds => fma(threads, rounds, 0.999f, 0.001f, sink.View), iterations);
            return (2.0 * Peak.Chains * iterations * threads / seconds / 1e9, "peak_fma");
        }
    }

    /// <summary>Seconds of the fastest of five launches of `launch(rounds)`, after one short launch (compile, warm up): on a
    /// shared machine the fastest is the one least disturbed.</summary>
    static double Best(ComputeDevice device, Action<int> launch, int rounds)
    {
        launch(Peak.StepsPerBarrier);
        return Timing.Repeat(device, 5, () => launch(rounds))[0] / 1e3;
    }

    /// <summary>How close a kernel came to the nearer limit: max(GFLOP/s ÷ FMA rate, GB/s ÷ bandwidth).</summary>
    public double Fraction(KernelSummary s) => Math.Max(s.GflopPerSecond / GflopPerSecond, s.GBPerSecond / GBPerSecond);
}
