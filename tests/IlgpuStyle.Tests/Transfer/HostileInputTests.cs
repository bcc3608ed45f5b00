using System.Security.Cryptography;
using System.Text;
using IlgpuStyle.Model;
using PureHDF;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace IlgpuStyle.Tests.Transfer;

/// <summary>
/// Hostile and unusual input files, each given to the command line as the content image or the
/// weights file. Each must either work, or end with one clear line on stderr and a non-zero exit:
/// never a crash, a stack trace, a hang, or a change to the input. The outcomes form the table in
/// docs/reliability.md (the test writes it to ilgpustyle-hostile-inputs.md in the temp folder).
/// </summary>
[Collection(DeviceTests.Collection)]
public class HostileInputTests(TransferFixture images, ITestOutputHelper output) : IClassFixture<TransferFixture>
{
    sealed record Case(string Name, string Role, Func<string, string> Make, bool ShouldWork);

    static byte[] Png<TPixel>(int w, int h, Func<int, int, TPixel> pixel, PngEncoder? encoder = null) where TPixel : unmanaged, IPixel<TPixel>
    {
        using var image = new Image<TPixel>(w, h);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) image[x, y] = pixel(x, y);
        using var ms = new MemoryStream();
        image.SaveAsPng(ms, encoder ?? new PngEncoder());
        return ms.ToArray();
    }

    static byte[] Jpeg(int w, int h)
    {
        using var image = new Image<Rgb24>(w, h);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) image[x, y] = new Rgb24((byte)(x * 5), (byte)(y * 5), 90);
        using var ms = new MemoryStream();
        image.SaveAsJpeg(ms, new JpegEncoder { Quality = 90 });
        return ms.ToArray();
    }

    /// <summary>A valid PNG whose header declares width × height (CRC fixed), with no pixel data to match.</summary>
    static byte[] PngDeclaring(uint width, uint height)
    {
        var png = Png<Rgb24>(8, 8, (x, y) => new Rgb24(1, 2, 3));
        var ihdr = png.AsSpan(12, 17).ToArray();   // "IHDR" + 13 bytes
        ihdr[4] = (byte)(width >> 24); ihdr[5] = (byte)(width >> 16); ihdr[6] = (byte)(width >> 8); ihdr[7] = (byte)width;
        ihdr[8] = (byte)(height >> 24); ihdr[9] = (byte)(height >> 16); ihdr[10] = (byte)(height >> 8); ihdr[11] = (byte)height;
        ihdr.CopyTo(png, 12);
        uint crc = Crc32(ihdr);
        png[29] = (byte)(crc >> 24); png[30] = (byte)(crc >> 16); png[31] = (byte)(crc >> 8); png[32] = (byte)crc;
        return png;
    }

    static uint Crc32(byte[] data)
    {
        uint c = 0xFFFFFFFF;
        foreach (byte b in data) { c ^= b; for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1; }
        return ~c;
    }

    /// <summary>A BMP header declaring a huge image.</summary>
    static byte[] BmpDeclaring(int width, int height)
    {
        var b = new byte[54 + 16];
        Encoding.ASCII.GetBytes("BM").CopyTo(b, 0);
        BitConverter.GetBytes(b.Length).CopyTo(b, 2); BitConverter.GetBytes(54).CopyTo(b, 10); BitConverter.GetBytes(40).CopyTo(b, 14);
        BitConverter.GetBytes(width).CopyTo(b, 18); BitConverter.GetBytes(height).CopyTo(b, 22);
        BitConverter.GetBytes((short)1).CopyTo(b, 26); BitConverter.GetBytes((short)24).CopyTo(b, 28);
        return b;
    }

    string Write(string name, byte[] bytes) { string p = Path.Combine(images.Directory, name); File.WriteAllBytes(p, bytes); return p; }

    string WriteH5(string name, Action<H5File> fill)
    {
        var f = new H5File();
        fill(f);
        string p = Path.Combine(images.Directory, name);
        f.Write(p);
        return p;
    }

    static void AllConvolutions(H5File f, Func<ConvLayerSpec, object> kernel, Func<ConvLayerSpec, object>? bias = null)
    {
        foreach (var c in Vgg19Layers.Convolutions)
            f[c.KerasName] = new H5Group
            {
                [$"{c.KerasName}_W_1:0"] = kernel(c),
                [$"{c.KerasName}_b_1:0"] = bias?.Invoke(c) ?? new float[c.OutChannels],
            };
    }

    static ulong[] Dims(ConvLayerSpec c) => new ulong[] { 3, 3, (ulong)c.InChannels, (ulong)c.OutChannels };
    static float[] He(ConvLayerSpec c)
    {
        var rng = new Random(c.OutChannels + c.InChannels);
        float s = (float)(Math.Sqrt(12.0 * 2.0 / (9 * c.InChannels)));
        return Enumerable.Range(0, 9 * c.InChannels * c.OutChannels).Select(_ => ((float)rng.NextDouble() - 0.5f) * s).ToArray();
    }

    IEnumerable<Case> Cases()
    {
        byte[] goodPng = File.ReadAllBytes(images.Content);
        byte[] goodJpeg = Jpeg(40, 32);
        yield return new("empty file (0 bytes) as .png", "content", _ => Write("empty.png", Array.Empty<byte>()), false);
        yield return new("random bytes as .png", "content", _ => Write("random.png", RandomNumberGenerator.GetBytes(5000)), false);
        yield return new("a text file named .jpg", "content", _ => Write("text.jpg", Encoding.UTF8.GetBytes("hello, this is not a picture\n")), false);
        yield return new("PNG cut after its header (40 bytes)", "content", _ => Write("cut40.png", goodPng[..40]), false);
        yield return new("PNG cut in half", "content", _ => Write("half.png", goodPng[..(goodPng.Length / 2)]), false);
        yield return new("JPEG cut in half", "content", _ => Write("half.jpg", goodJpeg[..(goodJpeg.Length / 2)]), false);
        yield return new("PNG declaring 100000×100000 pixels", "content", _ => Write("huge.png", PngDeclaring(100_000, 100_000)), false);
        yield return new("PNG declaring 0×0 pixels", "content", _ => Write("zero.png", PngDeclaring(0, 0)), false);
        yield return new("BMP declaring 50000×50000 pixels", "content", _ => Write("huge.bmp", BmpDeclaring(50_000, 50_000)), false);
        yield return new("BMP declaring −1×−1 pixels", "content", _ => Write("negative.bmp", BmpDeclaring(-1, -1)), false);
        yield return new("a directory instead of a file", "content", _ => { var d = Path.Combine(images.Directory, "folder.png"); Directory.CreateDirectory(d); return d; }, false);
        yield return new("8-bit grayscale PNG", "content", _ => Write("gray.png", Png<L8>(40, 32, (x, y) => new L8((byte)(x * 6)))), true);
        yield return new("16-bit grayscale PNG", "content", _ => Write("gray16.png", Png<L16>(40, 32, (x, y) => new L16((ushort)(x * 1600)))), true);
        yield return new("16-bit RGB PNG", "content", _ => Write("rgb16.png", Png<Rgb48>(40, 32, (x, y) => new Rgb48((ushort)(x * 1600), (ushort)(y * 2000), 30000))), true);
        yield return new("RGBA PNG with transparency", "content", _ => Write("alpha.png", Png<Rgba32>(40, 32, (x, y) => new Rgba32(200, 10, 10, (byte)(x * 6)))), true);
        yield return new("palette PNG", "content", _ => Write("palette.png", Png<Rgb24>(40, 32, (x, y) => new Rgb24((byte)(x / 10 * 60), 0, 0), new PngEncoder { ColorType = PngColorType.Palette })), true);
        yield return new("1×1 PNG", "content", _ => Write("one.png", Png<Rgb24>(1, 1, (x, y) => new Rgb24(10, 200, 30))), true);
        yield return new("3000×4 PNG (too thin for VGG19)", "content", _ => Write("thin.png", Png<Rgb24>(3000, 4, (x, y) => new Rgb24((byte)x, 0, 0))), false);
        yield return new("JPEG", "content", _ => Write("ok.jpg", goodJpeg), true);
        yield return new("CMYK JPEG (made by Pillow)", "content", _ => Write("cmyk.jpg", File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Transfer", "Data", "cmyk.jpg"))), true);

        yield return new("empty file (0 bytes) as .h5", "weights", _ => Write("empty.h5", Array.Empty<byte>()), false);
        yield return new("random bytes as .h5", "weights", _ => Write("random.h5", RandomNumberGenerator.GetBytes(5000)), false);
        yield return new("HDF5 signature, then garbage", "weights", _ => Write("sig.h5", new byte[] { 0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a }.Concat(RandomNumberGenerator.GetBytes(3000)).ToArray()), false);
        yield return new("HDF5 with no groups", "weights", _ => WriteH5("nogroups.h5", f => f.Attributes["note"] = "empty"), false);
        yield return new("HDF5 with block1_conv1 a dataset, not a group", "weights", _ => WriteH5("flat.h5", f => f["block1_conv1"] = new float[10]), false);
        yield return new("HDF5 missing block5_conv1", "weights", _ => WriteH5("missing.h5", f =>
        {
            AllConvolutions(f, c => new H5Dataset(He(c), fileDims: Dims(c)));
            f.Remove("block5_conv1");
        }), false);
        yield return new("HDF5 with kernels as int32", "weights", _ => WriteH5("int.h5", f =>
            AllConvolutions(f, c => new H5Dataset(new int[9 * c.InChannels * c.OutChannels], fileDims: Dims(c)))), false);
        yield return new("HDF5 with a transposed kernel shape", "weights", _ => WriteH5("transposed.h5", f =>
            AllConvolutions(f, c => new H5Dataset(He(c), fileDims: new ulong[] { (ulong)c.OutChannels, (ulong)c.InChannels, 3, 3 }))), false);
        yield return new("HDF5 with a bias of the wrong length", "weights", _ => WriteH5("bias.h5", f =>
            AllConvolutions(f, c => new H5Dataset(He(c), fileDims: Dims(c)), c => new float[c.OutChannels + 1])), false);
        yield return new("HDF5 with float64 kernels", "weights", _ => WriteH5("double.h5", f =>
            AllConvolutions(f, c => new H5Dataset(He(c).Select(v => (double)v).ToArray(), fileDims: Dims(c)))), true);
        yield return new("valid HDF5 cut in half", "weights", _ =>
        {
            string whole = WriteH5("whole.h5", f => AllConvolutions(f, c => new H5Dataset(He(c), fileDims: Dims(c))));
            return Write("cut.h5", File.ReadAllBytes(whole)[..(int)(new FileInfo(whole).Length / 2)]);
        }, false);
    }

    [Fact]
    public void EveryHostileInputWorksOrFailsWithOneClearLine()
    {
        var table = new StringBuilder("| # | input | given as | expected | exit | what the program said |\n|---|---|---|---|---|---|\n");
        var failures = new List<string>();
        int n = 0;
        foreach (var c in Cases())
        {
            n++;
            string file = c.Make(images.Directory);
            string? hash = File.Exists(file) ? Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file))) : null;
            var args = new List<string> { "transfer", "--content", c.Role == "content" ? file : images.Content, "--style", images.Stripes,
                "--image-size", "32", "--iterations", "1", "--output", images.Output($"hostile{n}.png") };
            args.AddRange(ShortNetwork.Conv2Arguments.Split(' '));   // the input path is the same whatever the depth
            if (c.Role == "weights") args.AddRange(new[] { "--weights", file });
            var run = Task.Run(() => CliRunner.Run(args.ToArray()));
            if (!run.Wait(TimeSpan.FromSeconds(120))) { failures.Add($"{c.Name}: no answer within 120 s"); continue; }
            var (code, stdout, stderr) = run.Result;
            var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.Contains("CPU accelerator, which is slow") && !l.Contains("warning:")).ToList();
            string said = code == 0 ? "works: " + (stdout.Split('\n').FirstOrDefault(l => l.StartsWith("wrote")) ?? "ok") : lines.FirstOrDefault() ?? "(nothing)";
            table.AppendLine($"| {n} | {c.Name} | {c.Role} | {(c.ShouldWork ? "works" : "refused")} | {code} | {said.Replace("|", "\\|").Replace(images.Directory, "…")} |");
            if (c.ShouldWork && code != 0) failures.Add($"{c.Name}: should work, exit {code}: {stderr}");
            if (!c.ShouldWork && (code == 0 || lines.Count != 1 || !lines[0].StartsWith("ilgpustyle: ")))
                failures.Add($"{c.Name}: expected one clear line and a non-zero exit, got exit {code}, stderr:\n{stderr}");
            if ((stderr + stdout).Contains("   at ")) failures.Add($"{c.Name}: stack trace printed");
            if (hash is not null && hash != Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file)))) failures.Add($"{c.Name}: input changed");
        }
        File.WriteAllText(Path.Combine(Path.GetTempPath(), "ilgpustyle-hostile-inputs.md"), table.ToString());
        output.WriteLine(table.ToString());
        Assert.True(n >= 25, $"only {n} cases");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}
