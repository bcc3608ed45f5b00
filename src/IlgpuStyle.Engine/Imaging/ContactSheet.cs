using IlgpuStyle.IO;
using SkiaSharp;

namespace IlgpuStyle.Imaging;

/// <summary>
/// The images a run saved with --save-every, and its result, side by side in rows of up to
/// <see cref="Columns"/>, each labelled (scale, iteration) in the shipped font: how the image
/// developed, in one file. Drawn with SkiaSharp; a cell's longer side is <see cref="Cell"/> pixels.
/// </summary>
public static class ContactSheet
{
    public const int Columns = 4;
    public const int Cell = 320;
    const int Label = 22, Pad = 8;

    public static void Save(string path, IReadOnlyList<(string Label, RgbImage Image)> frames) =>
        AtomicFile.Write(path, stream => stream.Write(Render(frames)));

    public static byte[] Render(IReadOnlyList<(string Label, RgbImage Image)> frames)
    {
        if (frames.Count == 0) throw new ArgumentException("a contact sheet needs at least one image");
        // Cells take the shape of the last image (the result); every image is scaled to fill its cell's
        // longer side, smaller scales of a coarse-to-fine run are enlarged to the same size.
        var shape = frames[^1].Image;
        int cellW = shape.Width >= shape.Height ? Cell : Math.Max(1, Cell * shape.Width / shape.Height);
        int cellH = shape.Width >= shape.Height ? Math.Max(1, Cell * shape.Height / shape.Width) : Cell;
        int columns = Math.Min(Columns, frames.Count), rows = (frames.Count + columns - 1) / columns;
        int width = Pad + columns * (cellW + Pad), height = Pad + rows * (cellH + Label + Pad);
        using var surface = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var canvas = new SKCanvas(surface);
        canvas.Clear(SKColors.White);
        using var font = new SKFont(EmbeddedFont.Typeface, 13);
        using var ink = new SKPaint { Color = new SKColor(40, 40, 40), IsAntialias = true };
        for (int i = 0; i < frames.Count; i++)
        {
            var (label, image) = frames[i];
            double s = Math.Min((double)cellW / image.Width, (double)cellH / image.Height);
            int w = Math.Max(1, (int)Math.Round(image.Width * s)), h = Math.Max(1, (int)Math.Round(image.Height * s));
            using var bitmap = ToBitmap(image.Width == w && image.Height == h ? image : image.Resize(w, h));
            int x0 = Pad + i % columns * (cellW + Pad), y0 = Pad + i / columns * (cellH + Label + Pad);
            canvas.DrawBitmap(bitmap, x0 + (cellW - w) / 2, y0 + (cellH - h) / 2);
            canvas.DrawText(label, x0 + cellW / 2f, y0 + cellH + 16, SKTextAlign.Center, font, ink);
        }
        using var encoded = SKImage.FromBitmap(surface).Encode(SKEncodedImageFormat.Png, 100);
        return encoded.ToArray();
    }

    static SKBitmap ToBitmap(RgbImage image)
    {
        var bitmap = new SKBitmap(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        var pixels = new byte[image.Width * image.Height * 4];
        for (int p = 0; p < image.Width * image.Height; p++)
        {
            for (int c = 0; c < 3; c++) pixels[4 * p + c] = (byte)Math.Clamp(MathF.Round(image.Data[3 * p + c]), 0, 255);
            pixels[4 * p + 3] = 255;
        }
        System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
        return bitmap;
    }
}
