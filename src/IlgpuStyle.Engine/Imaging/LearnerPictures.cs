using IlgpuStyle.Autodiff;
using IlgpuStyle.IO;
using IlgpuStyle.Tensors;
using IlgpuStyle.Transfer;
using SkiaSharp;

namespace IlgpuStyle.Imaging;

/// <summary>
/// Pictures of one evaluation of the style-transfer objective, for people learning what the network computes:
/// the image's gradient ∂L/∂x, a grid of feature maps per loss layer, each style layer's Gram matrix G beside its
/// target A (and G − A, which is what the style loss's gradient carries back), and the tape itself. Drawn with
/// SkiaSharp in the shipped font: PNG files (the tape also as SVG), nothing to install.
/// </summary>
public static class LearnerPictures
{
    /// <summary>Feature maps shown per layer: the first channels, in channel order (the Gram matrix's rows).</summary>
    public const int FeatureChannels = 64;

    const int Pad = 10, Caption = 20;

    /// <summary>Writes every picture of the objective's last evaluation into <paramref name="dir"/>; returns the paths written.</summary>
    public static IReadOnlyList<string> Write(string dir, StyleObjective objective)
    {
        Directory.CreateDirectory(dir);
        var written = new List<string>();
        void Save(string name, byte[] bytes)
        {
            string path = Path.Combine(dir, name);
            AtomicFile.Write(path, s => s.Write(bytes));
            written.Add(path);
        }
        Save("gradient.png", Gradient(objective.X, objective.Gradient));
        foreach (var (layer, features) in objective.LossFeatures)
            Save($"features_{layer}.png", Features(layer, features));
        var grams = objective.StyleGrams;
        bool regions = grams.Select(g => g.Region).Distinct().Count() > 1;
        foreach (var (layer, region, gram, target) in grams)
            Save(regions ? $"gram_{layer}_region{region + 1}.png" : $"gram_{layer}.png",
                Gram(regions ? $"{layer}, region {region + 1}" : layer, gram, target));
        var (png, svg) = TapePicture.Render(objective.Tape, objective.X);
        Save("tape.png", png);
        Save("tape.svg", svg);
        return written;
    }

    // ------------------------------------------------------------------ ∂L/∂x

    /// <summary>
    /// Three panels: the image evaluated; ∂L/∂x per colour channel (grey is 0, brighter where increasing the channel
    /// raises the loss); and ‖∂L/∂x‖ per pixel. Both gradient panels are scaled to the 99.5th percentile, so that a few
    /// extreme pixels do not hide the rest.
    /// </summary>
    public static byte[] Gradient(Tensor x, Tensor gradient)
    {
        int w = x.Shape.W, h = x.Shape.H, plane = w * h;
        var image = Preprocessing.FromNetwork(x.ToArray(), w, h);
        var g = gradient.ToArray();
        float signedScale = Percentile(g.Select(MathF.Abs), 0.995f);
        var magnitude = new float[plane];
        for (int p = 0; p < plane; p++)
            magnitude[p] = MathF.Sqrt(g[p] * g[p] + g[plane + p] * g[plane + p] + g[2 * plane + p] * g[2 * plane + p]);
        float magnitudeScale = Percentile(magnitude, 0.995f);
        var signed = new byte[plane * 3];
        var heat = new byte[plane * 3];
        for (int p = 0; p < plane; p++)
        {
            for (int c = 0; c < 3; c++)   // the network's channels are B, G, R
                signed[3 * p + (2 - c)] = Byte(0.5f + 0.5f * g[c * plane + p] / signedScale);
            Viridis(magnitude[p] / magnitudeScale, heat, 3 * p);
        }
        var pixels = new byte[plane * 3];
        for (int p = 0; p < plane; p++)
            for (int c = 0; c < 3; c++) pixels[3 * p + c] = Byte(image.Data[3 * p + c] / 255f);
        return Panels($"One evaluation at {w}×{h}: the image x, ∂L/∂x per channel (grey = 0), ‖∂L/∂x‖ per pixel",
            new[] { ("x", pixels), ("∂L/∂x", signed), ("‖∂L/∂x‖", heat) }, w, h);
    }

    // ------------------------------------------------------------------ feature maps

    /// <summary>The first <see cref="FeatureChannels"/> channels of a layer's features, each scaled to its own maximum (viridis).</summary>
    public static byte[] Features(string layer, Tensor features)
    {
        var (c, h, w) = (features.Shape.C, features.Shape.H, features.Shape.W);
        var f = features.ToArray();
        int shown = Math.Min(c, FeatureChannels), columns = Math.Min(8, shown), rows = (shown + columns - 1) / columns;
        int zoom = Math.Max(1, (int)Math.Ceiling(48.0 / Math.Max(h, w)));
        int tileW = w * zoom, tileH = h * zoom, gap = 2;
        int width = Math.Max(Pad * 2 + columns * (tileW + gap), 420), height = Caption + Pad * 2 + rows * (tileH + gap);
        using var bitmap = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(SKColors.White);
        int silent = 0;
        for (int ch = 0; ch < shown; ch++)
        {
            var span = new ReadOnlySpan<float>(f, ch * h * w, h * w);
            float max = 0;
            foreach (var v in span) max = MathF.Max(max, v);
            if (max <= 0) silent++;
            var rgb = new byte[h * w * 3];
            for (int p = 0; p < h * w; p++) Viridis(max > 0 ? span[p] / max : 0, rgb, 3 * p);
            using var tile = ToBitmap(rgb, w, h);
            int x0 = Pad + ch % columns * (tileW + gap), y0 = Caption + Pad + ch / columns * (tileH + gap);
            DrawNearest(canvas, tile, new SKRect(x0, y0, x0 + tileW, y0 + tileH));
        }
        Text(canvas, $"{layer}: channels 0–{shown - 1} of {c}, {w}×{h} each, each scaled to its maximum" +
                     (silent > 0 ? $" ({silent} all zero)" : ""), Pad, 15);
        return Encode(bitmap);
    }

    // ------------------------------------------------------------------ Gram matrices

    /// <summary>
    /// G (this image), A (the target) and G − A as C×C heat maps. G and A share one colour scale (viridis on √value, so
    /// that the off-diagonal correlations show beside the large diagonal); G − A is blue below 0, red above (also on √|value|).
    /// </summary>
    public static byte[] Gram(string label, Tensor gram, Tensor target)
    {
        var g = gram.ToArray();
        var a = target.ToArray();
        int c = (int)Math.Round(Math.Sqrt(g.Length));
        float max = MathF.Max(g.Max(MathF.Abs), a.Max(MathF.Abs));
        float diffMax = g.Zip(a, (p, q) => MathF.Abs(p - q)).Max();
        byte[] Heat(float[] m)
        {
            var rgb = new byte[m.Length * 3];
            for (int i = 0; i < m.Length; i++) Viridis(max > 0 ? MathF.Sqrt(MathF.Max(0, m[i]) / max) : 0, rgb, 3 * i);
            return rgb;
        }
        var diff = new byte[g.Length * 3];
        for (int i = 0; i < g.Length; i++)
            Diverging(diffMax > 0 ? MathF.Sign(g[i] - a[i]) * MathF.Sqrt(MathF.Abs(g[i] - a[i]) / diffMax) : 0, diff, 3 * i);
        int zoom = Math.Max(1, (int)Math.Ceiling(192.0 / c));
        double loss = 0.25 * g.Zip(a, (p, q) => (double)(p - q) * (p - q)).Sum();
        return Panels($"{label}: G = FFᵀ/(C·H·W) of this image, A of the style, G − A ({c}×{c}; ¼Σ(G−A)² = {loss:G4}, before the layer's weight)",
            new[] { ("G", Heat(g)), ("A", Heat(a)), ($"G − A (±{diffMax:G3})", diff) }, c, c, zoom);
    }

    // ------------------------------------------------------------------ drawing

    /// <summary>Panels of equal size side by side, each with its name under it, and a caption above.</summary>
    static byte[] Panels(string caption, IReadOnlyList<(string Name, byte[] Rgb)> panels, int w, int h, int zoom = 0)
    {
        if (zoom == 0) zoom = Math.Max(1, (int)Math.Ceiling(256.0 / Math.Max(w, h)));
        int pw = w * zoom, ph = h * zoom;
        using var font = new SKFont(EmbeddedFont.Typeface, 13);
        int captionWidth = (int)font.MeasureText(caption) + 2 * Pad;
        int width = Math.Max(Pad + panels.Count * (pw + Pad), captionWidth), height = Caption + Pad + ph + Caption + Pad / 2;
        using var bitmap = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(SKColors.White);
        Text(canvas, caption, Pad, 15);
        for (int i = 0; i < panels.Count; i++)
        {
            using var panel = ToBitmap(panels[i].Rgb, w, h);
            int x0 = Pad + i * (pw + Pad);
            DrawNearest(canvas, panel, new SKRect(x0, Caption + Pad, x0 + pw, Caption + Pad + ph));
            Text(canvas, panels[i].Name, x0 + pw / 2f, Caption + Pad + ph + 15, SKTextAlign.Center);
        }
        return Encode(bitmap);
    }

    internal static void Text(SKCanvas canvas, string text, float x, float y, SKTextAlign align = SKTextAlign.Left, float size = 13, SKColor? color = null)
    {
        using var font = new SKFont(EmbeddedFont.Typeface, size);
        using var ink = new SKPaint { Color = color ?? new SKColor(40, 40, 40), IsAntialias = true };
        canvas.DrawText(text, x, y, align, font, ink);
    }

    /// <summary>Enlarged with each pixel a square (no smoothing: a feature map's cells stay visible).</summary>
    static void DrawNearest(SKCanvas canvas, SKBitmap bitmap, SKRect to)
    {
        using var image = SKImage.FromBitmap(bitmap);
        canvas.DrawImage(image, to, new SKSamplingOptions(SKFilterMode.Nearest, SKMipmapMode.None));
    }

    static SKBitmap ToBitmap(byte[] rgb, int w, int h)
    {
        var bitmap = new SKBitmap(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque);
        var pixels = new byte[w * h * 4];
        for (int p = 0; p < w * h; p++)
        {
            (pixels[4 * p], pixels[4 * p + 1], pixels[4 * p + 2], pixels[4 * p + 3]) = (rgb[3 * p], rgb[3 * p + 1], rgb[3 * p + 2], 255);
        }
        System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
        return bitmap;
    }

    static byte[] Encode(SKBitmap bitmap)
    {
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    static byte Byte(float v) => (byte)Math.Clamp(MathF.Round(v * 255f), 0, 255);

    static readonly ScottPlot.IColormap viridis = new ScottPlot.Colormaps.Viridis();

    static void Viridis(float t, byte[] rgb, int at)
    {
        var color = viridis.GetColor(Math.Clamp(t, 0, 1));
        (rgb[at], rgb[at + 1], rgb[at + 2]) = (color.R, color.G, color.B);
    }

    /// <summary>−1 blue, 0 white, +1 red.</summary>
    static void Diverging(float t, byte[] rgb, int at)
    {
        t = Math.Clamp(t, -1, 1);
        float fade = 1 - MathF.Abs(t);
        (rgb[at], rgb[at + 1], rgb[at + 2]) = t >= 0 ? ((byte)255, Byte(fade), Byte(fade)) : (Byte(fade), Byte(fade), (byte)255);
    }

    /// <summary>The q-quantile of the values (above 0: a floor that keeps an all-zero gradient from dividing by 0).</summary>
    static float Percentile(IEnumerable<float> values, float q)
    {
        var sorted = values.Where(float.IsFinite).Order().ToArray();
        if (sorted.Length == 0) return 1;
        float v = sorted[Math.Min(sorted.Length - 1, (int)(q * (sorted.Length - 1)))];
        return v > 0 ? v : MathF.Max(sorted[^1], 1e-30f);
    }
}
