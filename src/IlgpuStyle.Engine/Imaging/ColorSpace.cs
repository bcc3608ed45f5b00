namespace IlgpuStyle.Imaging;

/// <summary>Luminance and chroma: YIQ (NTSC), as neural-style's original-colors option uses.</summary>
public static class ColorSpace
{
    public static (float Y, float I, float Q) ToYiq(float r, float g, float b) =>
        (0.299f * r + 0.587f * g + 0.114f * b,
         0.595716f * r - 0.274453f * g - 0.321263f * b,
         0.211456f * r - 0.522591f * g + 0.311135f * b);

    public static (float R, float G, float B) FromYiq(float y, float i, float q) =>
        (y + 0.9563f * i + 0.6210f * q,
         y - 0.2721f * i - 0.6474f * q,
         y - 1.1070f * i + 1.7046f * q);

    /// <summary>The luminance of `luminanceFrom` with the chroma (I, Q) of `chromaFrom`; same size.</summary>
    public static RgbImage CombineLuminanceAndChroma(RgbImage luminanceFrom, RgbImage chromaFrom)
    {
        if (luminanceFrom.Width != chromaFrom.Width || luminanceFrom.Height != chromaFrom.Height)
            chromaFrom = chromaFrom.Resize(luminanceFrom.Width, luminanceFrom.Height);
        var result = new RgbImage(luminanceFrom.Width, luminanceFrom.Height);
        for (int p = 0; p < result.Data.Length; p += 3)
        {
            var (y, _, _) = ToYiq(luminanceFrom.Data[p], luminanceFrom.Data[p + 1], luminanceFrom.Data[p + 2]);
            var (_, i, q) = ToYiq(chromaFrom.Data[p], chromaFrom.Data[p + 1], chromaFrom.Data[p + 2]);
            var (r, g, b) = FromYiq(y, i, q);
            result.Data[p] = Math.Clamp(r, 0, 255); result.Data[p + 1] = Math.Clamp(g, 0, 255); result.Data[p + 2] = Math.Clamp(b, 0, 255);
        }
        return result;
    }
}
