using IlgpuStyle.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Metadata.Profiles.Exif;
using SixLabors.ImageSharp.PixelFormats;

namespace IlgpuStyle.Tests.Transfer;

/// <summary>
/// A phone photo is stored as the sensor saw it, with an EXIF Orientation tag saying how a viewer turns it. A 64×32 JPEG
/// with a red 16×16 block at its stored top-left corner, written with each of the 8 orientations: loaded, it has the
/// size and the block's corner the EXIF specification gives for that orientation (as a viewer shows it).
/// </summary>
public class ExifOrientationTests(ITestOutputHelper output)
{
    /// <summary>Orientation → (width, height) shown, and the corner the stored top-left shows at.</summary>
    public static TheoryData<int, int, int, string> Cases => new()
    {
        { 1, 64, 32, "top-left" }, { 2, 64, 32, "top-right" }, { 3, 64, 32, "bottom-right" }, { 4, 64, 32, "bottom-left" },
        { 5, 32, 64, "top-left" }, { 6, 32, 64, "top-right" }, { 7, 32, 64, "bottom-right" }, { 8, 32, 64, "bottom-left" },
    };

    [Theory, MemberData(nameof(Cases))]
    public void PhotosAreTurnedAsViewersShowThem(int orientation, int width, int height, string corner)
    {
        string path = Path.Combine(Path.GetTempPath(), $"ilgpustyle-exif-{orientation}-{Guid.NewGuid():N}.jpg");
        try
        {
            using (var image = new Image<Rgb24>(64, 32, new Rgb24(20, 40, 220)))
            {
                for (int y = 0; y < 16; y++)
                    for (int x = 0; x < 16; x++)
                        image[x, y] = new Rgb24(230, 20, 20);
                image.Metadata.ExifProfile = new ExifProfile();
                image.Metadata.ExifProfile.SetValue(ExifTag.Orientation, (ushort)orientation);
                image.SaveAsJpeg(path, new JpegEncoder { Quality = 95 });
            }
            var loaded = RgbImage.Load(path);
            Assert.Equal((width, height), (loaded.Width, loaded.Height));
            bool Red(int x, int y) => loaded[y, x, 0] > 150 && loaded[y, x, 2] < 100;
            var corners = new Dictionary<string, (int X, int Y)>
            {
                ["top-left"] = (4, 4), ["top-right"] = (width - 5, 4), ["bottom-left"] = (4, height - 5), ["bottom-right"] = (width - 5, height - 5),
            };
            var red = corners.Where(c => Red(c.Value.X, c.Value.Y)).Select(c => c.Key).ToList();
            output.WriteLine($"orientation {orientation}: {loaded.Width}×{loaded.Height}, red at {string.Join(", ", red)}");
            Assert.Equal(new[] { corner }, red);
        }
        finally { File.Delete(path); }
    }
}
