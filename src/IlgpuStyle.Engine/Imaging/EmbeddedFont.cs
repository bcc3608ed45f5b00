using ScottPlot;
using SkiaSharp;

namespace IlgpuStyle.Imaging;

/// <summary>
/// DejaVu Sans (Bitstream Vera licence, Fonts/DejaVuSans-LICENSE.txt), carried inside this assembly
/// and handed to ScottPlot and SkiaSharp in place of any installed font: plots and contact sheets
/// draw the same text on a desktop and in a container without a single font file.
/// </summary>
public static class EmbeddedFont
{
    public const string Family = "IlgpuStyle DejaVu Sans";
    static readonly Lazy<SKTypeface> typeface = new(Load);
    static readonly object gate = new();
    static bool installed;

    /// <summary>The shipped typeface.</summary>
    public static SKTypeface Typeface => typeface.Value;

    /// <summary>Makes <see cref="Family"/> resolvable by ScottPlot (first among its resolvers) and its default font.</summary>
    public static void Install()
    {
        lock (gate)
        {
            if (installed) return;
            Fonts.FontResolvers.Insert(0, new Resolver());
            Fonts.Default = Family;
            Fonts.Sans = Family;
            installed = true;
        }
    }

    static SKTypeface Load()
    {
        using var stream = typeof(EmbeddedFont).Assembly.GetManifestResourceStream("IlgpuStyle.Imaging.Fonts.DejaVuSans.ttf")
            ?? throw new InvalidOperationException("the embedded font IlgpuStyle.Imaging.Fonts.DejaVuSans.ttf is missing from the assembly");
        return SKTypeface.FromStream(stream)
            ?? throw new InvalidOperationException("the embedded font could not be read by SkiaSharp");
    }

    /// <summary>Answers for <see cref="Family"/> only (regular weight stands in for bold and italic); other names fall through to ScottPlot's own resolvers.</summary>
    sealed class Resolver : IFontResolver
    {
        public SKTypeface? CreateTypeface(string fontName, FontWeight weight, FontSlant slant, FontSpacing width) =>
            fontName == Family ? Typeface : null;

        public SKTypeface? CreateTypeface(string fontName, bool bold, bool italic) =>
            fontName == Family ? Typeface : null;
    }
}
