using IlgpuStyle.Imaging;
using IlgpuStyle.Transfer;

namespace IlgpuStyle.Tests.Transfer;

[Collection(DeviceTests.Collection)]
public class ReliabilityTests(TransferFixture images) : IClassFixture<TransferFixture>
{
    StyleTransferOptions Options(string output) => new StyleTransferOptions
    {
        ContentPath = images.Content, StylePaths = new[] { images.Stripes }, OutputPath = images.Output(output),
        ImageSize = 32, Iterations = 6, WriteLossCurve = false,
    }.ToConv2();

    [Fact]
    public void MemoryEstimateRefusesWhatDoesNotFitAndNamesTheLargestSize()
    {
        var o = Options("big.png") with { ImageSize = 4096 };
        var e = Assert.Throws<ArgumentException>(() => MemoryEstimate.Check(o, 600, 400, 2L << 30, "a 2 GiB device"));
        Assert.Contains("--image-size 4096 needs about", e.Message);
        Assert.Contains("2048 MiB", e.Message);
        var largest = int.Parse(System.Text.RegularExpressions.Regex.Match(e.Message, @"fits is about (\d+)").Groups[1].Value);
        Assert.InRange(largest, 256, 4095);
        MemoryEstimate.Check(o with { ImageSize = largest }, 600, 400, 2L << 30, "a 2 GiB device");   // and that one does fit
        // Larger images need more, and L-BFGS's history costs memory.
        Assert.True(MemoryEstimate.Bytes(o with { ImageSize = 512 }, 512, 341, 512) < MemoryEstimate.Bytes(o, 1024, 683, 1024));
        Assert.True(MemoryEstimate.Bytes(o with { Optimizer = OptimizerKind.Adam }, 512, 512, 512) < MemoryEstimate.Bytes(o, 512, 512, 512));
    }

    /// <summary>
    /// --tile counts the network per patch shape of the run's own tile plan: VGG19 to conv5_1 at 3000×2000 with a 512 px
    /// style image needs less than a third of the whole image's memory with 512-pixel tiles (the patches add the 70 + 85 px
    /// reach), so a size a device refuses whole fits it tiled; a single tile covering the image costs what the whole image
    /// does, or a little more. (The style image still passes whole: its size counts as before.)
    /// </summary>
    [Fact]
    public void TilesLowerTheEstimateAndLetALargerImageFit()
    {
        var o = new StyleTransferOptions { ContentPath = "", StylePaths = Array.Empty<string>(), ImageSize = 3000 };
        var o512 = o with { StyleScale = 512 / 3000.0 };
        long whole = MemoryEstimate.Bytes(o512, 3000, 2000, 512), tiled = MemoryEstimate.Bytes(o512 with { Tile = 512 }, 3000, 2000, 512);
        // The image-sized vectors stay (L-BFGS's history is 40 of them); the network is one patch's.
        Assert.True(tiled < whole / 3, $"tiled {tiled / 1048576} MiB, whole {whole / 1048576} MiB");
        // The device between the two: refused whole (with the hint), taken tiled.
        long device = (long)((tiled + whole) / 2 / 0.9);
        var e = Assert.Throws<ArgumentException>(() => MemoryEstimate.Check(o512, 3000, 2000, device, "a device"));
        Assert.Contains("--tile evaluates the loss in patches and needs less", e.Message);
        MemoryEstimate.Check(o512 with { Tile = 512 }, 3000, 2000, device, "a device");
        // One tile as large as the image: about the whole image's estimate (not less).
        long one = MemoryEstimate.Bytes(o with { Tile = 3008, ImageSize = 512 }, 512, 384, 512), plain = MemoryEstimate.Bytes(o with { ImageSize = 512 }, 512, 384, 512);
        Assert.InRange(one, plain, plain * 11 / 10);
    }

    /// <summary>
    /// The estimate follows the network's table: ResNet18's is below VGG19's at the same size (a quarter of the channels
    /// at each resolution but the first), a shallower deepest layer needs less, and its largest buffer is the stem's
    /// stride-1 output, 64 × H × W, that the stride-2 route writes (ResNet18 reaches the 2³¹ index limit there, not at
    /// VGG19's 64 × (H + 2) × (W + 2)).
    /// </summary>
    [Fact]
    public void EstimateFollowsTheNetwork()
    {
        var vgg = new StyleTransferOptions { ContentPath = "", StylePaths = Array.Empty<string>() };
        var resnet = vgg with { Network = IlgpuStyle.Model.ResNet18Layers.Description };
        Assert.True(MemoryEstimate.Bytes(resnet, 512, 512, 512) < MemoryEstimate.Bytes(vgg, 512, 512, 512));
        Assert.True(MemoryEstimate.Bytes(resnet with { ContentLayers = new[] { "stem" }, StyleLayers = new[] { "stem" } }, 512, 512, 512)
                    < MemoryEstimate.Bytes(resnet, 512, 512, 512));
        Assert.Equal(64L * 512 * 512 + 64, MemoryEstimate.LargestTensorElements(resnet.Network, resnet.DeepestLayer, 512, 384, 512));
        Assert.Equal(64L * 514 * 514 + 64, MemoryEstimate.LargestTensorElements(vgg.Network, vgg.DeepestLayer, 512, 384, 512));
    }

    /// <summary>
    /// Sizes the kernels cannot index (a buffer of 2³¹ elements or more, with 32-bit offsets) are refused with one line
    /// before anything is allocated, even on a device with memory to spare; the size just below the boundary passes.
    /// </summary>
    [Fact]
    public void SizesBeyondWhatTheKernelsIndexAreRefusedBeforeAllocating()
    {
        const long huge = 1L << 50;   // a device with a petabyte: only the index limit can refuse
        // Square content: VGG19's largest buffer is conv1's padded input gradient, 64·(s+2)² + 64 elements, and it must stay
        // within 2³¹ − 1: s ≤ √((2³¹ − 1 − 64)/64) − 2.
        int boundary = Enumerable.Range(5000, 1500).Last(s => MemoryEstimate.LargestTensorElements(s, s, s) <= MemoryEstimate.MaxTensorElements);
        Assert.Equal((int)Math.Floor(Math.Sqrt((int.MaxValue - 64) / 64.0)) - 2, boundary);
        var o = Options("huge.png");
        MemoryEstimate.Check(o with { ImageSize = boundary }, 600, 600, huge, "a huge device");
        var e = Assert.Throws<ArgumentException>(() => MemoryEstimate.Check(o with { ImageSize = boundary + 1 }, 600, 600, huge, "a huge device"));
        Assert.Contains($"--image-size {boundary + 1} makes a buffer of", e.Message);
        Assert.Contains($"the largest --image-size for this image is about {boundary}", e.Message);
        // A larger style scale reaches it sooner (style images are counted as squares of their longest side).
        Assert.Throws<ArgumentException>(() => MemoryEstimate.Check(o with { ImageSize = 4000, StyleScale = 1.5 }, 800, 400, huge, "a huge device"));
        // The same line through the command line, before any device memory is touched.
        var (code, _, stderr) = CliRunner.Run("--model", "vgg19", "--content", images.Content, "--style", images.Stripes, "--image-size", "6000", "--output", images.Output("huge.png"));
        Assert.Equal(1, code);
        Assert.Contains("beyond the 2^31 - 1 the kernels can index", stderr);
    }

    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void NonFiniteLossStopsAndKeepsTheLastGoodImage(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        var o = Options($"nan_{accelerator.Kind}.png") with { Optimizer = OptimizerKind.Adam, LearningRate = 1e30, StyleWeight = 1e30 };
        var e = Assert.Throws<NonFiniteLossException>(() => StyleTransfer.Run(o, d));
        Assert.Contains("at iteration", e.Message);
        Assert.Contains("--learning-rate", e.Message);
        var written = RgbImage.Load(o.OutputPath);
        Assert.All(written.Data, v => Assert.True(float.IsFinite(v)));
    }

    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void ResumedRunGivesTheSameImageAsAnUninterruptedOne(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        foreach (var optimizer in new[] { OptimizerKind.Lbfgs, OptimizerKind.Adam })
        {
            string tag = $"{optimizer}_{accelerator.Kind}";
            var whole = Options($"whole_{tag}.png") with { Optimizer = optimizer, Iterations = 4, Init = InitKind.Random, Seed = 5 };
            StyleTransfer.Run(whole, d);

            var first = whole with { OutputPath = images.Output($"part_{tag}.png"), Iterations = 2, CheckpointEvery = 2 };
            var part = StyleTransfer.Run(first, d);
            string checkpoint = Checkpoint.PathFor(first);
            Assert.Contains(checkpoint, part.WrittenFiles);

            var resumed = first with { Iterations = 4, CheckpointEvery = 0, ResumePath = checkpoint, LogPath = images.Output($"resumed_{tag}.csv") };
            var result = StyleTransfer.Run(resumed, d);
            Assert.Equal(4, result.Iterations);
            Assert.Equal(RgbImage.Load(whole.OutputPath).Data, RgbImage.Load(resumed.OutputPath).Data);
            Assert.Equal(5, File.ReadAllLines(resumed.LogPath!).Length);   // header + all four iterations

            // Other options: refused with one clear message.
            var e = Assert.Throws<ArgumentException>(() => StyleTransfer.Run(resumed with { Seed = 6 }, d));
            Assert.Contains("other options", e.Message);
        }
    }
}
