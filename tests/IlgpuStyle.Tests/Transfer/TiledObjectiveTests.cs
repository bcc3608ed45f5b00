using IlgpuStyle.Devices;
using IlgpuStyle.Model;
using IlgpuStyle.Transfer;

namespace IlgpuStyle.Tests.Transfer;

/// <summary>
/// The tiled evaluation gives the whole image's: every Gram matrix, each loss term and the image gradient, at an uneven
/// size whose edge tiles are narrower than the halo, for VGG19 (average and max pooling) and ResNet18 (strided
/// convolutions, the overlapping stem pool), on every accelerator. And it can fail: a halo cut below the network's reach
/// must not match.
/// </summary>
[Collection(DeviceTests.Collection)]
public class TiledObjectiveTests(ITestOutputHelper output)
{
    /// <summary>On OpenCL (and CUDA) VGG19 to conv3_1 with both poolings, VGG19's default layers (to conv5_1) at 72×56, where
    /// its reach spans the image, and at 256×170 in twelve tiles, and ResNet18 to layer1, 72×56; on ILGPU's CPU
    /// accelerator, where each thread is a .NET call, VGG19 to conv2_1 at 72×50 and ResNet18.</summary>
    public static TheoryData<AcceleratorCase, string, string, string, string, int, int, int> Cases()
    {
        var data = new TheoryData<AcceleratorCase, string, string, string, string, int, int, int>();
        foreach (var a in Accelerators.Kinds)
        {
            if (a.Kind == DeviceKind.Cpu) data.Add(a, "vgg19", "avg", "conv1_1,conv2_1", "conv2_1", 16, 72, 50);
            else
            {
                data.Add(a, "vgg19", "avg", "conv1_1,conv2_1,conv3_1", "conv3_1", 24, 72, 56);
                data.Add(a, "vgg19", "max", "conv1_2,conv2_1,conv3_1", "conv2_2", 16, 72, 56);
                data.Add(a, "vgg19", "avg", "conv1_1,conv2_1,conv3_1,conv4_1,conv5_1", "conv4_2", 32, 72, 56);
                data.Add(a, "vgg19", "avg", "conv1_1,conv2_1,conv3_1,conv4_1,conv5_1", "conv4_2", 64, 256, 170);
            }
            data.Add(a, "resnet18", "max", "stem,layer1", "layer1", 24, 72, 56);
        }
        return data;
    }

    sealed record Run(double Content, double Style, double Tv, float[] Gradient, Dictionary<string, float[]> Grams);

    [Theory, MemberData(nameof(Cases))]
    public void TilesGiveTheWholeImagesLossAndGradient(AcceleratorCase accelerator, string model, string pooling, string styleLayers, string contentLayer,
        int tile, int width, int height)
    {
        var d = Accelerators.Get(accelerator);
        var r = new Rand($"{nameof(TilesGiveTheWholeImagesLossAndGradient)} {model} {pooling}");
        var network = Networks.Named(model);
        var o = new StyleTransferOptions
        {
            ContentPath = "", StylePaths = Array.Empty<string>(), Network = network,
            ContentLayers = new[] { contentLayer }, StyleLayers = styleLayers.Split(','),
            Pooling = pooling == "avg" ? Pooling.Average : Pooling.Max, ContentWeight = 1, StyleWeight = 1e4, TvWeight = 1e-3,
        };
        var weights = network == ResNet18Layers.Description ? ResNet18WeightsFile.LoadBundled() : NetworkWeights.Random(1);
        using var net = new Network(d, weights, o.Pooling, o.DeepestLayer);
        // An uneven height: the last row of tiles narrower than the halo; the style image another size.
        var shape = new Shape4(1, 3, height, width);
        using var x = d.Upload(shape, r.Floats(shape.Length, 60));
        using var content = d.Upload(shape, r.Floats(shape.Length, 60));
        using var styleImage = d.Upload(new Shape4(1, 3, 40, 48), r.Floats(3 * 40 * 48, 60));

        using var whole = new StyleObjective(net, x, content, new[] { (styleImage, 1.0) }, o);
        whole.Evaluate();
        var expected = new Run(whole.Last.Content, whole.Last.Style, whole.Last.Tv, whole.Gradient.ToArray(),
            whole.StyleGrams.ToDictionary(g => g.Layer, g => g.Gram.ToArray()));
        var targets = whole.StyleGrams.ToDictionary(g => g.Layer, g => g.Target);

        var lossLayers = o.StyleLayers.Append(contentLayer).Select(network.Canonical).Distinct().ToList();
        var (before, after) = network.Halo(lossLayers);
        output.WriteLine($"{accelerator} {model} {pooling} {r}: halo {before} before, {after} after; tiles of {tile}");
        string where = $"{accelerator} {model} {pooling} {r}";
        double tolerance = o.Pooling == Pooling.Max ? Tolerance.TiledMaxPooling : Tolerance.Tiled;

        using (var tiled = new TiledObjective(net, x, content, targets, o, tile))
        {
            Assert.True(tiled.Tiles.Count >= 6, $"{tiled.Tiles.Count} tiles");
            Assert.Contains(tiled.Tiles, t => t.Y1 - t.Y0 < before);
            tiled.Evaluate();
            Assert.Equal(expected.Content, tiled.Last.Content, expected.Content * Tolerance.Tiled);
            Assert.Equal(expected.Style, tiled.Last.Style, expected.Style * Tolerance.Tiled);
            Assert.Equal(expected.Tv, tiled.Last.Tv, expected.Tv * Tolerance.Tiled);
            foreach (var (layer, gram) in expected.Grams)
                Compare.RelativeL2($"Gram {layer}", gram.Select(v => (double)v).ToArray(), tiled.StyleGrams[layer].ToArray(), Tolerance.Tiled, where);
            Compare.RelativeL2("image gradient", expected.Gradient.Select(v => (double)v).ToArray(), tiled.Gradient.ToArray(), tolerance, where);
        }

        // The negative control: a halo a few pixels short of the reach changes the interior's features (where the cut halo
        // leaves any patch smaller than the image: VGG19's reach to conv5_1 spans this whole image).
        var cutHalo = (Math.Max(0, before - 4), Math.Max(0, after - 4));
        if (TiledObjective.Plan(network, lossLayers, shape.W, shape.H, tile, cutHalo).All(t => t.PatchWidth == shape.W && t.PatchHeight == shape.H)) return;
        using var cut = new TiledObjective(net, x, content, targets, o, tile, cutHalo);
        cut.Evaluate();
        var e = Assert.ThrowsAny<Xunit.Sdk.XunitException>(() =>
            Compare.RelativeL2("image gradient (halo cut)", expected.Gradient.Select(v => (double)v).ToArray(), cut.Gradient.ToArray(), tolerance, where));
        output.WriteLine("halo cut: " + e.Message.Split(';')[0]);
    }

    [Fact]
    public void TheReachComesFromTheTable()
    {
        // VGG19: each 3×3 convolution adds its jump on both sides, each 2×2 pooling one jump after: conv4_2 sees 38 px
        // before its cell, conv5_1 70 (and 85 − 15 after its 16-pixel cell).
        Assert.Equal((1, -1, 1), Vgg19Layers.Description.Reach("conv1_1"));
        Assert.Equal((4, -10, 13), Vgg19Layers.Description.Reach("conv3_1"));
        Assert.Equal((8, -38, 45), Vgg19Layers.Description.Reach("conv4_2"));
        Assert.Equal((16, -70, 85), Vgg19Layers.Description.Reach("conv5_1"));
        // ResNet18's stem: 7×7, stride 2, padding 3.
        Assert.Equal((2, -3, 3), ResNet18Layers.Description.Reach("stem"));
    }
}

/// <summary>A run with --tile: a few L-BFGS iterations end on the image the whole-image run ends on; bad tiles are one line.</summary>
[Collection(DeviceTests.Collection)]
public class TiledRunTests(TransferFixture images, ITestOutputHelper output) : IClassFixture<TransferFixture>
{
    [Fact]
    public void ATiledRunEndsOnTheSameImage()
    {
        string Run(params string[] more)
        {
            string path = images.Output($"tiled-{Guid.NewGuid():N}.png");
            var (code, stdout, stderr) = CliRunner.Run(new[] { "--model", "resnet18", "-c", images.Content, "-s", images.Stripes,
                "--image-size", "80", "--iterations", "3", "--no-plot", "-o", path }.Concat(more).ToArray());
            Assert.True(code == 0, stderr + stdout);
            return path;
        }
        using var whole = SixLabors.ImageSharp.Image.Load<SixLabors.ImageSharp.PixelFormats.Rgb24>(Run());
        using var tiled = SixLabors.ImageSharp.Image.Load<SixLabors.ImageSharp.PixelFormats.Rgb24>(Run("--tile", "32"));
        int worst = 0; long sum = 0;
        for (int y = 0; y < whole.Height; y++)
            for (int x = 0; x < whole.Width; x++)
            {
                var (a, b) = (whole[x, y], tiled[x, y]);
                int d = Math.Max(Math.Abs(a.R - b.R), Math.Max(Math.Abs(a.G - b.G), Math.Abs(a.B - b.B)));
                worst = Math.Max(worst, d); sum += d;
            }
        output.WriteLine($"{whole.Width}×{whole.Height}: worst {worst} grey levels, mean {sum / (double)(whole.Width * whole.Height):F4}");
        Assert.True(worst <= 2, $"the tiled run's image differs by up to {worst} grey levels");
    }

    [Theory]
    [InlineData("24", "--tile must be a positive multiple of 32")]
    [InlineData("0", "--tile must be a positive multiple of 32")]
    public void ABadTileIsOneLine(string tile, string expected)
    {
        var (code, _, stderr) = CliRunner.Run("--model", "resnet18", "-c", images.Content, "-s", images.Stripes, "--tile", tile, "-o", images.Output("never.png"));
        Assert.Equal(1, code);
        Assert.Contains(expected, stderr);
        Assert.False(File.Exists(images.Output("never.png")));
    }
}
