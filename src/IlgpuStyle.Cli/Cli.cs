using System.CommandLine;
using IlgpuStyle.Devices;
using Spectre.Console;

namespace IlgpuStyle.Cli;

/// <summary>The `ilgpustyle` command line: a thin shell over the engine.</summary>
public static partial class Cli
{
    public static int Run(string[] args)
    {
        var root = new RootCommand("IlgpuStyle: neural style transfer on hand-written ILGPU kernels (CUDA, OpenCL, CPU).");
        root.Subcommands.Add(DevicesCommand());
        return Guard(() => root.Parse(args).Invoke());
    }

    static Command DevicesCommand()
    {
        var command = new Command("devices", "List every device found: kind, name, memory, warp/SIMD width, usable or not and why.");
        command.SetAction(_ =>
        {
            using var catalog = new DeviceCatalog();
            var table = new Table().AddColumns("id", "kind", "name", "memory", "warp", "usable");
            var chosen = catalog.Default;
            foreach (var d in catalog.Devices)
                table.AddRow(Markup.Escape(d.Id + (d == chosen ? " *" : "")), d.Kind.ToString(), Markup.Escape(d.Name),
                    $"{d.MemoryBytes / (1024.0 * 1024 * 1024):F1} GiB", d.WarpSize.ToString(),
                    d.Usable ? "yes" : Markup.Escape("no: " + d.WhyNotUsable));
            AnsiConsole.Write(table);
            AnsiConsole.WriteLine($"default (*): {chosen.Id} {chosen.Name}");
            return 0;
        });
        return command;
    }

    /// <summary>Expected failures become one line on stderr and exit code 1; never a stack trace.</summary>
    internal static int Guard(Func<int> body)
    {
        try { return body(); }
        catch (Exception e) when (UserError.Describe(e) is { } line)
        {
            Console.Error.WriteLine($"ilgpustyle: {line}");
            return 1;
        }
    }
}

static class UserError
{
    public static string? Describe(Exception e) => e switch
    {
        DeviceSelectionException => e.Message,
        ArgumentException or IOException or UnauthorizedAccessException or InvalidDataException => e.Message,
        _ => $"unexpected {e.GetType().Name}: {e.Message}",
    };
}
