using System.Diagnostics;

namespace IlgpuStyle.Tests.Tools;

/// <summary>
/// The README's install: `dotnet pack` makes the `ilgpustyle` tool package, `dotnet tool install` puts it in a tool
/// path, and the installed command prints its help and runs a tiny transfer (VGG19 cut at conv1_1, 16 px, one
/// iteration on ILGPU's CPU accelerator). Needs the .NET SDK: skipped where only the runtime is (the GPU bundle).
/// </summary>
public class PackageInstallTests(ITestOutputHelper output)
{
    static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "IlgpuStyle.sln"))) return dir.FullName;
        throw new InvalidOperationException("repository root not found");
    }

    /// <summary>NuGet's package cache for the install, in the test's folder (no stale copy of the same version, nothing left behind).</summary>
    string? packages;

    (int Code, string Output) Run(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        if (packages is not null) start.Environment["NUGET_PACKAGES"] = packages;
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        // No MSBuild node or build server from another process: one started in another mount namespace (the PoCL root's)
        // would not see this checkout.
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(300_000)) { process.Kill(true); return (-1, $"{file} {string.Join(' ', args)}: timed out"); }
        string all = stdout + stderr.Result;
        output.WriteLine($"$ {Path.GetFileName(file)} {string.Join(' ', args)}  -> {process.ExitCode}\n{all}");
        return (process.ExitCode, all);
    }

    [Fact]
    public void PacksInstallsAndRunsAsADotnetTool()
    {
        string root = RepositoryRoot();
        bool sdk;
        try { sdk = Run("dotnet", "--list-sdks").Output.Trim().Length > 0; } catch (System.ComponentModel.Win32Exception) { sdk = false; }
        Assert.SkipUnless(sdk, "no .NET SDK here (dotnet pack and dotnet tool install need it)");

        string work = Directory.CreateTempSubdirectory("ilgpustyle-install-").FullName;
        try
        {
            string feed = Path.Combine(work, "feed"), tools = Path.Combine(work, "tools"), config = Path.Combine(work, "nuget.config");
            packages = Path.Combine(work, "packages");
            // Only the folder the package was packed into: no network source is asked (where there is no network, NuGet
            // would wait for each source's timeouts).
            File.WriteAllText(config, $"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<configuration><packageSources><clear />" +
                                      $"<add key=\"local\" value=\"{feed}\" /></packageSources></configuration>\n");
            var pack = Run("dotnet", "pack", Path.Combine(root, "src", "IlgpuStyle.Cli", "IlgpuStyle.Cli.csproj"), "-c", "Release", "--no-build",
                "--disable-build-servers", "-nodeReuse:false", "-o", feed);
            Assert.True(pack.Code == 0, "dotnet pack failed:\n" + pack.Output);
            var package = Directory.GetFiles(feed, "ilgpustyle.*.nupkg").Single();
            string version = Path.GetFileNameWithoutExtension(package)["ilgpustyle.".Length..];

            var install = Run("dotnet", "tool", "install", "ilgpustyle", "--tool-path", tools, "--configfile", config, "--version", version);
            Assert.True(install.Code == 0, "dotnet tool install failed:\n" + install.Output);
            string command = Path.Combine(tools, OperatingSystem.IsWindows() ? "ilgpustyle.exe" : "ilgpustyle");

            var help = Run(command, "--help");
            Assert.True(help.Code == 0 && help.Output.Contains("transfer") && help.Output.Contains("--content"), "ilgpustyle --help:\n" + help.Output);

            string demo = Path.Combine(root, "src", "IlgpuStyle.Cli", "demo"), result = Path.Combine(work, "out", "tiny.png");
            // The package carries the trained ResNet18 (models/ResNet18.onnx): the installed tool uses it with no weights file.
            var transfer = Run(command, "-c", Path.Combine(demo, "chelsea.png"), "-s", Path.Combine(demo, "brush_strokes.png"), "-o", result,
                "--image-size", "16", "--iterations", "1", "--content-layers", "stem", "--style-layers", "stem", "--device", "cpu");
            Assert.True(transfer.Code == 0, "the installed ilgpustyle's transfer failed:\n" + transfer.Output);
            Assert.Contains("network: ResNet18", transfer.Output);
            Assert.Contains(Path.Combine("models", "ResNet18.onnx"), transfer.Output);
            Assert.True(File.Exists(result), $"no {result}");
            var image = IlgpuStyle.Imaging.RgbImage.Load(result);
            Assert.Equal(16, Math.Max(image.Width, image.Height));
        }
        finally { Directory.Delete(work, recursive: true); }
    }
}
