using System.Diagnostics;
using System.Globalization;
using System.Text;
using IlgpuStyle.Devices;

namespace IlgpuStyle.Profiling;

/// <summary>One kernel launch as timed: name, start and duration (µs since the profiler started), FLOPs and bytes.</summary>
public sealed record LaunchRecord(string Kernel, string Layer, double StartUs, double DurationUs, long Flops, long Bytes);

/// <summary>A span of work around launches (an iteration, a forward or backward pass, a layer), timed the same way.</summary>
public sealed record SpanRecord(string Name, string Category, double StartUs, double DurationUs);

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
/// innermost open "layer" span (<see cref="ComputeDevice.Span"/>, which the tape opens around each op): the VGG19 layer
/// being computed, with " backward" in its name during the backward pass.
/// </summary>
public sealed class KernelProfiler : ILaunchObserver
{
    readonly ComputeDevice device;
    readonly Stopwatch clock = Stopwatch.StartNew();
    readonly List<LaunchRecord> launches = new();
    readonly List<SpanRecord> spans = new();
    readonly List<(string Name, string Category)> open = new();

    /// <summary>The layer a launch now belongs to: the innermost open layer span, or "" outside every layer.</summary>
    string Layer
    {
        get
        {
            for (int i = open.Count - 1; i >= 0; i--)
                if (open[i].Category == "layer") return open[i].Name;
            return "";
        }
    }

    public KernelProfiler(ComputeDevice device) => this.device = device;

    public IReadOnlyList<LaunchRecord> Launches => launches;
    public IReadOnlyList<SpanRecord> Spans => spans;

    public static KernelProfiler Attach(ComputeDevice device)
    {
        var p = new KernelProfiler(device);
        device.Observer = p;
        return p;
    }

    public IDisposable? OnLaunch(string kernel, long flops, long bytes)
    {
        device.Synchronize();
        return new Timing(this, kernel, flops, bytes, clock.Elapsed.TotalMicroseconds);
    }

    /// <summary>A span starts once the device is idle and ends once it is idle again, so that it holds its launches.</summary>
    public IDisposable? OnSpan(string name, string category)
    {
        device.Synchronize();
        open.Add((name, category));
        return new SpanTiming(this, name, category, clock.Elapsed.TotalMicroseconds);
    }

    sealed class SpanTiming(KernelProfiler p, string name, string category, double start) : IDisposable
    {
        public void Dispose()
        {
            p.device.Synchronize();
            p.spans.Add(new SpanRecord(name, category, start, p.clock.Elapsed.TotalMicroseconds - start));
            p.open.RemoveAt(p.open.Count - 1);   // spans nest: the one that ends is the innermost
        }
    }

    sealed class Timing(KernelProfiler p, string kernel, long flops, long bytes, double start) : IDisposable
    {
        public void Dispose()
        {
            p.device.Synchronize();
            double end = p.clock.Elapsed.TotalMicroseconds;
            p.launches.Add(new LaunchRecord(kernel, p.Layer, start, end - start, flops, bytes));
        }
    }

    public void Clear()
    {
        launches.Clear();
        spans.Clear();
    }

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
                double median = IlgpuStyle.Devices.Timing.Median(each);
                return new KernelSummary(g.Key, g.Count(), ms, total > 0 ? ms / total : 0,
                    ms > 0 ? flops / (ms * 1e6) : 0, ms > 0 ? bytes / (ms * 1e6) : 0, flops, bytes)
                    { MinMs = each[0], MedianMs = median, MaxMs = each[^1] };
            })
            .OrderByDescending(s => s.TotalMs).ToList();
    }

    /// <summary>
    /// Chrome trace-event JSON (chrome://tracing, ui.perfetto.dev): a named process (the device) with one named thread
    /// (its stream), on which iterations hold their forward and backward passes, passes their layers, and layers their
    /// kernels, as nested complete events; optimizer kernels sit directly in their iteration. The host's own work (spans of
    /// category "host": files read and written, copies between host and device) is a second thread beside it.
    /// </summary>
    public void WriteTrace(string path)
    {
        var events = spans.Select(x => (x.Name, Cat: x.Category, x.StartUs, x.DurationUs, Launch: (LaunchRecord?)null))
            .Concat(launches.Select(l => (Name: l.Kernel, Cat: "kernel", l.StartUs, l.DurationUs, Launch: (LaunchRecord?)l)))
            // Parents first: by start, the longer of two slices that start together first.
            .OrderBy(e => e.StartUs).ThenByDescending(e => e.DurationUs).ToList();
        IO.AtomicFile.Write(path, stream =>
        {
            using var json = new System.Text.Json.Utf8JsonWriter(stream, new System.Text.Json.JsonWriterOptions { Indented = false });
            json.WriteStartObject();
            json.WriteStartArray("traceEvents");
            void Metadata(string name, int? tid, string value)
            {
                json.WriteStartObject();
                json.WriteString("name", name);
                json.WriteString("ph", "M");
                json.WriteNumber("pid", 1);
                if (tid is { } t) json.WriteNumber("tid", t);
                json.WriteStartObject("args");
                json.WriteString("name", value);
                json.WriteEndObject();
                json.WriteEndObject();
            }
            Metadata("process_name", null, $"ilgpustyle on {device}");
            Metadata("thread_name", 1, "device stream (each launch synchronized)");
            Metadata("thread_name", 2, "host: reading and writing files, copies between host and device");
            foreach (var e in events)
            {
                json.WriteStartObject();
                json.WriteString("name", e.Name);
                json.WriteString("cat", e.Cat);
                json.WriteString("ph", "X");
                json.WriteNumber("ts", Math.Round(e.StartUs, 3));
                json.WriteNumber("dur", Math.Round(e.StartUs + e.DurationUs, 3) - Math.Round(e.StartUs, 3));
                json.WriteNumber("pid", 1);
                json.WriteNumber("tid", e.Cat == "host" ? 2 : 1);
                if (e.Launch is { } l)
                {
                    json.WriteStartObject("args");
                    json.WriteString("layer", l.Layer);
                    json.WriteNumber("flops", l.Flops);
                    json.WriteNumber("bytes", l.Bytes);
                    json.WriteEndObject();
                }
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteString("displayTimeUnit", "ms");
            json.WriteStartObject("otherData");
            json.WriteString("device", device.ToString());
            json.WriteEndObject();
            json.WriteEndObject();
        });
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
