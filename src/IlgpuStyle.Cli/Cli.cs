using System.CommandLine;
using IlgpuStyle.Autodiff;
using IlgpuStyle.Devices;
using IlgpuStyle.Imaging;
using IlgpuStyle.Model;
using IlgpuStyle.Transfer;
using Spectre.Console;

namespace IlgpuStyle.Cli;

/// <summary>The `ilgpustyle` command line: a thin shell over the engine.</summary>
public static partial class Cli
{
    public static int Run(string[] args)
    {
        if (args.Length == 0) return Guard(Demo);
        var parse = Root().Parse(TransferOptions.Normalize(args), Parsing);
        if (parse.Errors.Count > 0) return UsageError(parse);
        return Guard(() => parse.Invoke());
    }

    /// <summary>What is wrong with a command line, as `ilgpustyle ARGS` would say it before running anything; null when it parses.</summary>
    public static string? ParseError(params string[] args)
    {
        var parse = Root().Parse(TransferOptions.Normalize(args), Parsing);
        return parse.Errors.Count == 0 ? null : CommandLineErrors.Describe(parse.Errors[0].Message, parse.CommandResult.Command);
    }

    static RootCommand Root()
    {
        var root = new RootCommand("IlgpuStyle: neural style transfer (Gatys et al.) on hand-written ILGPU kernels (CUDA, OpenCL, CPU).\n" +
                                   "With no arguments at all, runs a demo on the bundled images and writes ./out/demo.png.");
        AddTransfer(root);
        var transfer = new Command("transfer", "Style transfer (the default when only options are given).");
        AddTransfer(transfer);
        root.Subcommands.Add(transfer);
        root.Subcommands.Add(DevicesCommand());
        root.Subcommands.Add(ExplainCommand());
        root.Subcommands.Add(BenchCommand());
        root.Subcommands.Add(ProfileCommand());
        root.Subcommands.Add(GradCheckCommand());
        root.Subcommands.Add(KernelsCommand());
        root.Subcommands.Add(WeightsCommand());
        Help.Install(root);
        return root;
    }

    /// <summary>No POSIX bundling: `-num_iterations` is one option (neural-style's), never `-n` with "um_iterations".</summary>
    static readonly ParserConfiguration Parsing = new() { EnablePosixBundling = false };

    /// <summary>
    /// A command line that does not parse: one line on stderr (the first error, in words, with the closest option or
    /// command where a name was mistyped) and where to read more; exit code 2. Never the whole help.
    /// </summary>
    static int UsageError(ParseResult parse)
    {
        var command = parse.CommandResult.Command;
        string name = command is RootCommand ? "transfer" : command.Name;
        Console.Error.WriteLine($"ilgpustyle: {CommandLineErrors.Describe(parse.Errors[0].Message, command)}; see `ilgpustyle {name} --help`");
        return 2;
    }

    /// <summary>
    /// What `ilgpustyle transfer ARGS` would run, without running it: the options, the device spec and the print interval.
    /// A command line that does not parse throws ArgumentException with the line the command would print.
    /// </summary>
    public static (StyleTransferOptions Options, string? Device, int PrintEvery) ParseTransfer(params string[] args)
    {
        var command = new Command("transfer");
        var options = new TransferOptions();
        options.AddTo(command);
        var parse = command.Parse(TransferOptions.Normalize(args), Parsing);
        if (parse.Errors.Count > 0) throw new ArgumentException(CommandLineErrors.Describe(parse.Errors[0].Message, command));
        return (options.Read(parse), options.DeviceSpec(parse), options.PrintEvery(parse));
    }

    /// <summary>The transfer options and action, on the root command and on `transfer` alike.</summary>
    static void AddTransfer(Command command)
    {
        var options = new TransferOptions();
        options.AddTo(command);
        var format = Report.FormatOption();
        format.Description = "text|json: json prints one summary document on stdout at the end (the progress goes to stderr)";
        format.HelpName = "text|json";
        command.Options.Add(format.In(TransferOptions.DiagnosticsGroup));
        string name = command is RootCommand ? "ilgpustyle" : "ilgpustyle transfer";
        Help.Examples(command, $"{name} --content PATH --style PATH [options]\nilgpustyle   (no arguments at all: the demo, bundled images to out/demo.png)",
            "ilgpustyle -c photo.jpg -s painting.jpg -o out/photo.png  # the photo in the painting's style; the network, weights and device are chosen for you and printed",
            "ilgpustyle -c photo.jpg -s a.jpg,b.jpg --style-blend-weights 3,1 --image-size 512 --original-colors  # two styles, three parts to one, keeping the photo's colours",
            "ilgpustyle -c photo.jpg -s painting.jpg --scales 2 --image-size 1024 --save-every 50  # coarse to fine: 512 then 1024 px, a contact sheet of every 50th iteration",
            "ilgpustyle -content_image photo.jpg -style_image painting.jpg -output_image out.png -num_iterations 500 -gpu 0  # neural-style's own command lines work as written",
            "ilgpustyle -c photo.jpg -s painting.jpg --format json > run.json  # a summary for programs on stdout, progress on stderr");
        command.SetAction(parse => Guard(() =>
        {
            var how = Report.Format(parse, format);
            if (how == OutputFormat.Csv) throw new ArgumentException("--format for a transfer is text or json (its --log writes the CSV of losses)");
            return RunTransfer(options.Read(parse), options.DeviceSpec(parse), options.PrintEvery(parse), how);
        }));
    }

    static Command DevicesCommand()
    {
        var onlyDefault = new Option<bool>("--default") { Description = "Print only the id of the device chosen by default (cuda:0, opencl:0 or cpu:0)" };
        var format = Report.FormatOption();
        var command = new Command("devices", "List every device found: kind, name, memory, warp size, the float SIMD width it reports, usable or not and why.") { onlyDefault, format };
        command.SetAction(parse => Guard(() =>
        {
            var how = Report.Format(parse, format);
            var catalog = SharedDevices.Catalog;
            if (parse.GetValue(onlyDefault)) { Console.WriteLine(catalog.Default.Id); return 0; }
            var chosen = catalog.Default;
            var rows = new ReportTable("devices", "id", "kind", "name", "memory_bytes", "warp", "vector_width_float", "gpu", "usable", "why_not_usable", "default");
            foreach (var d in catalog.Devices)
                rows.Add(d.Id, d.Kind.ToString().ToLowerInvariant(), d.Name, d.MemoryBytes, d.WarpSize, d.VectorWidthFloat, d.IsGpu, d.Usable, d.WhyNotUsable, d == chosen);
            string? missing = catalog.Devices.Any(d => d.Kind == DeviceKind.OpenCL) ? null : DeviceCatalog.WhyNoOpenCL();
            Report.Write(how, new (string, object?)[] { ("default", chosen.Id), ("opencl_note", missing) }, new[] { rows }, () =>
            {
                var table = new Table().AddColumns("id", "kind", "name", "memory", "warp", "float SIMD", "usable");
                foreach (var d in catalog.Devices)
                    table.AddRow(Markup.Escape(d.Id + (d == chosen ? " *" : "")), d.Kind.ToString(), Markup.Escape(d.Name),
                        $"{d.MemoryBytes / (1024.0 * 1024 * 1024):F1} GiB", d.WarpSize > 0 ? d.WarpSize.ToString() : "-",
                        d.VectorWidthFloat > 0 ? d.VectorWidthFloat.ToString() : "-",
                        d.Usable ? "yes" : Markup.Escape("no: " + d.WhyNotUsable));
                AnsiConsole.Write(table);
                AnsiConsole.WriteLine($"default (*): {chosen.Id} {chosen.Name}");
                if (missing is not null) AnsiConsole.WriteLine(missing);
            });
            return 0;
        }));
        return command;
    }

    static Command ExplainCommand()
    {
        var options = TransferOptions.ForExplain();
        var values = new Option<bool>("--values") { Description = "Also print each loss term's value and ‖∂L/∂t‖₂ of every tensor with a gradient" };
        var pictures = new Option<string?>("--pictures") { Description = "Write pictures of the evaluation into folder DIR: the image's gradient, feature maps per loss layer, each style layer's Gram matrix beside its target, the tape (PNG and SVG)", HelpName = "DIR" };
        var dot = new Option<string?>("--dot") { Description = "Write the tape as a Graphviz graph (dot -Tsvg PATH -o tape.svg draws it)", HelpName = "PATH" };
        var command = new Command("explain", "Print the tape of one style-transfer evaluation, built from the transfer options given (the bundled images " +
                                             "without --content): forward ops with shapes, FLOPs, bytes and kernels, then the backward order with each " +
                                             "local derivative and its kernels, and what every symbol means.")
            { values.In("What it prints"), dot.In("What it prints"), pictures.In("What it prints") };
        options.AddTo(command);
        Help.Examples(command, "ilgpustyle explain [options]   (any transfer option that shapes one evaluation)",
            "ilgpustyle explain  # the tape of the bundled images at 64 px",
            "ilgpustyle explain --values --style-layers conv1_1,conv3_1  # with every loss term's value and every tensor's gradient norm",
            "ilgpustyle explain --pictures out/explain --image-size 128  # ∂L/∂x, feature maps, Gram matrices and the tape as pictures",
            "ilgpustyle explain -c photo.jpg -s painting.jpg --content-mask m1.png --content-mask m2.png -s other.jpg  # the masked (guided) Gram matrices' ops");
        command.SetAction(parse => Guard(() =>
        {
            var o = options.Read(parse);
            if (o.ImageSize < 16) throw new ArgumentException($"--image-size must be at least 16, got {o.ImageSize}");
            if (string.IsNullOrEmpty(o.ContentPath))
            {
                string dir = Path.Combine(AppContext.BaseDirectory, "demo");
                o = o with { ContentPath = Path.Combine(dir, "chelsea.png") };
                if (o.AllStylePaths.Count == 0) o = o with { StylePaths = new[] { Path.Combine(dir, "brush_strokes.png") } };
            }
            string? dotPath = parse.GetValue(dot), picturesDir = parse.GetValue(pictures);
            o.Validate();
            if (picturesDir is not null && File.Exists(picturesDir))
                throw new ArgumentException($"--pictures '{picturesDir}' is a file; give a folder (made if missing)");
            if (dotPath is not null)
            {
                if (Directory.Exists(dotPath)) throw new ArgumentException($"--dot '{dotPath}' is a directory; give a file name such as tape.dot");
                StyleTransferOptions.RequireNotOverwriting("--dot", dotPath, o.InputPaths());
            }
            var d = SharedDevices.Open(options.DeviceSpec(parse));
            d.LaunchLog = new List<string>();
            try
            {
                using var prepared = StyleTransfer.Prepare(o, d);
                var objective = prepared.Objective;
                // One evaluation (forward and backward): the tape then holds every node with the kernels it launched.
                objective.Evaluate();
                var tape = objective.Tape;
                int slots = tape.Nodes.Where(n => n.Slot is not null).Select(n => n.Slot!.Value + 1).DefaultIfEmpty(0).Max();
                var scalars = parse.GetValue(values) ? Ops.Op.ReadScalars(d, slots) : null;
                Console.WriteLine($"One style-transfer evaluation at {prepared.Width}×{prepared.Height} on {d}: content {string.Join(",", o.ContentLayers)}, " +
                                  $"style {string.Join(",", o.StyleLayers)}, {o.Pooling.ToString().ToLowerInvariant()} pooling" +
                                  $"{(o.NormalizeGradients ? ", normalized gradients" : "")}{(o.ContentMasks is null ? "" : $", {o.ContentMasks.Count} masked regions")}; " +
                                  $"network: {o.Network.Name}, weights: {prepared.WeightsSource}.");
                Console.WriteLine($"content {Path.GetFileName(o.ContentPath)}, style {string.Join(", ", o.AllStylePaths.Select(Path.GetFileName))}");
                Console.WriteLine();
                Console.Write(tape.Describe(scalars));
                if (scalars is not null)
                {
                    var l = objective.Last;
                    Console.WriteLine();
                    Console.WriteLine($"Loss of this evaluation: total {l.Total:G6} = content {l.Content:G6} + style {l.Style:G6} + TV {l.Tv:G6}");
                    Console.WriteLine();
                    Console.WriteLine("Gradients (‖∂L/∂t‖₂ per tensor, after backward; a ReLU layer's is taken before its mask)");
                    foreach (var (name, shape, norm) in tape.GradientNorms())
                        Console.WriteLine($"  {name,-22} {shape,-18} {norm:G6}");
                }
                if (dotPath is not null)
                {
                    IO.AtomicFile.WriteAllText(dotPath, tape.ToDot());
                    Console.WriteLine();
                    Console.WriteLine($"wrote {dotPath} ({tape.Nodes.Count} ops; dot -Tsvg {dotPath} -o tape.svg draws it)");
                }
                if (picturesDir is not null)
                {
                    var files = Imaging.LearnerPictures.Write(picturesDir, objective);
                    Console.WriteLine();
                    Console.WriteLine($"wrote {files.Count} pictures to {picturesDir}: {string.Join(", ", files.Select(Path.GetFileName))}");
                }
                return 0;
            }
            finally { d.LaunchLog = null; }
        }));
        return command;
    }

    internal static Pooling ParsePooling(string s) => s.ToLowerInvariant() switch
    {
        "max" => Pooling.Max,
        "avg" or "average" => Pooling.Average,
        _ => throw new ArgumentException($"--pooling must be max or avg, got '{s}'"),
    };

    /// <summary>The bundled images, about as long as the device allows.</summary>
    static int Demo()
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "demo");
        var info = SharedDevices.Catalog.Default;
        bool slow = info.Kind == DeviceKind.Cpu;
        // VGG19 where its weights are (--weights is not a demo option: weights/*.h5), else the bundled ResNet18, which does
        // a fifth of VGG19's work per pixel: its demo is larger and longer in about the same time.
        var network = Networks.Choose(null, null);
        bool resnet = network == ResNet18Layers.Description;
        var options = new StyleTransferOptions
        {
            Network = network,
            ContentPath = Path.Combine(dir, "chelsea.png"),
            StylePaths = new[] { Path.Combine(dir, "brush_strokes.png") },
            OutputPath = Path.Combine("out", "demo.png"),
            // Sized to finish in a few minutes: PoCL on 2 cores does 192×128 × 60 iterations in about 3 minutes.
            ImageSize = slow ? 128 : info.IsGpu ? 384 : resnet ? 256 : 192,
            Iterations = slow ? 30 : info.IsGpu ? 300 : resnet ? 100 : 60,
            LogPath = Path.Combine("out", "demo.csv"),
        };
        AnsiConsole.MarkupLine($"[bold]IlgpuStyle demo[/]: {Markup.Escape(Path.GetFileName(options.ContentPath))} in the style of " +
                               $"{Markup.Escape(Path.GetFileName(options.StylePaths[0]))}, {options.ImageSize} px, {options.Iterations} L-BFGS iterations, {options.Network.Name}.");
        return RunTransfer(options, info.Id, 10);
    }

    static int RunTransfer(StyleTransferOptions options, string? deviceSpec, int printEvery, OutputFormat how = OutputFormat.Text)
    {
        if (how != OutputFormat.Json) return RunTransferText(options, deviceSpec, printEvery).Code;
        // JSON: what a person reads goes to stderr; stdout holds the one document.
        var (console, stdout) = (AnsiConsole.Console, Console.Out);
        AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        Console.SetOut(Console.Error);
        (int Code, ComputeDevice Device, TransferResult Result) run;
        try { run = RunTransferText(options, deviceSpec, printEvery); }
        finally { AnsiConsole.Console = console; Console.SetOut(stdout); }
        var (code, device, result) = run;
        var startup = result.Startup?.Parts.ToDictionary(p => p.Name.Replace(' ', '_') + "_s", p => (object?)p.Time.TotalSeconds)
                      ?? new Dictionary<string, object?>();
        Report.Write(OutputFormat.Json, new (string, object?)[]
        {
            ("output", result.OutputPath), ("network", options.Network.Name), ("weights", result.WeightsSource), ("random_weights", result.RandomWeights),
            ("device", device.ToString()), ("seed", options.Seed), ("image_size", options.ImageSize), ("scales", options.Scales),
            ("width", result.Width), ("height", result.Height),
            ("iterations", result.Iterations), ("evaluations", result.Evaluations), ("cancelled", result.Cancelled),
            ("final_loss", result.FinalLoss), ("best_iteration", result.BestIteration), ("best_loss", result.BestLoss),
            ("seconds", result.Elapsed.TotalSeconds), ("first_iteration_after_s", result.TimeToFirstIteration.TotalSeconds),
            ("startup", startup), ("files", result.WrittenFiles),
        }, Array.Empty<ReportTable>(), () => { });
        return code;
    }

    static (int Code, ComputeDevice Device, TransferResult Result) RunTransferText(StyleTransferOptions options, string? deviceSpec, int printEvery)
    {
        options.Validate();
        var device = SharedDevices.Open(deviceSpec);
        if (device.Info.Kind == DeviceKind.Cpu)
            Console.Error.WriteLine("ilgpustyle: running on ILGPU's CPU accelerator, which is slow. For speed use a GPU, or PoCL 5+ " +
                                    "(Debian 13: apt install pocl-opencl-icd ocl-icd-opencl-dev; or tools/pocl-root.sh).");
        AnsiConsole.MarkupLine($"device: {Markup.Escape(device.ToString())}");
        Console.WriteLine($"seed: {options.Seed} (--seed {options.Seed} on this device makes the same image)");
        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            if (cancel.IsCancellationRequested) return;   // a second Ctrl-C ends the process
            e.Cancel = true;
            cancel.Cancel();
            Console.Error.WriteLine("ilgpustyle: stopping after this iteration and writing the current image (Ctrl-C again to abort)");
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            var result = ProgressView.Run(listener => StyleTransfer.Run(options, device, listener, cancel.Token), options, printEvery);
            AnsiConsole.MarkupLine($"{(result.Cancelled ? "[yellow]stopped[/]" : "[green]done[/]")}: {result.Iterations} iterations " +
                                   $"({result.Evaluations} evaluations) in {result.Elapsed.TotalSeconds:F1} s, " +
                                   $"first iteration after {result.TimeToFirstIteration.TotalSeconds:F1} s" +
                                   (result.Startup is { } split ? $" ({Markup.Escape(split.ToString())})" : "") + $", final loss {result.FinalLoss:G5}");
            if (result.RandomWeights)
                AnsiConsole.MarkupLine($"[yellow]made with {Markup.Escape(result.WeightsSource)}[/]");
            if (result.Profile is { } profile) PrintProfile(device, profile, result.Iterations);
            foreach (var f in result.WrittenFiles)
                AnsiConsole.MarkupLine($"wrote {Markup.Escape(f)}");
            return (result.Cancelled ? 130 : 0, device, result);
        }
        finally { Console.CancelKeyPress -= onCancel; }
    }

    /// <summary>Expected failures become one line on stderr and exit code 1; never a stack trace.</summary>
    internal static int Guard(Func<int> body)
    {
        try { return body(); }
        catch (Exception e)
        {
            Console.Error.WriteLine($"ilgpustyle: {UserError.Describe(e)}");
            if (Environment.GetEnvironmentVariable("ILGPUSTYLE_DEBUG") == "1") Console.Error.WriteLine(e);
            return 1;
        }
    }
}

static class UserError
{
    public static string Describe(Exception e) => e switch
    {
        DeviceSelectionException or WeightsFileException or ImageFileException or NonFiniteLossException or IO.DownloadException => e.Message,
        ArgumentException or IOException or UnauthorizedAccessException or InvalidDataException => e.Message,
        ILGPU.Runtime.AcceleratorException or OutOfMemoryException =>
            $"the device ran out of memory or failed ({e.Message.Split('\n')[0]}); try a smaller --image-size or --scales",
        _ => $"unexpected {e.GetType().Name}: {e.Message.Split('\n')[0]} (ILGPUSTYLE_DEBUG=1 shows details)",
    };
}
