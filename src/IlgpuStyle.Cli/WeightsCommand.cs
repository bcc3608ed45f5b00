using System.CommandLine;
using IlgpuStyle.IO;
using IlgpuStyle.Model;
using Spectre.Console;

namespace IlgpuStyle.Cli;

/// <summary>`weights list` (what network files there are, where, and whether they check out) and `weights download`.</summary>
public static partial class Cli
{
    internal static Command WeightsCommand()
    {
        var command = new Command("weights", "The network files: where they are looked for, which are there, and VGG19's download.");
        command.Subcommands.Add(WeightsListCommand());
        command.Subcommands.Add(WeightsDownloadCommand());
        Help.Examples(command, "ilgpustyle weights list|download [options]",
            "ilgpustyle weights list  # every network file a run could use, in the order a run looks, and whether each checks out",
            "ilgpustyle weights download  # VGG19 (80 MB) into the Keras cache, where Keras keeps it too; resumes, checks the MD5");
        return command;
    }

    static Command WeightsListCommand()
    {
        var weights = new Option<string?>("--weights") { Description = "Also this file (listed first, as a run would use it)", HelpName = "PATH" };
        var format = Report.FormatOption();
        var command = new Command("list", "Every network file a run could use: the places looked in (in order), and for each file its size, format and whether it checks out (its MD5 or the hash in its name).")
            { weights, format };
        command.SetAction(parse => Guard(() =>
        {
            var how = Report.Format(parse, format);
            var found = WeightsPlaces.Find(parse.GetValue(weights));
            var rows = new ReportTable("files", "place", "path", "bytes", "format", "known_as", "checks_out", "check");
            var verdicts = found.Select(f => WeightsPlaces.Verify(f)).ToList();
            foreach (var (f, v) in found.Zip(verdicts))
                rows.Add(f.Place, f.Path, f.Bytes, f.Format, f.Known?.Description, v?.Ok, v?.Says);
            var places = new ReportTable("places", "place", "folder", "exists");
            foreach (var (place, folder) in WeightsPlaces.Places()) places.Add(place, folder, Directory.Exists(folder));
            string vgg = Vgg19WeightsFile.Locate(parse.GetValue(weights)) ?? "none";
            Report.Write(how, new (string, object?)[] { ("vgg19_file", vgg) }, new[] { rows, places }, () =>
            {
                Console.WriteLine("Looked in, in this order:");
                foreach (var (place, folder) in WeightsPlaces.Places())
                    Console.WriteLine($"  {place,-16} {folder}{(Directory.Exists(folder) ? "" : "  (no such folder)")}");
                Console.WriteLine($"  {"bundled (NuGet)",-16} {ResNet18WeightsFile.Locate() ?? ResNet18WeightsFile.MissingMessage}");
                Console.WriteLine();
                if (found.Count == 0) Console.WriteLine("No network file found.");
                else
                {
                    var table = new Table().AddColumns("where", "file", "size", "format", "checks out");
                    foreach (var (f, v) in found.Zip(verdicts))
                        table.AddRow(Markup.Escape(f.Place), Markup.Escape(f.Path), $"{f.Bytes / 1048576.0:F1} MiB", Markup.Escape(f.Format),
                            Markup.Escape(v is { } verdict ? (verdict.Ok ? "yes: " : "NO: ") + verdict.Says : f.Known is null ? "unknown file: no check" : "by name; no hash to check"));
                    AnsiConsole.Write(table);
                }
                Console.WriteLine();
                Console.WriteLine(vgg == "none"
                    ? "VGG19: none found; runs use the bundled ResNet18. `ilgpustyle weights download` fetches VGG19."
                    : $"VGG19: a run uses {vgg}");
            });
            return 0;
        }));
        return command;
    }

    static Command WeightsDownloadCommand()
    {
        var network = new Argument<string>("network") { Description = "vgg19 (the only network to download; ResNet18 comes with the build)", DefaultValueFactory = _ => "vgg19" };
        var url = new Option<string?>("--url") { Description = "Download from this address instead (a mirror); the file must have the same MD5", HelpName = "URL" };
        var to = new Option<string?>("--to") { Description = $"Into this folder (default: the Keras cache, {WeightsPlaces.KerasCache}, where Keras keeps its copy too)", HelpName = "DIR" };
        var command = new Command("download", $"Fetch VGG19's convolution weights as Keras publishes them ({WeightsPlaces.KerasVgg19.Bytes:N0} bytes, MD5 {WeightsPlaces.KerasVgg19.Md5}): " +
                                              "a progress bar, a partial file resumed, the MD5 checked before the file takes its final name.")
            { network, url, to };
        command.SetAction(parse => Guard(() =>
        {
            string name = parse.GetValue(network)!.Trim().ToLowerInvariant();
            if (name != "vgg19")
                throw new ArgumentException(name == "resnet18" ? "ResNet18 comes with the build (the NuGet package); only vgg19 is downloaded"
                    : $"the network to download is vgg19, got '{name}'");
            var known = WeightsPlaces.KerasVgg19;
            string source = parse.GetValue(url) ?? known.Url!;
            string dir = parse.GetValue(to) ?? WeightsPlaces.KerasCache;
            if (File.Exists(dir)) throw new ArgumentException($"--to '{dir}' is a file; give a folder");
            string path = Path.Combine(dir, known.FileName);
            Console.WriteLine($"VGG19 from {source}\n  to {path}");
            bool fetched;
            if (Console.IsOutputRedirected)
            {
                // Plain lines for logs: one each tenth.
                int shown = -1;
                var lines = new Reporter(p =>
                {
                    int tenth = p.Total is { } t && t > 0 ? (int)(10 * p.Done / t) : (int)(p.Done >> 23);
                    if (tenth == shown) return;
                    shown = tenth;
                    Console.WriteLine($"  {p.Done / 1048576.0:F1}{(p.Total is { } total ? $" of {total / 1048576.0:F1}" : "")} MiB, {p.BytesPerSecond / 1048576.0:F1} MiB/s");
                });
                fetched = Download.Fetch(source, path, known.Md5!, lines);
            }
            else
            {
                fetched = false;
                AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new DownloadedColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
                    .Start(ctx =>
                    {
                        var task = ctx.AddTask("VGG19", maxValue: known.Bytes ?? 1);
                        fetched = Download.Fetch(source, path, known.Md5!, new Reporter(p =>
                        {
                            if (p.Total is { } t) task.MaxValue = t;
                            task.Value = p.Done;
                        }));
                        task.Value = task.MaxValue;
                    });
            }
            Console.WriteLine(fetched ? $"wrote {path} (MD5 {known.Md5}: checks out)" : $"{path} is already there and checks out (MD5 {known.Md5})");
            if (dir != WeightsPlaces.KerasCache && !WeightsPlaces.WeightsFolders().Contains(Path.GetFullPath(dir)))
                Console.WriteLine($"runs look in weights/ and the Keras cache: pass --weights {path}");
            else Console.WriteLine("runs now use VGG19 (ilgpustyle weights list shows every file)");
            return 0;
        }));
        return command;
    }

    /// <summary>Reports on the downloading thread, at once (Progress&lt;T&gt; would post to the thread pool: lines out of order).</summary>
    sealed class Reporter(Action<DownloadProgress> report) : IProgress<DownloadProgress>
    {
        public void Report(DownloadProgress value) => report(value);
    }
}
