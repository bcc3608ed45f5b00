using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace IlgpuStyle.Imaging;

/// <summary>A small picture of the loss per iteration (log scale): total in black, content in blue, style in red, TV in green.</summary>
public static class LossCurve
{
    public static void Save(string path, IReadOnlyList<(double Content, double Style, double Tv, double Total)> losses, int width = 640, int height = 360)
    {
        var image = new RgbImage(width, height);
        Array.Fill(image.Data, 255f);
        const int margin = 24;
        void Line(int x0, int y0, int x1, int y1, (float R, float G, float B) c)
        {
            int dx = Math.Abs(x1 - x0), dy = -Math.Abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
            while (true)
            {
                if (x0 >= 0 && x0 < width && y0 >= 0 && y0 < height) { image[y0, x0, 0] = c.R; image[y0, x0, 1] = c.G; image[y0, x0, 2] = c.B; }
                if (x0 == x1 && y0 == y1) break;
                int e2 = 2 * err;
                if (e2 >= dy) { err += dy; x0 += sx; }
                if (e2 <= dx) { err += dx; y0 += sy; }
            }
        }
        var gray = (160f, 160f, 160f);
        Line(margin, height - margin, width - margin, height - margin, gray);
        Line(margin, margin, margin, height - margin, gray);
        if (losses.Count >= 2)
        {
            var series = new (Func<(double Content, double Style, double Tv, double Total), double> Get, (float, float, float) Color)[]
            {
                (l => l.Content, (40f, 80f, 220f)), (l => l.Style, (220f, 40f, 40f)), (l => l.Tv, (40f, 160f, 60f)), (l => l.Total, (0f, 0f, 0f)),
            };
            var all = losses.SelectMany(l => new[] { l.Content, l.Style, l.Tv, l.Total }).Where(v => v > 0 && double.IsFinite(v)).ToList();
            if (all.Count > 0)
            {
                double lo = Math.Log10(all.Min()), hi = Math.Log10(all.Max());
                if (hi - lo < 1e-9) hi = lo + 1;
                int X(int i) => margin + (int)((double)i / (losses.Count - 1) * (width - 2 * margin));
                int Y(double v) => height - margin - (int)((Math.Log10(v) - lo) / (hi - lo) * (height - 2 * margin));
                foreach (var (get, color) in series)
                    for (int i = 1; i < losses.Count; i++)
                    {
                        double a = get(losses[i - 1]), b = get(losses[i]);
                        if (a > 0 && b > 0 && double.IsFinite(a) && double.IsFinite(b)) Line(X(i - 1), Y(a), X(i), Y(b), color);
                    }
            }
        }
        image.Save(path);
    }
}
