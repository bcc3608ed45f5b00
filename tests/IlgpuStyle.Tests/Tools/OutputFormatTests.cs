using System.Diagnostics;
using System.Text.Json;
using IlgpuStyle.Devices;
using IlgpuStyle.Tests.Transfer;

namespace IlgpuStyle.Tests.Tools;

/// <summary>
/// `--format csv|json` of devices, gradcheck, bench and profile are documents a program can read (stdout holds nothing
/// else), and the text a person reads has no ANSI escapes and no wrapped rows when it goes to a pipe, nor the OpenCL
/// compiler's warning counts.
/// </summary>
[Collection(DeviceTests.Collection)]
public class OutputFormatTests(ITestOutputHelper output)
{
    /// <summary>bench and profile run on the default device (PoCL inside the root the suite runs in): the format is what is tested.</summary>
    public static TheoryData<string, string[]> Commands => new()
    {
        { "devices", new[] { "devices", "default" } },
        { "gradcheck --op relu --device cpu", new[] { "cases", "op", "vs_reference", "passed" } },
        { "bench --image-size 16 --repeats 1", new[] { "median_ms", "gflops", "peak_device_mib", "first_iteration_ms", "startup_ms", "startup_compile_ms", "startup_tuning_ms", "startup_targets_ms", "conv_kernels" } },
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

    /// <summary>
    /// bench says what it ran: per layer, the kernels launched forward and backward; "conv" is "tuned" unless --conv
    /// forced a variant, and then every convolution's forward kernel is that variant's.
    /// </summary>
    [Theory]
    [InlineData(null)]
    [InlineData("naive")]
    public void BenchReportsTheKernelsItLaunchedPerLayer(string? forced)
    {
        var args = "bench --image-size 16 --repeats 1 --format json".Split(' ').Concat(forced is null ? Array.Empty<string>() : new[] { "--conv", forced }).ToArray();
        var (code, stdout, stderr) = CliRunner.Run(args);
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        var root = json.RootElement;
        Assert.Equal(forced ?? "tuned", root.GetProperty("conv").GetString());
        var layers = root.GetProperty("layers").EnumerateArray()
            .ToDictionary(l => l.GetProperty("layer").GetString()!, l => (Forward: l.GetProperty("forward_kernels").GetString()!, Backward: l.GetProperty("backward_kernels").GetString()!));
        output.WriteLine(string.Join("\n", layers.Select(l => $"{l.Key}: {l.Value.Forward} | {l.Value.Backward}")));
        var convs = IlgpuStyle.Model.Vgg19Layers.Order.TakeWhile(l => l != "conv5_2").Where(l => l.StartsWith("conv")).ToList();
        foreach (var conv in convs)
        {
            Assert.True(layers.TryGetValue(conv, out var k), $"no row for {conv}");
            Assert.Contains(forced is null ? "conv2d_fwd_" : $"conv2d_fwd_{forced}", k.Forward);
            Assert.Contains("conv2d_bwd_input", k.Backward);
        }
        // The summary's conv_kernels are the same launches, counted.
        foreach (var kernel in root.GetProperty("conv_kernels").GetString()!.Split(", ").Select(k => k.Split(" ×")[0]))
            Assert.Contains(layers.Values, l => l.Forward.Contains(kernel) || l.Backward.Contains(kernel));
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
        var (code, stdout, stderr) = RunProgram(new[] { "gradcheck", "--op", "relu", "--device", "cpu" }, env => env.Remove("NO_COLOR"));
        output.WriteLine(stdout);
        Assert.True(code == 0, $"exit {code}\n{stderr}");
        Assert.DoesNotContain('\u001b', stdout + stderr);
        Assert.Contains(stdout.Split('\n'), l => l.Contains("relu") && l.Contains("pass") && l.Contains("E-"));
    }

    /// <summary>`dotnet ilgpustyle.dll ARGS` as its own process, stdout and stderr to pipes, its environment changed by
    /// `environment`; at most 2 minutes.</summary>
    static (int Code, string Stdout, string Stderr) RunProgram(string[] args, Action<IDictionary<string, string?>> environment)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ilgpustyle.dll"));
        foreach (var a in args) start.ArgumentList.Add(a);
        environment(start.Environment);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(120_000), $"{args[0]} did not finish in 2 minutes");
        return (process.ExitCode, stdout, stderr.Result);
    }

    /// <summary>
    /// PoCL's clang writes "N warnings generated." to stderr when a kernel it compiles draws warnings (on a CPU without
    /// AVX-512 every OpenCL C vstore16 does: a 16-float vector argument "changes the ABI"); DeviceCatalog gives PoCL `-w`,
    /// so a first run prints none. The same compile with POCL_EXTRA_BUILD_FLAGS set empty shows whether this machine's
    /// PoCL warns at all: where it does not (AVX-512), there is nothing to silence and the test skips.
    /// </summary>
    [Fact]
    public void OpenClCompilerWarningsStayOffStderr()
    {
        Assert.SkipWhen(!Accelerators.Catalog.Devices.Any(d => d.Kind == DeviceKind.OpenCL && d.Usable), "no usable OpenCL device");
        string shown = StderrOfAFreshCompile(flags: "");
        Assert.SkipUnless(shown.Contains("warning"), "this OpenCL compiler gives the Winograd product no warning to silence");
        string quiet = StderrOfAFreshCompile(flags: null);
        output.WriteLine($"with POCL_EXTRA_BUILD_FLAGS empty:\n{shown}\nunset (the program's default):\n{quiet}");
        Assert.DoesNotContain("warning", quiet);
    }

    /// <summary>stderr of `kernels` timing the 4-channel Winograd product on OpenCL, compiled into an empty PoCL kernel
    /// cache; `flags` is POCL_EXTRA_BUILD_FLAGS for the child (null: unset).</summary>
    static string StderrOfAFreshCompile(string? flags)
    {
        string cache = Directory.CreateTempSubdirectory("ilgpustyle-pocl-cache-").FullName;
        try
        {
            var (code, stdout, stderr) = RunProgram(
                new[] { "kernels", "--layer", "conv5_1", "--image-size", "32", "--repeats", "1", "--variant", "winograd 4x4 4x16", "--device", "opencl" },
                env =>
                {
                    env["POCL_CACHE_DIR"] = cache;
                    if (flags is null) env.Remove("POCL_EXTRA_BUILD_FLAGS");
                    else env["POCL_EXTRA_BUILD_FLAGS"] = flags;
                });
            Assert.True(code == 0, $"kernels: exit {code}\n{stdout}\n{stderr}");
            return stderr;
        }
        finally { Directory.Delete(cache, recursive: true); }
    }
}
