using IlgpuStyle.Imaging;

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
