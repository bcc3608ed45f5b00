using System.Diagnostics;
using System.Globalization;
using System.Text;
using IlgpuStyle.Devices;

namespace IlgpuStyle.Profiling;

/// <summary>One kernel launch as timed: name, start and duration (µs since the profiler started), FLOPs and bytes.</summary>
public sealed record LaunchRecord(string Kernel, string Layer, double StartUs, double DurationUs, long Flops, long Bytes);

/// <summary>Per-kernel totals.</summary>
public sealed record KernelSummary(string Kernel, int Calls, double TotalMs, double Share, double GflopPerSecond, double GBPerSecond, long Flops, long Bytes)
{
    /// <summary>The shortest, median and longest single launch, in ms (a spread that shows noise, warm-up or shape mix).</summary>
    public double MinMs { get; init; }
    public double MedianMs { get; init; }
    public double MaxMs { get; init; }

    public double MeanMs => TotalMs / Math.Max(1, Calls);
}

/// <summary>
/// Times every launch on a device: synchronizes before and after each one (so the time is the
/// kernel's alone) and records it. Attach with <see cref="Attach"/>; the run is slower while
/// attached, by one synchronization per launch. Launches are tagged with the device's
/// <see cref="ComputeDevice.Scope"/>, the VGG19 layer the tape is computing.
/// </summary>
public sealed class KernelProfiler : ILaunchObserver
{
    readonly ComputeDevice device;
    readonly Stopwatch clock = Stopwatch.StartNew();
    readonly List<LaunchRecord> launches = new();

    public KernelProfiler(ComputeDevice device) => this.device = device;

    public IReadOnlyList<LaunchRecord> Launches => launches;
    public bool Enabled { get; set; } = true;

    public static KernelProfiler Attach(ComputeDevice device)
    {
        var p = new KernelProfiler(device);
        device.Observer = p;
        return p;
    }

    public IDisposable? OnLaunch(string kernel, long flops, long bytes)
    {
        if (!Enabled) return null;
        device.Synchronize();
        return new Timing(this, kernel, flops, bytes, clock.Elapsed.TotalMicroseconds);
    }

    sealed class Timing(KernelProfiler p, string kernel, long flops, long bytes, double start) : IDisposable
    {
        public void Dispose()
        {
            p.device.Synchronize();
            double end = p.clock.Elapsed.TotalMicroseconds;
            p.launches.Add(new LaunchRecord(kernel, p.device.Scope, start, end - start, flops, bytes));
        }
    }

    public void Clear() => launches.Clear();

    public IReadOnlyList<KernelSummary> Summarize(Func<LaunchRecord, string>? key = null)
    {
        key ??= l => l.Kernel;
        double total = launches.Sum(l => l.DurationUs) / 1000;
        return launches.GroupBy(key)
            .Select(g =>
            {
                double ms = g.Sum(l => l.DurationUs) / 1000;
                long flops = g.Sum(l => l.Flops), bytes = g.Sum(l => l.Bytes);
                var each = g.Select(l => l.DurationUs / 1000).Order().ToArray();
                double median = each.Length % 2 == 1 ? each[each.Length / 2] : (each[each.Length / 2 - 1] + each[each.Length / 2]) / 2;
                return new KernelSummary(g.Key, g.Count(), ms, total > 0 ? ms / total : 0,
                    ms > 0 ? flops / (ms * 1e6) : 0, ms > 0 ? bytes / (ms * 1e6) : 0, flops, bytes)
                    { MinMs = each[0], MedianMs = median, MaxMs = each[^1] };
            })
            .OrderByDescending(s => s.TotalMs).ToList();
    }

    /// <summary>Chrome trace-event JSON (chrome://tracing, ui.perfetto.dev): one complete event per launch.</summary>
    public void WriteTrace(string path)
    {
        var sb = new StringBuilder("{\"traceEvents\":[\n");
        for (int i = 0; i < launches.Count; i++)
        {
            var l = launches[i];
            sb.Append(CultureInfo.InvariantCulture,
                $"{{\"name\":\"{l.Kernel}\",\"cat\":\"kernel\",\"ph\":\"X\",\"ts\":{l.StartUs:F1},\"dur\":{l.DurationUs:F1},\"pid\":1,\"tid\":1,\"args\":{{\"layer\":\"{l.Layer}\",\"flops\":{l.Flops},\"bytes\":{l.Bytes}}}}}");
            sb.Append(i + 1 < launches.Count ? ",\n" : "\n");
        }
        sb.Append($"],\"displayTimeUnit\":\"ms\",\"otherData\":{{\"device\":\"{device.Name.Replace("\"", "'")}\"}}}}\n");
        IO.AtomicFile.WriteAllText(path, sb.ToString());
    }


    public static void WriteCsv(string path, IEnumerable<KernelSummary> rows)
    {
        var sb = new StringBuilder("kernel,calls,total_ms,mean_ms,share,gflop_per_s,gb_per_s,min_ms,median_ms,max_ms\n");
        foreach (var r in rows)
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.Kernel},{r.Calls},{r.TotalMs:F3},{r.MeanMs:F4},{r.Share:F4},{r.GflopPerSecond:F2},{r.GBPerSecond:F2},{r.MinMs:F4},{r.MedianMs:F4},{r.MaxMs:F4}"));
        IO.AtomicFile.WriteAllText(path, sb.ToString());
    }
}
