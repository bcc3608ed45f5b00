using System.Security.Cryptography;
using IlgpuStyle.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace IlgpuStyle.Tests.Tools;

/// <summary>
/// The loss plot and the contact sheet: drawn with the font shipped in the engine (the suite runs inside the PoCL
/// root, which has no font installed, so text that draws here came from it), legend colours present, and the same
/// bytes every time. The SHA-256 is printed so that renderings on two machines can be compared.
/// </summary>
public class PlotTests(ITestOutputHelper output)
{
    static readonly List<LossPoint> Losses = Enumerable.Range(1, 30)
        .Select(i => new LossPoint(i, 2e6 * Math.Exp(-0.05 * i), 3e8 * Math.Exp(-0.15 * i) + (i > 20 ? 4e7 : 0), 1e4 + 200 * i, 0))
        .Select(l => l with { Total = l.Content + l.Style + l.Tv }).ToList();
    static readonly List<ScaleStart> Scales = new() { new(1, 128, 96), new(21, 256, 192) };

    static Image<Rgb24> Decode(byte[] png) => Image.Load<Rgb24>(png);

    static int Count(Image<Rgb24> image, int x0, int y0, int x1, int y1, Func<Rgb24, bool> test)
    {
        int n = 0;
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++)
                if (test(image[x, y])) n++;
        return n;
    }

    static bool Dark(Rgb24 p) => p.R < 100 && p.G < 100 && p.B < 100;

    [Fact]
    public void LossPlotHasTitleTicksAndLegendInTheShippedFont()
    {
        Assert.Equal("DejaVu Sans", EmbeddedFont.Typeface.FamilyName);
        byte[] png = LossCurve.Render(Losses, Scales, "L-BFGS");
        output.WriteLine($"loss plot: {png.Length} bytes, SHA-256 {Convert.ToHexString(SHA256.HashData(png))}");
        Assert.Equal(png, LossCurve.Render(Losses, Scales, "L-BFGS"));
        using var image = Decode(png);
        Assert.Equal((800, 450), (image.Width, image.Height));
        // The title's glyphs fill rows 8–22 above the data area. Without a font ScottPlot lays out no text and the data
        // area's frame moves up to row 25: nothing dark is left in these rows (seen with the shipped font taken away).
        int title = Count(image, 100, 0, 700, 21, Dark);
        output.WriteLine($"dark pixels in the title band: {title}");
        Assert.True(title > 200, $"only {title} dark pixels where the title should be");
        // The y axis's labels are decades.
        Assert.Equal(new[] { "0.01", "1", "1,000,000", "1e7", "1e-4" }, new[] { -2, 0, 6, 7, -4 }.Select(k => LossCurve.Decade(k)));
        // An axis whose decades leave the written-out range writes all of them as 1e{k}, never a mix.
        Assert.Equal(new[] { "1e4", "1e6", "1e7" }, new[] { 4, 6, 7 }.Select(k => LossCurve.Decade(k, written: false)));
        Assert.False(LossCurve.WritesOut(4, 7));
        Assert.True(LossCurve.WritesOut(-2, 6));
        // Each series' colour appears (its line and its legend entry); TV is drawn as well.
        foreach (var (name, r, g, b) in new[] { ("content", 40, 80, 220), ("style", 220, 40, 40), ("TV", 40, 160, 60) })
            Assert.True(Count(image, 0, 0, image.Width, image.Height, p => Math.Abs(p.R - r) < 30 && Math.Abs(p.G - g) < 30 && Math.Abs(p.B - b) < 30) > 50,
                $"no {name} line");
    }

    [Fact]
    public void LossPlotWithoutScalesOrWithZeroTermsStillDraws()
    {
        // A one-scale Adam run with TV off: the zero term is left out of the log plot, not drawn at -infinity.
        var losses = Losses.Select(l => l with { Tv = 0 }).ToList();
        using var image = Decode(LossCurve.Render(losses, new List<ScaleStart> { new(1, 64, 64) }, "Adam"));
        Assert.Equal(0, Count(image, 0, 0, image.Width, image.Height, p => Math.Abs(p.R - 40) < 30 && Math.Abs(p.G - 160) < 30 && Math.Abs(p.B - 60) < 30));
    }

    [Fact]
    public void ContactSheetPlacesEachImageInItsCellWithItsLabel()
    {
        var colours = new[] { (255f, 0f, 0f), (0f, 255f, 0f), (0f, 0f, 255f), (255f, 255f, 0f), (0f, 255f, 255f), (255f, 0f, 255f), (128f, 128f, 128f) };
        // 7 frames of 40×20 (the last, the result, gives the cells their shape): 4 columns, 2 rows, cells of 320×160.
        var frames = colours.Select((c, i) => ($"frame {i}", Solid(40, 20, c))).ToList();
        byte[] png = ContactSheet.Render(frames);
        output.WriteLine($"contact sheet: {png.Length} bytes, SHA-256 {Convert.ToHexString(SHA256.HashData(png))}");
        using var image = Decode(png);
        const int pad = 8, label = 22, cellW = ContactSheet.Cell, cellH = ContactSheet.Cell / 2;
        const int columns = ContactSheet.Columns;
        Assert.Equal((4, 320), (columns, cellW));   // cells large enough to tell steps apart
        Assert.Equal((pad + columns * (cellW + pad), pad + 2 * (cellH + label + pad)), (image.Width, image.Height));
        for (int i = 0; i < frames.Count; i++)
        {
            int x0 = pad + i % columns * (cellW + pad), y0 = pad + i / columns * (cellH + label + pad);
            var centre = image[x0 + cellW / 2, y0 + cellH / 2];
            var (r, g, b) = colours[i];
            Assert.True((centre.R, centre.G, centre.B) == ((byte)r, (byte)g, (byte)b), $"frame {i}: centre of its cell is {centre}, not {colours[i]}");
            int text = Count(image, x0, y0 + cellH, x0 + cellW, y0 + cellH + label, Dark);
            Assert.True(text > 20, $"frame {i}: no label under its cell ({text} dark pixels)");
        }
    }

    static RgbImage Solid(int w, int h, (float R, float G, float B) c)
    {
        var image = new RgbImage(w, h);
        for (int p = 0; p < w * h; p++) (image.Data[3 * p], image.Data[3 * p + 1], image.Data[3 * p + 2]) = c;
        return image;
    }
}
