using IlgpuStyle.Imaging;
using IlgpuStyle.Transfer;

namespace IlgpuStyle.Tests.Transfer;

/// <summary>Small synthetic images in a temporary folder: a content picture (shapes on a gradient) and two styles (stripes, dots).</summary>
public sealed class TransferFixture : IDisposable
{
    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "ilgpustyle-transfer-" + Guid.NewGuid().ToString("N")[..8]);
    public string Content => Path.Combine(Directory, "content.png");
    public string Stripes => Path.Combine(Directory, "stripes.png");
    public string Dots => Path.Combine(Directory, "dots.png");

    public TransferFixture()
    {
        System.IO.Directory.CreateDirectory(Directory);
        Draw(48, 40, (x, y) => (x - 24) * (x - 24) + (y - 20) * (y - 20) < 120 ? (230f, 60f, 40f) : (40f + 3 * x, 90f + 2 * y, 160f)).Save(Content);
        Draw(40, 40, (x, y) => (x + y) / 4 % 2 == 0 ? (250f, 220f, 40f) : (20f, 40f, 120f)).Save(Stripes);
        Draw(40, 40, (x, y) => (x % 8 - 4) * (x % 8 - 4) + (y % 8 - 4) * (y % 8 - 4) < 6 ? (255f, 255f, 255f) : (30f, 120f, 60f)).Save(Dots);
    }

    static RgbImage Draw(int w, int h, Func<int, int, (float R, float G, float B)> color)
    {
        var image = new RgbImage(w, h);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                var (r, g, b) = color(x, y);
                image[y, x, 0] = r; image[y, x, 1] = g; image[y, x, 2] = b;
            }
        return image;
    }

    public string Output(string name) => Path.Combine(Directory, name);

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, true); } catch (IOException) { }
    }
}

/// <summary>Keeps what a run reports.</summary>
public sealed class Recorder : ITransferListener
{
    public List<TransferProgress> Steps { get; } = new();
    public List<string> Warnings { get; } = new();
    public void Progress(TransferProgress p) => Steps.Add(p);
    public void Warning(string message) => Warnings.Add(message);
}

public static class Chroma
{
    /// <summary>
    /// The largest |ΔI|, |ΔQ| (YIQ) between an output and the content at the output's size, over the pixels
    /// where no channel of the output is clipped to 0 or 255 (clipping had to change the colour there).
    /// </summary>
    public static (double Worst, double Mean, int InGamut) Difference(RgbImage output, string contentPath)
    {
        var content = RgbImage.Load(contentPath).Resize(output.Width, output.Height);
        double worst = 0, sum = 0;
        int inGamut = 0;
        for (int p = 0; p < output.Data.Length; p += 3)
        {
            if (Enumerable.Range(0, 3).Any(c => output.Data[p + c] <= 0 || output.Data[p + c] >= 255)) continue;
            var (_, i1, q1) = ColorSpace.ToYiq(output.Data[p], output.Data[p + 1], output.Data[p + 2]);
            var (_, i2, q2) = ColorSpace.ToYiq(content.Data[p], content.Data[p + 1], content.Data[p + 2]);
            double d = Math.Max(Math.Abs(i1 - i2), Math.Abs(q1 - q2));
            worst = Math.Max(worst, d); sum += d; inGamut++;
        }
        return (worst, inGamut > 0 ? sum / inGamut : 0, inGamut);
    }
}

/// <summary>
/// VGG19 cut short for tests of the transfer loop's own properties (seed, blend, cancellation, resume, keep-best, NaN
/// guard, masks, colour): the loop does the same whatever the depth, and a network that stops at conv2_1 or conv3_1
/// costs a small part of the whole one. LossFallsWithLbfgsAndAdam runs the full depth once per optimizer and accelerator.
/// </summary>
public static class ShortNetwork
{
    /// <summary>Content and style at conv2_1 (style also conv1_1): the network stops after one pooling.</summary>
    public static StyleTransferOptions ToConv2(this StyleTransferOptions o) =>
        o with { ContentLayers = new[] { "conv2_1" }, StyleLayers = new[] { "conv1_1", "conv2_1" }, StyleSplitLayer = "conv2_1" };

    /// <summary>Content at conv3_1, style at conv1_1, conv2_1, conv3_1 (the default split, conv3_1, still leaves fine layers).</summary>
    public static StyleTransferOptions ToConv3(this StyleTransferOptions o) =>
        o with { ContentLayers = new[] { "conv3_1" }, StyleLayers = new[] { "conv1_1", "conv2_1", "conv3_1" } };

    /// <summary>The same for the command line (VGG19 named: without a weights file the default network is ResNet18).</summary>
    public const string Conv2Arguments = "--model vgg19 --content-layers conv2_1 --style-layers conv1_1,conv2_1";
}
