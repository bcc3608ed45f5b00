using System.Diagnostics;
using System.Text.Json;
using IlgpuStyle.Tests.Transfer;

namespace IlgpuStyle.Tests.Tools;

/// <summary>
/// `--format csv|json` of devices, gradcheck, bench and profile are documents a program can read (stdout holds nothing
/// else), and the text a person reads has no ANSI escapes and no wrapped rows when it goes to a pipe.
/// </summary>
[Collection(DeviceTests.Collection)]
public class OutputFormatTests(ITestOutputHelper output)
{
    /// <summary>bench and profile run on the default device (PoCL inside the root the suite runs in): the format is what is tested.</summary>
    public static TheoryData<string, string[]> Commands => new()
    {
        { "devices", new[] { "devices", "default" } },
        { "gradcheck --op relu --device cpu", new[] { "cases", "op", "vs_reference", "passed" } },
        { "bench --image-size 16 --repeats 1", new[] { "median_ms", "gflops", "peak_device_mib", "first_iteration_ms" } },
        { "profile --image-size 16 --iterations 1", new[] { "kernels", "layers", "ms_per_iteration", "fraction_of_peak" } },
    };

    [Theory, MemberData(nameof(Commands))]
    public void JsonIsOneDocumentWithTheFields(string command, string[] fields)
    {
        var (code, stdout, stderr) = CliRunner.Run((command + " --format json").Split(' '));
        Assert.True(code == 0, $"{command}: exit {code}\n{stderr}");
        using var json = JsonDocument.Parse(stdout);
        string all = stdout;
        foreach (var f in fields) Assert.True(all.Contains($"\"{f}\""), $"{command}: no field \"{f}\" in\n{stdout}");
        Assert.Equal(JsonValueKind.Object, json.RootElement.ValueKind);
    }

    [Theory, MemberData(nameof(Commands))]
    public void CsvRowsHaveTheHeadersWidth(string command, string[] fields)
    {
        var (code, stdout, stderr) = CliRunner.Run((command + " --format csv").Split(' '));
        Assert.True(code == 0, $"{command}: exit {code}\n{stderr}");
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length >= 2, $"{command}: {lines.Length} csv lines\n{stdout}");
        int width = Fields(lines[0]);
        foreach (var line in lines) Assert.True(Fields(line) == width, $"{command}: '{line}' has {Fields(line)} fields, the header {width}");
        Assert.Contains(fields, f => lines[0].Split(',').Contains(f));
    }

    /// <summary>Fields of one csv line: commas outside double quotes, plus one.</summary>
    static int Fields(string line)
    {
        int count = 1; bool quoted = false;
        foreach (char c in line) { if (c == '"') quoted = !quoted; else if (c == ',' && !quoted) count++; }
        return count;
    }

    /// <summary>The real program with stdout and stderr to pipes: no escape character, and every table row on one line.</summary>
    [Fact]
    public void PipedTextHasNoEscapesAndNoWrappedRows()
    {
        string cli = Path.Combine(AppContext.BaseDirectory, "ilgpustyle.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { cli, "gradcheck", "--op", "relu", "--device", "cpu" }) start.ArgumentList.Add(a);
        start.Environment.Remove("NO_COLOR");
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(120_000), "gradcheck did not finish in 2 minutes");
        output.WriteLine(stdout);
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}\n{stderr.Result}");
        Assert.DoesNotContain('\u001b', stdout + stderr.Result);
        Assert.Contains(stdout.Split('\n'), l => l.Contains("relu") && l.Contains("pass") && l.Contains("E-"));
    }
}
