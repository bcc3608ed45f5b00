using System.Diagnostics;
using IlgpuStyle.Devices;
using IlgpuStyle.Model;
using IlgpuStyle.Ops;
using IlgpuStyle.Tensors;
using IlgpuStyle.Transfer;

namespace IlgpuStyle.Profiling;

/// <summary>Timings of one style-transfer iteration (the network forward to the deepest loss layer, losses, backward to the image, an Adam step).</summary>
public sealed record IterationTimings(
    int Size, string Device, double MedianMs, double MinMs, double MaxMs, int Repeats, long FlopsPerIteration,
    double GflopPerSecond, long PeakDeviceBytes, double FirstIterationMs, double SetupMs, KernelProfiler Profile, StartupSplit Startup)
{
    public string ToLine() => $"size={Size} ours_ms={MedianMs:F1} gflops={GflopPerSecond:F1} peak_mb={PeakDeviceBytes / 1048576.0:F1} first_ms={FirstIterationMs:F0} compile_ms={Startup.Compiling.TotalMilliseconds:F0} tuning_ms={Startup.Tuning.TotalMilliseconds:F0}";
}

/// <summary>
/// The benchmark behind `ilgpustyle bench` and `ilgpustyle profile`: a square image of the given
/// size (seeded noise for content and style, so no files are needed), random-weight VGG19 (weights
/// do not change the work) or the bundled ResNet18, the network's default layers. First the time to the first iteration (kernel
/// compilation included; <see cref="StartupSplit"/> splits it into the network, inputs, targets, first iteration, compiling and
/// tuning), then one profiled iteration (per-kernel times, FLOPs), then `repeats`
/// unprofiled iterations, of which the median is reported.
/// </summary>
public static class IterationBenchmark
{
    public static IterationTimings Run(ComputeDevice device, int size, int repeats, Pooling pooling = Pooling.Average,
        KernelVariant? conv = null, KernelVariant? gram = null, int profiledIterations = 1, NetworkWeights? weights = null)
    {
        weights ??= NetworkWeights.Random(1);
        if (size < 16) throw new ArgumentException($"--size must be at least 16, got {size}");
        if (repeats < 1) throw new ArgumentException($"--repeats must be at least 1, got {repeats}");
        var setup = Stopwatch.StartNew();
        var startup = new StartupSplit(device);
        device.Memory.ResetPeak();
        var options = new StyleTransferOptions { ContentPath = "", StylePaths = Array.Empty<string>(), Network = weights.Network, Pooling = pooling, ConvVariant = conv, GramVariant = gram };
        var random = new Random(1);
        float[] Noise(long n) { var a = new float[n]; for (long i = 0; i < n; i++) a[i] = (float)(random.NextDouble() * 255 - 128); return a; }

        var shape = new Shape4(1, 3, size, size);
        using var network = startup.Phase("network", () => new Network(device, weights, pooling, options.DeepestLayer) { ConvVariant = conv });
        Tensor Input(Func<Tensor> make) => startup.Phase("inputs", make);
        using var content = Input(() => Tensor.FromArray(device, shape, Noise(shape.Length), "content"));
        using var style = Input(() => Tensor.FromArray(device, shape, Noise(shape.Length), "style"));
        using var x = Input(() => Tensor.FromArray(device, shape, Noise(shape.Length), "image"));
        using var m = Input(() => new Tensor(device, shape, "adam.m"));
        using var v = Input(() => new Tensor(device, shape, "adam.v"));
        startup.Phase("inputs", () => { Op.Fill(m, 0f); Op.Fill(v, 0f); });
        using var objective = startup.Phase("targets", () =>
        {
            var o = new StyleObjective(network, x, content, new[] { (style, 1.0) }, options);
            device.Synchronize();
            return o;
        });
        double setupMs = setup.Elapsed.TotalMilliseconds;

        int step = 0, profiled = 0;
        void Iterate()
        {
            // Named as `profile` counts them: its first profiled iteration is "iteration 1" (the one before it, which
            // compiles the kernels, is never profiled).
            using var span = device.Span($"iteration {profiled}", "iteration");
            objective.Evaluate();   // forward, losses, backward; reads the losses back (synchronizes)
            Op.AdamStep(x, objective.Gradient, m, v, 1f, 0.9f, 0.999f, 1e-8f, ++step);
        }

        var first = Stopwatch.StartNew();
        startup.Phase("first iteration", () => { Iterate(); device.Synchronize(); });
        startup.Stop();
        double firstMs = first.Elapsed.TotalMilliseconds;

        var profiler = new KernelProfiler(device);
        device.Observer = profiler;
        try { for (int i = 0; i < profiledIterations; i++) { profiled++; Iterate(); } }
        finally { device.Observer = null; }
        long flops = profiler.Launches.Sum(l => l.Flops) / profiledIterations;

        var times = Timing.Repeat(device, repeats, Iterate);
        double median = Timing.Median(times);
        return new IterationTimings(size, device.ToString(), median, times[0], times[^1], repeats, flops, flops / (median * 1e6),
            device.Memory.PeakAllocatedBytes, firstMs, setupMs, profiler, startup);
    }

}
