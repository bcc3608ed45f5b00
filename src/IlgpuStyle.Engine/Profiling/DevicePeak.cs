using System.Diagnostics;
using System.Text.Json;
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

    /// <summary>The file the measurements are cached in, one entry per device.</summary>
    public static string CachePath => IO.CacheFiles.PathOf("peaks-v2.json");   // v2: FMA rate with 128 fused chains, chunked copy on CPUs (v1 ran scalar on PoCL)

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
            Directory.CreateDirectory(Path.GetDirectoryName(CachePath)!);
            File.WriteAllText(CachePath, JsonSerializer.Serialize(cache, new JsonSerializerOptions { WriteIndented = true }));
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
            // FMA rate: enough threads to fill the device, rounds chosen to run tens of milliseconds.
            int threads = device.Info.IsGpu ? Math.Max(1 << 15, device.Accelerator.NumMultiprocessors * device.Accelerator.MaxNumThreadsPerMultiprocessor)
                : device.Info.Kind == DeviceKind.Cpu ? 16 * Environment.ProcessorCount : 1 << 14;
            int iterations = device.Info.IsGpu ? 1 << 12 : device.Info.Kind == DeviceKind.Cpu ? 1 << 10 : 1 << 11;
            using var sink = new Tensor(device, Shape4.Vector(threads * Peak.Chains), "peak.sink");
            var fma = device.Kernel(Peak.FmaRate, a => a.LoadAutoGroupedStreamKernel<Index1D, int, float, float, ArrayView<float>>(Peak.FmaRate));
            fma(threads, 16, 0.999f, 0.001f, sink.View);   // compile and warm up
            device.Synchronize();
            double best = double.MaxValue;
            for (int r = 0; r < 3; r++)
            {
                var t = Stopwatch.StartNew();
                fma(threads, iterations, 0.999f, 0.001f, sink.View);
                device.Synchronize();
                best = Math.Min(best, t.Elapsed.TotalSeconds);
            }
            double gflops = 2.0 * Peak.Chains * iterations * threads / best / 1e9;

            // Copy bandwidth: read + write of 64 MiB (16 MiB on the CPU accelerator).
            long n = device.Info.Kind == DeviceKind.Cpu ? 4L << 20 : 16L << 20;
            using var a = new Tensor(device, Shape4.Vector((int)n), "peak.a");
            using var b = new Tensor(device, Shape4.Vector((int)n), "peak.b");
            Op.Fill(a, 1f);
            Op.Copy(b, a);   // grid-stride on GPUs, contiguous chunks on CPU devices
            device.Synchronize();
            double copy = double.MaxValue;
            for (int r = 0; r < 3; r++)
            {
                var t = Stopwatch.StartNew();
                Op.Copy(b, a);
                device.Synchronize();
                copy = Math.Min(copy, t.Elapsed.TotalSeconds);
            }
            return new DevicePeak($"{device.Info.Kind}:{device.Name}", gflops, 2.0 * n * sizeof(float) / copy / 1e9);
        }
        finally { device.Observer = observer; }
    }

    /// <summary>How close a kernel came to the nearer limit: max(GFLOP/s ÷ FMA rate, GB/s ÷ bandwidth).</summary>
    public double Fraction(KernelSummary s) => Math.Max(s.GflopPerSecond / GflopPerSecond, s.GBPerSecond / GBPerSecond);
}
