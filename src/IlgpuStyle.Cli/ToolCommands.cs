using IlgpuStyle.Model;
using System.CommandLine;
using IlgpuStyle.Devices;
using IlgpuStyle.Profiling;
using Spectre.Console;

namespace IlgpuStyle.Cli;

/// <summary>`bench` and `profile`: one style-transfer iteration, timed whole or kernel by kernel.</summary>
public static partial class Cli
{
    sealed class BenchOptions
    {
        public readonly Option<string?> Device = new("--device") { Description = "cuda|opencl|cpu[:N]" };
        public readonly Option<string> Model = new("--model") { Description = "vgg19 (random weights: the work is the same) or resnet18 (the bundled file)", DefaultValueFactory = _ => "vgg19" };
        public readonly Option<string> Pooling = new("--pooling") { Description = "max|avg (VGG19's poolings)", DefaultValueFactory = _ => "avg" };
        public readonly Option<string?> Conv = new("--conv") { Description = "naive|blocked|tiled|direct|rows|winograd (default: per device)" };
        public readonly Option<string?> Gram = new("--gram") { Description = "naive|blocked|tiled|rows (default: per device)" };

        public void AddTo(Command c) { c.Options.Add(Model); c.Options.Add(Device); c.Options.Add(Pooling); c.Options.Add(Conv); c.Options.Add(Gram); }

        /// <summary>The network's weights: VGG19's seeded random ones (the same work as trained ones), or the bundled ResNet18.</summary>
        public NetworkWeights Weights(ParseResult p) => Network(p) == ResNet18Layers.Description ? ResNet18WeightsFile.LoadBundled() : NetworkWeights.Random(1);

        public NetworkDescription Network(ParseResult p) => Networks.Named(p.GetValue(Model)!);

        /// <summary>--pooling: VGG19's choice; ResNet18 runs its own max pooling.</summary>
        public Pooling PoolingOf(ParseResult p) => Network(p) == ResNet18Layers.Description ? IlgpuStyle.Model.Pooling.Max : ParsePooling(p.GetValue(Pooling)!);

        public IterationTimings Run(ParseResult p, ComputeDevice device, int size, int repeats, int profiledIterations = 1) =>
            IterationBenchmark.Run(device, size, repeats, PoolingOf(p),
                TransferOptions.Variant(p.GetValue(Conv), "--conv"), TransferOptions.Variant(p.GetValue(Gram), "--gram"), profiledIterations, Weights(p));
    }

    internal static Command BenchCommand()
    {
        var size = new Option<int>("--image-size", "--size") { Description = "Image side (128, 256, 512, …)", DefaultValueFactory = _ => 256 };
        var repeats = new Option<int>("--repeats") { Description = "Timed iterations (the median is reported)", DefaultValueFactory = _ => 5 };
        var common = new BenchOptions();
        var format = Report.FormatOption();
        var command = new Command("bench", "Time one style-transfer iteration (the network to its deepest default loss layer: VGG19 to conv5_1, ResNet18 to layer4; losses, backward to the image, optimizer step).") { size, repeats, format };
        common.AddTo(command);
        Help.Examples(command, "ilgpustyle bench [options]",
            "ilgpustyle bench --size 512 --model resnet18  # one ResNet18 iteration at 512², median of 5",
            "ilgpustyle bench --size 256 --format json  # for scripts: times, GFLOP/s, peak memory, start-up split, the kernels run per layer");
        command.SetAction(p => Guard(() =>
        {
            var how = Report.Format(p, format);
            var device = SharedDevices.Open(p.GetValue(common.Device));
            var t = common.Run(p, device, p.GetValue(size), p.GetValue(repeats));
            // --conv forces one variant; without it the tuner picks per shape, and the layers table says what ran.
            string conv = TransferOptions.Variant(p.GetValue(common.Conv), "--conv")?.ToString().ToLowerInvariant() ?? "tuned";
            var gram = TransferOptions.Variant(p.GetValue(common.Gram), "--gram") ?? device.GramVariant;
            var summary = new (string, object?)[]
            {
                ("device", t.Device), ("model", p.GetValue(common.Model)!.ToLowerInvariant()), ("conv", conv), ("gram", gram.ToString().ToLowerInvariant()),
                ("size", t.Size), ("pooling", common.PoolingOf(p).ToString().ToLowerInvariant()), ("median_ms", t.MedianMs), ("min_ms", t.MinMs), ("max_ms", t.MaxMs),
                ("repeats", t.Repeats), ("gflop_per_iteration", t.FlopsPerIteration / 1e9), ("gflops", t.GflopPerSecond),
                ("peak_device_mib", t.PeakDeviceBytes / 1048576.0), ("setup_ms", t.SetupMs), ("first_iteration_ms", t.FirstIterationMs),
                ("startup_ms", t.Startup.Total.TotalMilliseconds), ("startup_compile_ms", t.Startup.Compiling.TotalMilliseconds),
                ("startup_tuning_ms", t.Startup.Tuning.TotalMilliseconds), ("startup_network_ms", t.Startup["network"].TotalMilliseconds),
                ("startup_targets_ms", t.Startup["targets"].TotalMilliseconds), ("startup_first_iteration_ms", t.Startup["first iteration"].TotalMilliseconds),
                ("conv_kernels", ConvKernelsRun(t.Profile)),
            };
            var layers = KernelsPerLayer(t.Profile);
            // csv: the one summary row (a table would take its place); json: the summary and the layers.
            Report.Write(how, summary, how == OutputFormat.Csv ? Array.Empty<ReportTable>() : new[] { layers }, () =>
            {
                Console.WriteLine($"device:            {t.Device}");
                Console.WriteLine($"variants:          conv {(conv == "tuned" ? "tuned per shape (see the layers below)" : conv)}, gram {gram}");
                Console.WriteLine($"conv kernels run:  {ConvKernelsRun(t.Profile)}");
                Console.WriteLine($"network:           {common.Network(p).Name}, {common.PoolingOf(p).ToString().ToLowerInvariant()} pooling");
                Console.WriteLine($"image:             {t.Size}×{t.Size}");
                Console.WriteLine($"ms per iteration:  {t.MedianMs:F1} (median of {t.Repeats}; min {t.MinMs:F1}, max {t.MaxMs:F1})");
                Console.WriteLine($"work:              {t.FlopsPerIteration / 1e9:F2} GFLOP per iteration, {t.GflopPerSecond:F1} GFLOP/s");
                Console.WriteLine($"peak device memory:{t.PeakDeviceBytes / 1048576.0,8:F1} MiB (tensors we allocate)");
                Console.WriteLine($"setup:             {t.SetupMs:F0} ms; first iteration {t.FirstIterationMs:F0} ms (kernel compilation included)");
                Console.WriteLine($"start-up:          {t.Startup.Total.TotalMilliseconds:F0} ms: " +
                                  string.Join(", ", t.Startup.Parts.Select(part => $"{part.Name} {part.Time.TotalMilliseconds:F0} ms")));
                Console.WriteLine(t.ToLine());
                Console.WriteLine();
                Console.WriteLine("kernels launched per layer (one iteration; backward: the layer's input gradient):");
                foreach (var row in layers.Rows)
                    Console.WriteLine($"  {row[0],-18} forward: {row[1]}\n  {"",-18} backward: {row[2]}");
            });
            return 0;
        }));
        return command;
    }

    /// <summary>The convolution kernels one iteration launched, by launch name and count ("conv2d_fwd_direct_32x8 ×8, …"): what the
    /// tuner chose, which the device's default variant does not say.</summary>
    static string ConvKernelsRun(KernelProfiler profile) =>
        string.Join(", ", profile.Launches.Where(l => l.Kernel.StartsWith("conv2d_") && !l.Kernel.StartsWith("conv2d_pad"))
            .GroupBy(l => l.Kernel).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).Select(g => $"{g.Key} ×{g.Count()}"));

    /// <summary>Every layer of one profiled iteration with the kernels it launched, forward and backward, in launch order.</summary>
    static ReportTable KernelsPerLayer(KernelProfiler profile)
    {
        var table = new ReportTable("layers", "layer", "forward_kernels", "backward_kernels");
        string Kernels(IEnumerable<LaunchRecord> launches)
        {
            var named = launches.GroupBy(l => l.Kernel).Select(g => g.Count() > 1 ? $"{g.Key} ×{g.Count()}" : g.Key).ToList();
            return named.Count > 0 ? string.Join(", ", named) : "-";
        }
        var layers = profile.Launches.Where(l => l.Layer.Length > 0 && !l.Layer.EndsWith(" backward")).Select(l => l.Layer).Distinct();
        foreach (var layer in layers)
            table.Add(layer, Kernels(profile.Launches.Where(l => l.Layer == layer)), Kernels(profile.Launches.Where(l => l.Layer == layer + " backward")));
        return table;
    }

    internal static Command ProfileCommand()
    {
        var size = new Option<int>("--image-size") { Description = "Image side", DefaultValueFactory = _ => 128 };
        var iterations = new Option<int>("--iterations") { Description = "Profiled iterations", DefaultValueFactory = _ => 2 };
        var trace = new Option<string?>("--trace") { Description = "Write a Chrome trace-event JSON (chrome://tracing, ui.perfetto.dev)" };
        var csv = new Option<string?>("--csv") { Description = "Write the per-kernel table as CSV" };
        var common = new BenchOptions();
        var remeasure = new Option<bool>("--remeasure") { Description = "Measure the device's limits again (FMA rate, copy bandwidth) instead of using the cached figures" };
        var format = Report.FormatOption();
        var command = new Command("profile", "Per-kernel and per-layer times of style-transfer iterations (each launch synchronized and timed).")
            { size, iterations, trace, csv, remeasure, format };
        common.AddTo(command);
        Help.Examples(command, "ilgpustyle profile [options]",
            "ilgpustyle profile --image-size 256 --trace out/trace.json  # per-kernel and per-layer tables; the trace opens in ui.perfetto.dev");
        command.SetAction(p => Guard(() =>
        {
            var how = Report.Format(p, format);
            int n = p.GetValue(iterations);
            if (n < 1) throw new ArgumentException($"--iterations must be at least 1, got {n}");
            var device = SharedDevices.Open(p.GetValue(common.Device));
            var t = common.Run(p, device, p.GetValue(size), 1, n);
            var profile = t.Profile;
            var peak = DevicePeak.For(device, p.GetValue(remeasure));
            double iterationMs = profile.Launches.Sum(l => l.DurationUs) / 1000 / n;
            var kernels = profile.Summarize();
            var layers = profile.Summarize(l => l.Layer == "" ? "(optimizer)" : l.Layer);
            var summary = new (string, object?)[]
            {
                ("device", device.ToString()), ("size", t.Size), ("iterations", n), ("kernel_ms_per_iteration", iterationMs),
                ("unprofiled_ms", t.MedianMs), ("gflop_per_iteration", t.FlopsPerIteration / 1e9),
                ("peak_gflops", peak.GflopPerSecond), ("peak_fma_kernel", peak.FmaKernel), ("peak_gb_per_s", peak.GBPerSecond), ("peak_measured_utc", peak.MeasuredUtc),
                ("peak_cache", DevicePeak.CachePath),
            };
            Report.Write(how, summary, new[] { ProfileTable("kernels", kernels, n, peak), ProfileTable("layers", layers, n, peak) }, () =>
            {
                AnsiConsole.MarkupLine($"[bold]{Markup.Escape(device.ToString())}[/], {t.Size}×{t.Size}, {n} iteration(s) profiled: " +
                                       $"{iterationMs:F1} ms of kernels per iteration (unprofiled: {t.MedianMs:F1} ms), {t.FlopsPerIteration / 1e9:F2} GFLOP");
                string when = peak.MeasuredUtc is { } t0 ? $"measured {t0:yyyy-MM-dd HH:mm} UTC" : "measured earlier";
                string by = peak.FmaKernel is { } k ? $" ({k})" : "";
                AnsiConsole.MarkupLine($"device limits: {peak.GflopPerSecond:F1} GFLOP/s FMA{by}, {peak.GBPerSecond:F1} GB/s copy ({when}, " +
                                       $"cached in {Markup.Escape(DevicePeak.CachePath)}; --remeasure measures again)");
                Table("kernel", kernels, n, peak);
                Table("layer", layers, n, peak);
            });
            // What was written goes to stderr when stdout is csv or json, so that stdout stays one document.
            var notes = how == OutputFormat.Text ? Console.Out : Console.Error;
            if (p.GetValue(trace) is { } tracePath) { profile.WriteTrace(tracePath); notes.WriteLine($"wrote {tracePath}"); }
            if (p.GetValue(csv) is { } csvPath) { KernelProfiler.WriteCsv(csvPath, kernels); notes.WriteLine($"wrote {csvPath}"); }
            return 0;
        }));
        return command;
    }

    /// <summary>`kernels`: every variant of one op at one layer's shape, checked against float64, then timed.</summary>
    internal static Command KernelsCommand()
    {
        var op = new Option<string>("--op") { Description = "conv (forward, bias and ReLU fused) or conv-input (the input gradient)", DefaultValueFactory = _ => "conv" };
        var model = new Option<string>("--model") { Description = "vgg19|resnet18: the network whose --layer is meant", DefaultValueFactory = _ => "vgg19" };
        var layer = new Option<string?>("--layer") { Description = "A convolution (VGG19: conv1_1 … conv5_4; ResNet18: stem, layer2.0.conv1, layer2.0.shortcut, …): its channels, kernel, stride and its size at --image-size (default conv3_1, or layer2.0.conv1 for ResNet18)" };
        var size = new Option<int>("--image-size") { Description = "The image's side, which sets the layer's", DefaultValueFactory = _ => 256 };
        var shape = new Option<string?>("--shape") { Description = "Explicit sizes instead of a layer: Cin,H,W,Cout (3×3, stride 1, pad 1)" };
        var repeats = new Option<int>("--repeats") { Description = "Timed launches per variant (the median is reported)", DefaultValueFactory = _ => 5 };
        var variant = new Option<string[]>("--variant") { Description = "Only these variants (repeatable): " + string.Join(", ", ConvKernel.All.Select(k => k.Name.Contains(' ') ? $"\"{k.Name}\"" : k.Name)), AllowMultipleArgumentsPerToken = false };
        var device = new Option<string?>("--device") { Description = "cuda|opencl|cpu[:N]" };
        var retune = new Option<bool>("--retune") { Description = "Forget this device's autotuned 3×3 kernels, Direct tiles and Winograd (the next run of each shape times them again)" };
        var carryOver = new Option<bool>("--carry-over") { Description = "Measure the tuner's carry-over instead: at each of --sizes, time every candidate of every 3×3 convolution of --model, and compare the fastest with the choice carried over from the nearest other size" };
        var sizeList = new Option<string>("--sizes") { Description = "With --carry-over: image sizes, comma-separated, each a side or WIDTHxHEIGHT", DefaultValueFactory = _ => "128,256,384,512,512x341" };
        var format = Report.FormatOption();
        var command = new Command("kernels", "The kernel lab: every variant of one op at one layer's shape, checked against float64 (sampled outputs), then timed: ms, GFLOP/s executed and effective, % of the device's measured peak, errors.")
            { op, model, layer, size, shape, repeats, variant, device, retune, carryOver, sizeList, format };
        Help.Examples(command, "ilgpustyle kernels --layer LAYER [options]\nilgpustyle kernels --carry-over [options]",
            "ilgpustyle kernels --layer conv3_1 --image-size 256  # every convolution variant at conv3_1's shape, checked then timed; * marks what a run uses",
            "ilgpustyle kernels --op conv-input --layer conv1_2  # the input-gradient kernels",
            "ilgpustyle kernels --carry-over --model resnet18 --sizes 128,256  # how well the tuner's choices carry from size to size");
        command.SetAction(p => Guard(() =>
        {
            var how = Report.Format(p, format);
            if (p.GetValue(carryOver))
                return CarryOver(how, SharedDevices.Open(p.GetValue(device)), Networks.Named(p.GetValue(model)!), ParseSizes(p.GetValue(sizeList)!), p.GetValue(repeats));
            var which = p.GetValue(op)!.ToLowerInvariant() switch
            {
                "conv" => LabOp.Conv,
                "conv-input" or "conv_input" => LabOp.ConvInput,
                var other => throw new ArgumentException($"--op must be conv or conv-input, got '{other}'"),
            };
            var g = p.GetValue(shape) is { } sizes ? ExplicitShape(sizes) : LabLayer(Networks.Named(p.GetValue(model)!), p.GetValue(layer), p.GetValue(size));
            var names = KernelLab.Variants().Select(v => v.Name).ToList();
            var only = p.GetValue(variant) is { Length: > 0 } picked ? picked.Select(v => v.Trim().ToLowerInvariant()).ToList() : null;
            foreach (var v in only ?? new List<string>())
                if (!names.Contains(v)) throw new ArgumentException($"--variant '{v}' is not one of {string.Join(", ", names)}");
            var d = SharedDevices.Open(p.GetValue(device));
            if (p.GetValue(retune)) d.Tiles.Forget();
            var peak = DevicePeak.For(d);
            var rows = KernelLab.Run(d, which, g, p.GetValue(repeats), peak.GflopPerSecond, only: only);
            string chosen = KernelLab.DefaultFor(d, g, which, rows) ?? "";
            bool untimed = d.Policy.AutotuneDirectTiles && KernelLab.TunedKernel(d, g, which) is null && g is { KH: 3, KW: 3, Stride: 1 };
            string what = $"{(which == LabOp.Conv ? "conv forward (bias, ReLU)" : "conv input gradient")} x({g.N},{g.InC},{g.InH},{g.InW}) w({g.OutC},{g.InC},{g.KH},{g.KW})" +
                          (g.Stride != 1 ? $" stride {g.Stride}" : "") + (g.Pad != 1 ? $" pad {g.Pad}" : "");
            var table = new ReportTable("variants", "variant", "default", "valid", "median_ms", "min_ms", "executed_gflops", "effective_gflops",
                "fraction_of_peak", "max_abs_error", "relative_error", "checked", "failure");
            foreach (var r in rows)
                table.Add(r.Variant, r.Variant == chosen, r.Valid, r.MedianMs, r.MinMs, r.ExecutedGflops, r.EffectiveGflops, r.FractionOfPeak,
                    r.MaxAbsError, r.RelativeError, r.Checked, r.Failure);
            var summary = new (string, object?)[]
            {
                ("device", d.ToString()), ("op", what), ("gflop", g.ForwardFlops / 1e9), ("peak_gflops", peak.GflopPerSecond),
                ("default_variant", chosen), ("default_untimed", untimed), ("tolerance", KernelLab.Tolerance), ("repeats", p.GetValue(repeats)),
                ("tile_cache", d.Policy.AutotuneDirectTiles ? TileTuner.CachePath : null),
            };
            Report.Write(how, summary, new[] { table }, () =>
            {
                AnsiConsole.MarkupLine($"[bold]{Markup.Escape(d.ToString())}[/]: {Markup.Escape(what)}, {g.ForwardFlops / 1e9:F3} GFLOP; " +
                                       $"device peak {peak.GflopPerSecond:F1} GFLOP/s; checked on {KernelLab.Samples} sampled outputs against float64 " +
                                       $"(pass: relative error ≤ {KernelLab.Tolerance:G1}); * = what this device runs for the shape" +
                                       (untimed ? " (not timed by the tuner yet: it would time these on first use; * marks the fastest of its candidates here)" : ""));
                var t = new Table().AddColumns("variant", "check", "median ms", "GFLOP/s executed", "GFLOP/s effective", "% of peak", "max |err|", "rel. err");
                foreach (var r in rows)
                    t.AddRow(Markup.Escape(r.Variant + (r.Variant == chosen ? " *" : "")), r.Valid ? "ok" : Markup.Escape("FAILED: " + r.Failure),
                        r.MedianMs?.ToString("F2") ?? "-", r.ExecutedGflops?.ToString("F1") ?? "-", r.EffectiveGflops?.ToString("F1") ?? "-",
                        r.FractionOfPeak?.ToString("P0") ?? "-", r.Checked > 0 ? r.MaxAbsError.ToString("G2") : "-", r.Checked > 0 ? r.RelativeError.ToString("G2") : "-");
                AnsiConsole.Write(t);
                // One line per variant: its kernels in launch order, so that a variant's transforms and product read side by side.
                var profiled = rows.Where(r => r.Kernels is { Count: > 0 }).ToList();
                if (profiled.Count > 0) AnsiConsole.MarkupLine("kernels of one launch (profiled, each synchronized), ms:");
                int nameWidth = profiled.Select(r => r.Variant.Length).DefaultIfEmpty(0).Max();
                foreach (var r in profiled)
                    AnsiConsole.MarkupLine(Markup.Escape($"  {(r.Variant + ":").PadRight(nameWidth + 1)} " +
                                                         string.Join(", ", r.Kernels!.Select(k => $"{k.Kernel} {k.Ms:F2}"))));
            });
            return rows.Any(r => !r.Valid && r.Failure != "no kernel for this shape") ? 1 : 0;
        }));
        return command;
    }

    /// <summary>`kernels --carry-over`: the table of <see cref="KernelLab.CarryOver"/> and its worst and median ratios.</summary>
    static int CarryOver(OutputFormat how, ComputeDevice d, NetworkDescription network, IReadOnlyList<(int, int)> sizes, int repeats)
    {
        var peak = DevicePeak.For(d);
        var notes = how == OutputFormat.Text ? Console.Out : Console.Error;
        var rows = KernelLab.CarryOver(d, network, sizes, repeats, peak.GflopPerSecond, line => notes.WriteLine($"timing {line}"));
        var ratios = rows.Where(r => r.Ratio is not null).Select(r => r.Ratio!.Value).OrderBy(r => r).ToList();
        var table = new ReportTable("shapes", "size", "layer", "pass", "key", "uses", "fastest", "fastest_ms", "carried", "carried_from", "carried_ms", "ratio");
        foreach (var r in rows) table.Add(r.Size, r.Layer, r.Pass, r.Key, r.Uses, r.Fastest, r.FastestMs, r.Carried, r.From, r.CarriedMs, r.Ratio);
        var totals = CarryRow.Totals(rows);
        var sizeTable = new ReportTable("sizes", "size", "ratio");
        foreach (var (size, ratio) in totals) sizeTable.Add(size, ratio);
        var summary = new (string, object?)[]
        {
            ("device", d.ToString()), ("model", network.Name), ("sizes", string.Join(",", sizes.Select(s => $"{s.Item1}x{s.Item2}"))), ("repeats", repeats),
            ("shapes", rows.Count), ("carried", ratios.Count), ("same_kernel", rows.Count(r => r.Carried == r.Fastest)),
            ("worst_ratio", ratios.Count > 0 ? ratios[^1] : null), ("median_ratio", ratios.Count > 0 ? ratios[ratios.Count / 2] : null),
        };
        // CSV holds one table's columns: the shapes (the per-size ratios follow from them; JSON has both).
        Report.Write(how, summary, how == OutputFormat.Csv ? new[] { table } : new[] { table, sizeTable }, () =>
        {
            AnsiConsole.MarkupLine($"[bold]{Markup.Escape(d.ToString())}[/], {Markup.Escape(network.Name)}: every 3×3 convolution's candidates timed " +
                                   $"(fastest of {repeats} rounds) at {string.Join(", ", sizes.Select(s => $"{s.Item1}×{s.Item2}"))}; ratio = the carried-over kernel's ms / the fastest's");
            var t = new Table().AddColumns("size", "layer", "pass", "fastest", "ms", "carried over", "from", "ms", "ratio");
            foreach (var r in rows)
                t.AddRow(r.Size, Markup.Escape(r.Layer), r.Pass, Markup.Escape(r.Fastest), r.FastestMs.ToString("F2"), Markup.Escape(r.Carried ?? "(times it)"),
                    Markup.Escape(r.From ?? "-"), r.CarriedMs?.ToString("F2") ?? "-", r.Ratio?.ToString("F2") ?? "-");
            AnsiConsole.Write(t);
            if (ratios.Count > 0)
                Console.WriteLine($"{ratios.Count} of {rows.Count} shapes carry a choice over ({rows.Count(r => r.Carried == r.Fastest)} the fastest itself); " +
                                  $"worst ratio {ratios[^1]:F2}, median {ratios[ratios.Count / 2]:F2}");
            if (totals.Count > 0)
                Console.WriteLine("per iteration (each shape counted as often as the network runs it; carried-over ms / fastest ms): " +
                                  string.Join(", ", totals.Select(t => $"{t.Size} {t.Ratio:F3}")));
        });
        return 0;
    }

    /// <summary>"128,256,512x341": sides, or width × height.</summary>
    static IReadOnlyList<(int, int)> ParseSizes(string text) => text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(part =>
    {
        var wh = part.ToLowerInvariant().Split('x', '×');
        if (wh.Length is 1 or 2 && wh.All(v => int.TryParse(v, out int n) && n >= 16 && n <= 16384))
            return (int.Parse(wh[0]), int.Parse(wh[^1]));
        throw new ArgumentException($"--sizes takes sides or WIDTHxHEIGHT from 16 to 16384, comma-separated; got '{part}'");
    }).ToList() is { Count: > 0 } list ? list : throw new ArgumentException("--sizes is empty");

    static Kernels.Conv2dGeometry ExplicitShape(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length != 4 || !parts.All(v => int.TryParse(v, out int n) && n > 0))
            throw new ArgumentException($"--shape takes four positive whole numbers Cin,H,W,Cout, got '{text}'");
        var n = parts.Select(int.Parse).ToArray();
        return new Kernels.Conv2dGeometry(1, n[0], n[1], n[2], n[3], 3, 3, 1, 1);
    }

    static Kernels.Conv2dGeometry LabLayer(NetworkDescription network, string? layer, int size) =>
        KernelLab.LayerGeometry(network, layer ?? (network == ResNet18Layers.Description ? "layer2.0.conv1" : "conv3_1"), size);

    internal static Command GradCheckCommand()
    {
        var device = new Option<string?>("--device") { Description = "cuda|opencl|cpu[:N]" };
        var op = new Option<string?>("--op") { Description = "Only ops whose name contains this (conv2d, relu, maxpool2d, avgpool2d, add+relu, gram, content_loss, style_loss, tv_loss, mask, normalize_gradient)" };
        var format = Report.FormatOption();
        var command = new Command("gradcheck", "Check every backward kernel against the float64 reference and central differences.") { device, op, format };
        Help.Examples(command, "ilgpustyle gradcheck [options]",
            "ilgpustyle gradcheck --op conv2d --device cpu  # the convolution's backward kernels on ILGPU's CPU accelerator");
        command.SetAction(p => Guard(() =>
        {
            var how = Report.Format(p, format);
            var d = SharedDevices.Open(p.GetValue(device));
            var cases = Diagnostics.GradCheck.StandardCases().Where(c => p.GetValue(op) is not { } name || c.Op.Contains(name, StringComparison.OrdinalIgnoreCase)).ToList();
            if (cases.Count == 0)
                throw new ArgumentException($"no op matches --op '{p.GetValue(op)}': the ops are " +
                                            string.Join(", ", Diagnostics.GradCheck.StandardCases().Select(c => c.Op).Distinct()));
            return RunGradCheck(d, cases, how);
        }));
        return command;
    }

    /// <summary>Prints the table; exit code 0 if every case passed, 1 otherwise.</summary>
    public static int RunGradCheck(ComputeDevice d, IEnumerable<Diagnostics.GradCheckCase> cases) => RunGradCheck(d, cases, OutputFormat.Text);

    static int RunGradCheck(ComputeDevice d, IEnumerable<Diagnostics.GradCheckCase> cases, OutputFormat format)
    {
        var results = cases.Select(c => Diagnostics.GradCheck.Check(d, c)).ToList();
        int failed = results.Count(r => !r.Passed);
        var rows = new ReportTable("cases", "op", "variant", "vs_reference", "vs_central_differences", "passed");
        foreach (var r in results) rows.Add(r.Op, r.Variant, r.ErrorVsReference, r.ErrorVsCentralDifferences, r.Passed);
        Report.Write(format, new (string, object?)[] { ("device", d.ToString()), ("tolerance", Diagnostics.GradCheck.Tolerance), ("failed", failed) }, new[] { rows }, () =>
        {
            var table = new Table().AddColumns("op", "variant", "vs float64 reference", "vs central differences", "result");
            foreach (var r in results)
                table.AddRow(Markup.Escape(r.Op), r.Variant, r.ErrorVsReference.ToString("E2"), r.ErrorVsCentralDifferences.ToString("E2"),
                    r.Passed ? "[green]pass[/]" : "[red]FAIL[/]");
            AnsiConsole.MarkupLine($"gradcheck on {Markup.Escape(d.ToString())}: relative L2 errors, tolerance {Diagnostics.GradCheck.Tolerance:E0}");
            AnsiConsole.Write(table);
        });
        if (failed > 0) Console.Error.WriteLine($"ilgpustyle: gradcheck: {failed} backward kernel(s) failed");
        return failed == 0 ? 0 : 1;
    }

    static ReportTable ProfileTable(string name, IReadOnlyList<KernelSummary> rows, int iterations, DevicePeak peak)
    {
        var table = new ReportTable(name, "name", "calls_per_iteration", "ms_per_iteration", "mean_ms", "min_ms", "median_ms", "max_ms",
            "share", "gflops", "gb_per_s", "fraction_of_peak");
        foreach (var r in rows)
            table.Add(r.Kernel, r.Calls / (double)iterations, r.TotalMs / iterations, r.MeanMs, r.MinMs, r.MedianMs, r.MaxMs, r.Share,
                r.GflopPerSecond, r.GBPerSecond, peak.Fraction(r));
        return table;
    }

    /// <summary>`transfer --profile`: the per-kernel and per-layer tables of the whole run (target computation included), per iteration.</summary>
    static void PrintProfile(ComputeDevice device, KernelProfiler profile, int iterations)
    {
        int n = Math.Max(1, iterations);
        var peak = DevicePeak.For(device);
        double kernelMs = profile.Launches.Sum(l => l.DurationUs) / 1000;
        AnsiConsole.MarkupLine($"profile: {profile.Launches.Count} launches, {kernelMs / 1000:F2} s of kernels over {n} iteration(s) " +
                               "(each launch synchronized; the targets' computation is in the totals); per iteration:");
        Table("kernel", profile.Summarize(), n, peak);
        Table("layer", profile.Summarize(l => l.Layer == "" ? "(optimizer)" : l.Layer), n, peak);
    }

    static void Table(string what, IReadOnlyList<KernelSummary> rows, int iterations, DevicePeak peak)
    {
        var table = new Table().AddColumns(what, "calls/it", "ms/it", "min ms", "median ms", "max ms", "share", "GFLOP/s", "GB/s", "% of peak");
        foreach (var r in rows)
            table.AddRow(Markup.Escape(r.Kernel), (r.Calls / (double)iterations).ToString("0.#"), (r.TotalMs / iterations).ToString("F2"),
                r.MinMs.ToString("F3"), r.MedianMs.ToString("F3"), r.MaxMs.ToString("F3"), r.Share.ToString("P1"),
                r.GflopPerSecond.ToString("F1"), r.GBPerSecond.ToString("F1"), peak.Fraction(r).ToString("P0"));
        AnsiConsole.Write(table);
    }
}
