using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Memory;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace IlgpuStyle.Imaging;

/// <summary>An image that cannot be read or written; the message is one line naming the file.</summary>
public sealed class ImageFileException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// An RGB image on the host as floats in [0, 255], row-major, interleaved (y, x, channel).
/// Loads anything ImageSharp decodes (grayscale, alpha, 16-bit, CMYK JPEG become 8-bit RGB; alpha
/// is composited over white; EXIF orientation applied, as viewers show the photo); saves PNG or JPEG by extension, atomically.
/// </summary>
public sealed class RgbImage
{
    /// <summary>Images above this many pixels are refused before decoding (a hostile header cannot make us allocate gigabytes).</summary>
    public const long MaxPixels = 64L * 1024 * 1024;

    public int Width { get; }
    public int Height { get; }
    public float[] Data { get; }

    public RgbImage(int width, int height, float[]? data = null)
    {
        if (width <= 0 || height <= 0) throw new ArgumentException($"image size {width}×{height} is empty");
        Width = width;
        Height = height;
        Data = data ?? new float[(long)width * height * 3];
        if (Data.Length != (long)width * height * 3) throw new ArgumentException($"{Data.Length} values do not fill a {width}×{height} RGB image");
    }

    public float this[int y, int x, int c]
    {
        get => Data[(y * Width + x) * 3 + c];
        set => Data[(y * Width + x) * 3 + c] = value;
    }

    public static RgbImage Load(string path)
    {
        string name = Path.GetFileName(path);
        if (Directory.Exists(path)) throw new ImageFileException($"image '{path}' is a directory, not an image file");
        if (!File.Exists(path)) throw new ImageFileException($"image '{path}' does not exist");
        try
        {
            var info = Image.Identify(path)
                ?? throw new ImageFileException($"image '{name}' is not in a format we read (PNG, JPEG, BMP, GIF, TGA, TIFF, WebP, PBM)");
            if (info.Width <= 0 || info.Height <= 0) throw new ImageFileException($"image '{name}' is empty ({info.Width}×{info.Height})");
            if ((long)info.Width * info.Height > MaxPixels)
                throw new ImageFileException($"image '{name}' declares {info.Width}×{info.Height} pixels, more than the {MaxPixels / (1024 * 1024)} Mpixel limit");
            using var image = Image.Load<Rgba32>(path);
            // A phone's photo is stored as the sensor saw it, with EXIF saying how to turn it (orientations 2–8): turned here,
            // as every viewer shows it.
            image.Mutate(op => op.AutoOrient());
            var result = new RgbImage(image.Width, image.Height);
            image.ProcessPixelRows(rows =>
            {
                for (int y = 0; y < rows.Height; y++)
                {
                    var row = rows.GetRowSpan(y);
                    for (int x = 0; x < row.Length; x++)
                    {
                        var p = row[x];
                        float a = p.A / 255f, white = 255f * (1 - a);
                        int i = (y * result.Width + x) * 3;
                        result.Data[i] = p.R * a + white;
                        result.Data[i + 1] = p.G * a + white;
                        result.Data[i + 2] = p.B * a + white;
                    }
                }
            });
            return result;
        }
        catch (ImageFileException) { throw; }
        catch (UnknownImageFormatException) { throw new ImageFileException($"image '{name}' is not in a format we read (PNG, JPEG, BMP, GIF, TGA, TIFF, WebP, PBM)"); }
        catch (Exception e) when (e is ImageFormatException or InvalidImageContentException or NotSupportedException or IOException
                                     or InvalidOperationException or ArgumentException or OverflowException or IndexOutOfRangeException
                                     or InvalidMemoryOperationException or OutOfMemoryException)
        {
            throw new ImageFileException($"image '{name}' cannot be decoded: {e.Message.Split('\n')[0]}", e);
        }
    }

    /// <summary>Bicubic resize so that the longer side is `longest` pixels (aspect kept).</summary>
    public RgbImage ResizeLongestSide(int longest)
    {
        if (longest <= 0) throw new ArgumentException($"image size {longest} must be positive");
        double s = (double)longest / Math.Max(Width, Height);
        return Resize(Math.Max(1, (int)Math.Round(Width * s)), Math.Max(1, (int)Math.Round(Height * s)));
    }

    public RgbImage Resize(int width, int height)
    {
        if (width == Width && height == Height) return new RgbImage(width, height, (float[])Data.Clone());
        using var image = ToImageSharp();
        image.Mutate(op => op.Resize(width, height, KnownResamplers.Bicubic));
        return FromImageSharp(image);
    }

    Image<Rgb24> ToImageSharp()
    {
        var image = new Image<Rgb24>(Width, Height);
        image.ProcessPixelRows(rows =>
        {
            for (int y = 0; y < rows.Height; y++)
            {
                var row = rows.GetRowSpan(y);
                for (int x = 0; x < row.Length; x++)
                {
                    int i = (y * Width + x) * 3;
                    row[x] = new Rgb24(ToByte(Data[i]), ToByte(Data[i + 1]), ToByte(Data[i + 2]));
                }
            }
        });
        return image;
    }

    static RgbImage FromImageSharp(Image<Rgb24> image)
    {
        var result = new RgbImage(image.Width, image.Height);
        image.ProcessPixelRows(rows =>
        {
            for (int y = 0; y < rows.Height; y++)
            {
                var row = rows.GetRowSpan(y);
                for (int x = 0; x < row.Length; x++)
                {
                    int i = (y * result.Width + x) * 3;
                    result.Data[i] = row[x].R; result.Data[i + 1] = row[x].G; result.Data[i + 2] = row[x].B;
                }
            }
        });
        return result;
    }

    static byte ToByte(float v) => (byte)Math.Clamp((int)MathF.Round(v), 0, 255);

    /// <summary>Writes PNG (or JPEG for .jpg/.jpeg) atomically (<see cref="IO.AtomicFile"/>).</summary>
    public void Save(string path)
    {
        try
        {
            IO.AtomicFile.Write(path, stream =>
            {
                using var image = ToImageSharp();
                if (IsJpeg(path)) image.SaveAsJpeg(stream, new JpegEncoder { Quality = 95 });
                else image.SaveAsPng(stream, new PngEncoder());
            });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageFileException($"cannot write image '{path}': {e.Message}", e);
        }
    }

    public static bool IsJpeg(string path) =>
        path.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".jpeg", StringComparison.OrdinalIgnoreCase);
}
